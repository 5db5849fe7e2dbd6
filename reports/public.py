"""The public pages (công khai), no login: the resolution, the progress at a
published quarter, one page per target and the official comparison report (HTML,
Excel, PDF). The same numbers and the same judgement as the delegates see for that
quarter: every figure comes from the progress loaders (approved figures only) and the
report from `reports.comparison.build_report`, nothing is computed here.

What is public (PRODUCT.md, mission 7): a quarter once the approver has published it
and while it stays closed (`ReportingPeriod.is_public`), and only when every earlier
quarter of its year is public too, since its report carries their figures. Never
public: drafts and figures not approved, figure notes (a clerk's explanation is an
internal working note), evidence files, who entered, submitted or approved a figure,
unpublished quarters.

Light: no script, no chart library (charts are SVG drawn here), a small stylesheet
inline. Cacheable by any proxy: `Cache-Control: public`, an ETag and Last-Modified,
304 on a repeat. The dashboard and the report derive their ETag from the data
version (targets.data_version, one query), so a repeat visit reads and draws
nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.html import format_html
from django.utils.http import http_date, quote_etag
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from targets import data_version
from targets.models import (
    Area,
    Assignment,
    ReportingPeriod,
    Resolution,
    Role,
    Target,
    WorkflowState,
    lead_body,
)
from targets.numbers import format_decimal
from targets.progress import (
    SUMMARY_ORDER,
    quarter_label,
    quarters_between,
    thresholds,
)
from targets.progress_load import load_resolution_progress, load_target_progress

from . import exports
from .comparison import build_report
from .page_cache import kept_file
from .presentation import target_lines
from .reporting import by_area_and_indicator
from .selection import Selection, chosen, resolutions
from .task_standing import in_report_order

# How long a proxy or browser may keep a public page without asking again.
PUBLIC_MAX_AGE = 300


# --- which quarters are public --------------------------------------------------------


def public_only(periods) -> list[ReportingPeriod]:
    """The public ones of these periods (ordered by commune, year, quarter): published
    and closed, and every earlier quarter of the same year public too (a quarter's
    report carries the earlier quarters' figures)."""
    shown, broken = [], set()
    for period in periods:
        year = (period.commune_id, period.year)
        if year in broken:
            continue
        if period.is_public:
            shown.append(period)
        else:
            broken.add(year)
    return shown


def public_periods(commune_id: int) -> list[ReportingPeriod]:
    """The commune's public quarters, oldest first. One query."""
    return public_only(
        ReportingPeriod.objects.filter(commune_id=commune_id).order_by(
            "year", "quarter"
        )
    )


NOT_PUBLISHED = "Kỳ này chưa được công bố."


def select(request) -> Selection | None:
    """?nq= resolution (the newest by default), ?ky= a public quarter (the latest
    by default). Two queries."""
    offered = list(resolutions())
    if not offered:
        return None
    resolution = chosen(request.GET, offered[::-1], "nq", "Không có nghị quyết này.")
    periods = public_periods(resolution.commune_id)
    period = chosen(request.GET, periods, "ky", NOT_PUBLISHED)
    return Selection(resolution, offered, period, periods)


# --- caching --------------------------------------------------------------------------


def _data() -> tuple:
    """What the public pages are judged from, as it enters an ETag: the data version
    (targets.data_version; one query) and the thresholds."""
    return data_version.current(), thresholds()


def _etag(*parts) -> str:
    """A digest of what a page is drawn from, with the release's code and templates
    (data_version.release), so a new release never answers with a page kept by the
    previous one."""
    digest = hashlib.sha256(repr((data_version.release(), parts)).encode()).hexdigest()
    return quote_etag(digest)


def _last_modified(periods) -> int | None:
    """When the newest of these quarters was published: a public page changes only
    when a quarter is published or withdrawn."""
    stamps = [p.published_at for p in periods if p.published_at]
    return int(max(stamps).timestamp()) if stamps else None


def _kept(etag: str, build) -> HttpResponse:
    """`build()`'s answer for this ETag (which names the data version), built once
    and kept in the shared pages cache (reports.page_cache.kept_file: one build per
    key, a bounded number at a time). The public pages read neither the user nor a
    CSRF token, so one answer serves everyone. Only a 200 is kept."""

    def made():
        response = build()
        if response.status_code != 200:
            return response
        return {"content": response.content, "headers": dict(response.items())}

    entry = kept_file(f"public:{etag}", made)
    if isinstance(entry, HttpResponse):
        return entry
    response = HttpResponse(entry["content"])
    for name, value in entry["headers"].items():
        response[name] = value
    return response


def cacheable(request, build, etag: str | None = None, last_modified=None):
    """The response of `build()`, or 304 when the client holds it already. With
    `etag` given (from the data) a 304 costs no rendering and a 200 is drawn once
    per data version for every client; without it the ETag is the digest of the
    rendered content."""
    response = None
    if etag is not None:
        response = get_conditional_response(
            request, etag=etag, last_modified=last_modified
        ) or _kept(etag, build)
    else:
        response = build()
        etag = _etag(response.content)
        response = (
            get_conditional_response(
                request, etag=etag, last_modified=last_modified, response=response
            )
            or response
        )
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    return response


def _nothing(request, selection):
    return render(
        request,
        "reports/public/empty.html",
        {"selection": selection},
        status=404 if selection is None else 200,
    )


# --- the progress at a published quarter ----------------------------------------------


def _groups(progress, lines):
    """[(area label, counts, [(indicator, [line])])] in the order of Area."""
    areas = by_area_and_indicator(
        (lines[item.target.pk] for item in progress.items), lambda line: line.target
    )
    return [
        (Area(area).label, progress.by_area[area], list(areas[area].items()))
        for area in Area.values
        if area in areas
    ]


def _offered(selection) -> tuple[list, list]:
    """What the selection offers, as it enters an ETag: the resolutions and the
    public quarters with when each was published."""
    return (
        [(r.pk, r.number, r.title) for r in selection.resolutions],
        [(p.pk, p.published_at) for p in selection.periods],
    )


def _index_page(request, selection, progress):
    lines = target_lines(progress.items, "public:target", selection.period)
    return render(
        request,
        "reports/public/index.html",
        {
            "selection": selection,
            "resolution": selection.resolution,
            "period": selection.period,
            "progress": progress,
            "statuses": [
                (s, progress.overall[s]) for s in SUMMARY_ORDER if progress.overall[s]
            ],
            "groups": _groups(progress, lines),
        },
    )


@login_not_required
def index(request):
    """The public dashboard: every target's status at the chosen published quarter,
    counted by status, by area and by indicator."""
    selection = select(request)
    if selection is None or selection.period is None:
        return _nothing(request, selection)
    etag = _etag(
        "index",
        _data(),
        *_offered(selection),
        selection.resolution.pk,
        selection.period.pk,
    )
    return cacheable(
        request,
        lambda: _index_page(
            request,
            selection,
            load_resolution_progress(selection.resolution, selection.period),
        ),
        etag,
        _last_modified(selection.periods),
    )


# --- one target -----------------------------------------------------------------------


CHART_W, CHART_H = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 56, 16, 16, 36
PLOT_W = CHART_W - PLOT_LEFT - PLOT_RIGHT
PLOT_H = CHART_H - PLOT_TOP - PLOT_BOTTOM
ESTIMATE_LABEL = "Ước cả năm"


@dataclass(frozen=True)
class _Scale:
    """Where a value and a slot sit: values from `low` up over `span` (a tenth of
    headroom above the highest), one slot per bar from the left."""

    low: Decimal
    span: Decimal
    slot: Decimal

    def y(self, value: Decimal) -> str:
        return f"{PLOT_TOP + PLOT_H - (value - self.low) / self.span * PLOT_H:.1f}"

    def x(self, index: int) -> Decimal:
        return PLOT_LEFT + self.slot * index


def _scale(target, points, forecast: Decimal | None) -> _Scale:
    """From zero (or the lowest value) to the highest of the plan, the values and
    the estimate; a slot for each quarter and one for the estimate."""
    values = [v for _, v in points if v is not None]
    top = max([target.target_value, *values, *([forecast] if forecast else [])])
    low = min([Decimal(0), *values])
    slots = len(points) + (1 if forecast is not None else 0)
    return _Scale(
        low=low,
        span=(top - low) * Decimal("1.1") or Decimal(1),
        slot=Decimal(PLOT_W) / max(slots, 1),
    )


def _bar(scale: _Scale, index: int, css: str, label: str, value, top, base) -> str:
    """A bar from `base` up to `top` in the index-th slot, its number above it and,
    for screen readers, in its title."""
    x = scale.x(index)
    top_y, base_y = Decimal(scale.y(top)), Decimal(scale.y(base))
    return format_html(
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}">'
        "<title>{}: {}</title></rect>"
        '<text class="v" x="{}" y="{}">{}</text>',
        css,
        f"{x + scale.slot * Decimal('0.2'):.1f}",
        str(top_y),
        f"{scale.slot * Decimal('0.6'):.1f}",
        str(max(base_y - top_y, Decimal("0.5"))),
        label,
        format_decimal(value),
        f"{x + scale.slot / 2:.1f}",
        str(top_y - 4),
        format_decimal(value),
    )


