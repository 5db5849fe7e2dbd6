"""What delegates read: the dashboard, one page per target, the body scorecard, the
tasks report and the official comparison report (HTML, Excel, PDF).

Every page judges approved figures only (the progress loader's default) at a selected
period: ?ky=<period id>, by default the latest period with an approved figure for the
resolution (?nq=<resolution id>, by default the newest). Never today's date. Each page
runs a fixed number of queries, whatever the number of targets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connections, router
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from targets import rules
from targets.forms import AssessmentForm
from targets.models import (
    Area,
    Assignment,
    Evidence,
    Figure,
    ReportingPeriod,
    Resolution,
    Role,
    Task,
    TaskKind,
    TaskUpdate,
    WorkflowState,
)
from targets.progress import (
    SUMMARY_ORDER,
    Status,
    quarter_label,
    quarters_between,
    thresholds,
)
from targets.progress_load import (
    build_progress,
    fetch_progress_rows,
    load_resolution_progress,
    load_target_progress,
)

from . import exports
from .comparison import build_report
from .presentation import (
    TargetLine,
    override_mark,
    target_line,
    task_style,
    task_styles,
)
from .reporting import (
    body_reports,
    missing_at_close,
    sent_figures,
)

# --- which resolution, which period ------------------------------------------------


@dataclass(frozen=True)
class Selection:
    resolution: Resolution
    resolutions: list[Resolution]
    period: ReportingPeriod | None
    periods: list[ReportingPeriod]


def _require_reader(user) -> None:
    if not rules.can_read_reports(user):
        raise Http404


def _periods(resolution: Resolution) -> list[ReportingPeriod]:
    """The commune's periods, oldest first, each marked with whether it holds an
    approved figure of this resolution. One query."""
    approved = Figure.objects.filter(
        period=OuterRef("pk"),
        state=WorkflowState.APPROVED,
        target__indicator__resolution=resolution,
    )
    return list(
        ReportingPeriod.objects.filter(commune_id=resolution.commune_id)
        .annotate(has_approved=Exists(approved))
        .order_by("year", "quarter")
    )


def _chosen_period(request, periods, resolution) -> ReportingPeriod | None:
    chosen = request.GET.get("ky", "")
    if chosen:
        period = next((p for p in periods if str(p.pk) == chosen), None)
        if period is None:
            raise Http404("Không có kỳ báo cáo này.")
        return period
    with_figures = [p for p in periods if p.has_approved]
    if with_figures:
        return with_figures[-1]
    # Nothing approved yet: the first quarter of the plan year, where everything
    # honestly reads "no data".
    in_plan_year = [p for p in periods if p.year == resolution.plan_year]
    return (in_plan_year or periods or [None])[0]


def _selection(request) -> Selection | None:
    """Two queries: the resolutions, the periods. None when there is no resolution."""
    # The full text and the legal bases are long and no page here shows them.
    resolutions = list(
        Resolution.objects.select_related("commune").defer(
            "source_text", "legal_bases", "considered"
        )
    )
    if not resolutions:
        return None
    chosen = request.GET.get("nq", "")
    if chosen:
        resolution = next((r for r in resolutions if str(r.pk) == chosen), None)
        if resolution is None:
            raise Http404("Không có nghị quyết này.")
    else:
        resolution = resolutions[0]
    periods = _periods(resolution)
    return Selection(
        resolution=resolution,
        resolutions=resolutions,
        period=_chosen_period(request, periods, resolution),
        periods=periods,
    )


def _empty(request, selection):
    return render(request, "reports/empty.html", {"selection": selection})


def _linkable(user) -> set[int] | None:
    """The targets whose page the user may open (a clerk: the targets its bodies
    lead; one query), or None for every target."""
    visible = rules.visible_targets(user)
    if not visible.query.has_filters():
        return None  # the rules put no filter on this user's set
    return set(visible.values_list("pk", flat=True))


def _lines(items, linkable, period) -> dict[int, TargetLine]:
    """{target id: its row, formatted}, linked to the target page when the user may
    open it (see _linkable)."""
    # reverse() once: at about 60 µs a call it would cost milliseconds per page.
    prefix = reverse("reports:target", args=[1]).removesuffix("1/")
    lines = {}
    for item in items:
        pk = item.target.pk
        may_open = linkable is None or pk in linkable
        url = f"{prefix}{pk}/?ky={period.pk}" if may_open else None
        lines[pk] = target_line(item, url)
    return lines


# --- dashboard ---------------------------------------------------------------------


def _filters(request, progress):
    """?lv= area, ?tt= status, ?dv= responsible body; anything unknown is a 404."""
    area = request.GET.get("lv", "")
    status = request.GET.get("tt", "")
    body_id = request.GET.get("dv", "")
    if area and area not in Area.values:
        raise Http404("Lĩnh vực không hợp lệ.")
    if status and status not in Status.values:
        raise Http404("Trạng thái không hợp lệ.")
    body = None
    if body_id:
        body = next((b for b in progress.by_body if str(b.pk) == body_id), None)
        if body is None:
            raise Http404("Không có đơn vị này.")
    return {"area": area, "status": status, "body": body}


def _matches(item, filters) -> bool:
    if filters["area"] and item.target.indicator.area != filters["area"]:
        return False
    if filters["status"] and item.progress.status != filters["status"]:
        return False
    if filters["body"] and filters["body"] not in item.responsible_bodies:
        return False
    return True


def _grouped(lines, progress):
    """[(area, label, counts, [(indicator, counts, [line])])] in the order of Area,
    then of the targets (indicator number, target order). The counts are of the
    whole area or indicator, whatever the filters."""
    areas: dict[str, dict] = {}
    for line in lines:
        indicator = line.target.indicator
        areas.setdefault(indicator.area, {}).setdefault(indicator, []).append(line)
    return [
        (
            area,
            Area(area).label,
            progress.by_area[area],
            [(i, progress.by_indicator[i], rows) for i, rows in areas[area].items()],
        )
        for area in Area.values
        if area in areas
    ]


# The dashboard is the page delegates open most, and drawing it costs several times
# what reading its rows does. Drawings are kept in the "pages" cache (one per process,
# see settings.CACHES) under keys that change whenever what they show could have: a
# kept drawing is never stale, whoever changed the data and however (the portal, the
# admin, an import, a restore, SQL by hand).


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _snapshot_key(request, linkable) -> str | None:
    """On PostgreSQL: a key from the database's current snapshot, the list of the
    transactions in progress and the first transaction id not yet given out. Every
    commit changes it (the transaction leaves the list, or the bound moves), so two
    requests with the same snapshot read the same data, and a drawing kept under it
    can be served without reading anything else. Reads take no transaction id, so the
    snapshot holds until someone writes.

    None elsewhere, and when this connection has written in a transaction not yet
    committed: the snapshot does not show one's own writes."""
    # The database the rows are read from (a router may send reads to a standby).
    database = connections[router.db_for_read(Figure)]
    if database.vendor != "postgresql":
        return None
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()"
        )
        snapshot, own = cursor.fetchone()
    if own is not None:
        return None
    return "dashboard:snapshot:" + _digest(
        snapshot, sorted(request.GET.lists()), linkable, thresholds()
    )


