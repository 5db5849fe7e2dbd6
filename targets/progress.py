"""Where each target stands at a selected quarter, in exact Decimals: the judgement.

`TargetSpec` (what a target asks for, targets.reading) plus a dict of quarterly
figures gives a `Progress` through `evaluate()`; `rollup()` and the group_by_*
functions count statuses. No database, no clock: the result depends only on the
arguments (and the thresholds). The in-year forecast is targets.forecast; the
loaders that fetch what a page needs are targets.progress_load.

The reading rules come from PRODUCT.md ("Reading each target right"); the choices the
text leaves open are documented on `evaluate()`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

from .forecast import in_window_status, window_forecast
from .models import (
    Area,
    Assignment,
    Combine,
    Comparison,
    Indicator,
    ResponsibleBody,
    Role,
    Target,
    Verdict,
    WorkflowState,
    lead_body,
)
from .numbers import round_to
from .reading import (
    AT_RISK_FROM,
    FINAL_STATUSES,
    FORECAST_QUANTUM,
    ON_TRACK_FROM,
    STATUS_RANK,
    SUMMARY_ORDER,
    ZERO,
    Quarter,
    Status,
    TargetSpec,
    fmt,
    meets,
    plan_percent,
    quarter_label,
    quarters_between,
    relation,
    span_label,
    thresholds,
    verdict_for,
)

# The judgement's public names; TargetSpec, Status and the quarter helpers live in
# targets.reading and are named here too, so a caller imports the judgement from one
# module.
__all__ = [
    "AT_RISK_FROM",
    "FINAL_STATUSES",
    "JUDGED_STATES",
    "ON_TRACK_FROM",
    "STATUS_RANK",
    "SUMMARY_ORDER",
    "Counts",
    "Progress",
    "Quarter",
    "Status",
    "TargetProgress",
    "TargetSpec",
    "evaluate",
    "fmt",
    "group_by_area",
    "group_by_body",
    "group_by_indicator",
    "meets",
    "quarter_label",
    "quarters_between",
    "rollup",
    "span_label",
    "thresholds",
    "verdict_for",
]

# What delegates and reports judge: figures checked by the approver. Drafts and
# figures waiting for approval are the clerk's and the approver's business.
JUDGED_STATES = (WorkflowState.APPROVED,)


@dataclass(frozen=True, kw_only=True)
class Progress:
    """The result of `evaluate()`. Every number is an exact Decimal.

    period: the quarter selected; judged_at: the quarter judged (the window's last
    when the selection is after it); window_ended: the selection is at or after the
    window's last quarter; is_final: the window has ended and every one of its
    quarters has a figure, so the year's result is known (Vượt / Đạt / Không đạt).
    value: the value judged (sum so far, or the latest level; see evaluate()).
    lowest: maintain targets only, the lowest figure of the window so far.
    gap: value − target, signed, in the target's unit (maintain: lowest − target).
    shortfall: how far the value is from meeting the target in the good direction, ≥ 0.
    percent_of_plan: value ÷ target × 100, for at-least and above targets only.
    forecast: the value expected at the end of the window (ước thực hiện cả năm), 4
    decimals, inside the target's range; once final, the value itself.
    start: where the expected path starts (in-window forecasts only).
    coverage: the ratio the in-window status was decided on, 4 decimals (rounded
    down where rounding up would reach a threshold it is below), or None.
    computed_verdict: our verdict, only when the window has ended.
    override / override_reason: the approver's verdict for the selected period.
    verdict: override if present, else computed_verdict.
    used: the (quarter, figure) pairs that counted; missing: window quarters up to
    judged_at with no figure; estimated: the used quarters whose figure was entered
    as an estimate (ước).
    working: the Vietnamese sentences that show how the status was reached.
    """

    spec: TargetSpec
    status: Status
    period: Quarter
    judged_at: Quarter
    is_final: bool
    window_ended: bool = False
    value: Decimal | None = None
    lowest: Decimal | None = None
    gap: Decimal | None = None
    shortfall: Decimal | None = None
    percent_of_plan: Decimal | None = None
    forecast: Decimal | None = None
    start: Decimal | None = None
    coverage: Decimal | None = None
    computed_verdict: Verdict | None = None
    override: Verdict | None = None
    override_reason: str = ""
    used: tuple[tuple[Quarter, Decimal], ...] = ()
    missing: tuple[Quarter, ...] = ()
    estimated: tuple[Quarter, ...] = ()
    working: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict | None:
        """The year's result: only once final (the approver's if overridden)."""
        if not self.is_final:
            return None
        return self.override or self.computed_verdict

    @property
    def estimate(self) -> Decimal | None:
        """Ước thực hiện cả năm in the target's decimals (the value once final);
        None without figures or when no forecast can be made."""
        if self.forecast is None:
            return None
        return round_to(self.forecast, self.spec.decimal_places)

    @property
    def estimate_percent(self) -> Decimal | None:
        """% so với kế hoạch of the estimate, for at-least and above targets only."""
        estimate = self.estimate
        return None if estimate is None else plan_percent(self.spec, estimate)

    @property
    def estimate_gap(self) -> Decimal | None:
        """The estimate minus the plan, in the target's unit; for maintain targets the
        lowest period minus the plan (what the verdict turns on)."""
        if self.spec.comparison == Comparison.MAINTAIN:
            return self.gap
        estimate = self.estimate
        return None if estimate is None else estimate - self.spec.target_value

    @property
    def is_overridden(self) -> bool:
        return self.override is not None

    @property
    def status_label(self) -> str:
        return self.status.label


def evaluate(
    spec: TargetSpec,
    figures: Mapping[Quarter, Decimal],
    period: Quarter,
    override: Verdict | str | None = None,
    override_reason: str = "",
    estimates: Collection[Quarter] = (),
) -> Progress:
    """The one judgement of a target at the selected quarter: its status, its verdict
    (only once final), its year-end estimate and the working behind them. Every page,
    file and API presents what this returns and decides nothing of its own.

    `estimates`: the quarters whose figure was entered as an estimate (ước).

    Reading rules (PRODUCT.md), with the choices the text leaves open:

    - Only figures inside the window count; figures after the selected quarter are
      ignored. Before the window starts: NO_DATA (nothing is due). After it ends:
      judged at its last quarter.
    - Final (Vượt / Đạt / Không đạt) only when the selection is at or after the
      window's last quarter AND every quarter of the window has a figure. Until
      then the status is the in-year one with the estimate, whatever the quarter
      selected: the portal never states a year's result it does not have.
    - Value judged: SUM adds the window's figures up to the selected quarter (missing
      quarters add nothing and are listed); LATEST takes the most recent figure.
      MAINTAIN compares every figure with the target whatever the combine: the value is
      the latest figure, `lowest` the worst one, and gap/shortfall use `lowest` because
      it decides the verdict.
    - Final: the status is the verdict; an approver's override replaces both the
      verdict and the status, the computed one is kept. An override recorded before
      the result is known is mentioned in the working and changes nothing.
    - Not final: ALREADY_MET when the value meets the comparison, except for
      maintain (ON_TRACK while every period so far is in and holds, INCOMPLETE
      "Chưa đủ số liệu" while every reported period holds but one is missing,
      BEHIND as soon as one does not hold) and for at-most sums (a sum can still
      grow past the cap). Otherwise the forecast decides:
      SUM: run-rate, value × n ÷ k over the window's n quarters with k the quarters
      up to the latest one with a figure (a missing quarter before it adds nothing),
      or value × (profile shares of all window quarters) ÷ (shares of those k).
      A SUM is a flow from zero, so path HOLD is read as FROM_START for sums.
      LATEST FROM_START: least-squares line over the window's figures by quarter index,
      extrapolated to the last index; a baseline counts as a point at index −1 (the
      position just before the window), so a baseline and one figure make a trend.
      LATEST HOLD, or a single figure with no baseline: the latest level.
      Every forecast is brought inside the target's range (a coverage never passes
      100%).
    - coverage = (forecast − start) ÷ (target − start), mirrored for at-most; start is
      the baseline, else 0 for sums, else the window's first figure. HOLD levels:
      value ÷ target (target ÷ value for at-most). A forecast that meets the
      comparison is ON_TRACK; a zero or backwards distance falls back to that
      comparison alone. A single level figure with no baseline has no trend and
      does not meet the target yet: INCOMPLETE (Chưa đủ số liệu), not on track.
      The unrounded coverage meets the thresholds (59,996% is behind); it is kept
      and shown rounded, down where up would reach a threshold (59,99%, not 60%).
    - A division by zero never raises: the status falls back to the comparison.
    """
    return _remembered(
        spec,
        # str(): 1.0 and 1.00 are equal Decimals, and a page shows what was written.
        tuple(sorted((q, v, str(v)) for q, v in figures.items())),
        tuple(period),
        override,
        override_reason,
        frozenset(estimates),
        thresholds(),
    )


# A redraw after one figure changed judges every other target with the same inputs
# again: evaluate() is a pure function of its arguments and the thresholds, and a
# Progress cannot be changed, so its results are kept (one resolution at province
# size is 1 500 targets; a few quarters of a few of them fit).
@functools.lru_cache(maxsize=16384)
def _remembered(
    spec, figures, period, override, override_reason, estimates, limits
) -> Progress:
    with localcontext() as ctx:
        ctx.prec = 60  # figures carry up to 18 digits; the trend multiplies them
        return _evaluate(
            spec,
            {q: v for q, v, _ in figures},
            period,
            override,
            override_reason,
            set(estimates),
        )


def _evaluate(
    spec: TargetSpec,
    figures: Mapping[Quarter, Decimal],
    period: Quarter,
    override: Verdict | str | None,
    override_reason: str,
    estimates: set[Quarter],
) -> Progress:
    override = Verdict(override) if override else None
    window = spec.window
    first, last = window[0], window[-1]
    target = spec.target_value
    common = {"spec": spec, "period": period}
    if override:
        common.update(override=override, override_reason=override_reason)

    if period < first:
        return Progress(
            status=Status.NO_DATA,
            judged_at=period,
            is_final=False,
            working=(
                "Chưa đến khoảng đánh giá của chỉ tiêu "
                f"(tính từ {quarter_label(first)}).",
            ),
            **common,
        )

    judged_at = min(period, last)
    window_ended = period >= last
    elapsed = [q for q in window if q <= judged_at]
    used = tuple((q, figures[q]) for q in elapsed if figures.get(q) is not None)
    missing = tuple(q for q in elapsed if figures.get(q) is None)
    # Final only when the year's result is known: the window over and every quarter of
    # it in. Until then a page shows the estimate and the in-year status.
    is_final = window_ended and not missing
    estimated_quarters = tuple(q for q, _ in used if q in estimates)
    working: list[str] = []
    if missing:
        working.append(
            "Chưa có số liệu: " + ", ".join(quarter_label(q) for q in missing) + "."
        )
    if estimated_quarters:
        working.append(
            "Số ước thực hiện (chưa phải số chính thức): "
            + ", ".join(quarter_label(q) for q in estimated_quarters)
            + "."
        )
    common["window_ended"] = window_ended
    common["estimated"] = estimated_quarters

    if not used:
        return Progress(
            status=Status.NO_DATA,
            judged_at=judged_at,
            is_final=False,
            missing=missing,
            working=tuple(working),
            **common,
        )

    comparison = spec.comparison
    maintain = comparison == Comparison.MAINTAIN
    values = [v for _, v in used]
    lowest = None
    if maintain:
        value = values[-1]
        lowest = min(values)
        working.append(
            "Các kỳ: "
            + "; ".join(f"{quarter_label(q)}: {fmt(v)}" for q, v in used)
            + "."
        )
        low_quarter = next(q for q, v in used if v == lowest)
        working.append(
            f"Thấp nhất: {fmt(lowest)} ({quarter_label(low_quarter)}), "
            f"kế hoạch duy trì {fmt(target)}."
        )
    elif spec.combine == Combine.SUM:
        value = sum(values, ZERO)
        terms = " + ".join(fmt(v) for v in values)
        total = f" = {fmt(value)}" if len(values) > 1 else ""
        working.append(
            f"Cộng dồn {span_label(elapsed[0], used[-1][0])}: {terms}{total}."
        )
    else:
        value = values[-1]
        working.append(
            f"Số liệu mới nhất ({quarter_label(used[-1][0])}): {fmt(value)}."
        )

    judged = lowest if maintain else value
    gap = judged - target
    if comparison == Comparison.AT_MOST:
        shortfall = max(ZERO, judged - target)
    else:
        shortfall = max(ZERO, target - judged)
    percent_of_plan = plan_percent(spec, value)
    if percent_of_plan is not None:
        working.append(f"Bằng {fmt(percent_of_plan)}% kế hoạch ({fmt(target)}).")
    else:
        sign = "+" if gap > 0 else ""
        what = "Kỳ thấp nhất chênh lệch" if maintain else "Chênh lệch"
        working.append(f"{what} so với kế hoạch: {sign}{fmt(gap)}.")

    result = {
        "judged_at": judged_at,
        "is_final": is_final,
        "value": value,
        "lowest": lowest,
        "gap": gap,
        "shortfall": shortfall,
        "percent_of_plan": percent_of_plan,
        "used": used,
        "missing": missing,
        **common,
    }

    if is_final:
        computed = verdict_for(comparison, judged, target)
        status = Status(override or computed)
        label = "Thấp nhất trong các kỳ" if maintain else "Kết quả cuối kỳ"
        working.append(
            f"{label} ({quarter_label(judged_at)}): {fmt(judged)} "
            f"{relation(judged, target)} {fmt(target)} → {computed.label}."
        )
        if override:
            working.append(_override_line(override, computed, override_reason))
        return Progress(
            status=status,
            forecast=value.quantize(FORECAST_QUANTUM, ROUND_HALF_UP),
            computed_verdict=computed,
            working=tuple(working),
            **result,
        )
    if window_ended:
        working.append(
            "Chưa đủ số liệu các quý của khoảng đánh giá (đến hết "
            f"{quarter_label(last)}): chưa có kết quả cả năm, chỉ có ước thực hiện "
            "và tiến độ."
        )
    if override:
        working.append(
            f"Người phê duyệt đã ghi đánh giá {override.label}; chỉ dùng khi đủ số "
            "liệu các quý."
        )

    # Not final: in the window, or after it with quarters missing.
    if maintain:
        holds = lowest >= target
        if not holds:
            status = Status.BEHIND
            working.append(
                f"Có kỳ thấp hơn mức duy trì: {fmt(lowest)} < {fmt(target)} "
                f"→ {status.label} (cuối kỳ sẽ là Không đạt)."
            )
        elif missing:
            status = Status.INCOMPLETE
            working.append(
                f"Các kỳ đã báo cáo đều ≥ {fmt(target)}, nhưng còn thiếu số liệu "
                "của kỳ khác: chỉ tiêu duy trì phải đạt ở mọi kỳ → "
                f"{status.label}."
            )
        else:
            status = Status.ON_TRACK
            working.append(f"Mọi kỳ đến nay đều ≥ {fmt(target)} → {status.label}.")
        return Progress(
            status=status,
            forecast=spec.bounded(value).quantize(FORECAST_QUANTUM, ROUND_HALF_UP),
            working=tuple(working),
            **result,
        )

    # The forecast runs from the quarters whose figures are in: up to the latest one.
    through = [q for q in elapsed if q <= used[-1][0]]
    forecast, start, single_point = window_forecast(spec, used, through, value, working)
    status, coverage = in_window_status(
        spec, value, forecast, start, single_point, working
    )
    return Progress(
        status=status,
        forecast=forecast,
        start=start,
        coverage=coverage,
        working=tuple(working),
        **result,
    )


def _override_line(override: Verdict, computed: Verdict | None, reason: str) -> str:
    computed_text = computed.label if computed else "chưa có"
    line = (
        f"Người phê duyệt đánh giá: {override.label} "
        f"(kết quả tính toán: {computed_text})."
    )
    return f"{line} Lý do: {reason}" if reason else line


# --- roll-ups -------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How many targets are in each status."""

    by_status: Mapping[Status, int] = field(default_factory=dict)
    total: int = 0

    def __getitem__(self, status: Status | str) -> int:
        return self.by_status.get(Status(status), 0)

    @property
    def summary(self) -> str:
        """'32 chỉ tiêu: 12 đã đạt, 9 đúng tiến độ, …', zero counts left out."""
        parts = [f"{self[s]} {s.label.lower()}" for s in SUMMARY_ORDER if self[s]]
        head = f"{self.total} chỉ tiêu"
        return f"{head}: {', '.join(parts)}" if parts else head

    def __str__(self) -> str:
        return self.summary


