"""Where each task and solution of a resolution stands at a period, for the tasks
report and the body scorecards: its bodies and its latest approved update. (The
entry page's task rows, in targets, are the clerk's form rows: another thing.)"""

from __future__ import annotations

from dataclasses import dataclass

from targets.models import (
    Assignment,
    Role,
    Task,
    TaskKind,
    TaskUpdate,
    WorkflowState,
    lead_body,
    periods_up_to,
)

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


def _assignments(resolution) -> dict[int, list[Assignment]]:
    """{task id: its assignments, by body name}."""
    assignments: dict[int, list[Assignment]] = {}
    for a in (
        Assignment.objects.filter(task__resolution=resolution)
        .select_related("body")
        .order_by("body__name", "pk")
    ):
        assignments.setdefault(a.task_id, []).append(a)
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


def standing(task: Task, own: list[Assignment], update) -> TaskStanding:
    """One task with the bodies its assignments name by role."""

    def bodies(role):
        return [a.body for a in own if a.role == role]

    return TaskStanding(
        task=task,
        lead=lead_body(own),
        supporting=bodies(Role.SUPPORTING),
        update=update,
        implementing=tuple(bodies(Role.IMPLEMENTING)),
        lead_assumed=any(a.is_assumption for a in own if a.role == Role.LEAD),
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