def _loaded(instance) -> tuple:
    """The field values an instance holds; deferred ones read as None (reading them
    would be a query)."""
    values = instance.__dict__
    return tuple(values.get(f.attname) for f in instance._meta.concrete_fields)


def _content_key(request, selection, rows, linkable) -> str:
    """A digest of everything the drawing is made of: the progress rows (with the
    sent figures), the query string, the resolutions and periods offered (with their
    state: a closed quarter names its missing figures) and the links this user may
    follow. The same digest can only come from the same data."""
    return "dashboard:content:" + _digest(
        rows.digest,
        sorted(request.GET.lists()),
        [(_loaded(r), _loaded(r.commune)) for r in selection.resolutions],
        [(_loaded(p), p.has_approved) for p in selection.periods],
        selection.resolution.pk,
        selection.period.pk,
        None if linkable is None else sorted(linkable),
    )


def _dashboard_body(request, selection, rows, linkable) -> str:
    """The dashboard below the navigation bar: no query, everything comes in."""
    resolution, period = selection.resolution, selection.period
    progress = build_progress(rows)
    filters = _filters(request, progress)
    shown = [i for i in progress.items if _matches(i, filters)]
    lines = _lines(shown, linkable, period)
    # A closed quarter's targets with no approved figure, linked as the rows are.
    missing = _lines(missing_at_close(progress), linkable, period).values()
    sent = sent_figures(rows)
    reports = body_reports(progress, sent.at)
    return render_to_string(
        "reports/_dashboard.html",
        {
            "selection": selection,
            "resolution": resolution,
            "period": period,
            "progress": progress,
            "groups": _grouped(lines.values(), progress),
            "shown": len(shown),
            "filters": filters,
            "filtered": any(filters.values()),
            "statuses": [(s, progress.overall[s]) for s in SUMMARY_ORDER],
            "areas": Area.choices,
            "not_reported": [r for r in reports.values() if not r.has_reported],
            "missing": missing,
            "last_update": sent.last_update,
        },
        request=request,
    )


def _drawing(request, selection, linkable) -> tuple[str, str]:
    """(title, body): read the rows, then draw them unless a drawing of the very
    same rows is kept."""
    rows = fetch_progress_rows(selection.resolution, selection.period)
    key = _content_key(request, selection, rows, linkable)
    drawing = caches["pages"].get(key)
    if drawing is None:
        body = _dashboard_body(request, selection, rows, linkable)
        drawing = (str(selection.period), body)
        caches["pages"].set(key, drawing)
    return drawing


