"""The in-year half of the judgement: the value a target is expected to reach at the
end of its window, and the status that forecast gives it (on track, at risk,
behind), with the working lines that show how. Called by targets.progress.evaluate
for a target inside its window, or after it with quarters missing."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from .models import Combine, Comparison, ExpectedPath
from .reading import (
    COVERAGE_QUANTUM,
    FORECAST_QUANTUM,
    HUNDRED,
    PERCENT_QUANTUM,
    ZERO,
    Quarter,
    Status,
    TargetSpec,
    fmt,
    meets,
    percent_text,
    quarter_label,
    relation,
    thresholds,
)


def window_forecast(
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
                f"(các quý đã qua chiếm {percent_text(done / total)}): "
                f"{fmt(value)} ÷ {percent_text(done / total)} = {fmt(raw, places)}."
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


def in_window_status(
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
            f"{fmt(value)} {relation(value, target)} {fmt(target)}: "
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
        reason = f"đúng tiến độ từ {percent_text(on_track_from)}"
    elif coverage >= at_risk_from:
        status = Status.AT_RISK
        reason = (
            f"có nguy cơ từ {percent_text(at_risk_from)} "
            f"đến dưới {percent_text(on_track_from)}"
        )
    else:
        status = Status.BEHIND
        reason = f"chậm tiến độ dưới {percent_text(at_risk_from)}"
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
