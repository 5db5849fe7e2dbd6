"""The clerk's write: the entry page's (and the API's) rows saved as drafts and,
when asked, the quarter sent for approval (`entry_save`). All or nothing; a fixed
number of queries whatever the number of rows."""

import copy
import datetime
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, prefetch_related_objects
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from . import evidence as evidence_files
from . import rules
from .models import (
    VIA_FORM,
    Evidence,
    Figure,
    ReportingPeriod,
    TaskUpdate,
    WorkflowState,
    lock_reason,
)
from .numbers import format_decimal
from .services import WorkflowError
from .submission import submit_plan
from .validation import CONFIRM_TEXT, OPEN_STATES, Action, check_figures

# Foreign keys a row's own check leaves alone: the page chose them (no query each).
RELATIONS = ["target", "task", "period", "updated_by", "submitted_by", "approved_by"]
FIGURE_FIELDS = ["value", "kind", "note", "state", "is_demo", "version"]
UPDATE_FIELDS = ["status", "narrative", "state", "is_demo", "version"]
SENT_FIELDS = ["state", "submitted_by", "submitted_at", "version"]
STAMPED = ["updated_by", "updated_at"]


class RowErrors(Exception):
    """Some rows carry errors: nothing was written. `plan` is the submit plan when
    sending was refused for missing explanations or confirmations (it names rows
    the POST may not have carried)."""

    @property
    def plan(self):
        return self.args[0] if self.args else None


def entry_scope(user, period) -> tuple[dict, dict]:
    """What the clerk may enter for the period, by id: the targets their bodies lead
    in the period's commune whose window holds the quarter (in the resolution's
    order), and the tasks they lead. The entry page's and the API's scope. Each
    carries its lead body (`lead_pk`, `lead_name`: one of the clerk's), read with
    it, for the clerk's notice (`reminders.QuarterRead`)."""
    lead = {
        "lead_pk": F("assignments__body"),
        "lead_name": F("assignments__body__name"),
    }
    targets = {
        t.pk: t
        for t in rules.editable_targets(user)
        .filter(indicator__resolution__commune=period.commune_id)
        .annotate(**lead)
        .select_related("indicator__resolution")
        .order_by("indicator__resolution", "indicator__number", "order", "code")
        .distinct()
        if t.window[0] <= period.key <= t.window[1]
    }
    tasks = {
        t.pk: t
        for t in rules.editable_tasks(user)
        .filter(resolution__commune=period.commune_id)
        .annotate(**lead)
        .select_related("resolution")
        .order_by("resolution", "kind", "number")
        .distinct()
    }
    return targets, tasks