def dashboard(request):
    """The delegates' home page. On PostgreSQL, when nothing was committed since the
    same page was drawn, it is served as drawn (one query); otherwise the rows are
    read and drawn again only if they changed."""
    _require_reader(request.user)
    linkable = _linkable(request.user)
    key = _snapshot_key(request, linkable)
    drawing = caches["pages"].get(key) if key else None
    if drawing is None:
        selection = _selection(request)
        if selection is None or selection.period is None:
            return _empty(request, selection)
        drawing = _drawing(request, selection, linkable)
        if key:
            caches["pages"].set(key, drawing)
    title, body = drawing
    return render(
        request, "reports/dashboard.html", {"title": title, "body": mark_safe(body)}
    )


# --- one target --------------------------------------------------------------------


def _chart_data(history) -> dict:
    """Chart.js input: the window's quarters, the value judged at each (cumulative for
    sums), the quarter's own figure for sums, the plan and the year-end estimate.
    Numbers travel as strings so no Decimal is rounded on the way."""
    target, progress = history.target, history.progress
    start, end = target.window
    by_quarter = {row.quarter: row for row in history.rows}
    used = dict(progress.used)
    labels, values, own = [], [], []
    for quarter in quarters_between(start, end):
        label = quarter_label(quarter)
        labels.append(label[0].upper() + label[1:])
        row = by_quarter.get(quarter)
        value = row.progress.value if row and row.quarter in used else None
        values.append(None if value is None else str(value))
        own.append(None if quarter not in used else str(used[quarter]))
    forecast = None
    if not progress.is_final and progress.forecast is not None:
        forecast = str(progress.forecast)
    return {
        "labels": labels,
        "values": values,
        "quarterly": own if target.combine == "sum" else None,
        "target": str(target.target_value),
        "forecast": forecast,
        "unit": target.unit,
        "valueLabel": (
            "Lũy kế thực hiện" if target.combine == "sum" else "Số liệu thực hiện"
        ),
    }


def target(request, target_id):
    _require_reader(request.user)
    target = get_object_or_404(
        rules.visible_targets(request.user).select_related(
            "indicator__resolution__commune"
        ),
        pk=target_id,
    )
    resolution = target.indicator.resolution
    periods = _periods(resolution)
    period = _chosen_period(request, periods, resolution)
    if period is None:
        return _empty(request, Selection(resolution, [resolution], None, []))
    history = load_target_progress(target, period)
    evidence = dict(
        Evidence.objects.filter(figure__target=target)
        .order_by()
        .values("figure_id")
        .annotate(n=Count("pk"))
        .values_list("figure_id", "n")
    )
    progress = history.progress
    form = None
    if rules.is_approver(request.user):
        form = AssessmentForm(
            initial={
                "verdict": progress.override or progress.computed_verdict,
                "reason": progress.override_reason,
            }
        )
    return render(
        request,
        "reports/target.html",
        {
            "target": target,
            "resolution": resolution,
            "period": period,
            "periods": periods,
            "history": history,
            "progress": progress,
            "rows": [
                (row, evidence.get(row.figure.pk, 0) if row.figure else 0)
                for row in history.rows
            ],
            "chart": _chart_data(history),
            "override": override_mark(progress),
            "window_end": quarter_label(target.window[1]),
            "form": form,
            "can_see_history": rules.can_see_history(request.user),
            "approved": WorkflowState.APPROVED,
            "submitted": WorkflowState.SUBMITTED,
        },
    )


# --- tasks and bodies --------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: Task
    lead: object | None
    supporting: list
    update: TaskUpdate | None
    implementing: tuple = ()  # Article 2.1: the committee implementing it all
    lead_assumed: bool = False  # the lead is our assumption, not the text's

    @property
    def style(self) -> tuple[str, str, str]:
        return task_style(self.update)


def _task_rows(resolution, period) -> list[TaskRow]:
    """Every task and solution with its bodies and its latest approved update up to
    the period. Three queries."""
    tasks = sorted(
        Task.objects.filter(resolution=resolution),
        key=lambda t: (t.kind != TaskKind.TASK, t.number),
    )
    assignments: dict[int, list[Assignment]] = {}
    for a in (
        Assignment.objects.filter(task__resolution=resolution)
        .select_related("body")
        .order_by("body__name", "pk")
    ):
        assignments.setdefault(a.task_id, []).append(a)
    latest: dict[int, TaskUpdate] = {}
    for update in (
        TaskUpdate.objects.filter(
            task__resolution=resolution, state=WorkflowState.APPROVED
        )
        .filter(
            Q(period__year__lt=period.year)
            | Q(period__year=period.year, period__quarter__lte=period.quarter)
        )
        .select_related("period")
        .order_by("period__year", "period__quarter")
    ):
        latest[update.task_id] = update
    rows = []
    for task in tasks:
        own = assignments.get(task.pk, [])
        rows.append(
            TaskRow(
                task=task,
                lead=next((a.body for a in own if a.role == Role.LEAD), None),
                supporting=[a.body for a in own if a.role == Role.SUPPORTING],
                update=latest.get(task.pk),
                implementing=tuple(a.body for a in own if a.role == Role.IMPLEMENTING),
                lead_assumed=any(a.is_assumption for a in own if a.role == Role.LEAD),
            )
        )
    return rows


