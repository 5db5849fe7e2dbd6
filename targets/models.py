"""The domain: a commune's resolution, its indicators and targets, and the figures
reported against them. Rules live here: database constraints first, then clean()."""

import datetime
import hashlib
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .fields import CleanCharField, CleanTextField
from .numbers import MAX_INTEGER_DIGITS, format_decimal, unit_suffix

# Figures and target values: up to 11 digits before the point and 4 after, 15 in all:
# what SQLite (which keeps a decimal as a float) returns exactly. A target says how
# many decimals its figures may carry (2 unless it says otherwise).
VALUE_DECIMAL_PLACES = 4
VALUE_MAX_DIGITS = MAX_INTEGER_DIGITS + VALUE_DECIMAL_PLACES
VALUE_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
VALUE_ERRORS = {
    "max_digits": (
        f"Số quá dài: tối đa {MAX_INTEGER_DIGITS} chữ số phần nguyên và "
        f"{VALUE_DECIMAL_PLACES} chữ số thập phân. Hãy kiểm tra lại số liệu và đơn vị."
    ),
    "max_whole_digits": (
        f"Số quá lớn: phần nguyên chỉ được có tối đa {MAX_INTEGER_DIGITS} chữ số. "
        "Hãy kiểm tra lại số liệu và đơn vị tính."
    ),
    "max_decimal_places": (
        f"Số có quá {VALUE_DECIMAL_PLACES} chữ số thập phân; hệ thống không tự làm "
        "tròn."
    ),
}


# Roles are Django groups. A clerk also belongs to one or more responsible bodies.
CLERK = "Cán bộ nhập liệu"
APPROVER = "Lãnh đạo UBND xã (phê duyệt)"
DELEGATE = "Đại biểu HĐND"
ADMINISTRATOR = "Quản trị hệ thống"
ROLE_GROUPS = [CLERK, APPROVER, DELEGATE, ADMINISTRATOR]


class Area(models.TextChoices):
    ECONOMY = "economy", "Kinh tế"
    SOCIETY = "society", "Xã hội"
    ENVIRONMENT = "environment", "Môi trường"


class Comparison(models.TextChoices):
    AT_LEAST = "at_least", "Đạt (≥)"
    ABOVE = "above", "Trên (>)"
    AT_MOST = "at_most", "Giảm xuống còn (≤)"
    MAINTAIN = "maintain", "Duy trì (≥ ở mọi kỳ)"


class Combine(models.TextChoices):
    SUM = "sum", "Cộng dồn các quý"
    LATEST = "latest", "Số tại thời điểm (lũy kế)"


class ExpectedPath(models.TextChoices):
    FROM_START = "from_start", "Tiến dần từ điểm xuất phát"
    HOLD = "hold", "Giữ mức chỉ tiêu cả năm"


class TaskKind(models.TextChoices):
    TASK = "task", "Nhiệm vụ"
    SOLUTION = "solution", "Giải pháp"


class BodyKind(models.TextChoices):
    PEOPLES_COMMITTEE = "committee", "Ủy ban nhân dân"
    COUNCIL = "council", "Hội đồng nhân dân"
    OFFICE = "office", "Cơ quan chuyên môn"
    FRONT = "front", "Mặt trận Tổ quốc và đoàn thể"


class Role(models.TextChoices):
    """How a body stands to a target or task. IMPLEMENTING is Article 2.1 of a
    resolution ("Ủy ban nhân dân xã tổ chức triển khai thực hiện"): the body answers
    for the whole resolution, above the office that leads each item."""

    IMPLEMENTING = "implementing", "Tổ chức thực hiện"
    LEAD = "lead", "Chủ trì"
    SUPPORTING = "supporting", "Phối hợp"
    SUPERVISING = "supervising", "Giám sát"


class PeriodState(models.TextChoices):
    OPEN = "open", "Đang mở"
    CLOSED = "closed", "Đã khóa sổ"


class FigureKind(models.TextChoices):
    ACTUAL = "actual", "Thực hiện"
    ESTIMATE = "estimate", "Ước thực hiện"


class WorkflowState(models.TextChoices):
    DRAFT = "draft", "Bản nháp"
    SUBMITTED = "submitted", "Đã gửi duyệt"
    RETURNED = "returned", "Bị trả lại"
    APPROVED = "approved", "Đã phê duyệt"


