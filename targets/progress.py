"""Where each target stands at a selected quarter, in exact Decimals.

Two halves:

- pure arithmetic over plain values: `TargetSpec` (what a target asks for) plus a
  dict of quarterly figures gives a `Progress` through `evaluate()`; `rollup()`
  counts statuses. No database, no clock: the result depends only on the arguments
  (and the thresholds).
- two loaders that fetch what a page needs in a constant number of queries:
  `load_resolution_progress()` (dashboard, report, body scorecards) and
  `load_target_progress()` (one target's page with its quarterly history). The first
  comes in two steps, `fetch_progress_rows()` (plain rows) and `build_progress()` (no
  query), so that a page can fingerprint the rows before it builds anything.

The reading rules come from PRODUCT.md ("Reading each target right"); the choices the
text leaves open are documented on `evaluate()`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Q

from .models import (
    QUARTER_NAMES,
    Area,
    Assessment,
    Assignment,
    Combine,
    Comparison,
    ExpectedPath,
    Figure,
    FigureKind,
    Indicator,
    ResponsibleBody,
    Role,
    Target,
    Verdict,
    WorkflowState,
)
from .numbers import format_decimal

if TYPE_CHECKING:
    from .models import ReportingPeriod, Resolution

Quarter = tuple[int, int]  # (year, quarter)

# Thresholds on the coverage ratio (share of the needed distance the forecast covers).
# The only place they are written; settings.PROGRESS_THRESHOLDS may override them.
ON_TRACK_FROM = Decimal("0.95")
AT_RISK_FROM = Decimal("0.60")

FORECAST_QUANTUM = Decimal("0.0001")
COVERAGE_QUANTUM = Decimal("0.0001")
PERCENT_QUANTUM = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class Status(models.TextChoices):
    """What a page says about a target at a period. The three verdict values equal
    Verdict's, so `Status(verdict)` works."""

    NO_DATA = "no_data", "Chưa có số liệu"
    INCOMPLETE = "incomplete", "Chưa đủ số liệu"
    ALREADY_MET = "already_met", "Đã đạt"
    ON_TRACK = "on_track", "Đúng tiến độ"
    AT_RISK = "at_risk", "Có nguy cơ"
    BEHIND = "behind", "Chậm tiến độ"
    EXCEEDED = "exceeded", "Vượt"
    MET = "met", "Đạt"
    NOT_MET = "not_met", "Không đạt"

    @property
    def colour(self) -> str:
        return STATUS_STYLE[self][0]

    @property
    def icon(self) -> str:
        return STATUS_STYLE[self][1]


# Bootstrap contextual colour and an icon character: pages show text + icon + colour,
# never colour alone. The icons exist in DejaVu Sans (used for the PDF).
STATUS_STYLE: dict[Status, tuple[str, str]] = {
    Status.NO_DATA: ("secondary", "○"),
    Status.INCOMPLETE: ("secondary", "◔"),
    Status.ALREADY_MET: ("success", "✔"),
    Status.ON_TRACK: ("success", "✓"),
    Status.AT_RISK: ("warning", "⚠"),
    Status.BEHIND: ("danger", "▼"),
    Status.EXCEEDED: ("primary", "▲"),
    Status.MET: ("success", "✓"),
    Status.NOT_MET: ("danger", "✗"),
}

# Worst (0) to best (4), to compare the statuses of one target at one period under
# different figures: NOT_MET and BEHIND are worst; ALREADY_MET (during the window)
# ranks with MET (at its end); EXCEEDED is best. NO_DATA and INCOMPLETE have no rank:
# they are not better or worse, they are unknown.
STATUS_RANK: dict[Status, int] = {
    Status.NOT_MET: 0,
    Status.BEHIND: 0,
    Status.AT_RISK: 1,
    Status.ON_TRACK: 2,
    Status.ALREADY_MET: 3,
    Status.MET: 3,
    Status.EXCEEDED: 4,
}