def _task_counts(rows: list[TaskRow]) -> list[tuple[str, str, str, int]]:
    counts: dict[tuple[str, str, str], int] = {}
    for row in rows:
        counts[row.style] = counts.get(row.style, 0) + 1
    return [(*style, counts[style]) for style in task_styles() if style in counts]


def tasks(request):
    _require_reader(request.user)
    selection = _selection(request)
    if selection is None or selection.period is None:
        return _empty(request, selection)
    rows = _task_rows(selection.resolution, selection.period)
    return render(
        request,
        "reports/tasks.html",
        {
            "selection": selection,
            "resolution": selection.resolution,
            "period": selection.period,
            "task_rows": [r for r in rows if r.task.kind == TaskKind.TASK],
            "solution_rows": [r for r in rows if r.task.kind == TaskKind.SOLUTION],
            "total": len(rows),
            "counts": _task_counts(rows),
        },
    )


RESPONSIBLE = (Role.LEAD, Role.SUPPORTING)


def bodies(request):
    """Per responsible body: its targets and tasks (as lead or supporting body) with
    their statuses, and whether it reported for the period on time."""
    _require_reader(request.user)
    selection = _selection(request)
    if selection is None or selection.period is None:
        return _empty(request, selection)
    resolution, period = selection.resolution, selection.period
    rows = fetch_progress_rows(resolution, period)
    progress = build_progress(rows)
    sent = sent_figures(rows)
    reports = body_reports(progress, sent.at)
    task_rows = _task_rows(resolution, period)

    cards: dict[object, dict] = {}

    def card(body):
        return cards.setdefault(
            body,
            {
                "body": body,
                "targets": [],
                "tasks": [],
                "counts": progress.by_body.get(body),
                "report": reports.get(body),
            },
        )

    lines = _lines(progress.items, _linkable(request.user), period)
    for item in progress.items:
        for a in item.assignments:
            if a.role in RESPONSIBLE:
                card(a.body)["targets"].append((lines[item.target.pk], a))
    for row in task_rows:
        if row.lead is not None:
            card(row.lead)["tasks"].append((row, Role.LEAD.label))
        for body in row.supporting:
            card(body)["tasks"].append((row, Role.SUPPORTING.label))

    everyone = sorted(cards.values(), key=lambda c: (c["body"].name, c["body"].pk))
    chosen = request.GET.get("dv", "")
    shown = everyone
    if chosen:
        shown = [c for c in everyone if str(c["body"].pk) == chosen]
        if not shown:
            raise Http404("Không có đơn vị này.")
    return render(
        request,
        "reports/bodies.html",
        {
            "selection": selection,
            "resolution": resolution,
            "period": period,
            "cards": shown,
            "all_bodies": [c["body"] for c in everyone],
            "chosen": chosen,
        },
    )


# --- the official comparison report ------------------------------------------------


def _report(request):
    _require_reader(request.user)
    selection = _selection(request)
    if selection is None or selection.period is None:
        return selection, None
    progress = load_resolution_progress(selection.resolution, selection.period)
    return selection, build_report(progress, timezone.localdate())


def _filename(report, extension: str) -> str:
    """'nghi-quyet-13-NQ-HDND-2025-bao-cao-9-thang-2025.pdf'."""
    return f"{report.filename_stem}.{extension}"


def report(request):
    selection, comparison = _report(request)
    if comparison is None:
        return _empty(request, selection)
    return render(
        request,
        "reports/report.html",
        {
            "selection": selection,
            "resolution": selection.resolution,
            "period": selection.period,
            "report": comparison,
        },
    )


def report_xlsx(request):
    selection, comparison = _report(request)
    if comparison is None:
        return _empty(request, selection)
    response = HttpResponse(
        exports.report_xlsx(comparison), content_type=exports.XLSX_TYPE
    )
    name = _filename(comparison, "xlsx")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def report_pdf(request):
    selection, comparison = _report(request)
    if comparison is None:
        return _empty(request, selection)
    html = render_to_string(
        "reports/report_pdf.html", {"report": comparison}, request=request
    )
    response = HttpResponse(exports.html_to_pdf(html), content_type="application/pdf")
    name = _filename(comparison, "pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
