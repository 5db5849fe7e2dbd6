"""Writes that touch several models: each a small atomic function."""

import datetime
import logging
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from . import evidence as evidence_files
from .models import (
    VIA_ADMIN,
    VIA_FORM,
    VIA_IMPORT,
    VIA_REVIEW,
    Assessment,
    Evidence,
    Figure,
    FigureKind,
    PeriodState,
    ReportingPeriod,
    Target,
    TaskUpdate,
    WorkflowState,
    lock_reason,
)
from .numbers import format_decimal
from .plausibility import flags_for
from .submission import (
    CONFIRM_TEXT,
    OPEN_STATES,
    explanation_needed,
    explanation_text,
    submit_plan,
)

audit = logging.getLogger("khoenon.audit")

# --- the quarterly workflow ---------------------------------------------------------


class WorkflowError(Exception):
    """A write refused as a whole, with a Vietnamese message for the user."""


def _stamp(obj, user, reason: str) -> None:
    obj.version += 1
    obj.updated_by = user
    obj._change_reason = reason


@transaction.atomic
def entry_save(
    user,
    period: ReportingPeriod,
    figure_rows: list,
    task_rows: list,
    targets: dict,
    tasks: dict,
    *,
    submit: bool,
    today: datetime.date,
    via: str = VIA_FORM,
    confirmed: Collection[int] = (),
    plan_token: str | None = None,
    files: dict | None = None,
    removals: Collection[int] = (),
) -> dict:
    """Save the clerk's rows as drafts and, when `submit`, send every draft of the
    clerk's targets and tasks for the period for approval. All or nothing: any row
    error, conflict or lock refuses the whole save and the rows carry the messages.

    A draft takes any value its field and its target's range take. Sending needs
    what `submission.submit_plan` asks: an explanation for each figure that leaves
    its target behind (the error lands on the explanation box) and a confirmation
    (`confirmed`, target ids) for each flagged value; `plan_token`, when given, is
    the fingerprint of what the confirmation page listed, and must still hold.
    `files` ({target id: upload}) attaches evidence to the row's figure in the same
    save; `removals` are evidence ids to delete (only while the figure may change).

    `via` names the path in the history (the entry page, the API).

    Returns counts {"saved": n, "submitted": m, "attached": a, "removed": r}."""
    if not period.is_open_for_entry(today):
        raise WorkflowError(
            f"{period} không còn mở để nhập số liệu (đã khóa sổ hoặc quá hạn "
            f"{period.deadline:%d/%m/%Y}). Liên hệ quản trị hệ thống nếu cần mở lại."
        )
    figures = {
        f.target_id: f
        # Lock the figure rows only: PostgreSQL refuses FOR UPDATE on the nullable
        # side of the join to the user who last saved.
        for f in Figure.objects.select_for_update(of=("self",))
        .filter(period=period, target_id__in=targets)
        .select_related("updated_by")
    }
    updates = {
        u.task_id: u
        for u in TaskUpdate.objects.select_for_update(of=("self",))
        .filter(period=period, task_id__in=tasks)
        .select_related("updated_by")
    }

    to_save = []
    for row in figure_rows:
        target = targets[row.target_id]
        figure = figures.get(row.target_id)
        if not target.window[0] <= period.key <= target.window[1]:
            if row.raw_value:
                row.errors.append(f"{period} nằm ngoài khoảng đánh giá của chỉ tiêu.")
            continue
        if _conflict(row, figure):
            continue
        if row.errors:
            continue
        if row.value is None:
            if figure is not None:
                row.errors.append(
                    "Không được để trống số liệu đã nhập. Nếu số liệu sai, hãy nhập "
                    "số đúng."
                )
            continue
        unchanged = figure is not None and (
            figure.value == row.value
            and figure.kind == row.kind
            and figure.note == row.note
        )
        if unchanged:
            continue
        if figure is not None and figure.state in (
            WorkflowState.SUBMITTED,
            WorkflowState.APPROVED,
        ):
            row.errors.append(
                lock_reason(figure.state, period)
                or "Số liệu đã gửi duyệt; chờ phê duyệt hoặc trả lại rồi mới sửa được."
            )
            continue
        if figure is None:
            figure = Figure(target=target, period=period, version=0)
        figure.value, figure.kind, figure.note = row.value, row.kind, row.note
        figure.state = WorkflowState.DRAFT
        figure.is_demo = False  # a person's figure now, whatever the demo put there
        to_save.append((row, figure))

    task_saves = []
    for row in task_rows:
        update = updates.get(row.task_id)
        if _conflict(row, update):
            continue
        if row.errors:
            continue
        if not row.status:
            if update is not None:
                row.errors.append("Chọn tình hình thực hiện.")
            continue
        if update is not None and (update.status, update.narrative) == (
            row.status,
            row.narrative,
        ):
            continue
        if update is not None and update.state in (
            WorkflowState.SUBMITTED,
            WorkflowState.APPROVED,
        ):
            row.errors.append(
                lock_reason(update.state, period)
                or "Đã gửi duyệt; chờ phê duyệt hoặc trả lại rồi mới sửa được."
            )
            continue
        if update is None:
            update = TaskUpdate(task=tasks[row.task_id], period=period, version=0)
        update.status, update.narrative = row.status, row.narrative
        update.state = WorkflowState.DRAFT
        update.is_demo = False
        task_saves.append((row, update))

    attach, remove = _evidence_changes(
        figure_rows, figures, files or {}, removals, to_save
    )

    for row, obj in to_save + task_saves:
        _stamp(obj, user, f"{via} – lưu nháp")
        try:
            obj.full_clean()
        except ValidationError as exc:
            if not (obj.pk is None and _created_meanwhile(row, obj)):
                row.errors.extend(exc.messages)
    if any(r.all_errors for r in figure_rows + task_rows):
        raise RowErrors()

    for row, obj in to_save + task_saves:
        try:
            with transaction.atomic():  # a savepoint: the transaction survives
                obj.save()
        except IntegrityError:
            # Someone created this quarter's row between our read and our insert.
            _created_meanwhile(row, obj)
    if any(r.all_errors for r in figure_rows + task_rows):
        raise RowErrors()

    drafts = []
    if submit:
        plan = submit_plan(period, targets, tasks, confirmed, lock=True)
        if plan.explain or plan.confirm:
            rows = {r.target_id: r for r in figure_rows}
            for pk, text in plan.explain.items():
                if pk in rows:
                    rows[pk].note_errors.append(text)
            for pk in plan.confirm:
                if pk in rows:
                    rows[pk].confirm_errors.append(CONFIRM_TEXT)
            raise RowErrors(plan)
        if plan_token is not None and plan_token != plan.token:
            raise WorkflowError(
                "Số liệu của quý vừa thay đổi sau khi bạn xem danh sách gửi duyệt "
                "(có người khác vừa lưu). Hãy xem lại rồi gửi lần nữa."
            )
        drafts = plan.send
        if not drafts:
            raise WorkflowError("Không có số liệu nào mới để gửi duyệt.")

    for target_id, uploaded in attach.items():
        evidence_files.attach(user, _figure_of(target_id, figures, to_save), uploaded)
    for item in remove:
        evidence_files.remove(user, item)

    submitted = 0
    if submit:
        now = timezone.now()
        for obj in drafts:
            obj.state = WorkflowState.SUBMITTED
            obj.submitted_by, obj.submitted_at = user, now
            reason = f"{via} – gửi duyệt"
            if isinstance(obj, Figure) and obj.target_id in confirmed:
                reason += " (đã xác nhận số khác thường)"
            _stamp(obj, user, reason)
            obj.save()
        submitted = len(drafts)
    return {
        "saved": len(to_save) + len(task_saves),
        "submitted": submitted,
        "attached": len(attach),
        "removed": len(remove),
    }


