"""What the API returns. Numbers travel as strings (exact decimals, never floats)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from targets.forms import MAX_NOTE
from targets.models import FigureKind
from targets.progress import Status


@extend_schema_field({"type": "string", "format": "decimal", "nullable": True})
class DecimalText(serializers.Field):
    """An exact decimal as a string: '3865.28', '1000', never '3865.2800' or 1E+3."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return decimal_text(value)


def decimal_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def quarter_text(quarter) -> str:
    """'2025-Q3'."""
    return f"{quarter[0]}-Q{quarter[1]}"


class ResolutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    council = serializers.CharField()
    commune = serializers.CharField(source="commune.name")
    province = serializers.CharField(source="commune.province")
    term = serializers.CharField()
    session = serializers.CharField()
    adopted_on = serializers.DateField()
    effective_on = serializers.DateField()
    plan_year = serializers.IntegerField()
    covers_from = serializers.DateField()
    covers_to = serializers.DateField()


class IndicatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resolution = serializers.IntegerField(source="resolution_id")
    number = serializers.IntegerField()
    area = serializers.CharField()
    area_label = serializers.CharField(source="get_area_display")
    text = serializers.CharField()


class WindowSerializer(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()


class TargetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    indicator = serializers.IntegerField(source="indicator_id")
    resolution = serializers.IntegerField(source="indicator.resolution_id")
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    target_value = DecimalText()
    # How many decimals the resolution writes the plan with ("32,0 ha": 1).
    plan_decimal_places = serializers.IntegerField()
    plan_text = serializers.CharField()
    comparison = serializers.CharField()
    comparison_label = serializers.CharField(source="get_comparison_display")
    combine = serializers.CharField()
    path = serializers.CharField()
    baseline = DecimalText()
    min_value = DecimalText()
    max_value = DecimalText()
    decimal_places = serializers.IntegerField()
    allows_negative = serializers.BooleanField()
    window = serializers.SerializerMethodField()
    clause = serializers.CharField()
    reading_note = serializers.CharField()

    @extend_schema_field(WindowSerializer)
    def get_window(self, target) -> dict:
        start, end = target.window
        return {"start": quarter_text(start), "end": quarter_text(end)}


class PeriodSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    year = serializers.IntegerField()
    quarter = serializers.IntegerField()
    label = serializers.CharField()
    data_from = serializers.DateField()
    data_to = serializers.DateField()
    state = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    is_public = serializers.BooleanField()


class FigureSerializer(serializers.Serializer):
    """An approved figure; `state`, `version` and `note` are null for anonymous
    clients (a figure's note is an internal working note)."""

    id = serializers.IntegerField()
    target = serializers.IntegerField(source="target_id")
    period = serializers.IntegerField(source="period_id")
    quarter = serializers.SerializerMethodField()
    value = DecimalText()
    kind = serializers.CharField()
    state = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_null=True)

    def get_quarter(self, figure) -> str:
        return quarter_text(figure.period.key)

    def to_representation(self, figure):
        data = super().to_representation(figure)
        if self.context.get("public"):
            data.update(state=None, version=None, note=None)
        return data


class QuarterValueSerializer(serializers.Serializer):
    quarter = serializers.CharField()
    value = DecimalText()
    estimate = serializers.BooleanField()