def _slot_label(scale: _Scale, index: int, label: str) -> str:
    return format_html(
        '<text class="q" x="{}" y="{}">{}</text>',
        f"{scale.x(index) + scale.slot / 2:.1f}",
        CHART_H - PLOT_BOTTOM + 16,
        label,
    )


def _bars(scale: _Scale, points, forecast: Decimal | None) -> str:
    """A bar per quarter that has a value (down from zero when negative), a label
    under every quarter, then the estimate as a bar from the bottom."""
    drawn = []
    for index, (label, value) in enumerate(points):
        if value is not None:
            top, base = max(value, 0), min(value, 0)
            drawn.append(_bar(scale, index, "bar", label, value, top, base))
        drawn.append(_slot_label(scale, index, label))
    if forecast is not None:
        index = len(points)
        drawn.append(
            _bar(scale, index, "est", ESTIMATE_LABEL, forecast, forecast, scale.low)
        )
        drawn.append(_slot_label(scale, index, ESTIMATE_LABEL))
    return mark_safe("".join(drawn))


def svg_chart(target, points, forecast: Decimal | None) -> str:
    """A bar per quarter of the window (the value judged: the running total for
    sums), the plan as a dashed line, the year-end estimate as a hollow bar. Drawn
    here, no script; every bar carries its number in words for screen readers."""
    scale = _scale(target, points, forecast)
    plan_y = scale.y(target.target_value)
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        '<line class="axis" x1="{l}" y1="{base}" x2="{r}" y2="{base}"/>'
        "{bars}"
        '<line class="plan" x1="{l}" y1="{py}" x2="{r}" y2="{py}"/>'
        '<text class="p" x="{tx}" y="{pty}">KH {plan}</text></svg>',
        w=CHART_W,
        h=CHART_H,
        label=f"Biểu đồ {target.code}: kế hoạch {target.plan_text}",
        l=PLOT_LEFT,
        r=CHART_W - PLOT_RIGHT,
        base=scale.y(scale.low),
        bars=_bars(scale, points, forecast),
        py=plan_y,
        tx=4,
        pty=f"{Decimal(plan_y) + 4:.1f}",
        plan=target.plan_text,
    )


