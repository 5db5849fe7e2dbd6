"""What delegates read: the dashboard, one page per target, the body scorecard, the
tasks report and the official comparison report (HTML, Excel, PDF).

Every page judges approved figures only (the progress loader's default) at a selected
period: ?ky=<period id>, by default the latest period with an approved figure for the
resolution (?nq=<resolution id>, by default the newest; reports.selection). Never
today's date. Each page runs a fixed number of queries, whatever the number of
targets, and is kept in the one page cache (reports.page_cache): drawn without
`request` under the data version, the parameters it reads and the user's links, then
served in its shell (navigation, user, an approver's form) per request."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from targets import data_version, rules
from targets.forms import AssessmentForm
from targets.models import Area, Evidence, Role, TaskKind, WorkflowState
from targets.progress import (
    SUMMARY_ORDER,
    Status,
    quarter_label,
    quarters_between,
)
from targets.progress_load import load_resolution_progress, load_target_progress

from . import exports, folding
from .comparison import build_report
from .page_cache import answer, kept, kept_file, page_key, query
from .presentation import override_mark, target_lines
from .reporting import (
    body_reports,
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


def _drawn(template: str, title: str, context: dict) -> dict:
    """What a page keeps: its title and its body, drawn without `request`."""
    return {"title": title, "body": render_to_string(template, context)}


def _shell(request, template: str, entry: dict, **extra):
    """The kept body in the page around it, drawn for this request."""
    return render(
        request,
        template,
        {"title": entry["title"], "body": mark_safe(entry["body"]), **extra},
    )


def _linkable(user) -> set[int] | None:
    """The targets whose page the user may open (a clerk: the targets its bodies
    lead; one query), or None for every target."""
    visible = rules.visible_targets(user)
    if not visible.query.has_filters():
        return None  # the rules put no filter on this user's set
    return set(visible.values_list("pk", flat=True))


# --- dashboard ---------------------------------------------------------------------


def _filters(params, progress):
    """?lv= area, ?tt= status, ?dv= responsible body, ?ct= indicator; anything
    unknown is a 404."""
    area, status, body_id = params["lv"], params["tt"], params["dv"]
    if area and area not in Area.values:
        raise Http404("Lĩnh vực không hợp lệ.")
    if status and status not in Status.values:
        raise Http404("Trạng thái không hợp lệ.")
    body = None
    if body_id:
        body = next((b for b in progress.by_body if str(b.pk) == body_id), None)
        if body is None:
            raise Http404("Không có đơn vị này.")
    indicator = None
    if params["ct"]:
        indicator = next(
            (i for i in progress.by_indicator if str(i.pk) == params["ct"]), None
        )
        if indicator is None:
            raise Http404("Không có nhóm chỉ tiêu này.")
    return {"area": area, "status": status, "body": body, "indicator": indicator}


def _matches(item, filters) -> bool:
    if filters["area"] and item.target.indicator.area != filters["area"]:
        return False
    if filters["status"] and item.progress.status != filters["status"]:
        return False
    if filters["body"] and filters["body"] not in item.responsible_bodies:
        return False
    if filters["indicator"] and item.target.indicator != filters["indicator"]:
        return False
    return True


DASHBOARD_QUERY = ("nq", "ky", "lv", "tt", "dv", "ct", "trang")


def _judged(params):
    """The selection a reader page shows and its judgement; None when there is
    nothing to judge yet (no resolution or quarter)."""
    selection = reader_selection(params)
    if selection is None or selection.period is None:
        return selection, None
    return selection, load_resolution_progress(selection.resolution, selection.period)


def _dashboard_drawing(request, params, linkable):
    """The dashboard below the navigation bar, or the empty page. Above PAGE_ROWS
    shown targets it folds (reports.folding says how)."""
    selection, progress = _judged(params)
    if progress is None:
        return _empty(request, selection)
    period = selection.period
    filters = _filters(params, progress)
    shown = [i for i in progress.items if _matches(i, filters)]
    # What a link keeps of the page's own parameters; a page number is the link's.
    own = _query_dict({k: v for k, v in params.items() if k != "trang"})
    lower = folding.lower_half(progress, shown, filters, params, own, linkable)
    if isinstance(lower, HttpResponse):
        return lower
    sent = sent_figures(progress)
    return _drawn(
        "reports/_dashboard.html",
        str(period),
        {
            "selection": selection,
            "resolution": selection.resolution,
            "period": period,
            "progress": progress,
            **lower,
            **folding.lists_above(progress, body_reports(progress, sent.at), linkable),
            "shown": len(shown),
            "filters": filters,
            "filtered": any(filters.values()),
            "query": own,
            "statuses": [(s, progress.overall[s]) for s in SUMMARY_ORDER],
            "areas": Area.choices,
            "last_update": sent.last_update,
        },
    )


def _query_dict(params: dict) -> QueryDict:
    kept = QueryDict(mutable=True)
    kept.update({name: value for name, value in params.items() if value})
    return kept


def _reader_page(request, page, names, template, draw, *parts, **extra):
    """A reader page through the cache: `draw(query)` on a miss, the shell always."""
    params = query(request, names)

    def respond():
        entry = kept(key, lambda: draw(params))
        if isinstance(entry, HttpResponse):
            return entry
        return _shell(request, template, entry, **extra)

    with data_version.one_token():  # the key's query reads the shape's token too
        key = page_key(page, params, *parts)
        return answer(request, key, respond)


def dashboard(request):
    """The delegates' home page."""
    require_reader(request.user)
    linkable = _linkable(request.user)
    return _reader_page(
        request,
        "dashboard",
        DASHBOARD_QUERY,
        "reports/dashboard.html",
        lambda params: _dashboard_drawing(request, params, linkable),
        None if linkable is None else sorted(linkable),
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


def _assessment(target, period, progress) -> dict:
    """What the approver's verdict form shows, as plain values kept with the page
    (the form itself, with its CSRF token, is drawn per request)."""
    computed = progress.computed_verdict
    return {
        "target_id": target.pk,
        "period_id": period.pk,
        "quarter": quarter_label(period.key),
        "computed": computed.label if computed else None,
        "verdict": progress.override or computed,
        "reason": progress.override_reason,
    }


def _target_drawing(request, target_id, params, can_see_history):
    target = _visible_target(request.user, target_id)
    resolution = target.indicator.resolution
    periods, approved = periods_marked(resolution)
    period = chosen_period(params, periods, resolution, approved)
    if period is None:
        return _empty(request, Selection(resolution, [resolution], None, []))
    history = load_target_progress(target, period)
    progress = history.progress
    evidence = _evidence_counts(target)
    entry = _drawn(
        "reports/_target.html",
        f"{target.code}. {target.name} – {period}",
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
            "can_see_history": can_see_history,
            "approved": WorkflowState.APPROVED,
            "submitted": WorkflowState.SUBMITTED,
        },
    )
    return {**entry, "assessment": _assessment(target, period, progress)}