# Order of the counts in a summary: verdicts, then in-window statuses, then no data.
SUMMARY_ORDER = (
    Status.EXCEEDED,
    Status.MET,
    Status.NOT_MET,
    Status.ALREADY_MET,
    Status.ON_TRACK,
    Status.AT_RISK,
    Status.BEHIND,
    Status.INCOMPLETE,
    Status.NO_DATA,
)

# The statuses that are a final result for the year (the window complete).
FINAL_STATUSES = (Status.EXCEEDED, Status.MET, Status.NOT_MET)


def thresholds() -> tuple[Decimal, Decimal]:
    """(on_track_from, at_risk_from), from settings.PROGRESS_THRESHOLDS if set."""
    custom = getattr(settings, "PROGRESS_THRESHOLDS", None) or {}
    on_track = Decimal(str(custom.get("on_track", ON_TRACK_FROM)))
    at_risk = Decimal(str(custom.get("at_risk", AT_RISK_FROM)))
    if not ZERO <= at_risk <= on_track:
        raise ImproperlyConfigured(
            "PROGRESS_THRESHOLDS: need 0 <= at_risk <= on_track, "
            f"got at_risk={at_risk}, on_track={on_track}."
        )
    return on_track, at_risk


# --- quarters and formatting ----------------------------------------------------------