@transaction.atomic
def entry_save(
    *,
    user,
    period: ReportingPeriod,
    figure_rows: list,
    task_rows: list,
    targets: dict,
    tasks: dict,
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

    A draft takes any value its field and its target's range take
    (`validation.check_figures`, action draft). Sending needs what
    `submission.submit_plan` asks: an explanation for each figure that leaves its
    target behind (the error lands on the explanation box) and a confirmation
    (`confirmed`, target ids) for each flagged value; `plan_token`, when given, is
    the fingerprint of what the confirmation page listed, and must still hold.
    `files` ({target id: upload}) attaches evidence to the row's figure in the same
    save; `removals` are evidence ids to delete (only while the figure may change).

    `via` names the path in the history (the entry page, the API).

    Returns counts {"saved": n, "submitted": m, "attached": a, "removed": r}."""
    _refuse_closed(period, today)
    figures, updates = _stored(period, targets, tasks)
    new_figures = _figure_changes(period, figure_rows, figures, targets)
    new_updates = _update_changes(period, task_rows, updates, tasks)
    attach, remove = _evidence_changes(
        figure_rows, figures, files or {}, removals, new_figures
    )
    for _, obj in new_figures + new_updates:
        obj.stamp(user, f"{via} – lưu nháp")
    _check(new_figures, new_updates, figures)
    _raise_row_errors(figure_rows, task_rows)
    _write(new_figures + new_updates, user)
    _raise_row_errors(figure_rows, task_rows)
    drafts = []
    if submit:
        drafts = _to_send(period, targets, tasks, confirmed, plan_token, figure_rows)
    _apply_evidence(user, attach, remove, figures, new_figures)
    if submit:
        _send(drafts, user, via, confirmed)
    return {
        "saved": len(new_figures) + len(new_updates),
        "submitted": len(drafts),
        "attached": len(attach),
        "removed": len(remove),
    }


def _refuse_closed(period: ReportingPeriod, today: datetime.date) -> None:
    if not period.is_open_for_entry(today):
        raise WorkflowError(
            f"{period} không còn mở để nhập số liệu (đã khóa sổ hoặc quá hạn "
            f"{period.deadline:%d/%m/%Y}). Liên hệ quản trị hệ thống nếu cần mở lại."
        )


def _stored(period, targets: dict, tasks: dict) -> tuple[dict, dict]:
    """The period's figures and task updates of these targets and tasks, locked for
    the rest of the transaction: target id → figure, task id → update."""
    # Lock the rows only: PostgreSQL refuses FOR UPDATE on the nullable side of
    # the join to the user who last saved.
    figures = {
        f.target_id: f
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
    # The relations the rules read, from what the page loaded: no query per row.
    for figure in figures.values():
        figure.target, figure.period = targets[figure.target_id], period
    for update in updates.values():
        update.task, update.period = tasks[update.task_id], period
    return figures, updates


def _may_change(row, stored, period, *, blank: bool, same, empty: str, sent: str):
    """Whether the row changes its stored figure or update (or makes a new one);
    when it may not, the reason goes on the row. `same(stored)`: the row holds
    what is stored; `empty`: the refusal to blank a stored row; `sent`: the
    refusal to change one waiting for the approver."""
    if _conflict(row, stored) or row.errors:
        return False
    if blank:
        if stored is not None:
            row.errors.append(empty)
        return False
    if stored is None:
        return True
    if same(stored):
        return False
    if stored.state not in OPEN_STATES:
        row.errors.append(lock_reason(stored.state, period) or sent)
        return False
    return True


def _figure_changes(period, rows: list, figures: dict, targets: dict) -> list:
    """(row, figure) for each row that writes a draft: the stored figure with the
    row's values, or a new one."""
    changes = []
    for row in rows:
        target, figure = targets[row.target_id], figures.get(row.target_id)
        if not target.window[0] <= period.key <= target.window[1]:
            if row.raw_value:
                row.errors.append(f"{period} nằm ngoài khoảng đánh giá của chỉ tiêu.")
            continue
        if not _may_change(
            row,
            figure,
            period,
            blank=row.value is None,
            same=lambda f, r=row: _holds(f, r),
            empty="Không được để trống số liệu đã nhập. Nếu số liệu sai, hãy nhập "
            "số đúng.",
            sent="Số liệu đã gửi duyệt; chờ phê duyệt hoặc trả lại rồi mới sửa được.",
        ):
            continue
        if figure is None:
            figure = Figure(target=target, period=period)
        else:
            figure._stored = copy.copy(figure)  # for the lock check
        figure.value, figure.kind, figure.note = row.value, row.kind, row.note
        figure.state = WorkflowState.DRAFT
        figure.is_demo = False  # a person's figure now, whatever the demo put there
        changes.append((row, figure))
    return changes


def _holds(figure: Figure, row) -> bool:
    return (figure.value, figure.kind, figure.note) == (row.value, row.kind, row.note)


def _update_changes(period, rows: list, updates: dict, tasks: dict) -> list:
    """(row, task update) for each task row that writes a draft."""
    changes = []
    for row in rows:
        update = updates.get(row.task_id)
        if not _may_change(
            row,
            update,
            period,
            blank=not row.status,
            same=lambda u, r=row: (u.status, u.narrative) == (r.status, r.narrative),
            empty="Chọn tình hình thực hiện.",
            sent="Đã gửi duyệt; chờ phê duyệt hoặc trả lại rồi mới sửa được.",
        ):
            continue
        if update is None:
            update = TaskUpdate(task=tasks[row.task_id], period=period)
        update.status, update.narrative = row.status, row.narrative
        update.state = WorkflowState.DRAFT
        update.is_demo = False
        changes.append((row, update))
    return changes


def _check(new_figures: list, new_updates: list, stored: dict) -> None:
    """Each row's own rules (its fields, `own_errors`) and, for figures, the one
    batch check with the stored rows already read: no query. Errors go on the
    rows."""
    for row, obj in new_figures + new_updates:
        try:
            obj.clean_fields(exclude=RELATIONS)
        except ValidationError as exc:
            row.errors.extend(exc.messages)
    prefetch_related_objects([u for _, u in new_updates], "task__resolution")
    snapshots = {
        f.pk: getattr(f, "_stored", None) for _, f in new_figures if f.pk is not None
    }
    figures = [f for _, f in new_figures]
    checks = check_figures(figures, action=Action.DRAFT, stored=snapshots)
    for index, check in checks.items():
        new_figures[index][0].errors.extend(check.messages)
    for row, update in new_updates:
        row.errors.extend(update.own_errors().values())


def _raise_row_errors(figure_rows: list, task_rows: list) -> None:
    if any(r.all_errors for r in figure_rows + task_rows):
        raise RowErrors()


def _write(changes: list, user) -> None:
    """The drafts and their history rows, a few queries per model. A new row that
    someone created for the same quarter since we read refuses the save as a
    conflict (the database's unique constraint says so)."""
    now = timezone.now()
    for model, fields in ((Figure, FIGURE_FIELDS), (TaskUpdate, UPDATE_FIELDS)):
        mine = [(row, obj) for row, obj in changes if type(obj) is model]
        new = [obj for _, obj in mine if obj.pk is None]
        changed = [obj for _, obj in mine if obj.pk is not None]
        if new:
            try:
                with transaction.atomic():  # a savepoint: the transaction survives
                    bulk_create_with_history(new, model, default_user=user)
            except IntegrityError:
                if not _created_meanwhile(model, [(r, o) for r, o in mine if not o.pk]):
                    raise
                continue
        for obj in changed:
            obj.updated_at = now  # auto_now, which bulk_update leaves alone
        if changed:
            bulk_update_with_history(
                changed, model, fields + STAMPED, default_user=user
            )


def _created_meanwhile(model, changes: list) -> bool:
    """New figures or task updates that someone else created for the same quarter
    since we read: each reported as a conflict showing what is stored now. False
    when none was."""
    key = "target_id" if model is Figure else "task_id"
    _, first = changes[0]
    stored = {
        getattr(s, key): s
        for s in model.objects.filter(
            period=first.period_id,
            **{f"{key}__in": [getattr(o, key) for _, o in changes]},
        ).select_related("updated_by")
    }
    for row, obj in changes:
        obj.pk = None  # bulk_create may have set it before the rollback
        found = stored.get(getattr(obj, key))
        if found is not None:
            row.version = -1  # never a stored version: always a conflict
            _conflict(row, found)
    return bool(stored)


def _to_send(period, targets, tasks, confirmed, plan_token, figure_rows) -> list:
    """What "Gửi duyệt" sends, under lock: the submit plan, refused (errors on the
    rows) while an explanation or a confirmation is missing or the plan is not the
    one the clerk was shown."""
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
    if not plan.send:
        raise WorkflowError("Không có số liệu nào mới để gửi duyệt.")
    return plan.send


def _send(drafts: list, user, via: str, confirmed: Collection[int]) -> None:
    """The drafts sent for approval, one history row each (naming the
    confirmation of a flagged value)."""
    now = timezone.now()
    for obj in drafts:
        obj.state = WorkflowState.SUBMITTED
        obj.submitted_by, obj.submitted_at = user, now
        reason = f"{via} – gửi duyệt"
        if isinstance(obj, Figure) and obj.target_id in confirmed:
            reason += " (đã xác nhận số khác thường)"
        obj.stamp(user, reason)
        obj.updated_at = now
    for model in (Figure, TaskUpdate):
        sent = [obj for obj in drafts if type(obj) is model]
        if sent:
            bulk_update_with_history(sent, model, SENT_FIELDS + STAMPED)


def _apply_evidence(user, attach: dict, remove: list, figures: dict, new: list):
    saved = {row.target_id: figure for row, figure in new}
    for target_id, uploaded in attach.items():
        figure = saved.get(target_id) or figures[target_id]
        evidence_files.attach(user, figure, uploaded)
    for item in remove:
        evidence_files.remove(user, item)


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
        if figure is not None and figure.state not in OPEN_STATES:
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
    return attach, _removals(rows, figures, removals)


def _removals(rows: dict, figures: dict, removals) -> list:
    """The evidence to delete, each of a figure that may still change."""
    if not removals:
        return []
    items = list(Evidence.objects.filter(pk__in=removals).select_related("figure"))
    allowed = {f.pk for f in figures.values()}
    if len(items) != len(set(removals)) or any(
        i.figure_id not in allowed for i in items
    ):
        raise WorkflowError("Có minh chứng không còn tồn tại; tải lại trang.")
    remove = []
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
    return remove


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
    return True