def _quarter_rows(target, history) -> tuple[list[dict], list[tuple]]:
    """(rows, points): a row per quarter of the window that has one (its approved
    figure, whether an estimate, the value judged and the status), and the chart's
    (label, value judged) per quarter."""
    progress = history.progress
    used = dict(progress.used)
    rows, points = [], []
    by_quarter = {row.quarter: row for row in history.rows}
    for quarter in quarters_between(*target.window):
        label = quarter_label(quarter)
        row = by_quarter.get(quarter)
        figure = row.figure if row else None
        approved = figure is not None and figure.state == WorkflowState.APPROVED
        judged = row.progress.value if row and quarter in used else None
        points.append((capfirst(label), judged))
        if row is not None:
            rows.append(
                {
                    "label": label,
                    "value": figure.value if approved else None,
                    "estimate": approved and quarter in progress.estimated,
                    "judged": judged,
                    "progress": row.progress,
                }
            )
    return rows, points


def _target_page(request, target, period, periods):
    history = load_target_progress(target, period)
    progress = history.progress
    rows, points = _quarter_rows(target, history)
    forecast = None if progress.is_final else progress.estimate
    return render(
        request,
        "reports/public/target.html",
        {
            "target": target,
            "resolution": target.indicator.resolution,
            "period": period,
            "periods": periods,
            "progress": progress,
            "rows": rows,
            "lead": lead_body(history.assignments),
            "chart": svg_chart(target, points, forecast),
            "window": (
                quarter_label(target.window[0]),
                quarter_label(target.window[1]),
            ),
        },
    )


