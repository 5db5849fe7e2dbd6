"""The official comparison report (Báo cáo kết quả thực hiện các chỉ tiêu Nghị quyết):
the rows of its table, the Đánh giá of each target and the drafted summary paragraph.
Pure: built from what `load_resolution_progress` returned, no query. The HTML page,
the Excel file and the PDF all render this one object.

Đánh giá, decided:
- When the selected period is at or after the end of a target's window, the verdict is
  the engine's final one (the approver's override if any, else the computed verdict).
- Before that (a report during the year), Đánh giá is the verdict the estimate for the
  whole year (ước thực hiện cả năm, the engine's forecast rounded to the target's
  decimals) would get against the plan, unless the approver recorded a verdict for the
  selected period, which wins. A maintain target that has already dropped below its
  level is Không đạt. The column heading says "theo ước thực hiện cả năm".
- "% so với KH" compares that estimate with the plan (estimate ÷ plan × 100) for
  at-least and above targets; at the year's end it equals the engine's % of plan.
  At-most and maintain targets are judged by comparison, not by a ratio: the cell is
  left empty, as the product rules say.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from targets.models import QUARTER_NAMES, Area, Comparison, Verdict
from targets.numbers import format_decimal
from targets.progress import (
    Progress,
    ResolutionProgress,
    Status,
    TargetProgress,
    quarter_label,
    span_label,
    verdict_for,
)

ROMAN = ("I", "II", "III", "IV", "V", "VI")
PERCENT = Decimal("0.01")


@dataclass(frozen=True)
class Row:
    """One row of the table. kind: "area", "indicator" or "target"; an indicator with
    a single target is one "target" row."""

    kind: str
    tt: str
    name: str
    unit: str = ""
    plan: Decimal | None = None
    quarters: tuple[Decimal | None, ...] = ()
    estimate: Decimal | None = None
    lowest: Decimal | None = None
    percent: Decimal | None = None
    verdict: Verdict | None = None
    computed: Verdict | None = None
    overridden: bool = False
    override_reason: str = ""
    status: Status | None = None
    code: str = ""
    target_id: int | None = None

    @property
    def verdict_label(self) -> str:
        if self.verdict is None:
            return "Chưa có số liệu" if self.kind == "target" else ""
        return self.verdict.label + (" (*)" if self.overridden else "")


@dataclass(frozen=True)
class ComparisonReport:
    progress: ResolutionProgress
    produced_on: datetime.date
    quarter_labels: tuple[str, ...]
    rows: tuple[Row, ...]
    is_final: bool
    counts: dict[Verdict, int]
    no_data: int
    total: int

    @property
    def resolution(self):
        return self.progress.resolution

    @property
    def period(self):
        return self.progress.period

    @property
    def about(self) -> str:
        return f"Kết quả thực hiện các chỉ tiêu Nghị quyết số {self.resolution.number}"

    @property
    def title(self) -> str:
        return f"Báo cáo {_lower_first(self.about)}"

    @property
    def subtitle(self) -> str:
        r = self.resolution
        return (
            f"ngày {r.adopted_on:%d/%m/%Y} của {r.council} về "
            f"{_lower_first(r.title.removeprefix('Về ').removeprefix('về '))}"
        )

    @property
    def scope(self) -> str:
        plan_year = self.resolution.plan_year
        first = (plan_year, 1)
        last = min(self.period.key, (plan_year, 4))
        if self.period.key < first:
            return f"(Chưa có kỳ báo cáo nào của năm {plan_year})"
        return f"(Số liệu đã được phê duyệt {span_label(first, last)})"

    @property
    def issuer(self) -> tuple[str, str]:
        """The issuing body, upper case, on two lines: the committee implements the
        resolution and reports on it to the council."""
        return ("ỦY BAN NHÂN DÂN", f"XÃ {self.resolution.commune.name.upper()}")

    @property
    def place_and_date(self) -> str:
        d = self.produced_on
        return f"{self.resolution.commune.name}, ngày {d:%d} tháng {d:%m} năm {d:%Y}"

    @property
    def plan_heading(self) -> str:
        return f"Kế hoạch {self.resolution.plan_year}"

    @property
    def verdict_heading(self) -> str:
        if self.is_final:
            return "Đánh giá"
        return "Đánh giá (theo ước thực hiện cả năm)"

    @property
    def headers(self) -> tuple[str, ...]:
        return (
            "TT",
            "Chỉ tiêu",
            "ĐVT",
            self.plan_heading,
            *self.quarter_labels,
            "Ước thực hiện cả năm",
            "% so với KH",
            self.verdict_heading,
        )

    @property
    def target_rows(self) -> list[Row]:
        return [r for r in self.rows if r.kind == "target"]

    @property
    def paragraph(self) -> str:
        """The summary in the usual administrative wording."""
        r = self.resolution
        n = self.total
        exceeded = self.counts.get(Verdict.EXCEEDED, 0)
        met = self.counts.get(Verdict.MET, 0)
        not_met = self.counts.get(Verdict.NOT_MET, 0)
        if self.is_final:
            lead = (
                f"Trong {n} chỉ tiêu của Nghị quyết số {r.number}, kết quả thực hiện "
                f"năm {r.plan_year}"
            )
        else:
            lead = (
                f"Trong {n} chỉ tiêu của Nghị quyết số {r.number}, căn cứ số liệu "
                f"đã được phê duyệt đến hết {quarter_label(self.period.key)}, ước thực "
                f"hiện cả năm {r.plan_year}"
            )
        text = (
            f"{lead} có {exceeded}/{n} chỉ tiêu vượt, {met}/{n} chỉ tiêu đạt, "
            f"{not_met}/{n} chỉ tiêu không đạt kế hoạch"
        )
        if self.no_data:
            text += f"; {self.no_data}/{n} chỉ tiêu chưa có số liệu để đánh giá"
        return text + "."

    @property
    def shortfalls(self) -> str:
        """The targets not met, named with their estimate against the plan."""
        rows = [r for r in self.target_rows if r.verdict == Verdict.NOT_MET]
        if not rows:
            return ""
        what = (
            "Các chỉ tiêu không đạt kế hoạch"
            if self.is_final
            else "Các chỉ tiêu dự kiến không đạt kế hoạch"
        )
        parts = []
        for row in rows:
            if row.estimate is None:
                parts.append(f"{row.name}")
            elif row.lowest is not None and row.lowest < row.plan:
                parts.append(
                    f"{row.name} (có kỳ chỉ đạt {format_decimal(row.lowest)}/"
                    f"{format_decimal(row.plan)} {row.unit})"
                )
            else:
                parts.append(
                    f"{row.name} ({'đạt' if self.is_final else 'ước'} "
                    f"{format_decimal(row.estimate)}/{format_decimal(row.plan)} "
                    f"{row.unit})"
                )
        return f"{what}: " + "; ".join(parts) + "."

    @property
    def notes(self) -> list[str]:
        """One line per verdict the approver set, with the computed one and why."""
        lines = []
        for row in self.target_rows:
            if row.overridden:
                computed = row.computed.label if row.computed else "chưa có"
                lines.append(
                    f"(*) {row.name}: người phê duyệt đánh giá {row.verdict.label} "
                    f"(kết quả tính toán: {computed}). Lý do: {row.override_reason}"
                )
        return lines


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _rounded(value: Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def estimate_of(item: TargetProgress) -> Decimal | None:
    """Ước thực hiện cả năm: the engine's forecast (the value itself once the window
    has ended) in the target's decimals; None without figures."""
    p = item.progress
    if p.value is None:
        return None
    return _rounded(p.forecast, item.target.decimal_places)


