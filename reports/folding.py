"""The dashboard at any size: the rows of a commune's resolution as they always
were, and above PAGE_ROWS shown targets the page folded into areas and indicator
lines with their counts, each linked to its rows a page at a time (`fold` says
why and how). No script: links and page numbers only."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict

from targets.models import Area
from targets.progress import SUMMARY_ORDER, Status

from .presentation import target_lines
from .reporting import by_area_and_indicator, missing_at_close

# At most this many target rows on a page of the dashboard (`fold` says
# why) and this many indicator lines; in a resolution of more than PAGE_ROWS
# targets, the lists above them (bodies that have not reported, targets missing at
# a closed quarter) name their first LIST_FIRST and count the rest.
PAGE_ROWS = 50
PAGE_LINES = 30
LIST_FIRST = 10


def grouped(lines, progress):
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


def in_order(shown):
    """{area: {indicator: [item]}} in the order the page shows them (Area's, then
    the targets'), so that page 2 follows page 1."""
    areas = by_area_and_indicator(shown, lambda item: item.target)
    return {area: areas[area] for area in Area.values if area in areas}


def counted(counts) -> list[tuple[Status, int]]:
    """(status, how many) of each status present, in the order of the summary."""
    return [(s, counts[s]) for s in SUMMARY_ORDER if counts[s]]


def folded_lines(areas, progress, page):
    """The page's indicator lines under their areas: [(area, label, counts,
    [(indicator, counts, [(status, n)], how many rows it shows)])]."""
    chosen, counts = set(page), progress.by_indicator
    return [
        (
            area,
            Area(area).label,
            progress.by_area[area],
            [
                (i, counts[i], counted(counts[i]), len(rows))
                for i, rows in indicators.items()
                if i in chosen
            ],
        )
        for area, indicators in areas.items()
        if chosen.intersection(indicators)
    ]


def page_number(params) -> int:
    """?trang=, 1 without it; anything but digits is a 404."""
    value = params["trang"]
    if not value:
        return 1
    if not (value.isascii() and value.isdigit() and len(value) <= 6):
        raise Http404("Số trang không hợp lệ.")
    return int(value)


def page_href(own: QueryDict, number: int) -> str:
    """The link to page `number` of the list the page's own parameters `own` show,
    to the list itself (#danh-sach); page 1 has no ?trang=."""
    linked = own.copy()
    if number > 1:
        linked["trang"] = str(number)
    return f"?{linked.urlencode()}#danh-sach"


def paged(things, per_page, params, own):
    """(the page of `things` asked for, {previous, next: link}), or a redirect to
    the nearest page for a number outside them."""
    paginator = Paginator(things, per_page)
    number = page_number(params)
    if not 1 <= number <= paginator.num_pages:
        nearest = min(max(number, 1), paginator.num_pages)
        return HttpResponseRedirect(page_href(own, nearest)), None
    page = paginator.page(number)
    links = {
        "previous": page_href(own, number - 1) if page.has_previous() else None,
        "next": page_href(own, number + 1) if page.has_next() else None,
    }
    return page, links


def fold(shown, filters, params, own):
    """What the lower half of the page shows: ("rows", page of items) |
    ("indicators", page of indicators) | ("areas", page of areas), with the
    {areas: {indicator: [item]}} shown and the page links; or a redirect.

    The dashboard at any size. A province running one portal for its communes can
    put 1 500 targets in one resolution: drawn as rows that is 1,4 MB of HTML and
    seconds of a phone's main thread. So a page never shows more than PAGE_ROWS
    rows, and no line of script does the folding:
    - up to PAGE_ROWS targets match the filters (a commune's resolution, 32 targets,
      or a filter that narrows a big one): the rows, exactly as they always were;
    - more: the page folds. Each area is a heading with its counts and each of its
      indicators a line with its counts per status and a link to the same
      dashboard narrowed to that indicator (?ct=<indicator id>), whose rows come
      PAGE_ROWS at a time (?trang=2: "Trang trước", "Trang 2/7", "Trang sau");
    - more than PAGE_LINES indicator lines (the resolution has eleven, the big
      builders eleven or one: a safeguard): the areas alone, each linked to the
      dashboard narrowed to it (?lv=), whose indicator lines come PAGE_LINES at a
      time.
    The filters (area, status, body) narrow before anything folds, so they combine
    with it; the counts at the top stay the whole selection's, an area's or an
    indicator's its whole own, as in the rows. A page number that is not digits is
    a 404 like any unknown parameter; one outside the list (a filter left fewer
    rows since the link was drawn) is sent to the nearest page, so no page number
    keeps a cache entry of its own."""
    areas = in_order(shown)
    indicators = [i for by_indicator in areas.values() for i in by_indicator]
    if filters["indicator"] or len(shown) <= PAGE_ROWS:
        rows = [item for i in areas.values() for rows in i.values() for item in rows]
        return ("rows", areas, *paged(rows, PAGE_ROWS, params, own))
    if len(indicators) <= PAGE_LINES or filters["area"] or len(areas) == 1:
        return ("indicators", areas, *paged(indicators, PAGE_LINES, params, own))
    return ("areas", areas, *paged(list(areas), PAGE_LINES, params, own))


def not_reported(reports, first: int | None) -> list[dict]:
    """The lead bodies with a target due and no figure sent: each with its missing
    targets' `first` codes (None: all) and how many more."""
    return [
        {
            "body": r.body,
            "missing": len(r.missing),
            "due": len(r.due),
            "codes": [t.code for t in r.missing[:first]],
            "more": len(r.missing[first:]) if first else 0,
        }
        for r in reports.values()
        if not r.has_reported
    ]


def lower_half(progress, shown, filters, params, own, linkable) -> dict | HttpResponse:
    """The context of the page's lower half for the `shown` items: the rows, the
    indicator lines or the areas, the page and its links; or a redirect to the
    nearest page."""
    kind, areas, page, page_links = fold(shown, filters, params, own)
    if isinstance(page, HttpResponse):
        return page
    groups = folded = area_lines = None
    if kind == "rows":
        lines = target_lines(page, "reports:target", progress.period, linkable)
        groups = grouped(lines.values(), progress)
    elif kind == "indicators":
        folded = folded_lines(areas, progress, page)
    else:
        chosen = set(page)
        area_lines = [
            (area, Area(area).label, progress.by_area[area], sum(map(len, i.values())))
            for area, i in areas.items()
            if area in chosen
        ]
    return {
        "fold": kind,
        "groups": groups,
        "folded": folded,
        "area_lines": area_lines,
        "page": page,
        "page_links": page_links,
    }


def lists_above(progress, reports, linkable) -> dict:
    """The lists above the rows: the targets of a closed quarter with no approved
    figure (linked as the rows are) and the lead bodies that have not reported
    (`reports`: reporting.body_reports). In a resolution of more than PAGE_ROWS
    targets each names its first LIST_FIRST and counts the rest."""
    first = LIST_FIRST if progress.overall.total > PAGE_ROWS else None
    missing = missing_at_close(progress)
    lines = target_lines(missing[:first], "reports:target", progress.period, linkable)
    silent = not_reported(reports, first)
    return {
        "not_reported": silent[:first],
        "not_reported_more": len(silent[first:]) if first else 0,
        "missing": lines.values(),
        "missing_count": len(missing),
        "missing_more": len(missing[first:]) if first else 0,
    }