class Commune(models.Model):
    name = CleanCharField("tên xã", max_length=100)
    province = CleanCharField("tỉnh", max_length=100)

    class Meta:
        verbose_name = "xã"
        verbose_name_plural = "xã"
        constraints = [
            models.UniqueConstraint(
                fields=["province", "name"], name="commune_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"Xã {self.name}, tỉnh {self.province}"


class Resolution(models.Model):
    commune = models.ForeignKey(
        Commune, models.PROTECT, related_name="resolutions", verbose_name="xã"
    )
    number = CleanCharField("số nghị quyết", max_length=50)
    title = CleanCharField("trích yếu", max_length=300)
    council = CleanCharField("cơ quan ban hành", max_length=200)
    term = CleanCharField("khóa", max_length=20)
    session = CleanCharField("kỳ họp", max_length=50)
    adopted_on = models.DateField("ngày thông qua")
    effective_on = models.DateField("ngày có hiệu lực")
    plan_year = models.PositiveSmallIntegerField("năm kế hoạch")
    covers_from = models.DateField("kế hoạch từ ngày")
    covers_to = models.DateField("kế hoạch đến ngày")
    legal_bases = CleanTextField(
        "căn cứ", help_text="Mỗi căn cứ một dòng, nguyên văn.", blank=True
    )
    considered = CleanTextField(
        "xét", help_text="Các văn bản được xem xét, nguyên văn.", blank=True
    )
    signed_by = CleanCharField("người ký", max_length=100, blank=True)
    source_text = CleanTextField("toàn văn", blank=True)

    class Meta:
        verbose_name = "nghị quyết"
        verbose_name_plural = "nghị quyết"
        ordering = ["-adopted_on", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "number"],
                name="resolution_unique_number",
                violation_error_message="Xã đã có nghị quyết mang số này.",
            ),
            models.CheckConstraint(
                condition=Q(covers_from__lte=F("covers_to")),
                name="resolution_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(effective_on__gte=F("adopted_on")),
                name="resolution_effective_after_adoption",
            ),
        ]

    def __str__(self) -> str:
        return f"Nghị quyết số {self.number}"


