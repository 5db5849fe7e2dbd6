"""Writes that touch several models: each a small atomic function."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from .models import (
    VIA_ADMIN,
    VIA_IMPORT,
    VIA_REVIEW,
    Assessment,
    Figure,
    PeriodState,
    ReportingPeriod,
    Target,
    TaskUpdate,
    WorkflowState,
    lock_reason,
)
from .validation import OPEN_STATES, Action, check_figures

audit = logging.getLogger("khoenon.audit")

# --- the quarterly workflow ---------------------------------------------------------


class WorkflowError(Exception):
    """A write refused as a whole, with a Vietnamese message for the user."""


def _review(period, figures: dict, updates: dict, change) -> int:
    """Apply `change` to the chosen submitted figures and task updates (id → version),
    all or nothing: a missing row, a stale version or another state refuses all."""
    if period.state == PeriodState.CLOSED:
        raise WorkflowError(lock_reason(WorkflowState.DRAFT, period))
    chosen = []
    for model, ids_versions in ((Figure, figures), (TaskUpdate, updates)):
        rows = list(
            model.objects.select_for_update().filter(pk__in=ids_versions, period=period)
        )
        if len(rows) != len(ids_versions):
            raise WorkflowError("Có mục không còn tồn tại; tải lại trang rồi làm lại.")
        for obj in rows:
            if obj.version != ids_versions[obj.pk]:
                raise WorkflowError(
                    "Có mục vừa được người khác thay đổi; tải lại trang để xem giá "
                    "trị mới rồi làm lại."
                )
            if obj.state != WorkflowState.SUBMITTED:
                raise WorkflowError(
                    f"Có mục đang ở trạng thái “{obj.get_state_display()}”, chỉ "
                    "duyệt hoặc trả lại được mục đã gửi duyệt."
                )
        chosen += rows
    for obj in chosen:
        change(obj)
        obj.save()
    return len(chosen)


def _own_work(user, figures: dict, updates: dict) -> bool:
    """Whether the user entered or submitted any of these rows: a history row of
    theirs from anywhere but the review page (where returning an item is no entry)."""
    own = Q(history_user=user) & ~Q(history_change_reason__startswith=VIA_REVIEW)
    return (
        Figure.history.filter(own, id__in=figures).exists()
        or TaskUpdate.history.filter(own, id__in=updates).exists()
    )


@transaction.atomic
def review_approve(*, user, period, figures: dict, updates: dict) -> int:
    """Approve submitted figures and task updates: they lock. Nobody approves what
    they entered or submitted themselves (segregation of duties)."""
    if _own_work(user, figures, updates):
        raise WorkflowError(
            "Có mục do chính bạn nhập hoặc gửi duyệt. Người nhập số liệu không được "
            "tự phê duyệt: đề nghị một lãnh đạo khác phê duyệt các mục này."
        )
    now = timezone.now()

    def approve(obj):
        obj.state = WorkflowState.APPROVED
        obj.approved_by, obj.approved_at = user, now
        obj.state_reason = ""
        obj.stamp(user, f"{VIA_REVIEW} – phê duyệt")

    count = _review(period, figures, updates, approve)
    audit.info("approve user=%s period=%s items=%s", user.username, period.pk, count)
    return count


@transaction.atomic
def review_return(*, user, period, figures: dict, updates: dict, reason: str) -> int:
    """Send submitted items back to the clerk with a reason."""

    def send_back(obj):
        obj.state = WorkflowState.RETURNED
        obj.state_reason = reason
        obj.stamp(user, f"{VIA_REVIEW} – trả lại: {reason}")

    count = _review(period, figures, updates, send_back)
    audit.info("return user=%s period=%s items=%s", user.username, period.pk, count)
    return count


@transaction.atomic
def figure_reopen(*, user, figure: Figure, reason: str) -> None:
    """An administrator unlocks an approved figure; the reason is audited."""
    figure = (
        Figure.objects.select_for_update().select_related("period").get(pk=figure.pk)
    )
    if figure.period.state == PeriodState.CLOSED:
        raise WorkflowError(
            f"{figure.period} đã khóa sổ: mở lại kỳ trước khi mở lại số liệu."
        )
    if figure.state != WorkflowState.APPROVED:
        raise WorkflowError("Chỉ mở lại được số liệu đã phê duyệt.")
    figure.state = WorkflowState.RETURNED
    figure.state_reason = reason
    figure.stamp(user, f"{VIA_ADMIN} – mở lại: {reason}")
    figure.save()
    audit.info("figure_reopen user=%s figure=%s", user.username, figure.pk)


@transaction.atomic
def assessment_save(*, user, target: Target, period: ReportingPeriod, verdict, reason):
    """The approver's verdict overriding the computed one, with the reason."""
    assessment = Assessment.objects.filter(target=target, period=period).first()
    if assessment is None:
        assessment = Assessment(target=target, period=period)
    assessment.verdict, assessment.reason = verdict, reason
    assessment.assessed_by = user
    assessment._change_reason = reason
    try:
        assessment.full_clean()
    except ValidationError as exc:
        raise WorkflowError(" ".join(exc.messages)) from None
    assessment.save()
    return assessment


