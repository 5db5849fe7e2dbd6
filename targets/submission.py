"""What sending a quarter for approval would do, read before anything is sent.

A draft saves any value the field and the target's range take; what waits for the
submit is the explanation of a figure that leaves the target behind and the
confirmation of a flagged (implausible-looking) value. `submit_plan` reads, in a
fixed number of queries, what the clerk's quarter holds: what would be sent, what is
still empty, what was returned, and what must be explained or confirmed first. The
entry page shows it as the confirmation before "Gửi duyệt"; `entry_save` checks the
same plan, under lock, when it sends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from .models import (
    Figure,
    FigureKind,
    ReportingPeriod,
    Target,
    TaskUpdate,
    WorkflowState,
    periods_up_to,
)
from .progress import Quarter
from .validation import OPEN_STATES, Action, check_figures, explanation_text


def quarterly_values(
    period: ReportingPeriod,
    target_ids: Collection[int],
    *,
    approved_only: bool = False,
    before: bool = False,
) -> tuple[dict[int, dict[Quarter, Decimal]], dict[int, set[Quarter]]]:
    """Each target's figures up to the period (`before`: up to the quarter before
    it), whatever their state (the clerk's own drafts count on the clerk's page) or
    only approved ones (the review page), and the quarters entered as estimates
    (ước); one query."""
    values: dict[int, dict[Quarter, Decimal]] = {}
    estimates: dict[int, set[Quarter]] = {}
    rows = Figure.objects.filter(
        periods_up_to(period.year, period.quarter, prefix="period__", before=before),
        target_id__in=target_ids,
        period__commune=period.commune,
    )
    if approved_only:
        rows = rows.filter(state=WorkflowState.APPROVED)
    rows = rows.values_list(
        "target_id", "period__year", "period__quarter", "value", "kind"
    )
    for target_id, year, quarter, value, kind in rows:
        values.setdefault(target_id, {})[(year, quarter)] = value
        if kind == FigureKind.ESTIMATE:
            estimates.setdefault(target_id, set()).add((year, quarter))
    return values, estimates


@dataclass
class SubmitPlan:
    """The clerk's quarter as "Gửi duyệt" would find it.

    send: figures and task updates in draft or returned, which would be sent;
    waiting: already sent, waiting for the approver; empty_targets / empty_tasks:
    nothing entered for the quarter; explain: target id → the message asking for the
    missing explanation; confirm: target id → the flags not yet confirmed; flags:
    target id → every flag of a figure that would be sent."""

    period: ReportingPeriod
    send_figures: list[Figure] = field(default_factory=list)
    send_updates: list[TaskUpdate] = field(default_factory=list)
    waiting: list = field(default_factory=list)
    empty_targets: list[Target] = field(default_factory=list)
    empty_tasks: list = field(default_factory=list)
    explain: dict[int, str] = field(default_factory=dict)
    confirm: dict[int, list[str]] = field(default_factory=dict)
    flags: dict[int, list[str]] = field(default_factory=dict)

    @property
    def send(self) -> list:
        return [*self.send_figures, *self.send_updates]

    @property
    def returned(self) -> list:
        return [o for o in self.send if o.state == WorkflowState.RETURNED]

    @property
    def empty(self) -> list:
        return [*self.empty_targets, *self.empty_tasks]

    @property
    def ready(self) -> bool:
        return bool(self.send) and not self.explain and not self.confirm

    @property
    def token(self) -> str:
        """Fingerprint of what would be sent (rows and versions): the confirmation
        page carries it, so what is sent is what the clerk was shown."""
        items = sorted(
            (type(o).__name__, o.pk, o.version) for o in self.send if o.pk is not None
        )
        return hashlib.sha256(repr(items).encode()).hexdigest()[:32]


def submit_plan(
    period: ReportingPeriod,
    targets: dict[int, Target],
    tasks: dict,
    confirmed: Collection[int] = (),
    *,
    lock: bool = False,
) -> SubmitPlan:
    """What sending the quarter would do, in four queries. `confirmed`: the target ids
    whose flagged value the clerk has confirmed. With `lock`, the rows read are
    locked for the rest of the transaction (the send itself)."""
    in_window = {
        pk: t for pk, t in targets.items() if t.window[0] <= period.key <= t.window[1]
    }
    figures = Figure.objects.filter(period=period, target_id__in=in_window)
    updates = TaskUpdate.objects.filter(period=period, task_id__in=tasks)
    if lock:
        figures, updates = figures.select_for_update(), updates.select_for_update()
    by_target = {f.target_id: f for f in figures}
    by_task = {u.task_id: u for u in updates}
    plan = SubmitPlan(period=period)
    for pk, target in in_window.items():
        figure = by_target.get(pk)
        if figure is None:
            plan.empty_targets.append(target)
        elif figure.state in OPEN_STATES:
            figure.target, figure.period = target, period
            plan.send_figures.append(figure)
        elif figure.state == WorkflowState.SUBMITTED:
            plan.waiting.append(figure)
    # The rows just read are the stored ones: the check reads only the quarters.
    checks = check_figures(
        plan.send_figures,
        action=Action.SUBMIT,
        confirmed=confirmed,
        stored={f.pk: f for f in plan.send_figures},
    )
    for index, check in checks.items():
        pk = plan.send_figures[index].target_id
        if check.explain is not None:
            plan.explain[pk] = explanation_text(check.explain)
        if check.flags:
            plan.flags[pk] = check.flags
        if check.unconfirmed:
            plan.confirm[pk] = check.flags
    for pk, task in tasks.items():
        update = by_task.get(pk)
        if update is None:
            plan.empty_tasks.append(task)
        elif update.state in OPEN_STATES:
            update.task = task
            plan.send_updates.append(update)
        elif update.state == WorkflowState.SUBMITTED:
            plan.waiting.append(update)
    # Returned items first: they are what the approver is waiting for.
    plan.send_figures.sort(key=lambda f: f.state != WorkflowState.RETURNED)
    plan.send_updates.sort(key=lambda u: u.state != WorkflowState.RETURNED)
    return plan