def quarters_between(start: Quarter, end: Quarter) -> tuple[Quarter, ...]:
    """Every quarter from start to end, both included."""
    quarters = []
    year, quarter = start
    while (year, quarter) <= end:
        quarters.append((year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return tuple(quarters)


def quarter_label(quarter: Quarter) -> str:
    """'quý III/2025', lower case: it sits inside working sentences."""
    return f"quý {QUARTER_NAMES[quarter[1]]}/{quarter[0]}"


def span_label(first: Quarter, last: Quarter) -> str:
    """'quý I–III/2025', 'quý III/2025', or 'quý IV/2024–quý II/2025'."""
    if first == last:
        return quarter_label(first)
    if first[0] == last[0]:
        return f"quý {QUARTER_NAMES[first[1]]}–{QUARTER_NAMES[last[1]]}/{first[0]}"
    return f"{quarter_label(first)}–{quarter_label(last)}"


def fmt(value: Decimal, decimal_places: int | None = None) -> str:
    """A number for a working line, Vietnamese form (3.865,28): rounded half-up to
    decimal_places when given (a forecast shown in the target's precision), without
    insignificant trailing zeros."""
    if decimal_places is not None:
        value = value.quantize(Decimal(1).scaleb(-decimal_places), ROUND_HALF_UP)
    return format_decimal(value)


def _percent(ratio: Decimal) -> str:
    return fmt(ratio * HUNDRED, 2) + "%"


# --- the target spec and its progress -------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TargetSpec:
    """What a target asks for, as plain values.

    window: every quarter the target is judged over, first to last.
    profile: the seasonal shares (%) of calendar quarters I–IV, or None.
    """

    code: str
    comparison: str
    combine: str
    path: str
    target_value: Decimal
    baseline: Decimal | None = None
    window: tuple[Quarter, ...]
    profile: tuple[Decimal, Decimal, Decimal, Decimal] | None = None
    decimal_places: int = 2
    min_value: Decimal | None = None
    max_value: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", tuple(tuple(q) for q in self.window))
        if not self.window:
            raise ValueError(f"Target {self.code}: empty window.")
        if self.profile is not None:
            object.__setattr__(self, "profile", tuple(self.profile))

    @classmethod
    def from_model(cls, target: Target) -> TargetSpec:
        start, end = target.window
        return cls(
            code=target.code,
            comparison=target.comparison,
            combine=target.combine,
            path=target.path,
            target_value=target.target_value,
            baseline=target.baseline,
            window=quarters_between(start, end),
            profile=target.profile,
            decimal_places=target.decimal_places,
            min_value=target.min_value,
            max_value=target.max_value,
        )

    def bounded(self, value: Decimal) -> Decimal:
        """The value brought inside the target's range (a forecast never leaves it)."""
        if self.max_value is not None and value > self.max_value:
            return self.max_value
        if self.min_value is not None and value < self.min_value:
            return self.min_value
        return value

    @property
    def is_calendar_year(self) -> bool:
        first, last = self.window[0], self.window[-1]
        return first[0] == last[0] and first[1] == 1 and last[1] == 4


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
        places = Decimal(1).scaleb(-self.spec.decimal_places)
        return self.forecast.quantize(places, ROUND_HALF_UP)

    @property
    def estimate_percent(self) -> Decimal | None:
        """% so với kế hoạch of the estimate, for at-least and above targets only."""
        target = self.spec.target_value
        estimate = self.estimate
        if estimate is None or target == 0:
            return None
        if self.spec.comparison not in (Comparison.AT_LEAST, Comparison.ABOVE):
            return None
        return (estimate / target * HUNDRED).quantize(PERCENT_QUANTUM, ROUND_HALF_UP)

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

    @property
    def colour(self) -> str:
        return self.status.colour

    @property
    def icon(self) -> str:
        return self.status.icon


def meets(comparison: str, value: Decimal, target: Decimal) -> bool:
    """Whether one value meets the comparison (maintain: this one period holds)."""
    if comparison == Comparison.ABOVE:
        return value > target
    if comparison == Comparison.AT_MOST:
        return value <= target
    return value >= target


def verdict_for(comparison: str, value: Decimal, target: Decimal) -> Verdict:
    """The verdict of a final value (for maintain, pass the lowest figure)."""
    if comparison == Comparison.MAINTAIN:
        return Verdict.MET if value >= target else Verdict.NOT_MET
    if comparison == Comparison.ABOVE:
        # "trên 70%": meeting it already means strictly better than 70, so it is Vượt.
        return Verdict.EXCEEDED if value > target else Verdict.NOT_MET
    if comparison == Comparison.AT_MOST:
        better, equal = value < target, value == target
    else:
        better, equal = value > target, value == target
    if better:
        return Verdict.EXCEEDED
    return Verdict.MET if equal else Verdict.NOT_MET


_RELATION = {-1: "<", 0: "=", 1: ">"}


def _relation(a: Decimal, b: Decimal) -> str:
    return _RELATION[(a > b) - (a < b)]


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
    with localcontext() as ctx:
        ctx.prec = 60  # figures carry up to 18 digits; the trend multiplies them
        return _evaluate(
            spec, figures, tuple(period), override, override_reason, set(estimates)
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
    percent_of_plan = None
    if comparison in (Comparison.AT_LEAST, Comparison.ABOVE) and target != 0:
        percent_of_plan = (value / target * HUNDRED).quantize(
            PERCENT_QUANTUM, ROUND_HALF_UP
        )
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
            f"{_relation(judged, target)} {fmt(target)} → {computed.label}."
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
    forecast, start, single_point = _forecast(spec, used, through, value, working)
    status, coverage = _in_window_status(
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


def _forecast(
    spec: TargetSpec,
    used: tuple[tuple[Quarter, Decimal], ...],
    elapsed: list[Quarter],
    value: Decimal,
    working: list[str],
) -> tuple[Decimal | None, Decimal, bool]:
    """(forecast, start, single_point) for a target inside its window."""
    window = spec.window
    horizon = (
        "cả năm" if spec.is_calendar_year else f"đến hết {quarter_label(window[-1])}"
    )
    places = spec.decimal_places

    if spec.combine == Combine.SUM:
        start = spec.baseline if spec.baseline is not None else ZERO
        if spec.profile is not None:
            done = sum((spec.profile[q[1] - 1] for q in elapsed), ZERO)
            total = sum((spec.profile[q[1] - 1] for q in window), ZERO)
        else:
            done, total = Decimal(len(elapsed)), Decimal(len(window))
        if done == 0:
            working.append(
                "Theo tỷ trọng mùa vụ, các quý đã qua chưa có phần kế hoạch nào: "
                "chưa dự báo được."
            )
            return None, start, False
        forecast = (value * total / done).quantize(FORECAST_QUANTUM, ROUND_HALF_UP)
        raw = forecast
        forecast = spec.bounded(forecast)
        if spec.profile is not None:
            working.append(
                f"Dự báo {horizon} theo tốc độ thực hiện và tỷ trọng mùa vụ "
                f"(các quý đã qua chiếm {_percent(done / total)}): "
                f"{fmt(value)} ÷ {_percent(done / total)} = {fmt(raw, places)}."
            )
        else:
            working.append(
                f"Dự báo {horizon} theo tốc độ thực hiện: "
                f"{fmt(value)} × {len(window)}/{len(elapsed)} quý "
                f"= {fmt(raw, places)}."
            )
        _note_cap(spec, raw, forecast, working)
        return forecast, start, False

    first_value = used[0][1]
    start = spec.baseline if spec.baseline is not None else first_value
    if spec.path == ExpectedPath.HOLD:
        forecast = spec.bounded(value).quantize(FORECAST_QUANTUM, ROUND_HALF_UP)
        working.append(
            f"Chỉ tiêu giữ mức cả kỳ: ước {horizon} bằng số mới nhất, {fmt(forecast)}."
        )
        return forecast, start, False

    index = {q: i for i, q in enumerate(window)}
    points = [(Decimal(index[q]), v) for q, v in used]
    if spec.baseline is not None:
        points.insert(0, (Decimal(-1), spec.baseline))
    if len(points) == 1:
        forecast = spec.bounded(value).quantize(FORECAST_QUANTUM, ROUND_HALF_UP)
        working.append(
            "Mới có một kỳ số liệu, chưa tính được xu hướng: ước "
            f"{horizon} bằng số mới nhất, {fmt(forecast)}."
        )
        return forecast, start, True
    raw = _trend_at(points, Decimal(len(window) - 1))
    forecast = spec.bounded(raw)
    how = (
        "đường thẳng qua hai điểm"
        if len(points) == 2
        else f"bình phương nhỏ nhất qua {len(points)} điểm"
    )
    with_baseline = ", tính cả điểm xuất phát" if spec.baseline is not None else ""
    working.append(
        f"Dự báo {horizon} theo xu hướng ({how}{with_baseline}): {fmt(raw, places)}."
    )
    _note_cap(spec, raw, forecast, working)
    return forecast, start, False


def _note_cap(spec: TargetSpec, raw: Decimal, forecast: Decimal, working) -> None:
    if raw == forecast:
        return
    edge = "tối đa" if raw > forecast else "tối thiểu"
    working.append(
        f"Số liệu của chỉ tiêu không thể vượt giới hạn {edge} {fmt(forecast)}: "
        f"ước lấy bằng {fmt(forecast)}."
    )


def _trend_at(points: list[tuple[Decimal, Decimal]], x0: Decimal) -> Decimal:
    """Ordinary least squares line through the points, evaluated at x0, with a single
    division so the result is as exact as Decimal allows. x values are distinct."""
    n = Decimal(len(points))
    sx = sum((x for x, _ in points), ZERO)
    sy = sum((y for _, y in points), ZERO)
    sxx = sum((x * x for x, _ in points), ZERO)
    sxy = sum((x * y for x, y in points), ZERO)
    denominator = n * sxx - sx * sx  # > 0 for two or more distinct x
    # y(x0) = mean_y + slope * (x0 - mean_x), over a common denominator n * D.
    numerator = sy * denominator + (n * sxy - sx * sy) * (n * x0 - sx)
    return (numerator / (n * denominator)).quantize(FORECAST_QUANTUM, ROUND_HALF_UP)


def _in_window_status(
    spec: TargetSpec,
    value: Decimal,
    forecast: Decimal | None,
    start: Decimal,
    single_point: bool,
    working: list[str],
) -> tuple[Status, Decimal | None]:
    comparison = spec.comparison
    target = spec.target_value
    at_most = comparison == Comparison.AT_MOST
    sum_can_grow_past = at_most and spec.combine == Combine.SUM

    if meets(comparison, value, target) and not sum_can_grow_past:
        status = Status.ALREADY_MET
        working.append(
            f"{fmt(value)} {_relation(value, target)} {fmt(target)}: "
            f"đã đạt chỉ tiêu → {status.label}."
        )
        return status, None
    if forecast is None:
        status = Status.ON_TRACK
        working.append(f"Chưa đến kỳ dự kiến thực hiện → {status.label}.")
        return status, None
    if single_point:
        # One level figure, no baseline: no trend, and the level alone says nothing
        # about a target that builds up through the year.
        status = Status.INCOMPLETE
        working.append(f"Chưa đủ số liệu để đánh giá tiến độ → {status.label}.")
        return status, None

    on_track_from, at_risk_from = thresholds()
    forecast_meets = meets(comparison, forecast, target)
    level_held = spec.path == ExpectedPath.HOLD and spec.combine == Combine.LATEST

    if level_held:
        numerator, denominator = (target, value) if at_most else (value, target)
        what = "Mức hiện tại bằng {pct} mức chỉ tiêu"
    else:
        numerator = start - forecast if at_most else forecast - start
        denominator = start - target if at_most else target - start
        what = (
            f"Dự báo đi được {{pct}} quãng đường cần đi, "
            f"từ {fmt(start)} đến {fmt(target)}"
        )

    if denominator <= 0:
        # Nothing to measure against (target 0, or the start already past the target):
        # the forecast's comparison alone decides.
        status = Status.ON_TRACK if forecast_meets else Status.BEHIND
        verb = "đạt" if forecast_meets else "không đạt"
        if level_held:
            cause = f"không tính được tỷ lệ với mức {fmt(target)}"
        else:
            cause = f"không đo được quãng đường từ {fmt(start)} đến {fmt(target)}"
        working.append(
            f"{cause[0].upper()}{cause[1:]}; dự báo "
            f"{fmt(forecast, spec.decimal_places)} {verb} chỉ tiêu → {status.label}."
        )
        return status, None

    # Unrounded: 59,996% is behind, not at risk. Rounded only for display.
    coverage = numerator / denominator
    if forecast_meets:
        status = Status.ON_TRACK
        reason = "dự báo đạt chỉ tiêu"
    elif coverage >= on_track_from:
        status = Status.ON_TRACK
        reason = f"đúng tiến độ từ {_percent(on_track_from)}"
    elif coverage >= at_risk_from:
        status = Status.AT_RISK
        reason = (
            f"có nguy cơ từ {_percent(at_risk_from)} đến dưới {_percent(on_track_from)}"
        )
    else:
        status = Status.BEHIND
        reason = f"chậm tiến độ dưới {_percent(at_risk_from)}"
    limits = (on_track_from, at_risk_from)
    shown = fmt(
        _shown(coverage * HUNDRED, PERCENT_QUANTUM, [t * HUNDRED for t in limits])
    )
    working.append(what.format(pct=shown + "%") + f" ({reason}) → {status.label}.")
    return status, _shown(coverage, COVERAGE_QUANTUM, limits)


def _shown(exact: Decimal, quantum: Decimal, limits) -> Decimal:
    """Rounded half-up for display, or down where rounding up would reach a
    threshold the exact value is below: 59,996% shows 59,99%, never 60%."""
    rounded = exact.quantize(quantum, ROUND_HALF_UP)
    if any(exact < limit <= rounded for limit in limits):
        return exact.quantize(quantum, ROUND_FLOOR)
    return rounded


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
        return next((a.body for a in self.assignments if a.role == Role.LEAD), None)

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


# --- loaders --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolutionProgress:
    resolution: Resolution
    period: ReportingPeriod
    items: tuple[TargetProgress, ...]
    overall: Counts
    by_area: dict[str, Counts]
    by_indicator: dict[Indicator, Counts]
    by_body: dict[ResponsibleBody, Counts]


def _up_to(key: Quarter, prefix: str = "period__") -> Q:
    year, quarter = key
    return Q(**{f"{prefix}year__lt": year}) | Q(
        **{f"{prefix}year": year, f"{prefix}quarter__lte": quarter}
    )


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


# What delegates and reports judge: figures checked by the approver. Drafts and
# figures waiting for approval are the clerk's and the approver's business.
REPORTED_STATES = (WorkflowState.APPROVED,)


def _columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


# Figures a body has sent: waiting for approval or approved. Not what the progress
# counts (REPORTED_STATES) but what "who has reported for the period" reads; the
# loader fetches both in one query.
SENT_STATES = (WorkflowState.SUBMITTED, WorkflowState.APPROVED)


@dataclass(frozen=True)
class ProgressRows:
    """What the progress of a resolution at a period is computed from, as the plain
    rows of four queries: every column of the targets and of their indicators, the
    figures up to the period that count or were sent, the period's assessments, every
    column of the target assignments and of their bodies.

    `digest` fingerprints them with the period, the states counted and the thresholds:
    equal digests mean an equal `ResolutionProgress`, so a page may keep what it drew
    from one for as long as the digest holds, without any signal from the writers.
    """

    resolution: Resolution
    period: ReportingPeriod
    states: tuple[str, ...] | None
    db: str
    targets: tuple[tuple, ...]
    figures: tuple[tuple, ...]
    assessments: tuple[tuple, ...]
    assignments: tuple[tuple, ...]

    @cached_property
    def digest(self) -> str:
        data = (
            self.period.key,
            self.states,
            thresholds(),
            self.targets,
            self.figures,
            self.assessments,
            self.assignments,
        )
        return hashlib.sha256(repr(data).encode()).hexdigest()


TARGET_COLUMNS = _columns(Target)
INDICATOR_COLUMNS = _columns(Indicator)
ASSIGNMENT_COLUMNS = _columns(Assignment)
BODY_COLUMNS = _columns(ResponsibleBody)
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


def fetch_progress_rows(
    resolution: Resolution,
    period: ReportingPeriod,
    states: Iterable[str] | None = REPORTED_STATES,
) -> ProgressRows:
    """The four queries of `load_resolution_progress`, whatever the number of targets.
    Only figures in `states` count (approved ones by default); None counts all. Rows
    come in primary key order, so the same data always gives the same digest."""
    states = None if states is None else tuple(states)
    targets = (
        Target.objects.filter(indicator__resolution=resolution)
        .order_by("pk")
        .values_list(*TARGET_COLUMNS, *(f"indicator__{c}" for c in INDICATOR_COLUMNS))
    )
    figures = Figure.objects.filter(target__indicator__resolution=resolution).filter(
        _up_to(period.key)
    )
    if states is not None:
        figures = figures.filter(state__in={*states, *SENT_STATES})
    figures = figures.order_by("pk").values_list(*FIGURE_COLUMNS)
    assessments = (
        Assessment.objects.filter(
            target__indicator__resolution=resolution, period=period
        )
        .order_by("pk")
        .values_list("target_id", "verdict", "reason")
    )
    assignments = (
        Assignment.objects.filter(target__indicator__resolution=resolution)
        .order_by("pk")
        .values_list(*ASSIGNMENT_COLUMNS, *(f"body__{c}" for c in BODY_COLUMNS))
    )
    return ProgressRows(
        resolution=resolution,
        period=period,
        states=states,
        db=targets.db,
        targets=tuple(targets),
        figures=tuple(figures),
        assessments=tuple(assessments),
        assignments=tuple(assignments),
    )


def _with_related(db, rows, model, columns, name, related_columns) -> list:
    """Instances of `model` from rows of its columns followed by those of the object
    its foreign key `name` points to, that object set on each (one instance per
    related row, as select_related would, but shared)."""
    related_model = model._meta.get_field(name).related_model
    n = len(columns)
    related = {}
    instances = []
    for row in rows:
        instance = model.from_db(db, columns, row[:n])
        pk = row[n]
        if pk not in related:
            related[pk] = related_model.from_db(db, related_columns, row[n:])
        setattr(instance, name, related[pk])
        instances.append(instance)
    return instances


def build_progress(rows: ProgressRows) -> ResolutionProgress:
    """The progress of every target and the roll-ups, from the rows alone: no query.
    Targets come with their indicator (one instance per indicator), assignments with
    their body (one instance per body), as the ORM would have built them."""
    targets = _with_related(
        rows.db, rows.targets, Target, TARGET_COLUMNS, "indicator", INDICATOR_COLUMNS
    )
    # Target's own ordering, sorted here rather than joined in SQL.
    targets.sort(key=lambda t: (t.indicator.number, t.order, t.code, t.pk))

    figures: dict[int, dict[Quarter, Decimal]] = defaultdict(dict)
    estimates: dict[int, set[Quarter]] = defaultdict(set)
    for target_id, _, year, quarter, value, state, *_, kind in rows.figures:
        if rows.states is None or state in rows.states:
            figures[target_id][(year, quarter)] = value
            if kind == FigureKind.ESTIMATE:
                estimates[target_id].add((year, quarter))
    overrides = {
        target_id: (verdict, reason) for target_id, verdict, reason in rows.assessments
    }
    built = _with_related(
        rows.db, rows.assignments, Assignment, ASSIGNMENT_COLUMNS, "body", BODY_COLUMNS
    )
    assignments: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in _in_role_order(built):
        assignments[assignment.target_id].append(assignment)

    period = rows.period
    items = []
    for target in targets:
        verdict, reason = overrides.get(target.pk, (None, ""))
        progress = evaluate(
            TargetSpec.from_model(target),
            figures.get(target.pk, {}),
            period.key,
            verdict,
            reason,
            estimates.get(target.pk, ()),
        )
        items.append(
            TargetProgress(target, progress, tuple(assignments.get(target.pk, ())))
        )
    return ResolutionProgress(
        resolution=rows.resolution,
        period=period,
        items=tuple(items),
        overall=rollup(i.progress for i in items),
        by_area=group_by_area(items),
        by_indicator=group_by_indicator(items),
        by_body=group_by_body(items),
    )


def load_resolution_progress(
    resolution: Resolution,
    period: ReportingPeriod,
    states: Iterable[str] | None = REPORTED_STATES,
) -> ResolutionProgress:
    """Every target of the resolution at the period, with the roll-ups, in four queries
    whatever the number of targets: targets (with indicators), figures up to the period,
    the approver's assessments at the period, and the target assignments (with bodies).

    Only figures in `states` count (approved ones by default); None counts all."""
    return build_progress(fetch_progress_rows(resolution, period, states))


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
    states: Iterable[str] | None = REPORTED_STATES,
) -> TargetHistory:
    """One target's page: its progress at the period and one row per window quarter
    up to the period (figure object, progress at that quarter with that quarter's
    assessment). Three queries: figures (with periods), assessments, assignments
    (with bodies)."""
    spec = TargetSpec.from_model(target)
    key = period.key
    figure_by_quarter = {
        f.period.key: f
        for f in Figure.objects.filter(target=target)
        .filter(_up_to(key))
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
        .filter(_up_to(key))
        .order_by()
        .values_list("period__year", "period__quarter", "verdict", "reason")
    }
    assignments = tuple(
        _in_role_order(
            Assignment.objects.filter(target=target).select_related("body").order_by()
        )
    )
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