@login_not_required
def target(request, target_id):
    """One target at a published quarter: its clause, its quarterly approved
    figures, the chart, the status, the estimate and the working behind them."""
    target = get_object_or_404(
        Target.objects.select_related("indicator__resolution__commune"), pk=target_id
    )
    resolution = target.indicator.resolution
    periods = public_periods(resolution.commune_id)
    period = chosen(request.GET, periods, "ky", NOT_PUBLISHED)
    if period is None:
        return _nothing(request, Selection(resolution, [resolution], None, []))
    return cacheable(
        request,
        lambda: _target_page(request, target, period, periods),
        last_modified=_last_modified(periods),
    )


# --- the resolution -------------------------------------------------------------------


def _with_leads(resolution):
    """(indicators, tasks) of the resolution, each target and task with its lead
    assignments prefetched (`.leads`); tasks in the report's order."""
    leads = Prefetch(
        "assignments",
        queryset=Assignment.objects.filter(role=Role.LEAD).select_related("body"),
        to_attr="leads",
    )
    indicators = resolution.indicators.prefetch_related(
        Prefetch(
            "targets",
            queryset=Target.objects.order_by("order", "code").prefetch_related(leads),
        )
    )
    return indicators, in_report_order(resolution.tasks.prefetch_related(leads))


def _paragraphs(text: str) -> list[str]:
    """The text's paragraphs (split on blank lines), each on one line."""
    return [
        " ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()
    ]


def _resolution_page(request, shown, offered):
    item = Resolution.objects.select_related("commune").get(pk=shown.pk)
    indicators, tasks = _with_leads(item)
    return render(
        request,
        "reports/public/resolution.html",
        {
            "resolution": item,
            "resolutions": offered,
            "areas": [
                (label, [i for i in indicators if i.area == value])
                for value, label in Area.choices
            ],
            "tasks": tasks,
            "paragraphs": _paragraphs(item.source_text),
        },
    )


@login_not_required
def resolution(request):
    """The resolution as adopted: its text, indicators, targets and tasks, with the
    bodies that lead each. A public document whatever is published."""
    offered = list(resolutions())
    if not offered:
        return _nothing(request, None)
    shown = chosen(request.GET, offered[::-1], "nq", "Không có nghị quyết này.")
    return cacheable(request, lambda: _resolution_page(request, shown, offered))


# --- the official comparison report ---------------------------------------------------


def _report(request, kind: str, render_report):
    """The delegates' report for a published quarter: the same loader, the same
    builder, the same templates and files."""
    selection = select(request)
    if selection is None or selection.period is None:
        return _nothing(request, selection)
    today = timezone.localdate()
    etag = _etag(
        "report",
        kind,
        _data(),
        today,
        *_offered(selection),
        selection.resolution.pk,
        selection.period.pk,
    )

    def build():
        progress = load_resolution_progress(selection.resolution, selection.period)
        comparison = build_report(progress, today)
        return render_report(selection, comparison)

    return cacheable(request, build, etag, _last_modified(selection.periods))


def _attachment(body: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_not_required
def report(request):
    return _report(
        request,
        "html",
        lambda selection, comparison: render(
            request,
            "reports/public/report.html",
            {
                "selection": selection,
                "resolution": selection.resolution,
                "period": selection.period,
                "report": comparison,
            },
        ),
    )


@login_not_required
def report_xlsx(request):
    return _report(
        request,
        "xlsx",
        lambda selection, comparison: _attachment(
            exports.report_xlsx(comparison),
            exports.XLSX_TYPE,
            f"{comparison.filename_stem}.xlsx",
        ),
    )


@login_not_required
def report_pdf(request):
    def pdf(selection, comparison):
        html = render_to_string(
            "reports/report_pdf.html", {"report": comparison}, request=request
        )
        return _attachment(
            exports.html_to_pdf(html),
            "application/pdf",
            f"{comparison.filename_stem}.pdf",
        )

    return _report(request, "pdf", pdf)