def rollup(items: Iterable[Progress]) -> Counts:
    counts: dict[Status, int] = defaultdict(int)
    total = 0
    for progress in items:
        counts[progress.status] += 1
        total += 1
    return Counts(by_status=dict(counts), total=total)


@dataclass(frozen=True)
class TargetProgress:
    """A target (with its indicator loaded), its progress and its assignments."""

    target: Target
    progress: Progress
    assignments: tuple[Assignment, ...] = ()

    @property
    def lead(self) -> ResponsibleBody | None:
        return lead_body(self.assignments)

    @property
    def responsible_bodies(self) -> list[ResponsibleBody]:
        """The bodies that answer for the target: lead and supporting. The
        implementing committee (UBND xã) and the supervising bodies (HĐND) stand over
        every target; counting them would blur the scorecards."""
        return [a.body for a in self.assignments if a.role in RESPONSIBLE_ROLES]


RESPONSIBLE_ROLES = (Role.LEAD, Role.SUPPORTING)


def _group(pairs: Iterable[tuple[object, Progress]]) -> dict:
    groups: dict[object, list[Progress]] = {}
    for key, progress in pairs:
        groups.setdefault(key, []).append(progress)
    return {key: rollup(items) for key, items in groups.items()}


def group_by_area(items: Iterable[TargetProgress]) -> dict[str, Counts]:
    """Counts per area value, in the order of Area (Kinh tế, Xã hội, Môi trường)."""
    groups = _group((i.target.indicator.area, i.progress) for i in items)
    return {area: groups[area] for area in Area.values if area in groups}


def group_by_indicator(items: Iterable[TargetProgress]) -> dict[Indicator, Counts]:
    """Counts per indicator, in the order the targets come (indicator number)."""
    return _group((i.target.indicator, i.progress) for i in items)


def group_by_body(items: Iterable[TargetProgress]) -> dict[ResponsibleBody, Counts]:
    """Counts per body: a target counts for each lead or supporting body (see
    TargetProgress.responsible_bodies). Ordered by body name."""
    groups = _group((body, i.progress) for i in items for body in i.responsible_bodies)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0].name, kv[0].pk)))