def _figure_of(target_id: int, figures: dict, to_save: list) -> Figure:
    for row, figure in to_save:
        if row.target_id == target_id:
            return figure
    return figures[target_id]


def _evidence_changes(
    figure_rows, figures: dict, files: dict, removals, saving: list
) -> tuple[dict, list]:
    """Check the evidence the entry form attaches (`files`, {target id: upload}) and
    removes (`removals`, evidence ids) before anything is written; errors go on the
    rows (the file input) or refuse the save. Returns what to attach and remove."""
    rows = {r.target_id: r for r in figure_rows}
    saved_targets = {row.target_id for row, _ in saving}
    attach = {}
    for target_id, uploaded in files.items():
        row = rows.get(target_id)
        if row is None:
            raise WorkflowError(
                "Tệp minh chứng gửi kèm một chỉ tiêu không có trên trang."
            )
        figure = figures.get(target_id)
        if figure is None and target_id not in saved_targets:
            row.file_errors.append(
                "Nhập số liệu của quý trước khi đính kèm minh chứng (tệp chưa được "
                "lưu)."
            )
            continue
        if figure is not None and figure.state not in (
            WorkflowState.DRAFT,
            WorkflowState.RETURNED,
        ):
            row.file_errors.append(
                "Số liệu đã gửi duyệt hoặc đã phê duyệt: không đính kèm thêm được."
            )
            continue
        try:
            evidence_files.check(uploaded)
        except evidence_files.EvidenceError as exc:
            row.file_errors.append(f"Tệp “{uploaded.name}” không được nhận: {exc}")
            continue
        attach[target_id] = uploaded
    remove = []
    if removals:
        items = list(Evidence.objects.filter(pk__in=removals).select_related("figure"))
        allowed = {f.pk for f in figures.values()}
        if len(items) != len(set(removals)) or any(
            i.figure_id not in allowed for i in items
        ):
            raise WorkflowError("Có minh chứng không còn tồn tại; tải lại trang.")
        for item in items:
            figure = figures[item.figure.target_id]
            if not evidence_files.removable(figure, True):
                row = rows.get(figure.target_id)
                text = (
                    f"Minh chứng “{item.original_name}” thuộc số liệu đã gửi duyệt "
                    "hoặc đã phê duyệt: không xóa được."
                )
                if row is None:
                    raise WorkflowError(text)
                row.file_errors.append(text)
                continue
            remove.append(item)
    return attach, remove


