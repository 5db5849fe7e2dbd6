"""The loaders of the judgement: what a page needs to judge a resolution or one
target at a period, fetched in a constant number of queries, then judged by
targets.progress.evaluate.

`load_resolution_progress()` (dashboard, report, body scorecards) keeps the figure
rows it read, so that a page can read who sent what without a query of its own
(reports.reporting.sent_figures).
`load_target_progress()` is one target's page with its quarterly history.

What a resolution is made of (its targets with their indicators, their assignments
with their bodies) changes far less often than its figures: `resolution_shape()` keeps
it in the process under the structure token (targets.data_version.structure(), moved
by the database on any write of those tables and left alone by figures, assessments
and evidence), so that after an approval the loader reads figures and assessments
only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from . import data_version
from .models import (
    Assessment,
    Assignment,
    Figure,
    FigureKind,
    Indicator,
    Resolution,
    ResponsibleBody,
    Role,
    Target,
    Task,
    WorkflowState,
    periods_up_to,
)
from .progress import (
    JUDGED_STATES,
    Counts,
    Progress,
    Quarter,
    TargetProgress,
    TargetSpec,
    evaluate,
    group_by_area,
    group_by_body,
    group_by_indicator,
    quarter_label,
    rollup,
)

if TYPE_CHECKING:
    from .models import ReportingPeriod


@dataclass(frozen=True)
class ResolutionProgress:
    resolution: Resolution
    period: ReportingPeriod
    items: tuple[TargetProgress, ...]
    overall: Counts
    by_area: dict[str, Counts]
    by_indicator: dict[Indicator, Counts]
    by_body: dict[ResponsibleBody, Counts]
    # The figure rows read (FIGURE_COLUMNS, in primary key order): those that count
    # and those sent, up to the period.
    figures: tuple[tuple, ...] = ()


# The body that implements the whole resolution (Article 2.1) above the office that
# leads the item, then supporting bodies, then the council's supervisors.
ROLE_ORDER = {
    Role.IMPLEMENTING: 0,
    Role.LEAD: 1,
    Role.SUPPORTING: 2,
    Role.SUPERVISING: 3,
}


def _in_role_order(assignments: Iterable[Assignment]) -> list[Assignment]:
    """Implementing first, then lead, supporting, supervising; by body name within
    a role (sorted here, so the order does not depend on the database's collation)."""
    return sorted(
        assignments, key=lambda a: (ROLE_ORDER.get(a.role, 9), a.body.name, a.pk)
    )


# Figures a body has sent: waiting for approval or approved. Not what the progress
# counts (JUDGED_STATES) but what "who has reported for the period" reads; the
# loader fetches both in one query.
SENT_STATES = (WorkflowState.SUBMITTED, WorkflowState.APPROVED)

# The figure columns the loader reads: what the judgement needs, and who sent what
# when (reports.reporting.sent_figures reads them from ResolutionProgress.figures).
FIGURE_COLUMNS = (
    "target_id",
    "period_id",
    "period__year",
    "period__quarter",
    "value",
    "state",
    "submitted_at",
    "approved_at",
    "updated_at",
    "kind",
)


ASSIGNMENT_FIELDS = tuple(f.attname for f in Assignment._meta.concrete_fields)
BODY_FIELDS = tuple(f.attname for f in ResponsibleBody._meta.concrete_fields)


def with_bodies(assignments) -> list[Assignment]:
    """The assignments of a queryset with their bodies, in its one query: what
    select_related("body") reads, but each body built once and shared by its
    assignments (a resolution has a few bodies and many assignments)."""
    rows = assignments.values_list(
        *ASSIGNMENT_FIELDS, *(f"body__{name}" for name in BODY_FIELDS)
    )
    split = len(ASSIGNMENT_FIELDS)
    db = rows.db
    cache_body = Assignment.body.field.set_cached_value
    bodies: dict[int, ResponsibleBody] = {}
    built = []
    for row in rows:
        body = bodies.get(row[split])
        if body is None:
            body = ResponsibleBody.from_db(db, BODY_FIELDS, row[split:])
            bodies[row[split]] = body
        assignment = Assignment.from_db(db, ASSIGNMENT_FIELDS, row[:split])
        cache_body(assignment, body)  # as select_related does: body_id is set
        built.append(assignment)
    return built


@dataclass(frozen=True)
class Shape:
    """A resolution's targets (indicators read with them) in the resolution's order,
    their specs, and their assignments (bodies read with them) in role order; its
    tasks and solutions, each with the (role, is_assumption, body) of its assignments
    by body name. Shared by the requests of a process: nothing may change its
    objects."""

    targets: tuple[Target, ...]
    specs: dict[int, TargetSpec]
    assignments: dict[int, tuple[Assignment, ...]]
    tasks: tuple[Task, ...]
    task_bodies: dict[int, tuple[tuple[str, bool, ResponsibleBody], ...]]


def resolution_shape(resolution: Resolution) -> Shape:
    """The resolution's shape as the database holds it now: the structure token (one
    query), and four more when it moved since this process last read the shape."""
    return data_version.by_structure(
        ("shape", resolution.pk), lambda: _read_shape(resolution)
    )


def _read_shape(resolution: Resolution) -> Shape:
    """Four queries: targets, their assignments, tasks, their assignments."""
    targets = list(
        Target.objects.filter(indicator__resolution=resolution)
        .select_related("indicator")
        .order_by()
    )
    # Target's own ordering, sorted here rather than joined in SQL.
    targets.sort(key=lambda t: (t.indicator.number, t.order, t.code, t.pk))
    assignments: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in _in_role_order(
        with_bodies(
            Assignment.objects.filter(
                target__indicator__resolution=resolution
            ).order_by()
        )
    ):
        assignments[assignment.target_id].append(assignment)
    return Shape(
        targets=tuple(targets),
        specs={t.pk: TargetSpec.from_model(t) for t in targets},
        assignments={pk: tuple(rows) for pk, rows in assignments.items()},
        tasks=tuple(Task.objects.filter(resolution=resolution).order_by()),
        task_bodies=_task_bodies(resolution),
    )


def _task_bodies(resolution) -> dict[int, tuple[tuple[str, bool, ResponsibleBody]]]:
    """{task id: (role, is_assumption, body) of its assignments, by body name}. One
    query, each body built once."""
    found: dict[int, list[tuple[str, bool, ResponsibleBody]]] = defaultdict(list)
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
        found[task_id].append((role, assumed, body))
    return {pk: tuple(rows) for pk, rows in found.items()}


def load_resolution_progress(
    resolution: Resolution,
    period: ReportingPeriod,
    states: Iterable[str] | None = JUDGED_STATES,
) -> ResolutionProgress:
    """Every target of the resolution at the period, with the roll-ups, in a fixed
    number of queries whatever the number of targets: the structure token, figures up
    to the period, the approver's assessments at the period, and, when the resolution's
    shape changed since this process last read it, targets (with indicators) and
    target assignments (with bodies): `resolution_shape()`.

    Only figures in `states` count (approved ones by default); None counts all. The
    figures sent (SENT_STATES) are read in the same query and kept as plain rows."""
    states = None if states is None else tuple(states)
    shape = resolution_shape(resolution)
    rows = Figure.objects.filter(target__indicator__resolution=resolution).filter(
        periods_up_to(*period.key, prefix="period__")
    )
    if states is not None:
        rows = rows.filter(state__in={*states, *SENT_STATES})
    rows = tuple(rows.order_by("pk").values_list(*FIGURE_COLUMNS))

    figures: dict[int, dict[Quarter, Decimal]] = defaultdict(dict)
    estimates: dict[int, set[Quarter]] = defaultdict(set)
    for target_id, _, year, quarter, value, state, *_, kind in rows:
        if states is None or state in states:
            figures[target_id][(year, quarter)] = value
            if kind == FigureKind.ESTIMATE:
                estimates[target_id].add((year, quarter))
    overrides = {
        target_id: (verdict, reason)
        for target_id, verdict, reason in Assessment.objects.filter(
            target__indicator__resolution=resolution, period=period
        )
        .order_by()
        .values_list("target_id", "verdict", "reason")
    }
    items = []
    for target in shape.targets:
        verdict, reason = overrides.get(target.pk, (None, ""))
        progress = evaluate(
            shape.specs[target.pk],
            figures.get(target.pk, {}),
            period.key,
            verdict,
            reason,
            estimates.get(target.pk, ()),
        )
        items.append(
            TargetProgress(target, progress, shape.assignments.get(target.pk, ()))
        )
    return ResolutionProgress(
        resolution=resolution,
        period=period,
        items=tuple(items),
        overall=rollup(i.progress for i in items),
        by_area=group_by_area(items),
        by_indicator=group_by_indicator(items),
        by_body=group_by_body(items),
        figures=rows,
    )


@dataclass(frozen=True)
class HistoryRow:
    quarter: Quarter
    figure: Figure | None
    progress: Progress

    @property
    def label(self) -> str:
        return quarter_label(self.quarter)


@dataclass(frozen=True)
class TargetHistory:
    target: Target
    period: ReportingPeriod
    progress: Progress
    rows: tuple[HistoryRow, ...]
    assignments: tuple[Assignment, ...]


def load_target_progress(
    target: Target,
    period: ReportingPeriod,
    states: Iterable[str] | None = JUDGED_STATES,
) -> TargetHistory:
    """One target's page: its progress at the period and one row per window quarter
    up to the period (figure object, progress at that quarter with that quarter's
    assessment). Three queries: figures (with periods), assessments, the structure
    token (the assignments with bodies are the resolution's shape, kept)."""
    spec = TargetSpec.from_model(target)
    key = period.key
    figure_by_quarter = {
        f.period.key: f
        for f in Figure.objects.filter(target=target)
        .filter(periods_up_to(*key, prefix="period__"))
        .select_related("period")
        .order_by()
    }
    values = {
        q: f.value
        for q, f in figure_by_quarter.items()
        if states is None or f.state in states
    }
    estimates = {
        q for q, f in figure_by_quarter.items() if f.kind == FigureKind.ESTIMATE
    }
    assessments = {
        (year, quarter): (verdict, reason)
        for year, quarter, verdict, reason in Assessment.objects.filter(target=target)
        .filter(periods_up_to(*key, prefix="period__"))
        .order_by()
        .values_list("period__year", "period__quarter", "verdict", "reason")
    }
    # In role order, from the resolution's shape (the structure token, and the
    # shape's four queries when it moved). Its id is enough to find it.
    resolution = Resolution(pk=target.indicator.resolution_id)
    assignments = resolution_shape(resolution).assignments.get(target.pk, ())
    rows = tuple(
        HistoryRow(
            quarter=q,
            figure=figure_by_quarter.get(q),
            progress=evaluate(
                spec, values, q, *assessments.get(q, (None, "")), estimates
            ),
        )
        for q in spec.window
        if q <= key
    )
    progress = evaluate(spec, values, key, *assessments.get(key, (None, "")), estimates)
    return TargetHistory(
        target=target,
        period=period,
        progress=progress,
        rows=rows,
        assignments=assignments,
    )