class Indicator(models.Model):
    resolution = models.ForeignKey(
        Resolution, models.CASCADE, related_name="indicators", verbose_name="nghị quyết"
    )
    number = models.PositiveSmallIntegerField("số thứ tự")
    area = models.CharField("lĩnh vực", max_length=20, choices=Area.choices)
    text = CleanTextField("nội dung nguyên văn")

    class Meta:
        verbose_name = "chỉ tiêu"
        verbose_name_plural = "chỉ tiêu"
        ordering = ["resolution", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["resolution", "number"], name="indicator_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="indicator_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(area__in=Area.values), name="indicator_area_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Chỉ tiêu ({self.number})"


class Target(models.Model):
    indicator = models.ForeignKey(
        Indicator, models.CASCADE, related_name="targets", verbose_name="chỉ tiêu"
    )
    code = CleanCharField(
        "mã", max_length=10, help_text="Số chỉ tiêu và một chữ cái: 2a, 2b…"
    )
    order = models.PositiveSmallIntegerField("thứ tự", default=0)
    name = CleanCharField("tên chỉ tiêu cụ thể", max_length=300)
    unit = CleanCharField("đơn vị tính", max_length=50)
    target_value = models.DecimalField(
        "kế hoạch", max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES
    )
    comparison = models.CharField(
        "cách so sánh", max_length=10, choices=Comparison.choices
    )
    combine = models.CharField(
        "cách cộng các quý", max_length=10, choices=Combine.choices
    )
    path = models.CharField(
        "lộ trình kỳ vọng", max_length=12, choices=ExpectedPath.choices
    )
    baseline = models.DecimalField(
        "điểm xuất phát",
        max_digits=VALUE_MAX_DIGITS,
        decimal_places=VALUE_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    decimal_places = models.PositiveSmallIntegerField(
        "số chữ số thập phân tối đa", default=2
    )
    # "32,0 ha" in the text: the plan is shown with the decimals it was written with.
    plan_decimal_places = models.PositiveSmallIntegerField(
        "số chữ số thập phân của kế hoạch (như văn bản)", default=0
    )
    allows_negative = models.BooleanField(
        "cho phép số âm",
        default=False,
        help_text="Chỉ các chỉ tiêu về tốc độ tăng, mức giảm mới có thể âm.",
    )
    # The range a figure may take (a share or coverage 0–100, a count from 0). Empty
    # means unbounded on that side; entry, admin and import refuse a value outside it
    # and no forecast leaves it.
    min_value = models.DecimalField(
        "giá trị nhỏ nhất",
        max_digits=VALUE_MAX_DIGITS,
        decimal_places=VALUE_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    max_value = models.DecimalField(
        "giá trị lớn nhất",
        max_digits=VALUE_MAX_DIGITS,
        decimal_places=VALUE_DECIMAL_PLACES,
        null=True,
        blank=True,
        help_text="Tỷ lệ, độ bao phủ: 100.",
    )
    # The window the target is judged over: the plan year unless narrowed.
    window_start_year = models.PositiveSmallIntegerField("tính từ năm")
    window_start_quarter = models.PositiveSmallIntegerField("tính từ quý", default=1)
    window_end_year = models.PositiveSmallIntegerField("đến năm")
    window_end_quarter = models.PositiveSmallIntegerField("đến quý", default=4)
    # Optional seasonal profile: the share (%) of a sum target expected in each quarter.
    profile_q1 = models.DecimalField(
        "tỷ trọng quý I (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    profile_q2 = models.DecimalField(
        "tỷ trọng quý II (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    profile_q3 = models.DecimalField(
        "tỷ trọng quý III (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    profile_q4 = models.DecimalField(
        "tỷ trọng quý IV (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    clause = CleanTextField("trích nguyên văn nghị quyết")
    reading_note = CleanTextField("ghi chú cách hiểu", blank=True)

    class Meta:
        verbose_name = "chỉ tiêu cụ thể"
        verbose_name_plural = "chỉ tiêu cụ thể"
        ordering = ["indicator__resolution", "indicator__number", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "code"],
                name="target_unique_code",
                violation_error_message="Chỉ tiêu đã có mã này.",
            ),
            models.CheckConstraint(
                condition=Q(comparison__in=Comparison.values),
                name="target_comparison_valid",
            ),
            models.CheckConstraint(
                condition=Q(combine__in=Combine.values), name="target_combine_valid"
            ),
            models.CheckConstraint(
                condition=Q(path__in=ExpectedPath.values), name="target_path_valid"
            ),
            models.CheckConstraint(
                condition=Q(decimal_places__lte=VALUE_DECIMAL_PLACES),
                name="target_decimal_places_range",
            ),
            models.CheckConstraint(
                condition=Q(plan_decimal_places__lte=VALUE_DECIMAL_PLACES),
                name="target_plan_decimal_places_range",
            ),
            models.CheckConstraint(
                condition=Q(allows_negative=True) | Q(target_value__gte=0),
                name="target_value_not_negative",
                violation_error_message="Chỉ tiêu này không nhận số âm.",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=F("max_value")),
                name="target_bounds_ordered",
                violation_error_message=(
                    "Giá trị nhỏ nhất không được lớn hơn giá trị lớn nhất."
                ),
            ),
            models.CheckConstraint(
                condition=(
                    Q(min_value__isnull=True) | Q(target_value__gte=F("min_value"))
                )
                & (Q(max_value__isnull=True) | Q(target_value__lte=F("max_value"))),
                name="target_value_within_bounds",
                violation_error_message=(
                    "Kế hoạch phải nằm trong khoảng giá trị của chỉ tiêu."
                ),
            ),
            models.CheckConstraint(
                condition=Q(window_start_quarter__gte=1, window_start_quarter__lte=4)
                & Q(window_end_quarter__gte=1, window_end_quarter__lte=4),
                name="target_window_quarters_valid",
            ),
            models.CheckConstraint(
                condition=Q(window_end_year__gt=F("window_start_year"))
                | Q(
                    window_end_year=F("window_start_year"),
                    window_end_quarter__gte=F("window_start_quarter"),
                ),
                name="target_window_ordered",
                violation_error_message=(
                    "Kỳ cuối của khoảng đánh giá không được trước kỳ đầu."
                ),
            ),
            models.CheckConstraint(
                condition=Q(
                    profile_q1__isnull=True,
                    profile_q2__isnull=True,
                    profile_q3__isnull=True,
                    profile_q4__isnull=True,
                )
                | Q(
                    profile_q1__isnull=False,
                    profile_q2__isnull=False,
                    profile_q3__isnull=False,
                    profile_q4__isnull=False,
                ),
                name="target_profile_all_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"

    def clean(self) -> None:
        errors = {}
        if self.indicator_id and not self.code.startswith(str(self.indicator.number)):
            errors["code"] = (
                "Mã chỉ tiêu phải bắt đầu bằng số của chỉ tiêu "
                f"({self.indicator.number})."
            )
        if self.window_start_year is not None and self.window_end_year is not None:
            start = (self.window_start_year, self.window_start_quarter)
            end = (self.window_end_year, self.window_end_quarter)
            if not all(1 <= q <= 4 for q in (start[1], end[1])):
                errors["window_start_quarter"] = "Quý phải từ 1 đến 4."
            elif start > end:
                errors["window_end_quarter"] = (
                    "Kỳ cuối của khoảng đánh giá không được trước kỳ đầu."
                )
        profile = self.profile
        if profile is not None and sum(profile) != Decimal(100):
            errors["profile_q4"] = "Tổng tỷ trọng bốn quý phải bằng 100%."
        if (
            self.target_value is not None
            and self.target_value < 0
            and not self.allows_negative
        ):
            errors["target_value"] = "Chỉ tiêu này không nhận số âm."
        if errors:
            raise ValidationError(errors)

    def bound_error(self, value: Decimal) -> str | None:
        """The Vietnamese refusal for a value outside the target's range, or None."""
        low, high = self.min_value, self.max_value
        if (low is None or value >= low) and (high is None or value <= high):
            return None
        if low is not None and high is not None:
            bound = f"từ {format_decimal(low)} đến {format_decimal(high)}"
        elif low is not None:
            bound = f"không nhỏ hơn {format_decimal(low)}"
        else:
            bound = f"không lớn hơn {format_decimal(high)}"
        return (
            f"Chỉ tiêu {self.code} chỉ nhận giá trị {bound}{unit_suffix(self.unit)}; "
            f"{format_decimal(value)} nằm ngoài khoảng đó."
        )

    @property
    def plan_text(self) -> str:
        """The plan as the resolution writes it: "3.865,28", "32,0", "85"."""
        return format_decimal(self.target_value, self.plan_decimal_places)

    @property
    def profile(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        shares = (self.profile_q1, self.profile_q2, self.profile_q3, self.profile_q4)
        if any(s is None for s in shares):
            return None
        return shares

    @property
    def window(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (
            (self.window_start_year, self.window_start_quarter),
            (self.window_end_year, self.window_end_quarter),
        )


class ResponsibleBody(models.Model):
    commune = models.ForeignKey(
        Commune, models.PROTECT, related_name="bodies", verbose_name="xã"
    )
    name = CleanCharField("tên cơ quan, đơn vị", max_length=200)
    short_name = CleanCharField("tên viết tắt", max_length=50, blank=True)
    kind = models.CharField("loại", max_length=20, choices=BodyKind.choices)
    named_in_text = models.BooleanField(
        "có tên trong nghị quyết",
        default=False,
        help_text=(
            "Bỏ chọn nếu đơn vị này là giả định của hệ thống, không nêu trong văn bản."
        ),
    )
    role_in_text = CleanTextField("vai trò theo nghị quyết", blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="bodies",
        verbose_name="cán bộ nhập liệu",
    )

    class Meta:
        verbose_name = "cơ quan, đơn vị"
        verbose_name_plural = "cơ quan, đơn vị"
        ordering = ["commune", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "name"],
                name="body_unique_name",
                violation_error_message="Xã đã có cơ quan, đơn vị mang tên này.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=BodyKind.values), name="body_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    resolution = models.ForeignKey(
        Resolution, models.CASCADE, related_name="tasks", verbose_name="nghị quyết"
    )
    kind = models.CharField("loại", max_length=10, choices=TaskKind.choices)
    number = models.PositiveSmallIntegerField("thứ tự")
    text = CleanTextField("nội dung nguyên văn")

    class Meta:
        verbose_name = "nhiệm vụ, giải pháp"
        verbose_name_plural = "nhiệm vụ, giải pháp"
        ordering = ["resolution", "kind", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["resolution", "kind", "number"], name="task_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TaskKind.values), name="task_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="task_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}: {self.summary}"

    @property
    def summary(self) -> str:
        """The first clause of the paragraph, for lists."""
        head = self.text.split(";")[0].split(". ")[0]
        return head if len(head) <= 120 else head[:119].rstrip() + "…"


class Assignment(models.Model):
    body = models.ForeignKey(
        ResponsibleBody,
        models.CASCADE,
        related_name="assignments",
        verbose_name="đơn vị",
    )
    target = models.ForeignKey(
        Target,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name="chỉ tiêu cụ thể",
    )
    task = models.ForeignKey(
        Task,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name="nhiệm vụ, giải pháp",
    )
    role = models.CharField("vai trò", max_length=12, choices=Role.choices)
    is_assumption = models.BooleanField(
        "giả định",
        default=True,
        help_text="Nghị quyết không nêu phân công này; do hệ thống giả định.",
    )
    note = CleanCharField("ghi chú", max_length=300, blank=True)

    class Meta:
        verbose_name = "phân công"
        verbose_name_plural = "phân công"
        constraints = [
            models.CheckConstraint(
                condition=Q(target__isnull=False, task__isnull=True)
                | Q(target__isnull=True, task__isnull=False),
                name="assignment_target_xor_task",
                violation_error_message=(
                    "Phân công phải gắn với đúng một chỉ tiêu cụ thể hoặc một nhiệm vụ."
                ),
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="assignment_role_valid"
            ),
            models.UniqueConstraint(
                fields=["body", "target"],
                condition=Q(target__isnull=False),
                name="assignment_unique_body_target",
            ),
            models.UniqueConstraint(
                fields=["body", "task"],
                condition=Q(task__isnull=False),
                name="assignment_unique_body_task",
            ),
            # One lead body per target and per task: someone answers for it.
            models.UniqueConstraint(
                fields=["target"],
                condition=Q(role="lead", target__isnull=False),
                name="assignment_one_lead_per_target",
                violation_error_message="Chỉ tiêu này đã có đơn vị chủ trì.",
            ),
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(role="lead", task__isnull=False),
                name="assignment_one_lead_per_task",
                violation_error_message="Nhiệm vụ này đã có đơn vị chủ trì.",
            ),
        ]

    def __str__(self) -> str:
        subject = self.target or self.task
        return f"{self.body} – {self.get_role_display()} – {subject}"

    def clean(self) -> None:
        if (self.target_id is None) == (self.task_id is None):
            raise ValidationError(
                "Phân công phải gắn với đúng một chỉ tiêu cụ thể hoặc một nhiệm vụ."
            )


def decree_09_window(year: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    """The data window of a quarter under Decree 09/2019/NĐ-CP: from the 15th of the
    month before the quarter to the 14th of its last month."""
    first_month = 3 * quarter - 2
    if first_month == 1:
        start = datetime.date(year - 1, 12, 15)
    else:
        start = datetime.date(year, first_month - 1, 15)
    return start, datetime.date(year, 3 * quarter, 14)


# Roman numerals as the resolution writes them: quarters (quý I–IV) and the areas of
# Article 1 (I–VI). The one table every page, sheet and report reads.
ROMAN_NUMERALS = ("I", "II", "III", "IV", "V", "VI")
QUARTER_NAMES = {n: ROMAN_NUMERALS[n - 1] for n in range(1, 5)}


def roman_number(text: str) -> int | None:
    """The number a Roman numeral I–VI stands for, any case; None otherwise."""
    text = text.strip().upper()
    return ROMAN_NUMERALS.index(text) + 1 if text in ROMAN_NUMERALS else None


def periods_up_to(
    year: int, quarter: int, *, prefix: str = "", before: bool = False
) -> Q:
    """The reporting periods up to (year, quarter), or up to the quarter before it
    with `before`; `prefix` reaches them through a relation ("period__")."""
    last = {f"{prefix}quarter__lt" if before else f"{prefix}quarter__lte": quarter}
    return Q(**{f"{prefix}year__lt": year}) | Q(**{f"{prefix}year": year}, **last)


class ReportingPeriod(models.Model):
    commune = models.ForeignKey(
        Commune, models.PROTECT, related_name="periods", verbose_name="xã"
    )
    year = models.PositiveSmallIntegerField("năm")
    quarter = models.PositiveSmallIntegerField("quý")
    data_from = models.DateField("số liệu từ ngày")
    data_to = models.DateField("số liệu đến ngày")
    deadline = models.DateField("hạn nhập số liệu")
    state = models.CharField(
        "trạng thái",
        max_length=10,
        choices=PeriodState.choices,
        default=PeriodState.OPEN,
    )
    # Công bố: once published (and while closed) the quarter's approved figures and
    # their judgement are public (reports/public.py). Set by services.period_publish.
    published_at = models.DateTimeField("công bố lúc", null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người công bố",
    )
    history = HistoricalRecords(verbose_name="lịch sử kỳ báo cáo")

    class Meta:
        verbose_name = "kỳ báo cáo"
        verbose_name_plural = "kỳ báo cáo"
        ordering = ["commune", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "year", "quarter"],
                name="period_unique_quarter",
                violation_error_message="Xã đã có kỳ báo cáo cho quý này.",
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4),
                name="period_quarter_range",
                violation_error_message="Quý phải từ 1 đến 4.",
            ),
            models.CheckConstraint(
                condition=Q(data_from__lt=F("data_to")),
                name="period_data_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gte=F("data_from")),
                name="period_deadline_after_start",
                violation_error_message=(
                    "Hạn nhập số liệu không được trước ngày bắt đầu kỳ."
                ),
            ),
            models.CheckConstraint(
                condition=Q(state__in=PeriodState.values), name="period_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Quý {QUARTER_NAMES.get(self.quarter, self.quarter)}/{self.year}"

    def clean(self) -> None:
        errors = {}
        if self.quarter is not None and not 1 <= self.quarter <= 4:
            errors["quarter"] = "Quý phải từ 1 đến 4."
        if self.data_from and self.data_to and self.data_from >= self.data_to:
            errors["data_to"] = "Ngày kết thúc số liệu phải sau ngày bắt đầu."
        if self.deadline and self.data_from and self.deadline < self.data_from:
            errors["deadline"] = "Hạn nhập số liệu không được trước ngày bắt đầu kỳ."
        if errors:
            raise ValidationError(errors)

    @property
    def key(self) -> tuple[int, int]:
        return (self.year, self.quarter)

    def is_open_for_entry(self, today: datetime.date) -> bool:
        """Clerks may write while the period is open and its deadline has not passed."""
        return self.state == PeriodState.OPEN and today <= self.deadline

    @property
    def label(self) -> str:
        return str(self)

    @property
    def is_public(self) -> bool:
        """Published and still closed: a reopened quarter is not public meanwhile."""
        return self.published_at is not None and self.state == PeriodState.CLOSED


# How a change reached the database, recorded as django-simple-history's change reason.
VIA_FORM = "Trang nhập số liệu"
VIA_ADMIN = "Trang quản trị"
VIA_IMPORT = "Nhập từ bảng tính"
VIA_REVIEW = "Trang duyệt số liệu"
VIA_API = "API"


def lock_reason(state: str, period: "ReportingPeriod") -> str | None:
    """Why a stored figure or task update may not change, or None. The one rule behind
    the entry form, the admin and the import."""
    if period.state == PeriodState.CLOSED:
        return (
            f"{period} đã khóa sổ: không thể thay đổi số liệu. "
            "Đề nghị quản trị hệ thống mở lại kỳ (nêu lý do) nếu cần sửa."
        )
    if state == WorkflowState.APPROVED:
        return (
            "Số liệu đã được phê duyệt nên đã khóa. Đề nghị quản trị hệ thống "
            "mở lại (nêu lý do) nếu cần sửa."
        )
    return None


class WorkflowFields(models.Model):
    """The workflow shared by figures and task updates: draft → submitted → approved,
    or returned with a reason."""

    state = models.CharField(
        "trạng thái",
        max_length=10,
        choices=WorkflowState.choices,
        default=WorkflowState.DRAFT,
    )
    state_reason = CleanTextField(
        "lý do trả lại / mở lại",
        blank=True,
        help_text="Lý do lần trả lại hoặc mở lại gần nhất.",
    )
    # Optimistic concurrency: a save must name the version it started from.
    version = models.PositiveIntegerField("phiên bản", default=1)
    is_demo = models.BooleanField(
        "dữ liệu minh họa",
        default=False,
        help_text="Số liệu mẫu, không phải số liệu thật.",
    )
    updated_at = models.DateTimeField("cập nhật lúc", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người cập nhật",
    )
    submitted_at = models.DateTimeField("gửi duyệt lúc", null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người gửi duyệt",
    )
    approved_at = models.DateTimeField("phê duyệt lúc", null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người phê duyệt",
    )

    class Meta:
        abstract = True

    def stamp(self, user, reason: str) -> None:
        """Mark a change about to be saved: one version more (the optimistic lock),
        who made it, and the reason its history row keeps. Every path that changes a
        figure or task update stamps it here."""
        if self.pk is not None:
            self.version += 1
        self.updated_by = user
        self._change_reason = reason

    def stored_lock_reason(self, fields: list[str]) -> str | None:
        """Why this save may not go through, or None: it would change a locked row
        (approved, or in a closed period) in any of `fields`, move a row into a closed
        period, add a row to a closed period, or make a row submitted or approved
        outside the workflow (targets.services). Every path that validates meets it:
        the entry page, the admin change form and history revert, the import."""
        if not self.period_id:
            return None
        stored = None
        if self.pk:
            stored = (
                type(self).objects.select_related("period").filter(pk=self.pk).first()
            )
        if stored is None:
            return lock_reason(WorkflowState.DRAFT, self.period)
        if not any(getattr(stored, f) != getattr(self, f) for f in fields):
            return None
        reason = lock_reason(stored.state, stored.period)
        if reason:
            return reason
        if self.period_id != stored.period_id:
            reason = lock_reason(WorkflowState.DRAFT, self.period)
            if reason:
                return reason
        if self.state != stored.state and self.state in (
            WorkflowState.SUBMITTED,
            WorkflowState.APPROVED,
        ):
            return (
                "Gửi duyệt và phê duyệt chỉ làm trên trang nhập số liệu và trang "
                "duyệt số liệu, không sửa trực tiếp trạng thái."
            )
        return None


class WorkflowQuerySet(models.QuerySet):
    def locked(self) -> "WorkflowQuerySet":
        """Rows that may not change: approved, or in a closed period."""
        return self.filter(
            Q(state=WorkflowState.APPROVED) | Q(period__state=PeriodState.CLOSED)
        )

    def delete(self):
        """Deleting an approved row or one in a closed period is refused, on every
        path (admin, bulk action, shell, command)."""
        locked = self.locked().select_related("period").first()
        if locked is not None:
            raise ValidationError(
                f"Không xóa được “{locked}”: "
                + lock_reason(locked.state, locked.period)
            )
        return super().delete()


# What an approved figure or task update keeps until the audited reopen.
LOCKED_FIGURE_FIELDS = [
    "value",
    "kind",
    "note",
    "target_id",
    "period_id",
    "state",
    "is_demo",
]
LOCKED_TASK_UPDATE_FIELDS = [
    "status",
    "narrative",
    "task_id",
    "period_id",
    "state",
    "is_demo",
]


class Figure(WorkflowFields):
    target = models.ForeignKey(
        Target, models.PROTECT, related_name="figures", verbose_name="chỉ tiêu cụ thể"
    )
    period = models.ForeignKey(
        ReportingPeriod,
        models.PROTECT,
        related_name="figures",
        verbose_name="kỳ báo cáo",
    )
    value = models.DecimalField(
        "số liệu",
        max_digits=VALUE_MAX_DIGITS,
        decimal_places=VALUE_DECIMAL_PLACES,
        error_messages=VALUE_ERRORS,
    )
    kind = models.CharField(
        "loại số liệu",
        max_length=10,
        choices=FigureKind.choices,
        default=FigureKind.ACTUAL,
    )
    note = CleanTextField("ghi chú, giải trình", blank=True)
    history = HistoricalRecords(verbose_name="lịch sử số liệu")

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        verbose_name = "số liệu thực hiện"
        verbose_name_plural = "số liệu thực hiện"
        ordering = ["target", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "period"],
                name="figure_unique_target_period",
                violation_error_message="Chỉ tiêu này đã có số liệu cho kỳ này.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=FigureKind.values), name="figure_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(value__gt=-VALUE_LIMIT, value__lt=VALUE_LIMIT),
                name="figure_value_fits",
                violation_error_message=(
                    f"Số liệu chỉ được có tối đa {MAX_INTEGER_DIGITS} chữ số ở phần "
                    "nguyên."
                ),
            ),
            models.CheckConstraint(
                condition=Q(state__in=WorkflowState.values), name="figure_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="figure_version_positive",
                violation_error_message="Phiên bản số liệu không hợp lệ.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target.code} – {self.period}: {format_decimal(self.value)}"

    def clean(self) -> None:
        errors = {}
        target = self.target if self.target_id else None
        period = self.period if self.period_id else None
        if target and period:
            if period.commune_id != target.indicator.resolution.commune_id:
                errors["period"] = "Kỳ báo cáo không thuộc xã của nghị quyết này."
            elif not target.window[0] <= period.key <= target.window[1]:
                errors["period"] = (
                    f"{period} nằm ngoài khoảng đánh giá của chỉ tiêu {target.code}."
                )
        if target and self.value is not None:
            if self.value < 0 and not target.allows_negative:
                errors["value"] = (
                    f"Chỉ tiêu {target.code} không nhận số âm; chỉ các chỉ tiêu "
                    "về tốc độ tăng hoặc mức giảm mới được âm."
                )
            bound = target.bound_error(self.value)
            if bound and "value" not in errors:
                errors["value"] = bound
            # Trailing zeros (3865.2800 from the column) are not decimals typed.
            significant = self.value.normalize().as_tuple().exponent
            if isinstance(significant, int) and -significant > target.decimal_places:
                errors["value"] = (
                    f"Chỉ tiêu {target.code} chỉ nhận tối đa "
                    f"{target.decimal_places} chữ số thập phân."
                )
        reason = self.stored_lock_reason(LOCKED_FIGURE_FIELDS)
        if reason:
            errors[NON_FIELD_ERRORS] = reason
        if errors:
            raise ValidationError(errors)

    def delete(self, *args, **kwargs):
        return type(self).objects.filter(pk=self.pk).delete()


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Chưa triển khai"
    IN_PROGRESS = "in_progress", "Đang triển khai"
    DONE = "done", "Hoàn thành"
    DELAYED = "delayed", "Chậm"


class TaskUpdate(WorkflowFields):
    """A quarter's implementation update of a task or solution."""

    task = models.ForeignKey(
        Task, models.PROTECT, related_name="updates", verbose_name="nhiệm vụ, giải pháp"
    )
    period = models.ForeignKey(
        ReportingPeriod,
        models.PROTECT,
        related_name="task_updates",
        verbose_name="kỳ báo cáo",
    )
    status = models.CharField(
        "tình hình thực hiện", max_length=12, choices=TaskStatus.choices
    )
    narrative = CleanTextField("kết quả, khó khăn, kiến nghị", blank=True)
    history = HistoricalRecords(verbose_name="lịch sử cập nhật nhiệm vụ")

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        verbose_name = "cập nhật thực hiện nhiệm vụ"
        verbose_name_plural = "cập nhật thực hiện nhiệm vụ"
        ordering = ["task", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "period"],
                name="task_update_unique_task_period",
                violation_error_message="Nhiệm vụ này đã có cập nhật cho kỳ này.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=TaskStatus.values),
                name="task_update_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=WorkflowState.values),
                name="task_update_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="task_update_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} – {self.period}: {self.get_status_display()}"

    def clean(self) -> None:
        errors = {}
        if self.task_id and self.period_id:
            if self.period.commune_id != self.task.resolution.commune_id:
                errors["period"] = "Kỳ báo cáo không thuộc xã của nghị quyết này."
        if self.status == TaskStatus.DELAYED and not (self.narrative or "").strip():
            errors["narrative"] = "Nhiệm vụ chậm: phải nêu nguyên nhân và giải pháp."
        reason = self.stored_lock_reason(LOCKED_TASK_UPDATE_FIELDS)
        if reason:
            errors[NON_FIELD_ERRORS] = reason
        if errors:
            raise ValidationError(errors)

    def delete(self, *args, **kwargs):
        return type(self).objects.filter(pk=self.pk).delete()


def evidence_path(instance: "Evidence", filename: str) -> str:
    # The stored name is never the uploaded one: no path tricks, no collisions.
    return f"evidence/{instance.figure_id}/{uuid.uuid4().hex}"


class Evidence(models.Model):
    """A file attached to a figure. Served only through a view that checks access."""

    figure = models.ForeignKey(
        Figure, models.CASCADE, related_name="evidence", verbose_name="số liệu"
    )
    file = models.FileField("tệp", upload_to=evidence_path)
    original_name = CleanCharField("tên tệp", max_length=200)
    content_type = CleanCharField("loại tệp", max_length=100)
    size = models.PositiveIntegerField("dung lượng (byte)")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name="người tải lên",
    )
    uploaded_at = models.DateTimeField("tải lên lúc", auto_now_add=True)

    class Meta:
        verbose_name = "minh chứng"
        verbose_name_plural = "minh chứng"
        ordering = ["figure", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class Verdict(models.TextChoices):
    EXCEEDED = "exceeded", "Vượt"
    MET = "met", "Đạt"
    NOT_MET = "not_met", "Không đạt"


class Assessment(models.Model):
    """The approver's verdict for a target at a period, overriding the computed one.
    The computed verdict is never stored: it is recomputed and shown beside this."""

    target = models.ForeignKey(
        Target,
        models.CASCADE,
        related_name="assessments",
        verbose_name="chỉ tiêu cụ thể",
    )
    period = models.ForeignKey(
        ReportingPeriod, models.PROTECT, related_name="assessments", verbose_name="kỳ"
    )
    verdict = models.CharField("đánh giá", max_length=10, choices=Verdict.choices)
    reason = CleanTextField("lý do")
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="người đánh giá",
    )
    assessed_at = models.DateTimeField("thời điểm", auto_now=True)
    history = HistoricalRecords(verbose_name="lịch sử đánh giá")

    class Meta:
        verbose_name = "đánh giá của người phê duyệt"
        verbose_name_plural = "đánh giá của người phê duyệt"
        constraints = [
            models.UniqueConstraint(
                fields=["target", "period"],
                name="assessment_unique_target_period",
                violation_error_message="Chỉ tiêu này đã có đánh giá cho kỳ này.",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="assessment_verdict_valid"
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="assessment_reason_required",
                violation_error_message="Phải nêu lý do khi thay đổi đánh giá.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target.code} – {self.period}: {self.get_verdict_display()}"

    def clean(self) -> None:
        errors = {}
        if not (self.reason or "").strip():
            errors["reason"] = "Phải nêu lý do khi thay đổi đánh giá."
        if self.period_id and self.period.state == PeriodState.CLOSED:
            errors[NON_FIELD_ERRORS] = (
                f"{self.period} đã khóa sổ: không thể thay đổi đánh giá. Đề nghị "
                "quản trị hệ thống mở lại kỳ (nêu lý do) nếu cần đánh giá lại."
            )
        if errors:
            raise ValidationError(errors)

    def delete(self, *args, **kwargs):
        if self.period.state == PeriodState.CLOSED:
            raise ValidationError(
                f"{self.period} đã khóa sổ: không thể xóa đánh giá của kỳ này."
            )
        return super().delete(*args, **kwargs)


class ApiToken(models.Model):
    """A named key with which a system or an app calls the API as one user (the
    province's reporting system, a clerk's phone). Only the SHA-256 of the secret is
    stored: the secret is shown once, when the token is issued (services.token_issue).
    A user may hold several; revoking one leaves the others working."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="api_tokens",
        verbose_name="người dùng",
    )
    name = CleanCharField(
        "tên", max_length=100, help_text="Ví dụ: Hệ thống báo cáo của tỉnh."
    )
    # The first characters of the secret, to tell tokens apart without the secret.
    prefix = models.CharField("mã nhận diện", max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("cấp lúc", auto_now_add=True)
    last_used_at = models.DateTimeField("dùng lần cuối", null=True, blank=True)
    revoked_at = models.DateTimeField("thu hồi lúc", null=True, blank=True)

    SECRET_PREFIX = "kno_"

    class Meta:
        verbose_name = "mã truy cập API"
        verbose_name_plural = "mã truy cập API"
        ordering = ["user", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    def set_secret(self, secret: str) -> None:
        """Keep the secret's digest and its first characters, never the secret."""
        self.digest = self.digest_of(secret)
        self.prefix = secret[: len(self.SECRET_PREFIX) + 4]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ReminderKind(models.TextChoices):
    CLERK = "clerk", "Nhắc cán bộ nhập liệu"
    APPROVER = "approver", "Nhắc lãnh đạo phê duyệt"


class Reminder(models.Model):
    """A reminder email sent (targets.reminders.send_reminders): at most one per
    person, day and kind, which the unique constraint holds even for two runs at
    once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="+",
        verbose_name="người nhận",
    )
    sent_on = models.DateField("ngày gửi")
    kind = models.CharField("loại thư", max_length=10, choices=ReminderKind.choices)
    sent_at = models.DateTimeField("gửi lúc", auto_now_add=True)

    class Meta:
        verbose_name = "thư nhắc"
        verbose_name_plural = "thư nhắc"
        ordering = ["-sent_on", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "sent_on", "kind"],
                name="reminder_once_a_day",
                violation_error_message="Đã gửi thư nhắc này cho người này hôm nay.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ReminderKind.values), name="reminder_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.user} – {self.sent_on:%d/%m/%Y}"