def _created_meanwhile(row, obj) -> bool:
    """A new figure or task update that someone else created for the same quarter
    since we read: report it as a conflict showing what is stored now."""
    lookup = {"target": obj.target} if isinstance(obj, Figure) else {"task": obj.task}
    stored = (
        type(obj)
        .objects.filter(period=obj.period, **lookup)
        .select_related("updated_by")
        .first()
    )
    if stored is None:
        return False
    row.version = -1  # never a stored version: always a conflict
    _conflict(row, stored)
    return True


class RowErrors(Exception):
    """Some rows carry errors: nothing was written. `plan` is the submit plan when
    sending was refused for missing explanations or confirmations (it names rows
    the POST may not have carried)."""

    @property
    def plan(self):
        return self.args[0] if self.args else None


def _conflict(row, stored) -> bool:
    """Optimistic concurrency: the row must start from the stored version."""
    stored_version = stored.version if stored is not None else 0
    if row.version == stored_version:
        return False
    if stored is None:
        row.errors.append("Số liệu này đã bị xóa trong lúc bạn nhập; tải lại trang.")
        return True
    who = stored.updated_by.get_full_name() if stored.updated_by else "người khác"
    when = timezone.localtime(stored.updated_at).strftime("%H:%M %d/%m/%Y")
    shown = (
        format_decimal(stored.value)
        if isinstance(stored, Figure)
        else stored.get_status_display()
    )
    row.errors.append(
        f"Xung đột: {who} đã lưu lúc {when} trong khi bạn đang nhập. Giá trị hiện "
        f"đang lưu là {shown}. Số của bạn chưa được lưu: hãy xem lại rồi lưu lần nữa."
    )
    row.conflict = stored
    return True


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
def review_approve(user, period, figures: dict, updates: dict) -> int:
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
        _stamp(obj, user, f"{VIA_REVIEW} – phê duyệt")

    count = _review(period, figures, updates, approve)
    audit.info("approve user=%s period=%s items=%s", user.username, period.pk, count)
    return count


