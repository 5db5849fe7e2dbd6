"""What delegates read: the dashboard, one page per target, the body scorecard, the
tasks report and the official comparison report (HTML, Excel, PDF).

Every page judges approved figures only (the progress loader's default) at a selected
period: ?ky=<period id>, by default the latest period with an approved figure for the
resolution (?nq=<resolution id>, by default the newest; reports.selection). Never
today's date. Each page runs a fixed number of queries, whatever the number of
targets."""

from __future__ import annotations

from django.core.cache import caches
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from targets import rules
from targets.forms import AssessmentForm
from targets.models import Area, Evidence, Role, TaskKind, WorkflowState
from targets.progress import (
    SUMMARY_ORDER,
    Status,
    quarter_label,
    quarters_between,
)
from targets.progress_load import (
    build_progress,
    fetch_progress_rows,
    load_resolution_progress,
    load_target_progress,
)

from . import exports
from .comparison import build_report
from .dashboard_cache import content_key, snapshot_key
from .presentation import override_mark, target_lines
from .reporting import (
    body_reports,
    by_area_and_indicator,
    missing_at_close,
    sent_figures,
)
from .selection import (
    Selection,
    chosen_period,
    periods_marked,
    reader_selection,
    require_reader,
)
from .task_standing import task_counts, task_standings

# --- what every page needs -----------------------------------------------------------


def _empty(request, selection):
    return render(request, "reports/empty.html", {"selection": selection})


def _linkable(user) -> set[int] | None:
    """The targets whose page the user may open (a clerk: the targets its bodies
    lead; one query), or None for every target."""
    visible = rules.visible_targets(user)
    if not visible.query.has_filters():
        return None  # the rules put no filter on this user's set
    return set(visible.values_list("pk", flat=True))


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
    areas = by_area_and_indicator(lines, lambda line: line.target)
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


def _dashboard_body(request, selection, rows, linkable) -> str:
    """The dashboard below the navigation bar: no query, everything comes in."""
    resolution, period = selection.resolution, selection.period
    progress = build_progress(rows)
    filters = _filters(request, progress)
    shown = [i for i in progress.items if _matches(i, filters)]
    lines = target_lines(shown, "reports:target", period, linkable)
    # A closed quarter's targets with no approved figure, linked as the rows are.
    missing = target_lines(
        missing_at_close(progress), "reports:target", period, linkable
    ).values()
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
    key = content_key(request, selection, rows, linkable)
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
    require_reader(request.user)
    linkable = _linkable(request.user)
    key = snapshot_key(request, linkable)
    drawing = caches["pages"].get(key) if key else None
    if drawing is None:
        selection = reader_selection(request)
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
        labels.append(capfirst(label))
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


def _visible_target(user, target_id):
    return get_object_or_404(
        rules.visible_targets(user).select_related("indicator__resolution__commune"),
        pk=target_id,
    )


def _evidence_counts(target) -> dict[int, int]:
    """{figure id: how many evidence files it has}. One query."""
    return dict(
        Evidence.objects.filter(figure__target=target)
        .order_by()
        .values("figure_id")
        .annotate(n=Count("pk"))
        .values_list("figure_id", "n")
    )


def _assessment_form(user, progress) -> AssessmentForm | None:
    """The approver's verdict form, filled with the verdict shown; None for others."""
    if not rules.is_approver(user):
        return None
    return AssessmentForm(
        initial={
            "verdict": progress.override or progress.computed_verdict,
            "reason": progress.override_reason,
        }
    )


def target(request, target_id):
    require_reader(request.user)
    target = _visible_target(request.user, target_id)
    resolution = target.indicator.resolution
    periods = periods_marked(resolution)
    period = chosen_period(request, periods, resolution)
    if period is None:
        return _empty(request, Selection(resolution, [resolution], None, []))
    history = load_target_progress(target, period)
    progress = history.progress
    evidence = _evidence_counts(target)
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
            "form": _assessment_form(request.user, progress),
            "can_see_history": rules.can_see_history(request.user),
            "approved": WorkflowState.APPROVED,
            "submitted": WorkflowState.SUBMITTED,
        },
    )


# --- tasks and bodies --------------------------------------------------------------


def tasks(request):
    require_reader(request.user)
    selection = reader_selection(request)
    if selection is None or selection.period is None:
        return _empty(request, selection)
    rows = task_standings(selection.resolution, selection.period)
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
            "counts": task_counts(rows),
        },
    )


RESPONSIBLE = (Role.LEAD, Role.SUPPORTING)


def _body_cards(progress, reports, lines, task_rows) -> list[dict]:
    """One card per body that leads or supports a target or a task: its targets
    (with the assignment), its tasks (with its role in them), its counts and its
    reporting, ordered by body name."""
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

    for item in progress.items:
        for a in item.assignments:
            if a.role in RESPONSIBLE:
                card(a.body)["targets"].append((lines[item.target.pk], a))
    for row in task_rows:
        if row.lead is not None:
            card(row.lead)["tasks"].append((row, Role.LEAD.label))
        for body in row.supporting:
            card(body)["tasks"].append((row, Role.SUPPORTING.label))
    return sorted(cards.values(), key=lambda c: (c["body"].name, c["body"].pk))


def _chosen_cards(chosen: str, everyone: list[dict]) -> list[dict]:
    """The card of the body ?dv= names, or every card without it; 404 for a body
    without a card."""
    if not chosen:
        return everyone
    shown = [c for c in everyone if str(c["body"].pk) == chosen]
    if not shown:
        raise Http404("Không có đơn vị này.")
    return shown


def bodies(request):
    """Per responsible body: its targets and tasks (as lead or supporting body) with
    their statuses, and whether it reported for the period on time."""
    require_reader(request.user)
    selection = reader_selection(request)
    if selection is None or selection.period is None:
        return _empty(request, selection)
    resolution, period = selection.resolution, selection.period
    rows = fetch_progress_rows(resolution, period)
    progress = build_progress(rows)
    reports = body_reports(progress, sent_figures(rows).at)
    task_rows = task_standings(resolution, period)
    lines = target_lines(
        progress.items, "reports:target", period, _linkable(request.user)
    )
    everyone = _body_cards(progress, reports, lines, task_rows)
    chosen = request.GET.get("dv", "")
    return render(
        request,
        "reports/bodies.html",
        {
            "selection": selection,
            "resolution": resolution,
            "period": period,
            "cards": _chosen_cards(chosen, everyone),
            "all_bodies": [c["body"] for c in everyone],
            "chosen": chosen,
        },
    )


# --- the official comparison report ------------------------------------------------


def _report(request):
    require_reader(request.user)
    selection = reader_selection(request)
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