def target(request, target_id):
    """One target: its figures quarter by quarter, its chart, its working; the
    approver's verdict form below."""
    require_reader(request.user)
    linkable = _linkable(request.user)
    if linkable is not None and target_id not in linkable:
        raise Http404("Không có chỉ tiêu này.")
    can_see_history = rules.can_see_history(request.user)
    params = query(request, ("ky",))

    def respond():
        entry = kept(
            key, lambda: _target_drawing(request, target_id, params, can_see_history)
        )
        if isinstance(entry, HttpResponse):
            return entry
        assessment = entry["assessment"]
        form = None
        if rules.is_approver(request.user):
            form = AssessmentForm(
                initial={
                    "verdict": assessment["verdict"],
                    "reason": assessment["reason"],
                }
            )
        return _shell(
            request, "reports/target.html", entry, assessment=assessment, form=form
        )

    with data_version.one_token():  # the key's query reads the shape's token too
        key = page_key("target", target_id, params, can_see_history)
        return answer(request, key, respond)


# --- tasks and bodies --------------------------------------------------------------


def _tasks_drawing(request, params):
    selection = reader_selection(params)
    if selection is None or selection.period is None:
        return _empty(request, selection)
    rows = task_standings(selection.resolution, selection.period)
    return _drawn(
        "reports/_tasks.html",
        f"Nhiệm vụ, giải pháp – {selection.period}",
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


def tasks(request):
    require_reader(request.user)
    return _reader_page(
        request,
        "tasks",
        ("nq", "ky"),
        "reports/tasks.html",
        lambda params: _tasks_drawing(request, params),
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


def _bodies_drawing(request, params, linkable):
    selection, progress = _judged(params)
    if progress is None:
        return _empty(request, selection)
    resolution, period = selection.resolution, selection.period
    reports = body_reports(progress, sent_figures(progress).at)
    task_rows = task_standings(resolution, period)
    lines = target_lines(progress.items, "reports:target", period, linkable)
    everyone = _body_cards(progress, reports, lines, task_rows)
    return _drawn(
        "reports/_bodies.html",
        f"Theo đơn vị – {period}",
        {
            "selection": selection,
            "resolution": resolution,
            "period": period,
            "cards": _chosen_cards(params["dv"], everyone),
            "all_bodies": [c["body"] for c in everyone],
            "chosen": params["dv"],
        },
    )


def bodies(request):
    """Per responsible body: its targets and tasks (as lead or supporting body) with
    their statuses, and whether it reported for the period on time."""
    require_reader(request.user)
    linkable = _linkable(request.user)
    return _reader_page(
        request,
        "bodies",
        ("nq", "ky", "dv"),
        "reports/bodies.html",
        lambda params: _bodies_drawing(request, params, linkable),
        None if linkable is None else sorted(linkable),
    )


# --- the official comparison report ------------------------------------------------

# The report reads the selection and today's date (it is dated).
REPORT_QUERY = ("nq", "ky")


def _comparison(request, params):
    """(selection, the report), or (selection, None) with nothing to report."""
    selection = reader_selection(params)
    if selection is None or selection.period is None:
        return selection, None
    progress = load_resolution_progress(selection.resolution, selection.period)
    return selection, build_report(progress, timezone.localdate())


def _report_drawing(request, params):
    selection, comparison = _comparison(request, params)
    if comparison is None:
        return _empty(request, selection)
    return _drawn(
        "reports/_report.html",
        f"{comparison.title} – {selection.period}",
        {
            "selection": selection,
            "resolution": selection.resolution,
            "period": selection.period,
            "report": comparison,
        },
    )


def report(request):
    require_reader(request.user)
    return _reader_page(
        request,
        "report",
        REPORT_QUERY,
        "reports/report.html",
        lambda params: _report_drawing(request, params),
        timezone.localdate(),
    )


def _file_drawing(request, params, extension: str, build):
    """A report file's name and bytes, built once per key (reports.page_cache)."""
    selection, comparison = _comparison(request, params)
    if comparison is None:
        return _empty(request, selection)
    name = f"{comparison.filename_stem}.{extension}"
    return {"name": name, "data": build(comparison)}


def _report_file(request, extension: str, content_type: str, build):
    require_reader(request.user)
    params = query(request, REPORT_QUERY)

    def respond():
        file = kept_file(key, lambda: _file_drawing(request, params, extension, build))
        if isinstance(file, HttpResponse):
            return file
        response = HttpResponse(file["data"], content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{file["name"]}"'
        return response

    with data_version.one_token():  # the key's query reads the shape's token too
        key = page_key(f"report-{extension}", params, timezone.localdate())
        return answer(request, key, respond)


def report_xlsx(request):
    return _report_file(request, "xlsx", exports.XLSX_TYPE, exports.report_xlsx)


def _pdf(comparison) -> bytes:
    html = render_to_string("reports/report_pdf.html", {"report": comparison})
    return exports.html_to_pdf(html)


def report_pdf(request):
    return _report_file(request, "pdf", "application/pdf", _pdf)