def computed_verdict(item: TargetProgress, estimate: Decimal | None) -> Verdict | None:
    """The engine's final verdict, or during the window the verdict of the estimate."""
    p: Progress = item.progress
    if p.is_final:
        return p.computed_verdict
    if estimate is None:
        return None
    target = item.target
    judged = estimate
    if target.comparison == Comparison.MAINTAIN and p.lowest is not None:
        judged = min(p.lowest, estimate)
    return verdict_for(target.comparison, judged, target.target_value)


def percent_of(item: TargetProgress, estimate: Decimal | None) -> Decimal | None:
    target = item.target
    if estimate is None or target.target_value == 0:
        return None
    if target.comparison not in (Comparison.AT_LEAST, Comparison.ABOVE):
        return None
    return (estimate / target.target_value * 100).quantize(PERCENT, ROUND_HALF_UP)


def target_row(item: TargetProgress, tt: str, quarters) -> Row:
    target, p = item.target, item.progress
    used = dict(p.used)
    estimate = estimate_of(item)
    computed = computed_verdict(item, estimate)
    return Row(
        kind="target",
        tt=tt,
        name=target.name,
        unit=target.unit,
        plan=target.target_value,
        quarters=tuple(used.get(q) for q in quarters),
        estimate=estimate,
        lowest=p.lowest,
        percent=percent_of(item, estimate),
        verdict=p.override or computed,
        computed=computed,
        overridden=p.override is not None,
        override_reason=p.override_reason,
        status=p.status,
        code=target.code,
        target_id=target.pk,
    )


def build_report(
    progress: ResolutionProgress, produced_on: datetime.date
) -> ComparisonReport:
    resolution = progress.resolution
    plan_year = resolution.plan_year
    quarters = tuple((plan_year, q) for q in range(1, 5))

    by_area: dict[str, dict] = {}
    for item in progress.items:
        indicator = item.target.indicator
        by_area.setdefault(indicator.area, {}).setdefault(indicator, []).append(item)

    rows: list[Row] = []
    for number, area in enumerate((a for a in Area.values if a in by_area), 1):
        rows.append(Row(kind="area", tt=ROMAN[number - 1], name=Area(area).label))
        for indicator, items in by_area[area].items():
            tt = str(indicator.number)
            if len(items) == 1:
                rows.append(target_row(items[0], tt, quarters))
                continue
            rows.append(Row(kind="indicator", tt=tt, name=indicator.text))
            for item in items:
                rows.append(target_row(item, item.target.code, quarters))

    targets = [r for r in rows if r.kind == "target"]
    counts = {v: sum(1 for r in targets if r.verdict == v) for v in Verdict}
    return ComparisonReport(
        progress=progress,
        produced_on=produced_on,
        quarter_labels=tuple(f"Quý {QUARTER_NAMES[q]}/{y}" for y, q in quarters),
        rows=tuple(rows),
        is_final=progress.period.key >= quarters[-1],
        counts=counts,
        no_data=sum(1 for r in targets if r.verdict is None),
        total=len(targets),
    )
