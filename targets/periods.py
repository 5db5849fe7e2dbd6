"""Writes on a reporting period as a whole: closing and reopening it (khóa sổ),
publishing it (công bố) and withdrawing it, reopening its approved figures for
corrections. Each a small atomic function, audited."""

import logging

from django.db import transaction
from django.utils import timezone

from .models import (
    APPROVER,
    VIA_ADMIN,
    Figure,
    PeriodState,
    ReportingPeriod,
    WorkflowState,
)
from .services import WorkflowError, figure_reopen

audit = logging.getLogger("khoenon.audit")


class MissingFigures(WorkflowError):
    """Closing refused until the approver confirms the figures still missing."""

    def __init__(self, period: ReportingPeriod, missing: list):
        self.missing = missing
        named = "; ".join(
            f"{item.code} – {item.lead_name} ({item.state_label})" for item in missing
        )
        super().__init__(
            f"Chưa khóa sổ {period}: còn {len(missing)} chỉ tiêu chưa có số liệu "
            f"được phê duyệt: {named}. Nếu vẫn khóa sổ, đánh dấu ô “Vẫn khóa sổ dù "
            "còn thiếu số liệu” rồi bấm khóa sổ lần nữa; các chỉ tiêu này sẽ ghi là "
            "chưa có số liệu của quý."
        )


@transaction.atomic
def period_set_state(
    *,
    user,
    period: ReportingPeriod,
    state: str,
    reason: str,
    confirm_missing: bool = False,
) -> ReportingPeriod:
    """Close a period (locks every figure in it) or reopen it; audited with reason.
    Closing while targets due in the quarter have no approved figure needs
    `confirm_missing`: without it nothing changes and the error names them.
    Returns the period as it now stands."""
    from .reminders import missing_figures

    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.state == state:
        raise WorkflowError(f"{period} đã ở trạng thái “{period.get_state_display()}”.")
    if state == PeriodState.CLOSED and not confirm_missing:
        missing = missing_figures(period)
        if missing:
            raise MissingFigures(period, missing)
    period.state = state
    period._change_reason = reason
    period.full_clean()
    period.save()
    audit.info("period_%s user=%s period=%s", state, user.username, period.pk)
    return period


# --- publishing (công bố) -----------------------------------------------------------


@transaction.atomic
def period_publish(*, user, period: ReportingPeriod) -> ReportingPeriod:
    """The approver publishes a closed quarter: its approved figures and their
    judgement become public (reports/public.py, the API). Quarters are published in
    order within a year, because a quarter's report carries the earlier quarters'
    figures (sums add them up): publishing quý III while quý II is not would show
    quý II."""
    from . import rules

    if user is not None and APPROVER not in rules.roles(user):
        raise WorkflowError("Chỉ lãnh đạo UBND xã (người phê duyệt) công bố số liệu.")
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.state != PeriodState.CLOSED:
        raise WorkflowError(
            f"{period} chưa khóa sổ: chỉ công bố được kỳ đã khóa sổ (số liệu đã "
            "phê duyệt và không còn thay đổi)."
        )
    if period.published_at is not None:
        raise WorkflowError(f"{period} đã được công bố.")
    earlier = (
        ReportingPeriod.objects.filter(
            commune=period.commune_id,
            year=period.year,
            quarter__lt=period.quarter,
            published_at__isnull=True,
        )
        .order_by("quarter")
        .first()
    )
    if earlier is not None:
        raise WorkflowError(
            f"Hãy công bố {earlier} trước: báo cáo {period} có cả số liệu các quý "
            "trước trong năm."
        )
    period.published_at = timezone.now()
    period.published_by = user
    period._change_reason = "Công bố số liệu"
    period.save(update_fields=["published_at", "published_by"])
    audit.info(
        "period_publish user=%s period=%s",
        getattr(user, "username", "-"),
        period.pk,
    )
    return period


@transaction.atomic
def period_unpublish(*, user, period: ReportingPeriod, reason: str) -> list:
    """An administrator withdraws a published quarter, with a reason kept in the
    period's history. The later published quarters of the year go with it (their
    reports carry this quarter's figures). Returns the periods unpublished."""
    from . import rules

    if not rules.is_admin(user):
        raise WorkflowError("Chỉ quản trị hệ thống được gỡ công bố.")
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("Phải nêu lý do gỡ công bố.")
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.published_at is None:
        raise WorkflowError(f"{period} chưa được công bố.")
    withdrawn = list(
        ReportingPeriod.objects.select_for_update()
        .filter(
            commune=period.commune_id,
            year=period.year,
            quarter__gte=period.quarter,
            published_at__isnull=False,
        )
        .order_by("quarter")
    )
    for item in withdrawn:
        item.published_at = None
        item.published_by = None
        item._change_reason = f"{VIA_ADMIN} – gỡ công bố: {reason}"
        item.save(update_fields=["published_at", "published_by"])
        audit.info("period_unpublish user=%s period=%s", user.username, item.pk)
    return withdrawn


@transaction.atomic
def period_reopen_for_corrections(
    *, user, period: ReportingPeriod, reason: str, reopen_period: bool = False
) -> int:
    """Reopen every approved figure of a quarter for corrections, with one reason
    audited on each figure (the `figure_reopen` rule, one figure after another),
    so that a corrected sheet can be imported and go back through approval.
    A closed quarter must be reopened first: with `reopen_period` the period is
    reopened here (`period_set_state`, same reason) in the same transaction.
    Returns how many figures were reopened."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("Hãy ghi lý do mở lại kỳ để sửa số liệu.")
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.state == PeriodState.CLOSED:
        if not reopen_period:
            raise WorkflowError(
                f"{period} đã khóa sổ: phải mở lại kỳ trước (có lý do) rồi mới mở "
                "lại số liệu để sửa. Đánh dấu ô “Mở lại cả kỳ báo cáo” để làm cả "
                "hai việc trong một bước."
            )
        period_set_state(
            user=user,
            period=period,
            state=PeriodState.OPEN,
            reason=f"{VIA_ADMIN} – {reason}",
        )
    approved = list(
        Figure.objects.filter(period=period, state=WorkflowState.APPROVED).order_by(
            "pk"
        )
    )
    if not approved:
        raise WorkflowError(f"{period} không có số liệu đã phê duyệt nào để mở lại.")
    for figure in approved:
        figure_reopen(user=user, figure=figure, reason=reason)
    audit.info(
        "period_reopen_for_corrections user=%s period=%s figures=%s",
        user.username,
        period.pk,
        len(approved),
    )
    return len(approved)
