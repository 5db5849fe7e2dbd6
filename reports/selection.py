"""Which resolution and which quarter a page shows: ?nq=<resolution id> (the newest
by default) and ?ky=<period id>. The delegates' pages offer every quarter and open on
the latest with an approved figure; the public pages and the API offer the public
quarters only (reports.public.public_periods)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from targets import data_version, rules
from targets.models import Figure, ReportingPeriod, Resolution, WorkflowState


@dataclass(frozen=True)
class Selection:
    resolution: Resolution
    resolutions: list[Resolution]
    period: ReportingPeriod | None
    periods: list[ReportingPeriod]
    # The ids of the periods holding an approved figure of the resolution.
    approved: frozenset[int] = frozenset()


def resolutions():
    """Every resolution with its commune, newest first (the model's order). The full
    text and the legal bases are long and no list shows them."""
    return Resolution.objects.select_related("commune").defer(
        "source_text", "legal_bases", "considered"
    )


def require_reader(user) -> None:
    if not rules.can_read_reports(user):
        raise Http404


def periods_marked(resolution: Resolution) -> tuple[list[ReportingPeriod], frozenset]:
    """The commune's periods, oldest first, and the ids of those holding an approved
    figure of this resolution. The periods are part of the shape, kept in the process
    (targets.data_version.by_structure: shared, so nothing is written on them); the
    approved ones take one query."""
    periods = data_version.by_structure(
        ("periods", resolution.commune_id),
        lambda: list(
            ReportingPeriod.objects.filter(commune_id=resolution.commune_id).order_by(
                "year", "quarter"
            )
        ),
    )
    approved = frozenset(
        Figure.objects.filter(
            state=WorkflowState.APPROVED, target__indicator__resolution=resolution
        )
        .order_by()
        .values_list("period_id", flat=True)
        .distinct()
    )
    return periods, approved


def chosen_period(query, periods, resolution, approved) -> ReportingPeriod | None:
    """?ky= (`query` is request.GET or the parameters a cached page read), or the
    latest period with an approved figure (`approved`: their ids); 404 for an
    unknown one."""
    chosen = query.get("ky", "")
    if chosen:
        period = next((p for p in periods if str(p.pk) == chosen), None)
        if period is None:
            raise Http404("Không có kỳ báo cáo này.")
        return period
    with_figures = [p for p in periods if p.pk in approved]
    if with_figures:
        return with_figures[-1]
    # Nothing approved yet: the first quarter of the plan year, where everything
    # honestly reads "no data".
    in_plan_year = [p for p in periods if p.year == resolution.plan_year]
    return (in_plan_year or periods or [None])[0]


def chosen(query, choices, name: str, message: str):
    """The item of `choices` whose pk is ?name=, the last one without it; 404 for
    anything else (an unpublished quarter answers as if it did not exist)."""
    value = query.get(name, "")
    if not value:
        return choices[-1] if choices else None
    found = next((c for c in choices if str(c.pk) == value), None)
    if found is None:
        raise Http404(message)
    return found


def reader_selection(query) -> Selection | None:
    """The delegates' pages, from ?nq= and ?ky= in `query`. Two queries: the
    structure token (the resolutions and the periods are read again only when it
    moved), the periods holding an approved figure. None when there is no
    resolution."""
    offered = data_version.by_structure("resolutions", lambda: list(resolutions()))
    if not offered:
        return None
    resolution = chosen(query, offered[::-1], "nq", "Không có nghị quyết này.")
    periods, approved = periods_marked(resolution)
    return Selection(
        resolution=resolution,
        resolutions=offered,
        period=chosen_period(query, periods, resolution, approved),
        periods=periods,
        approved=approved,
    )
