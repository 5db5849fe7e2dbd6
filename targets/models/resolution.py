"""A commune's resolution as written: its indicators and targets, its tasks and
solutions, and the bodies assigned to them."""

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from ..fields import CleanCharField, CleanTextField
from ..numbers import format_decimal, range_text, unit_suffix
from .choices import (
    VALUE_DECIMAL_PLACES,
    VALUE_MAX_DIGITS,
    Area,
    BodyKind,
    Combine,
    Comparison,
    ExpectedPath,
    Role,
    TaskKind,
)


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
        """What the constraints cannot say (the code's prefix, the quarters' range in
        Vietnamese, the profile's sum); the window's order and a negative plan are
        target_window_ordered's and target_value_not_negative's."""
        errors = {}
        if self.indicator_id and not self.code.startswith(str(self.indicator.number)):
            errors["code"] = (
                "Mã chỉ tiêu phải bắt đầu bằng số của chỉ tiêu "
                f"({self.indicator.number})."
            )
        if self.window_start_year is not None and self.window_end_year is not None:
            quarters = (self.window_start_quarter, self.window_end_quarter)
            if not all(1 <= q <= 4 for q in quarters):
                errors["window_start_quarter"] = "Quý phải từ 1 đến 4."
        profile = self.profile
        if profile is not None and sum(profile) != Decimal(100):
            errors["profile_q4"] = "Tổng tỷ trọng bốn quý phải bằng 100%."
        if errors:
            raise ValidationError(errors)

    def bound_error(self, value: Decimal) -> str | None:
        """The Vietnamese refusal for a value outside the target's range, or None."""
        low, high = self.min_value, self.max_value
        if (low is None or value >= low) and (high is None or value <= high):
            return None
        return (
            f"Chỉ tiêu {self.code} chỉ nhận giá trị {range_text(low, high)}"
            f"{unit_suffix(self.unit)}; "
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
                condition=Q(role=Role.LEAD, target__isnull=False),
                name="assignment_one_lead_per_target",
                violation_error_message="Chỉ tiêu này đã có đơn vị chủ trì.",
            ),
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(role=Role.LEAD, task__isnull=False),
                name="assignment_one_lead_per_task",
                violation_error_message="Nhiệm vụ này đã có đơn vị chủ trì.",
            ),
        ]

    def __str__(self) -> str:
        subject = self.target or self.task
        return f"{self.body} – {self.get_role_display()} – {subject}"


def lead_body(assignments: Iterable[Assignment]) -> ResponsibleBody | None:
    """The body that leads (chủ trì) a target or task, among its assignments; None
    when none leads it. There is at most one: assignment_one_lead_per_target and
    assignment_one_lead_per_task hold it."""
    return next((a.body for a in assignments if a.role == Role.LEAD), None)