@transaction.atomic
def review_return(user, period, figures: dict, updates: dict, reason: str) -> int:
    """Send submitted items back to the clerk with a reason."""

    def send_back(obj):
        obj.state = WorkflowState.RETURNED
        obj.state_reason = reason
        _stamp(obj, user, f"{VIA_REVIEW} – trả lại: {reason}")

    count = _review(period, figures, updates, send_back)
    audit.info("return user=%s period=%s items=%s", user.username, period.pk, count)
    return count


@transaction.atomic
def figure_reopen(user, figure: Figure, reason: str) -> None:
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
    _stamp(figure, user, f"{VIA_ADMIN} – mở lại: {reason}")
    figure.save()
    audit.info("figure_reopen user=%s figure=%s", user.username, figure.pk)


@transaction.atomic
def assessment_save(user, target: Target, period: ReportingPeriod, verdict, reason):
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
def token_issue(user, name: str):
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
    """What the entry page's submit rules (`submission.explanation_needed`,
    `plausibility.flags_for`) say of imported figures about to be sent: index in
    `figures` → messages; {} when every one may go. Figures already sent or
    approved are not sent again and not judged. The figures hold the file's values
    (saved or not); every other quarter of their targets comes from one query."""
    sending = [(i, f) for i, f in enumerate(figures) if f.state in OPEN_STATES]
    if not sending:
        return {}
    values: dict[int, dict] = {}
    estimates: dict[int, set] = {}
    rows = Figure.objects.filter(
        target_id__in={f.target_id for _, f in sending}
    ).values_list("target_id", "period__year", "period__quarter", "value", "kind")
    for target_id, year, quarter, value, kind in rows:
        values.setdefault(target_id, {})[(year, quarter)] = value
        if kind == FigureKind.ESTIMATE:
            estimates.setdefault(target_id, set()).add((year, quarter))
    for figure in figures:
        key = figure.period.key
        values.setdefault(figure.target_id, {})[key] = figure.value
        marked = estimates.setdefault(figure.target_id, set())
        if figure.kind == FigureKind.ESTIMATE:
            marked.add(key)
        else:
            marked.discard(key)
    refusals: dict[int, list[str]] = {}
    for index, figure in sending:
        key = figure.period.key
        own = {q: v for q, v in values[figure.target_id].items() if q <= key}
        status = explanation_needed(
            figure.target, own, key, estimates[figure.target_id]
        )
        if status is not None and not figure.note:
            refusals.setdefault(index, []).append(
                explanation_text(status) + IMPORT_EXPLAIN_HINT
            )
        if not confirmed and flags_for(figure.target, own, key):
            refusals.setdefault(index, []).append(IMPORT_CONFIRM_TEXT)
    return refusals


class ImportSubmitRefused(WorkflowError):
    def __init__(self, refusals: dict[int, list[str]]):
        self.refusals = refusals
        super().__init__("Không gửi duyệt được: còn dòng thiếu giải trình/xác nhận.")


@transaction.atomic
def import_submit(user, figures: list[Figure], *, confirmed: bool) -> int:
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
        figure.updated_by, figure.updated_at = user, now
        figure.version += 1
        figure._change_reason = reason
    # With no fields, bulk_update_with_history writes the history rows only.
    bulk_update_with_history(
        sending, Figure, [], default_user=user, default_change_reason=reason
    )
    audit.info("import_submit user=%s figures=%s", user.username, len(sending))
    return len(sending)
