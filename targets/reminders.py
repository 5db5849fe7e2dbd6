"""What a quarter still lacks, and who should hear about it.

One reading of "outstanding" behind four things: closing a quarter (the figures with
no approved value, `missing_figures`), the notice on the clerk's entry page
(`clerk_notice`), the notice on the approver's review page (`approver_notice`) and the
daily reminder emails (`send_reminders`, run by `manage.py send_reminders`). Every
list is read in a constant number of queries, whatever the number of targets,
bodies, clerks or open quarters.

A target is due in a quarter when the quarter lies in its window; a task or solution
when its resolution's plan covers part of the quarter. It is outstanding until its
figure (or task update) is approved.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
)
from django.urls import reverse

from .models import (
    APPROVER,
    CLERK,
    Assignment,
    Figure,
    PeriodState,
    ReportingPeriod,
    Role,
    Target,
    Task,
    TaskUpdate,
    WorkflowState,
    lead_body,
    periods_up_to,
)
from .numbers import format_decimal

log = logging.getLogger("khoenon.reminders")

STATE_LABELS = {
    None: "chưa nhập",
    WorkflowState.DRAFT: "mới lưu nháp, chưa gửi duyệt",
    WorkflowState.RETURNED: "bị trả lại, chưa gửi lại",
    WorkflowState.SUBMITTED: "đã gửi, chờ phê duyệt",
}


@dataclass(frozen=True)
class Outstanding:
    """A target or task of a quarter with no approved figure or update yet.

    state: the workflow state of what was entered, None when nothing was."""

    code: str  # "2a", or "Giải pháp 3"
    label: str  # "2a. Tổng sản lượng…", or "Giải pháp 3: …"
    lead_id: int | None
    lead_name: str
    state: str | None
    target_id: int | None = None
    task_id: int | None = None
    value: str = ""  # the figure entered, Vietnamese format, if any
    reason: str = ""  # why it was returned, if it was

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def is_waiting(self) -> bool:
        """Sent by the clerk, waiting for the approver."""
        return self.state == WorkflowState.SUBMITTED


@dataclass
class PeriodReminder:
    """One open quarter in a reminder: what is not sent yet and what waits."""

    period: ReportingPeriod
    today: datetime.date
    not_sent: list[Outstanding] = field(default_factory=list)
    waiting: list[Outstanding] = field(default_factory=list)

    @property
    def days_left(self) -> int:
        return (self.period.deadline - self.today).days

    @property
    def is_overdue(self) -> bool:
        return self.days_left < 0

    @property
    def deadline_text(self) -> str:
        deadline = self.period.deadline.strftime("%d/%m/%Y")
        days = self.days_left
        if days > 1:
            return f"hạn nhập {deadline} (còn {days} ngày)"
        if days == 1:
            return f"hạn nhập {deadline} (còn 1 ngày, hết hạn ngày mai)"
        if days == 0:
            return f"hạn nhập {deadline} (hết hạn hôm nay)"
        return f"đã quá hạn nhập {deadline} ({-days} ngày)"

    def __bool__(self) -> bool:
        return bool(self.not_sent or self.waiting)


# --- reading what is outstanding --------------------------------------------------


def _quarter_dates(year: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    first = datetime.date(year, 3 * quarter - 2, 1)
    if quarter == 4:
        return first, datetime.date(year, 12, 31)
    return first, datetime.date(year, 3 * quarter + 1, 1) - datetime.timedelta(1)


def _window_includes(year: int, quarter: int) -> Q:
    starts = periods_up_to(year, quarter, prefix="window_start_")
    ends = Q(window_end_year__gt=year) | Q(
        window_end_year=year, window_end_quarter__gte=quarter
    )
    return starts & ends


def _leads():
    return Prefetch(
        "assignments",
        queryset=Assignment.objects.filter(role=Role.LEAD).select_related("body"),
        to_attr="leads",
    )


def _with_leads(rows: QuerySet, lead_bodies: Collection[int] | None) -> QuerySet:
    """The targets or tasks with their lead: every row, its lead assignments
    prefetched; or, with `lead_bodies`, only the rows these bodies lead, the lead
    read in the same query (at most one lead each: the join adds no row)."""
    if lead_bodies is None:
        return rows.prefetch_related(_leads())
    return rows.filter(
        assignments__role=Role.LEAD, assignments__body__in=lead_bodies
    ).annotate(lead_pk=F("assignments__body"), lead_name=F("assignments__body__name"))


def _lead(item) -> tuple[int | None, str]:
    if hasattr(item, "lead_pk"):  # read with the row by _with_leads
        return item.lead_pk, item.lead_name
    body = lead_body(item.leads)
    if body is None:
        return None, "chưa phân công đơn vị chủ trì"
    return body.pk, body.name


def outstanding(
    periods: Iterable[ReportingPeriod], lead_bodies: Collection[int] | None = None
) -> dict[int, list[Outstanding]]:
    """Period id → its targets and tasks without an approved figure or update, in
    the order of the resolution. Six queries whatever the number of periods.

    lead_bodies: only what these bodies lead (a clerk's reminder), chosen in the
    queries, so another commune's or body's rows are never read; four queries."""
    periods = list(periods)
    if not periods:
        return {}
    due_targets = Q(pk__in=[])
    due_tasks = Q(pk__in=[])
    for p in periods:
        due_targets |= Q(indicator__resolution__commune=p.commune_id) & (
            _window_includes(p.year, p.quarter)
        )
        first, last = _quarter_dates(p.year, p.quarter)
        due_tasks |= Q(
            resolution__commune=p.commune_id,
            resolution__covers_from__lte=last,
            resolution__covers_to__gte=first,
        )
    targets = list(
        _with_leads(Target.objects.filter(due_targets), lead_bodies)
        .select_related("indicator__resolution")
        .order_by("indicator__resolution", "indicator__number", "order", "code")
    )
    tasks = list(
        _with_leads(Task.objects.filter(due_tasks), lead_bodies)
        .select_related("resolution")
        .order_by("resolution", "kind", "number")
    )
    figures = {
        (f.period_id, f.target_id): f
        for f in Figure.objects.filter(period__in=periods, target__in=targets).only(
            "period_id", "target_id", "state", "value", "state_reason"
        )
    }
    updates = {
        (u.period_id, u.task_id): u
        for u in TaskUpdate.objects.filter(period__in=periods, task__in=tasks).only(
            "period_id", "task_id", "state", "state_reason"
        )
    }
    return _outstanding_in(periods, targets, tasks, figures, updates)


def _outstanding_in(periods, targets, tasks, figures, updates) -> dict:
    """`outstanding` from rows already read: the due targets and tasks (with their
    lead, `_lead`), figures by (period id, target id), task updates by (period id,
    task id). No query."""
    targets_of: dict[int, list[Target]] = {}
    for t in targets:
        targets_of.setdefault(t.indicator.resolution.commune_id, []).append(t)
    tasks_of: dict[int, list[Task]] = {}
    for task in tasks:
        tasks_of.setdefault(task.resolution.commune_id, []).append(task)
    result: dict[int, list[Outstanding]] = {}
    for p in periods:
        items = result.setdefault(p.pk, [])
        for t in targets_of.get(p.commune_id, []):
            if not (t.window[0] <= p.key <= t.window[1]):
                continue
            f = figures.get((p.pk, t.pk))
            items += _due(
                t,
                f,
                code=t.code,
                label=f"{t.code}. {t.name}",
                target_id=t.pk,
                value=format_decimal(f.value) if f else "",
            )
        first, last = _quarter_dates(p.year, p.quarter)
        for task in tasks_of.get(p.commune_id, []):
            r = task.resolution
            if not (r.covers_from <= last and r.covers_to >= first):
                continue
            items += _due(
                task,
                updates.get((p.pk, task.pk)),
                code=f"{task.get_kind_display()} {task.number}",
                label=f"{task.get_kind_display()} {task.number}: {task.summary}",
                task_id=task.pk,
            )
    return result


def _due(item, stored, **fields) -> list[Outstanding]:
    """The target or task as still due, with its lead and what was entered; []
    once its figure or update is approved."""
    if stored is not None and stored.state == WorkflowState.APPROVED:
        return []
    lead_id, lead_name = _lead(item)
    returned = stored is not None and stored.state == WorkflowState.RETURNED
    return [
        Outstanding(
            lead_id=lead_id,
            lead_name=lead_name,
            state=stored.state if stored else None,
            reason=stored.state_reason if returned else "",
            **fields,
        )
    ]


def missing_figures(period: ReportingPeriod) -> list[Outstanding]:
    """The targets due in the quarter (the quarter lies in their window) that have no
    approved figure, with their lead body and what was entered, if anything. What
    closing a quarter warns about, and what the dashboard and report can name."""
    return [
        item
        for item in outstanding([period]).get(period.pk, [])
        if item.target_id is not None
    ]


def led_periods(led_by: Collection[int]) -> QuerySet[ReportingPeriod]:
    """Quarters of the communes where these bodies (ids) lead a target or a task,
    each with `leads_target`: whether they lead a target in its commune (the
    quarters of the clerk's entry page)."""
    lead = {"assignments__role": Role.LEAD, "assignments__body__in": led_by}
    targets = Q(
        commune__in=Target.objects.filter(**lead).values(
            "indicator__resolution__commune"
        )
    )
    tasks = Q(commune__in=Task.objects.filter(**lead).values("resolution__commune"))
    return ReportingPeriod.objects.filter(targets | tasks).annotate(
        leads_target=ExpressionWrapper(targets, output_field=BooleanField())
    )


def _oldest_first(period: ReportingPeriod) -> tuple:
    return period.year, period.quarter, period.commune_id


def open_periods(led_by: Collection[int] | None = None) -> list[ReportingPeriod]:
    """Quarters still open (not closed), oldest first; with `led_by` (body ids),
    only those of the communes where these bodies lead a target or a task."""
    periods = (
        ReportingPeriod.objects.all() if led_by is None else led_periods(led_by)
    ).filter(state=PeriodState.OPEN)
    return list(periods.order_by("year", "quarter", "commune"))


def for_clerk(
    periods: list[ReportingPeriod],
    found: dict[int, list[Outstanding]],
    body_ids: set[int],
    today: datetime.date,
) -> list[PeriodReminder]:
    """For a clerk of these bodies: what their bodies lead and have not sent, in the
    quarters still open for entry. No query."""
    reminders = []
    for p in periods:
        if not p.is_open_for_entry(today):
            continue
        reminder = PeriodReminder(p, today)
        reminder.not_sent = [
            item
            for item in found.get(p.pk, [])
            if item.lead_id in body_ids and not item.is_waiting
        ]
        if reminder:
            reminders.append(reminder)
    return reminders


def for_approver(
    periods: list[ReportingPeriod],
    found: dict[int, list[Outstanding]],
    today: datetime.date,
) -> list[PeriodReminder]:
    """For the approver: what waits for approval in any open quarter, and what was
    not sent by the deadline. No query."""
    reminders = []
    for p in periods:
        reminder = PeriodReminder(p, today)
        items = found.get(p.pk, [])
        reminder.waiting = [item for item in items if item.is_waiting]
        if today > p.deadline:
            reminder.not_sent = [item for item in items if not item.is_waiting]
        if reminder:
            reminders.append(reminder)
    return reminders


@dataclass(frozen=True)
class QuarterRead:
    """What the clerk's entry page has read for its quarter: the targets and tasks
    the clerk's bodies lead in the quarter's commune (`entry.entry_scope`, each
    with `lead_pk` and `lead_name`), and the quarter's figure of each target and
    update of each task (None when there is none). The same rows the clerk's
    notice reads for that quarter."""

    period: ReportingPeriod
    targets: list
    tasks: list
    figures: dict  # target id → Figure | None
    updates: dict  # task id → TaskUpdate | None


def clerk_notice(
    user,
    today: datetime.date,
    read: QuarterRead | None = None,
    led: Iterable[ReportingPeriod] | None = None,
) -> list[PeriodReminder]:
    """The clerk's reminder as a notice for the entry page (include
    templates/targets/_reminders.html with `reminders`). `read`: what the page
    has read for its quarter, used instead of reading it again when that quarter
    is the only one open for entry; `led`: the quarters of `led_periods` for the
    clerk's bodies, when the page has read them."""
    from . import rules

    if not rules.is_clerk(user):
        return []
    # Read only what the notice can show: the quarters open for entry today of
    # the communes where the clerk's bodies lead something, and what they lead.
    bodies = rules.body_ids(user)
    if led is None:
        led = open_periods(led_by=bodies)
    else:
        led = sorted((p for p in led if p.state == PeriodState.OPEN), key=_oldest_first)
    periods = [p for p in led if p.is_open_for_entry(today)]
    if read is not None and [p.pk for p in periods] == [read.period.pk]:
        found = _outstanding_in(
            periods,
            read.targets,
            read.tasks,
            {(read.period.pk, pk): f for pk, f in read.figures.items() if f},
            {(read.period.pk, pk): u for pk, u in read.updates.items() if u},
        )
    else:
        found = outstanding(periods, lead_bodies=bodies)
    return for_clerk(periods, found, bodies, today)


def approver_notice(today: datetime.date) -> list[PeriodReminder]:
    """The approver's reminder as a notice for the review pages."""
    periods = open_periods()
    return for_approver(periods, outstanding(periods), today)


# --- the daily emails ---------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    already_sent: int = 0
    nothing_to_say: int = 0
    without_email: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _link(name: str, *args) -> str:
    return settings.PORTAL_URL.rstrip("/") + reverse(name, args=args)


def _item_lines(items: list[Outstanding], with_body: bool) -> list[str]:
    lines = []
    for item in items:
        line = f"  - {item.label}"
        if with_body:
            line += f" ({item.lead_name})"
        line += f": {item.state_label}"
        if item.value:
            line += f", số liệu {item.value}"
        if item.reason:
            line += f". Lý do trả lại: {item.reason}"
        lines.append(line)
    return lines


def clerk_email(user, reminders: list[PeriodReminder]) -> tuple[str, str]:
    """Subject and plain-text body of a clerk's reminder."""
    count = sum(len(r.not_sent) for r in reminders)
    first = reminders[0]
    subject = (
        f"Nhắc nhập số liệu {first.period}: còn {count} mục chưa gửi duyệt, "
        f"{first.deadline_text}"
    )
    lines = []
    for r in reminders:
        lines.append(
            f"{r.period}, {r.deadline_text}. Các mục đơn vị của anh/chị chủ trì "
            f"chưa gửi duyệt ({len(r.not_sent)}):"
        )
        lines += _item_lines(r.not_sent, with_body=True)
        lines += _go("Nhập và gửi duyệt tại", "targets:entry_period", r.period)
    return subject, _letter(user, lines)


def approver_email(user, reminders: list[PeriodReminder]) -> tuple[str, str]:
    """Subject and plain-text body of the approver's reminder."""
    waiting = sum(len(r.waiting) for r in reminders)
    overdue = sum(len(r.not_sent) for r in reminders)
    parts = []
    if waiting:
        parts.append(f"{waiting} mục chờ phê duyệt")
    if overdue:
        parts.append(f"{overdue} mục quá hạn chưa gửi")
    subject = "Nhắc phê duyệt số liệu: " + ", ".join(parts)
    lines = []
    for r in reminders:
        lines.append(f"{r.period}, {r.deadline_text}.")
        if r.waiting:
            lines.append(f"Đã gửi, chờ anh/chị phê duyệt ({len(r.waiting)}):")
            lines += _item_lines(r.waiting, with_body=True)
        if r.not_sent:
            lines.append(f"Quá hạn mà đơn vị chưa gửi duyệt ({len(r.not_sent)}):")
            lines += _item_lines(r.not_sent, with_body=True)
        lines += _go("Duyệt tại", "targets:review_period", r.period)
    return subject, _letter(user, lines)


def _go(words: str, page: str, period) -> list[str]:
    """The link to the period's page, set apart by blank lines."""
    return ["", f"{words}: {_link(page, period.pk)}", ""]


def _letter(user, lines: list[str]) -> str:
    """A reminder's body: the greeting, `lines`, the footer."""
    greeting = f"Kính gửi {user.get_full_name() or user.username},"
    return "\n".join([greeting, "", *lines, _footer()])


def _footer() -> str:
    return (
        "Thư tự động của hệ thống theo dõi Nghị quyết HĐND xã Khoen On, gửi tối đa "
        "một lần mỗi ngày. Xin đừng trả lời thư này; cần hỗ trợ, liên hệ quản trị "
        "hệ thống."
    )


def _send_once(user, kind: str, today: datetime.date, subject: str, body: str):
    """Record the reminder and send it, as one unit: the unique (user, day, kind)
    row makes a second run the same day (or two runs at once) send nothing, and a
    failed send leaves no row, so the next run tries again. True when sent."""
    from .models import Reminder

    try:
        with transaction.atomic():
            Reminder.objects.create(user=user, sent_on=today, kind=kind)
            send_mail(subject, body, None, [user.email])
    except IntegrityError:
        return False
    return True


def send_reminders(today: datetime.date) -> SendReport:
    """Email each clerk what their bodies have not sent, from
    settings.REMINDER_DAYS_BEFORE days before the deadline until it passes, and
    each approver what waits for approval or is overdue. At most one email per
    person, day and kind. Users without an email address are listed, not mailed."""
    from django.contrib.auth.models import User

    from .models import Reminder, ReminderKind

    report = SendReport()
    periods = open_periods()
    found = outstanding(periods)
    window = datetime.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    clerk_periods = [p for p in periods if p.deadline - today <= window]
    users = list(
        User.objects.filter(is_active=True, groups__name__in=[CLERK, APPROVER])
        .prefetch_related("bodies", "groups")
        .distinct()
        .order_by("username")
    )
    done = set(
        Reminder.objects.filter(sent_on=today, user__in=users).values_list(
            "user_id", "kind"
        )
    )
    for user in users:
        groups = {g.name for g in user.groups.all()}
        messages = []
        if CLERK in groups:
            bodies = {b.pk for b in user.bodies.all()}
            reminders = for_clerk(clerk_periods, found, bodies, today)
            if reminders:
                messages.append((ReminderKind.CLERK, clerk_email(user, reminders)))
        if APPROVER in groups:
            reminders = for_approver(periods, found, today)
            if reminders:
                messages.append(
                    (ReminderKind.APPROVER, approver_email(user, reminders))
                )
        if not messages:
            report.nothing_to_say += 1
            continue
        if not user.email:
            report.without_email.append(user.username)
            continue
        for kind, (subject, body) in messages:
            if (user.pk, kind) in done:
                report.already_sent += 1
                continue
            try:
                sent = _send_once(user, kind, today, subject, body)
            except OSError as exc:  # SMTP refused or unreachable: try tomorrow
                log.error("reminder_failed user=%s error=%s", user.username, exc)
                report.failed.append(user.username)
                continue
            if sent:
                report.sent += 1
                log.info("reminder_sent user=%s kind=%s", user.username, kind)
            else:
                report.already_sent += 1
    return report