@transaction.atomic
def token_issue(*, user, name: str):
    """A new API token for `user`; returns (token, secret). The secret is never
    stored and cannot be shown again."""
    from .models import ApiToken

    secret = ApiToken.new_secret()
    token = ApiToken(user=user, name=name)
    token.set_secret(secret)
    token.full_clean()
    token.save()
    audit.info("token_issue user=%s token=%s", user.username, token.pk)
    return token, secret


def token_revoke(token) -> None:
    """Revoke one token; the user's other tokens keep working."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.info("token_revoke user=%s token=%s", token.user.username, token.pk)


IMPORT_EXPLAIN_HINT = (
    " Ghi giải trình vào cột “Ghi chú” của dòng này, hoặc bỏ chọn “Gửi duyệt” để "
    "nhập thành bản nháp."
)
IMPORT_CONFIRM_TEXT = (
    "Số này khác thường (xem mục “Số khác thường”): khi gửi duyệt, đánh dấu ô "
    "“Tôi đã kiểm tra các số khác thường” trong trang xem trước, hoặc bỏ chọn “Gửi "
    "duyệt” để nhập thành bản nháp."
)


def import_submit_refusals(
    figures: list[Figure], *, confirmed: bool
) -> dict[int, list[str]]:
    """What the entry page's submit rules (`validation.check_figures`, action
    submit) say of imported figures about to be sent: index in `figures` →
    messages, worded for the import's preview; {} when every one may go. Figures
    already sent or approved are not sent again and not judged. The figures hold
    the file's values (saved or not); every other quarter of their targets comes
    from one query."""
    checks = check_figures(figures, action=Action.SUBMIT, confirmed=confirmed)
    refusals = {}
    for index, check in checks.items():
        worded = check.error_dict(
            explain_hint=IMPORT_EXPLAIN_HINT, confirm_text=IMPORT_CONFIRM_TEXT
        )
        messages = [m for field_messages in worded.values() for m in field_messages]
        if messages:
            refusals[index] = messages
    return refusals


class ImportSubmitRefused(WorkflowError):
    def __init__(self, refusals: dict[int, list[str]]):
        self.refusals = refusals
        super().__init__("Không gửi duyệt được: còn dòng thiếu giải trình/xác nhận.")


@transaction.atomic
def import_submit(*, user, figures: list[Figure], confirmed: bool) -> int:
    """Send imported figures (saved, in draft or returned) to the approver, with the
    entry page's submit rules (`import_submit_refusals`): all or none. State
    submitted, submitted_by/at set, one history row each naming the import (and the
    confirmation of flagged values). A fixed number of queries for any number of
    figures. Returns how many were sent."""
    refusals = import_submit_refusals(figures, confirmed=confirmed)
    if refusals:
        raise ImportSubmitRefused(refusals)
    sending = [f for f in figures if f.state in OPEN_STATES]
    if not sending:
        return 0
    now = timezone.now()
    Figure.objects.filter(pk__in=[f.pk for f in sending]).update(
        state=WorkflowState.SUBMITTED,
        submitted_by=user,
        submitted_at=now,
        updated_by=user,
        updated_at=now,
        version=F("version") + 1,
    )
    reason = f"{VIA_IMPORT} – gửi duyệt"
    if confirmed:
        reason += " (đã xác nhận số khác thường)"
    for figure in sending:
        figure.state = WorkflowState.SUBMITTED
        figure.submitted_by, figure.submitted_at = user, now
        figure.updated_at = now
        figure.stamp(user, reason)
    # With no fields, bulk_update_with_history writes the history rows only.
    bulk_update_with_history(
        sending, Figure, [], default_user=user, default_change_reason=reason
    )
    audit.info("import_submit user=%s figures=%s", user.username, len(sending))
    return len(sending)
