"""Where each task and solution of a resolution stands at a period, for the tasks
report and the body scorecards: its bodies and its latest approved update. (The
entry page's task rows, in targets, are the clerk's form rows: another thing.)"""

from __future__ import annotations

from dataclasses import dataclass

from targets.models import (
    Assignment,
    ResponsibleBody,
    Role,
    Task,
    TaskKind,
    TaskUpdate,
    WorkflowState,
    periods_up_to,
)
from targets.progress_load import BODY_FIELDS

from .presentation import task_style, task_styles


@dataclass(frozen=True)
class TaskStanding:
    task: Task
    lead: object | None
    supporting: list
    update: TaskUpdate | None
    implementing: tuple = ()  # Article 2.1: the committee implementing it all
    lead_assumed: bool = False  # the lead is our assumption, not the text's

    @property
    def style(self) -> tuple[str, str, str]:
        return task_style(self.update)


def in_report_order(tasks) -> list[Task]:
    """Tasks first, then solutions, each by number."""
    return sorted(tasks, key=lambda t: (t.kind != TaskKind.TASK, t.number))


def _assignments(resolution) -> dict[int, list[tuple[str, bool, ResponsibleBody]]]:
    """{task id: (role, is_assumption, body) of its assignments, by body name}. One
    query, each body built once: a standing keeps the bodies, not the assignments."""
    assignments: dict[int, list[tuple[str, bool, ResponsibleBody]]] = {}
    bodies: dict[int, ResponsibleBody] = {}
    rows = (
        Assignment.objects.filter(task__resolution=resolution)
        .order_by("body__name", "pk")
        .values_list(
            "task_id", "role", "is_assumption", *(f"body__{f}" for f in BODY_FIELDS)
        )
    )
    for task_id, role, assumed, *body_row in rows:
        body = bodies.get(body_row[0])
        if body is None:
            body = ResponsibleBody.from_db(rows.db, BODY_FIELDS, body_row)
            bodies[body_row[0]] = body
        assignments.setdefault(task_id, []).append((role, assumed, body))
    return assignments


def _latest_updates(resolution, period) -> dict[int, TaskUpdate]:
    """{task id: its latest approved update up to the period}."""
    latest: dict[int, TaskUpdate] = {}
    for update in (
        TaskUpdate.objects.filter(
            task__resolution=resolution, state=WorkflowState.APPROVED
        )
        .filter(periods_up_to(period.year, period.quarter, prefix="period__"))
        .select_related("period")
        .order_by("period__year", "period__quarter")
    ):
        latest[update.task_id] = update
    return latest


def standing(
    task: Task, own: list[tuple[str, bool, ResponsibleBody]], update
) -> TaskStanding:
    """One task with the bodies its assignments (role, is_assumption, body) name by
    role; the lead is the one body leading it (assignment_one_lead_per_task)."""

    def bodies(role):
        return [body for r, _, body in own if r == role]

    leads = bodies(Role.LEAD)
    return TaskStanding(
        task=task,
        lead=leads[0] if leads else None,
        supporting=bodies(Role.SUPPORTING),
        update=update,
        implementing=tuple(bodies(Role.IMPLEMENTING)),
        lead_assumed=any(assumed for r, assumed, _ in own if r == Role.LEAD),
    )


def task_standings(resolution, period) -> list[TaskStanding]:
    """Every task and solution with its bodies and its latest approved update up to
    the period. Three queries."""
    assignments = _assignments(resolution)
    latest = _latest_updates(resolution, period)
    return [
        standing(task, assignments.get(task.pk, []), latest.get(task.pk))
        for task in in_report_order(Task.objects.filter(resolution=resolution))
    ]


def task_counts(rows: list[TaskStanding]) -> list[tuple[str, str, str, int]]:
    """(colour, icon, label, how many) of each style the rows show, in the order of
    presentation.task_styles."""
    counts: dict[tuple[str, str, str], int] = {}
    for row in rows:
        counts[row.style] = counts.get(row.style, 0) + 1
    return [(*style, counts[style]) for style in task_styles() if style in counts]
