"""How a target is read: what it asks for (`TargetSpec`), the statuses a page says
about it, the quarters of its window and the numbers of its working lines, and the
comparisons a verdict turns on. Plain values, no database: the judgement
(targets.progress) and the forecast (targets.forecast) are built on it.

The reading rules come from PRODUCT.md ("Reading each target right").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from .models import QUARTER_NAMES, Comparison, Target, Verdict
from .numbers import format_decimal, round_to

Quarter = tuple[int, int]  # (year, quarter)

# Thresholds on the coverage ratio (share of the needed distance the forecast covers).
# The only place they are written; settings.PROGRESS_THRESHOLDS may override them.
ON_TRACK_FROM = Decimal("0.95")
AT_RISK_FROM = Decimal("0.60")

FORECAST_QUANTUM = Decimal("0.0001")
COVERAGE_QUANTUM = Decimal("0.0001")
PERCENT_PLACES = 2
PERCENT_QUANTUM = Decimal(1).scaleb(-PERCENT_PLACES)
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class Status(models.TextChoices):
    """What a page says about a target at a period. The three verdict values equal
    Verdict's, so `Status(verdict)` works. How each looks is reports.presentation's."""

    NO_DATA = "no_data", "Chưa có số liệu"
    INCOMPLETE = "incomplete", "Chưa đủ số liệu"
    ALREADY_MET = "already_met", "Đã đạt"
    ON_TRACK = "on_track", "Đúng tiến độ"
    AT_RISK = "at_risk", "Có nguy cơ"
    BEHIND = "behind", "Chậm tiến độ"
    EXCEEDED = "exceeded", "Vượt"
    MET = "met", "Đạt"
    NOT_MET = "not_met", "Không đạt"


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


@functools.lru_cache(maxsize=4096, typed=True)
def fmt(value: Decimal, decimal_places: int | None = None) -> str:
    """A number for a working line, Vietnamese form (3.865,28): rounded half-up to
    decimal_places when given (a forecast shown in the target's precision), without
    insignificant trailing zeros.

    Kept per value: a page judges every target and writes the same plans and figures
    into several lines each. The text depends on the number only (equal Decimals,
    1.50 and 1.5, read the same), so equal keys share it; typed, so that a float
    still finds format_decimal's refusal rather than an equal Decimal's text."""
    if decimal_places is not None:
        value = round_to(value, decimal_places)
    return format_decimal(value)


def percent_text(ratio: Decimal) -> str:
    return fmt(ratio * HUNDRED, 2) + "%"


# --- the target spec -----------------------------------------------------------------


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


RELATIONS = {-1: "<", 0: "=", 1: ">"}


def relation(a: Decimal, b: Decimal) -> str:
    """ "<", "=" or ">": how a stands to b, for a working line."""
    return RELATIONS[(a > b) - (a < b)]


def plan_percent(spec: TargetSpec, value: Decimal) -> Decimal | None:
    """% so với kế hoạch: value ÷ plan × 100, 2 decimals half-up; for at-least and
    above targets only, and never for a plan of 0."""
    target = spec.target_value
    if spec.comparison not in (Comparison.AT_LEAST, Comparison.ABOVE) or target == 0:
        return None
    return round_to(value / target * HUNDRED, PERCENT_PLACES)
