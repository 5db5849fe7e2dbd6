"""What is reported against a resolution and how it moves: figures and task
updates (draft → submitted → approved, locked once approved or in a closed period),
their evidence, and the approver's assessment."""

import uuid

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ..fields import CleanCharField, CleanTextField, user_link
from ..numbers import MAX_INTEGER_DIGITS, format_decimal
from .choices import (
    VALUE_DECIMAL_PLACES,
    VALUE_ERRORS,
    VALUE_LIMIT,
    VALUE_MAX_DIGITS,
    FigureKind,
    PeriodState,
    TaskStatus,
    Verdict,
    WorkflowState,
)
from .periods import ReportingPeriod
from .resolution import Target, Task

# stored_lock_reason's `stored` when the caller has not read the row.
UNREAD = object()


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


def workflow_constraints(prefix: str, version_message: str | None = None) -> list:
    """The workflow's own checks on a table (`prefix` names them): a known state and
    a version from 1."""
    return [
        models.CheckConstraint(
            condition=Q(state__in=WorkflowState.values), name=f"{prefix}_state_valid"
        ),
        models.CheckConstraint(
            condition=Q(version__gte=1),
            name=f"{prefix}_version_positive",
            violation_error_message=version_message,
        ),
    ]


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
    updated_by = user_link("người cập nhật")
    submitted_at = models.DateTimeField("gửi duyệt lúc", null=True, blank=True)
    submitted_by = user_link("người gửi duyệt")
    approved_at = models.DateTimeField("phê duyệt lúc", null=True, blank=True)
    approved_by = user_link("người phê duyệt")

    # What an approved row, or a row in a closed period, keeps: each model names
    # its own (LOCKED_FIGURE_FIELDS, LOCKED_TASK_UPDATE_FIELDS).
    locked_fields: list[str] = []

    class Meta:
        abstract = True

    def clean(self) -> None:
        """The row's own rules (`own_errors`, on each model) and the lock."""
        errors = self.own_errors()
        reason = self.stored_lock_reason(self.locked_fields)
        if reason:
            errors[NON_FIELD_ERRORS] = reason
        if errors:
            raise ValidationError(errors)

    def stamp(self, user, reason: str) -> None:
        """Mark a change about to be saved: one version more (the optimistic lock),
        who made it, and the reason its history row keeps. Every path that changes a
        figure or task update stamps it here."""
        if self.pk is not None:
            self.version += 1
        self.updated_by = user
        self._change_reason = reason

    def stored_lock_reason(self, fields: list[str], stored=UNREAD) -> str | None:
        """Why this save may not go through, or None: it would change a locked row
        (approved, or in a closed period) in any of `fields`, move a row into a closed
        period, add a row to a closed period, or make a row submitted or approved
        outside the workflow (targets.services). Every path that validates meets it:
        the entry page, the admin change form and history revert, the import.

        `stored` is the row as the database holds it, with its period (None for a
        new row), when the caller has read it already: a batch reads all its rows
        in one query (targets.validation); otherwise it is read here."""
        if not self.period_id:
            return None
        if stored is UNREAD:
            stored = None
            if self.pk:
                stored = (
                    type(self)
                    .objects.select_related("period")
                    .filter(pk=self.pk)
                    .first()
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
    locked_fields = LOCKED_FIGURE_FIELDS

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
            *workflow_constraints("figure", "Phiên bản số liệu không hợp lệ."),
        ]

    def __str__(self) -> str:
        return f"{self.target.code} – {self.period}: {format_decimal(self.value)}"

    def own_errors(self) -> dict[str, str]:
        """What this figure must be whatever the path, read from itself, its target
        and its period (no query once they are loaded): the period in the target's
        commune and window, the value's sign, bounds and decimals. Field → message.
        The stored row (the lock) is `stored_lock_reason`'s."""
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
        return errors

    def delete(self, *args, **kwargs):
        return type(self).objects.filter(pk=self.pk).delete()


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
    locked_fields = LOCKED_TASK_UPDATE_FIELDS

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
            *workflow_constraints("task_update"),
        ]

    def __str__(self) -> str:
        return f"{self.task} – {self.period}: {self.get_status_display()}"

    def own_errors(self) -> dict[str, str]:
        """What this update must be whatever the path, read from itself, its task and
        its period (no query once they are loaded). Field → message."""
        errors = {}
        if self.task_id and self.period_id:
            if self.period.commune_id != self.task.resolution.commune_id:
                errors["period"] = "Kỳ báo cáo không thuộc xã của nghị quyết này."
        if self.status == TaskStatus.DELAYED and not (self.narrative or "").strip():
            errors["narrative"] = "Nhiệm vụ chậm: phải nêu nguyên nhân và giải pháp."
        return errors

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
    uploaded_by = user_link("người tải lên", blank=False)
    uploaded_at = models.DateTimeField("tải lên lúc", auto_now_add=True)

    class Meta:
        verbose_name = "minh chứng"
        verbose_name_plural = "minh chứng"
        ordering = ["figure", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


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
    assessed_by = user_link("người đánh giá")
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
