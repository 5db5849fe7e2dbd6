"""Where each task and solution of a resolution stands at a period, for the tasks
report and the body scorecards: its bodies and its latest approved update. (The
entry page's task rows, in targets, are the clerk's form rows: another thing.)"""

from __future__ import annotations

from dataclasses import dataclass

from targets.models import (
    ResponsibleBody,
    Role,
    Task,
    TaskKind,
    TaskUpdate,
    WorkflowState,
    periods_up_to,
)
from targets.progress_load import resolution_shape

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
    task: Task, own: tuple[tuple[str, bool, ResponsibleBody], ...], update
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
    the period. The tasks and their bodies are the resolution's shape
    (targets.progress_load.resolution_shape: the structure token, and four queries
    when it moved); then one query for the updates."""
    shape = resolution_shape(resolution)
    latest = _latest_updates(resolution, period)
    return [
        standing(task, shape.task_bodies.get(task.pk, ()), latest.get(task.pk))
        for task in in_report_order(shape.tasks)
    ]


def task_counts(rows: list[TaskStanding]) -> list[tuple[str, str, str, int]]:
    """(colour, icon, label, how many) of each style the rows show, in the order of
    presentation.task_styles."""
    counts: dict[tuple[str, str, str], int] = {}
    for row in rows:
        counts[row.style] = counts.get(row.style, 0) + 1
    return [(*style, counts[style]) for style in task_styles() if style in counts]
