"""Plausibility flags: values worth a second look, in the manner of DHIS2's outlier
rules. One place for the entry page (the clerk confirms a flagged value before
sending it), the review page (the approver sees the flag) and the import preview
(a warning naming the cell). A flag never refuses a value: the bounds, the decimals
and the sign are the model's rules; a flag only asks a person to check.

Pure functions over plain values: no database, no clock.

Rules, for the value of the selected quarter:

- Far from the plan. A sum (cộng dồn) is compared with the quarter the plan expects
  (the target's share of the window, seasonal profile if any): more than 3× or less
  than ⅓ of it (a zero quarter is not flagged: nothing happened is a real answer).
  A level is compared with the target value itself: more than 3× (1.000.000 ha of
  tea against 350), or less than ⅓ of it for targets that cannot be negative.
- Far from the earlier quarters. A sum against the mean of the earlier quarters of
  the window (at least two, not all zero): more than 3× or less than ⅓.
- A level that jumps: more than 3× or less than ⅓ of the previous quarter, or, for a
  level held in a range (a share of 0–100), a change of more than a quarter of that
  range. Not for growth or reduction figures that may be negative, where ratios mean
  nothing near zero.
- A year-to-date flow that falls: a sum given a negative quarter; a level that builds
  up through the year (at least / above, expected path from the start, never
  negative: coverage, area, the share reached) lower than the quarter before.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .models import Combine, Comparison, ExpectedPath, Target
from .numbers import format_decimal
from .progress import Quarter, TargetSpec, quarter_label

FAR = Decimal(3)  # more than 3× or less than ⅓ of what was expected
RANGE_JUMP = Decimal("0.25")  # a quarter of a bounded range in one quarter


def flags_for(
    target: Target | TargetSpec,
    values_by_quarter: Mapping[Quarter, Decimal],
    period_key: Quarter,
    *,
    unit: str | None = None,
    allows_negative: bool | None = None,
) -> list[str]:
    """The Vietnamese flags of `target`'s value at `period_key` given its quarterly
    values ({(year, quarter): Decimal}, that quarter's included); [] when the value
    looks plausible or when there is no value for that quarter.

    `target` is a Target (its unit and sign rule are read from it) or a TargetSpec
    (pass `unit` and `allows_negative`, else no unit and "negative only if the range
    has no floor at or above zero")."""
    if isinstance(target, Target):
        spec = TargetSpec.from_model(target)
        unit = target.unit if unit is None else unit
        allows_negative = (
            target.allows_negative if allows_negative is None else allows_negative
        )
    else:
        spec = target
    if allows_negative is None:
        allows_negative = spec.min_value is None or spec.min_value < 0
    period_key = tuple(period_key)
    value = values_by_quarter.get(period_key)
    if value is None:
        return []
    earlier = [
        (q, values_by_quarter[q])
        for q in spec.window
        if q < period_key and values_by_quarter.get(q) is not None
    ]
    shown = _Shown(unit or "")
    if spec.combine == Combine.SUM:
        return _sum_flags(spec, value, period_key, earlier, shown)
    return _level_flags(spec, value, earlier, shown, allows_negative)


class _Shown:
    def __init__(self, unit: str) -> None:
        self.unit = unit

    def __call__(self, value: Decimal) -> str:
        """A figure as typed; a computed reference (a mean, a share of the plan)
        to two decimals: it is an order of magnitude, not a stored value."""
        if value.as_tuple().exponent < -4:
            value = value.quantize(Decimal("0.01"))
        return f"{format_decimal(value)} {self.unit}".strip()


def _expected_quarter(spec: TargetSpec, period_key: Quarter) -> Decimal | None:
    """The amount the plan expects in one quarter of a sum target."""
    if period_key not in spec.window:
        return None
    if spec.profile is not None:
        shares = {q: spec.profile[q[1] - 1] for q in spec.window}
        total = sum(shares.values())
        if total <= 0:
            return None
        return spec.target_value * shares[period_key] / total
    return spec.target_value / len(spec.window)


def _far(value: Decimal, reference: Decimal) -> str | None:
    """ "above" or "below" when value is more than 3× or less than ⅓ of reference."""
    if reference <= 0 or value < 0:
        return None
    if value > reference * FAR:
        return "above"
    if value * FAR < reference:
        return "below"
    return None


def _sum_flags(spec, value, period_key, earlier, shown) -> list[str]:
    flags = []
    if value < 0:
        flags.append(
            f"Số trong quý là số âm ({shown(value)}): số lũy kế từ đầu năm giảm "
            "xuống. Chỉ tiêu cộng dồn nhập số thực hiện riêng trong quý; hãy kiểm "
            "tra lại."
        )
        return flags
    expected = _expected_quarter(spec, period_key)
    if value > 0 and expected is not None:
        side = _far(value, expected)
        if side == "above":
            flags.append(
                f"Số trong quý {shown(value)} gấp hơn 3 lần mức kế hoạch bình quân "
                f"một quý ({shown(expected)}). Kiểm tra đơn vị tính, số chữ số, và "
                "chắc chắn đây là số riêng trong quý, không phải số lũy kế."
            )
        elif side == "below":
            flags.append(
                f"Số trong quý {shown(value)} chưa bằng 1/3 mức kế hoạch bình quân "
                f"một quý ({shown(expected)}). Kiểm tra đơn vị tính và số chữ số."
            )
    amounts = [v for _, v in earlier]
    if value > 0 and len(amounts) >= 2 and any(amounts):
        mean = sum(amounts) / len(amounts)
        side = _far(value, mean)
        if side:
            word = "gấp hơn 3 lần" if side == "above" else "chưa bằng 1/3"
            flags.append(
                f"Số trong quý {shown(value)} {word} bình quân các quý trước "
                f"({shown(mean)}). Hãy kiểm tra lại."
            )
    return flags


def _level_flags(spec, value, earlier, shown, allows_negative) -> list[str]:
    flags = []
    target = spec.target_value
    if target > 0 and value > target * FAR:
        flags.append(
            f"Số {shown(value)} gấp hơn 3 lần kế hoạch ({shown(target)}). Kiểm tra "
            "đơn vị tính và số chữ số."
        )
    elif not allows_negative and target > 0 and 0 <= value and value * FAR < target:
        flags.append(
            f"Số {shown(value)} chưa bằng 1/3 kế hoạch ({shown(target)}). Kiểm tra "
            "đơn vị tính và số chữ số."
        )
    if not earlier or allows_negative:
        return flags
    before_key, before = earlier[-1]
    when = quarter_label(before_key)
    builds_up = (
        spec.comparison in (Comparison.AT_LEAST, Comparison.ABOVE)
        and spec.path == ExpectedPath.FROM_START
    )
    if builds_up and value < before:
        flags.append(
            f"Số {shown(value)} thấp hơn {when} ({shown(before)}): chỉ tiêu này tích "
            "lũy dần trong năm, thường không giảm. Nếu đúng là giảm, hãy ghi rõ "
            "nguyên nhân."
        )
        return flags
    side = _far(value, before)
    if side:
        word = "gấp hơn 3 lần" if side == "above" else "chưa bằng 1/3"
        flags.append(
            f"Số {shown(value)} {word} số {when} ({shown(before)}): thay đổi đột "
            "ngột, hãy kiểm tra lại."
        )
    elif spec.min_value is not None and spec.max_value is not None:
        width = spec.max_value - spec.min_value
        if width > 0 and abs(value - before) > width * RANGE_JUMP:
            flags.append(
                f"Số {shown(value)} thay đổi nhiều so với {when} ({shown(before)}): "
                "hãy kiểm tra lại."
            )
    return flags