class ProgressSerializer(serializers.Serializer):
    """One target at one period: the one judgement (targets.progress.evaluate)."""

    target = serializers.IntegerField(source="target.pk")
    code = serializers.CharField(source="target.code")
    name = serializers.CharField(source="target.name")
    unit = serializers.CharField(source="target.unit")
    target_value = DecimalText(source="target.target_value")
    plan_decimal_places = serializers.IntegerField(source="target.plan_decimal_places")
    plan_text = serializers.CharField(source="target.plan_text")
    comparison = serializers.CharField(source="target.comparison")
    period = serializers.CharField(source="progress.period")
    judged_at = serializers.CharField(source="progress.judged_at")
    status = serializers.ChoiceField(choices=Status.choices, source="progress.status")
    status_label = serializers.CharField(source="progress.status_label")
    is_final = serializers.BooleanField(source="progress.is_final")
    verdict = serializers.CharField(source="progress.verdict", allow_null=True)
    verdict_overridden = serializers.BooleanField()
    value = DecimalText(source="progress.value")
    lowest = DecimalText(source="progress.lowest")
    gap = DecimalText(source="progress.gap")
    percent_of_plan = DecimalText(source="progress.percent_of_plan")
    estimate = DecimalText(source="progress.estimate")
    estimate_percent = DecimalText(source="progress.estimate_percent")
    estimate_gap = DecimalText(source="progress.estimate_gap")
    coverage = DecimalText(source="progress.coverage")
    quarters = QuarterValueSerializer(many=True)
    missing = serializers.ListField(child=serializers.CharField())
    working = serializers.ListField(
        child=serializers.CharField(), source="progress.working"
    )

    def to_representation(self, item):
        p = item.progress
        data = super().to_representation(item)
        data["period"] = quarter_text(p.period)
        data["judged_at"] = quarter_text(p.judged_at)
        data["verdict"] = p.verdict.value if p.verdict else None
        return data


class ProgressItem:
    """What ProgressSerializer reads: a TargetProgress with the lists spelled out."""

    def __init__(self, item):
        self.target, self.progress = item.target, item.progress
        p = item.progress
        self.verdict_overridden = bool(p.is_final and p.is_overridden)
        self.quarters = [
            {"quarter": quarter_text(q), "value": v, "estimate": q in p.estimated}
            for q, v in p.used
        ]
        self.missing = [quarter_text(q) for q in p.missing]


# --- writes ---------------------------------------------------------------------------

VI_ERRORS = {
    "required": "Thiếu trường này.",
    "null": "Trường này không được để trống.",
    "invalid": "Giá trị không hợp lệ.",
    "blank": "Trường này không được để trống.",
}


class FigureInputSerializer(serializers.Serializer):
    target = serializers.IntegerField(
        min_value=1,
        error_messages=VI_ERRORS | {"min_value": "Mã chỉ tiêu không hợp lệ."},
    )
    value = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        max_length=100,
        error_messages=VI_ERRORS | {"max_length": "Số liệu quá dài."},
        help_text="Số liệu dạng chữ, kiểu Việt Nam (3.865,28) hoặc kiểu thường "
        "(3865.28); số mập mờ như 3.865 bị từ chối.",
    )
    kind = serializers.ChoiceField(
        choices=FigureKind.choices,
        default=FigureKind.ACTUAL,
        error_messages=VI_ERRORS
        | {"invalid_choice": "Loại số liệu phải là actual hoặc estimate."},
    )
    note = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=MAX_NOTE * 2,
        error_messages=VI_ERRORS | {"max_length": "Ghi chú quá dài."},
    )
    version = serializers.IntegerField(
        min_value=0,
        max_value=999_999_999,
        error_messages=VI_ERRORS
        | {
            "min_value": "Phiên bản không hợp lệ.",
            "max_value": "Phiên bản không hợp lệ.",
        },
        help_text="Phiên bản số liệu bạn bắt đầu sửa (0 nếu chưa có số liệu).",
    )
    confirm = serializers.BooleanField(
        default=False,
        error_messages=VI_ERRORS,
        help_text="true: xác nhận số liệu bất thường khi gửi duyệt, như ô “Xác nhận” "
        "của trang nhập số liệu.",
    )


class EntryInputSerializer(serializers.Serializer):
    figures = FigureInputSerializer(
        many=True,
        error_messages=VI_ERRORS | {"not_a_list": "figures phải là danh sách."},
    )
    submit = serializers.BooleanField(
        default=False,
        error_messages=VI_ERRORS,
        help_text="true: lưu rồi gửi duyệt cả quý, như nút “Lưu và gửi duyệt cả quý”.",
    )


class EntryResultSerializer(serializers.Serializer):
    saved = serializers.IntegerField()
    submitted = serializers.IntegerField()
    figures = FigureSerializer(many=True)


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()
    target = serializers.IntegerField(required=False)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = ErrorItemSerializer(many=True)
