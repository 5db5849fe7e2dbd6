"""The official comparison report (Báo cáo kết quả thực hiện các chỉ tiêu Nghị quyết):
the rows of its table and its drafted paragraphs. Pure: built from what
`load_resolution_progress` returned, no query. The HTML page, the Excel file and the
PDF all render this one object, and it decides nothing: Đánh giá is the engine's one
judgement (`targets.progress.evaluate`), the status every other page shows.

Which report it is follows the selected quarter: quý I, 6 tháng đầu năm, 9 tháng,
năm. Until every quarter of a target's window has an approved figure, its Đánh giá is
the in-year status (Đúng tiến độ, Có nguy cơ, Chậm tiến độ, Đã đạt, Chưa đủ số liệu,
Chưa có số liệu) beside the year-end estimate (ước thực hiện cả năm); Vượt / Đạt /
Không đạt appear only once the year's result is known.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models

from targets.models import QUARTER_NAMES, ROMAN_NUMERALS, Area, Comparison
from targets.numbers import format_decimal, unit_suffix
from targets.progress import (
    FINAL_STATUSES,
    SUMMARY_ORDER,
    Progress,
    Status,
    TargetProgress,
    quarter_label,
    span_label,
)
from targets.progress_load import ResolutionProgress

from .reporting import (
    by_area_and_indicator,
    is_overridden,
    lead_name,
    missing_at_close,
    override_words,
)

# "Báo cáo … {kind} năm 2025", by the selected quarter of the plan year.
REPORT_KIND = {1: "quý I năm", 2: "6 tháng đầu năm", 3: "9 tháng năm", 4: "năm"}
KIND_SLUG = {1: "quy-I", 2: "6-thang-dau-nam", 3: "9-thang", 4: "nam"}

# How the summary paragraph names each status (lower case, inside a sentence).
STATUS_WORDS = {
    Status.EXCEEDED: "vượt kế hoạch",
    Status.MET: "đạt kế hoạch",
    Status.NOT_MET: "không đạt kế hoạch",
    Status.ALREADY_MET: "đã đạt kế hoạch",
    Status.ON_TRACK: "đúng tiến độ",
    Status.AT_RISK: "có nguy cơ không đạt",
    Status.BEHIND: "chậm tiến độ",
    Status.INCOMPLETE: "chưa đủ số liệu để đánh giá",
    Status.NO_DATA: "chưa có số liệu",
}


def vn_date(day: datetime.date) -> str:
    """'ngày 05 tháng 02 năm 2025', 'ngày 30 tháng 7 năm 2025' (Nghị định 30/2020:
    days below 10 and months 1 and 2 take a leading zero, the others do not)."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def with_unit(value: Decimal | None, unit: str, places: int | None = None) -> str:
    """'16,5%', '235 người': no space before a percent sign."""
    return format_decimal(value, places) + unit_suffix(unit)


def plan_words(comparison: str, plan: Decimal, unit: str, places: int = 0) -> str:
    """The plan as the resolution words it: 'kế hoạch giảm xuống còn 15,99%'."""
    amount = with_unit(plan, unit, places)
    return {
        Comparison.AT_MOST: f"kế hoạch giảm xuống còn {amount}",
        Comparison.ABOVE: f"kế hoạch trên {amount}",
        Comparison.MAINTAIN: f"kế hoạch duy trì {amount}",
    }.get(comparison, f"kế hoạch {amount}")


def ascii_slug(text: str) -> str:
    """'13/NQ-HĐND' → '13-NQ-HDND' (Đ has no decomposition, so it is mapped)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(
        part
        for part in "".join(c if c.isalnum() else "-" for c in text).split("-")
        if part
    )


class RowKind(models.TextChoices):
    """What a row of the table is; an indicator with a single target is one TARGET
    row."""

    AREA = "area", "Lĩnh vực"
    INDICATOR = "indicator", "Chỉ tiêu"
    TARGET = "target", "Chỉ tiêu cụ thể"


def _of_progress(attribute: str, doc: str = "") -> property:
    """A row's reading of its progress (None for area and indicator rows)."""
    return property(
        lambda row: getattr(row.progress, attribute) if row.progress else None,
        doc=doc,
    )


@dataclass(frozen=True)
class Row:
    """One row of the table (see RowKind)."""

    kind: RowKind
    tt: str
    name: str
    unit: str = ""
    plan: Decimal | None = None
    quarters: tuple[Decimal | None, ...] = ()
    estimated: tuple[bool, ...] = ()
    progress: Progress | None = None
    code: str = ""
    target_id: int | None = None
    comparison: str = ""
    plan_places: int = 0  # the decimals the resolution writes the plan with

    status = _of_progress("status")
    estimate = _of_progress("estimate")
    percent = _of_progress("estimate_percent")
    gap = _of_progress("estimate_gap")
    lowest = _of_progress("lowest")

    @property
    def is_final(self) -> bool:
        return bool(self.progress and self.progress.is_final)

    @property
    def overridden(self) -> bool:
        return bool(self.progress and is_overridden(self.progress))

    @property
    def override_words(self) -> str:
        """Who set the verdict, the computed one and why ('' when not overridden)."""
        return override_words(self.progress) if self.progress else ""

    @property
    def verdict_label(self) -> str:
        """Đánh giá: the one judgement, '(*)' when the approver set it."""
        if self.progress is None:
            return ""
        return self.status.label + (" (*)" if self.overridden else "")

    @property
    def cells(self) -> list[tuple[Decimal | None, bool]]:
        """(figure, entered as an estimate) for each quarter column."""
        return list(zip(self.quarters, self.estimated, strict=True))


@dataclass(frozen=True)
class ComparisonReport:
    progress: ResolutionProgress
    produced_on: datetime.date
    quarter_labels: tuple[str, ...]
    rows: tuple[Row, ...]
    reported: tuple[tuple[int, int], ...]
    indicators: int
    # A closed quarter's targets with no approved figure (missing_at_close).
    missing: tuple[TargetProgress, ...] = ()

    @property
    def resolution(self):
        return self.progress.resolution

    @property
    def period(self):
        return self.progress.period

    @property
    def target_rows(self) -> list[Row]:
        return [r for r in self.rows if r.kind == RowKind.TARGET]

    @property
    def total(self) -> int:
        return len(self.target_rows)

    @property
    def is_final(self) -> bool:
        """Every target has its year's result: every quarter of every window is in.
        A target with no figure at all is "Chưa có số liệu", not a result, so it
        keeps the whole report an estimate ("Ước thực hiện năm …") even at year end;
        its rows that are final still show their year's value and verdict."""
        return all(r.is_final for r in self.target_rows)

    @property
    def quarter(self) -> int:
        """Which report this is: the quarter of the plan year selected (1–4)."""
        year, quarter = self.period.key
        plan_year = self.resolution.plan_year
        if year < plan_year:
            return 1
        return 4 if year > plan_year else quarter

    @property
    def kind(self) -> str:
        """'9 tháng năm 2025', 'năm 2025'."""
        return f"{REPORT_KIND[self.quarter]} {self.resolution.plan_year}"

    @property
    def about(self) -> str:
        return (
            f"Kết quả thực hiện các chỉ tiêu Nghị quyết số {self.resolution.number} "
            f"{self.kind}"
        )

    @property
    def title(self) -> str:
        return f"Báo cáo {self.about[:1].lower()}{self.about[1:]}"

    @property
    def subtitle(self) -> str:
        r = self.resolution
        about = r.title.removeprefix("Về ").removeprefix("về ")
        return (
            f"(Nghị quyết số {r.number} {vn_date(r.adopted_on)} của {r.council} về "
            f"{about[:1].lower()}{about[1:]})"
        )

    @property
    def scope(self) -> str:
        """Exactly the quarters whose approved figures are in."""
        if not self.reported:
            return "(Chưa có số liệu được phê duyệt)"
        quarters = self.reported
        contiguous = all(
            (b[0] * 4 + b[1]) - (a[0] * 4 + a[1]) == 1
            for a, b in zip(quarters, quarters[1:], strict=False)
        )
        if contiguous:
            span = span_label(quarters[0], quarters[-1])
        else:
            span = ", ".join(f"quý {QUARTER_NAMES[q]}/{y}" for y, q in quarters)
        return f"(Số liệu đã được phê duyệt {span})"

    @property
    def issuer(self) -> tuple[str, str]:
        """The issuing body, upper case, on two lines: the committee implements the
        resolution and reports on it to the council."""
        return ("ỦY BAN NHÂN DÂN", f"XÃ {self.resolution.commune.name.upper()}")

    @property
    def number_line(self) -> str:
        return "Số:       /BC-UBND"

    @property
    def signer_name(self) -> str:
        """The chairman's name from settings.REPORT_SIGNER_NAME; without it a dotted
        line for the name to be written in by hand (the portal does not invent one)."""
        return getattr(settings, "REPORT_SIGNER_NAME", "") or "…………………………"

    @property
    def place_and_date(self) -> str:
        return f"{self.resolution.commune.name}, {vn_date(self.produced_on)}"

    @property
    def plan_heading(self) -> str:
        return f"Kế hoạch {self.resolution.plan_year}"

    @property
    def estimate_heading(self) -> str:
        if self.is_final:
            return f"Thực hiện năm {self.resolution.plan_year}"
        return f"Ước thực hiện năm {self.resolution.plan_year}"

    @property
    def headers(self) -> tuple[str, ...]:
        return (
            "TT",
            "Chỉ tiêu",
            "ĐVT",
            self.plan_heading,
            *self.quarter_labels,
            self.estimate_heading,
            "% so với KH",
            "Chênh lệch so với KH (theo ĐVT)",
            "Đánh giá",
        )

    @property
    def counts(self) -> dict[Status, int]:
        counts = {s: 0 for s in SUMMARY_ORDER}
        for row in self.target_rows:
            counts[row.status] += 1
        return counts

    @property
    def paragraph(self) -> str:
        """The summary in the usual administrative wording; no zero count."""
        r = self.resolution
        n = self.total
        counts = self.counts
        head = (
            f"Trong {self.indicators} chỉ tiêu, {n} chỉ tiêu cụ thể của Nghị quyết số "
            f"{r.number}"
        )
        final = [s for s in FINAL_STATUSES if counts[s]]
        pending = [s for s in SUMMARY_ORDER if s not in FINAL_STATUSES and counts[s]]
        parts = []
        if final:
            parts.append(
                f"kết quả thực hiện năm {r.plan_year} có "
                + ", ".join(
                    f"{counts[s]}/{n} chỉ tiêu {STATUS_WORDS[s]}" for s in final
                )
            )
        if pending:
            scope = self.scope.strip("()")
            scope = scope[:1].lower() + scope[1:]
            what = "các chỉ tiêu còn lại" if final else "kết quả"
            parts.append(
                f"{what} chưa đủ số liệu cả năm; căn cứ {scope}, có "
                + ", ".join(
                    f"{counts[s]}/{n} chỉ tiêu {STATUS_WORDS[s]}" for s in pending
                )
            )
        return f"{head}, " + "; ".join(parts) + "."

    @property
    def shortfalls(self) -> list[str]:
        """The targets not met (final) and those behind or at risk (during the
        year), each with its figure and the plan in words."""
        lines = []
        not_met = [r for r in self.target_rows if r.status == Status.NOT_MET]
        if not_met:
            lines.append(
                "Các chỉ tiêu không đạt kế hoạch: "
                + "; ".join(_shortfall(r, "thực hiện") for r in not_met)
                + "."
            )
        late = [
            r for r in self.target_rows if r.status in (Status.BEHIND, Status.AT_RISK)
        ]
        if late:
            lines.append(
                "Các chỉ tiêu chậm tiến độ, có nguy cơ không đạt: "
                + "; ".join(_shortfall(r, "ước thực hiện cả năm") for r in late)
                + "."
            )
        return lines

    @property
    def missing_line(self) -> str:
        """'Chưa có số liệu được phê duyệt quý III/2025 (kỳ đã khóa sổ): 2a (Phòng
        Kinh tế), 6a (…).' when the selected quarter was closed without them."""
        if not self.missing:
            return ""
        listed = ", ".join(f"{i.target.code} ({lead_name(i)})" for i in self.missing)
        return (
            f"Chưa có số liệu được phê duyệt {quarter_label(self.period.key)} "
            f"(kỳ đã khóa sổ): {listed}."
        )

    @property
    def notes(self) -> list[str]:
        """One line per year's verdict the approver set, with the computed one."""
        lines = []
        for row in self.target_rows:
            if row.overridden:
                lines.append(f"(*) {row.name}: {row.override_words}")
        if any(any(r.estimated) for r in self.target_rows):
            lines.append("(ư) Số ước thực hiện, chưa phải số chính thức.")
        return lines

    @property
    def filename_stem(self) -> str:
        """'nghi-quyet-13-NQ-HDND-2025-bao-cao-9-thang-2025'."""
        r = self.resolution
        return (
            f"nghi-quyet-{ascii_slug(r.number)}-{r.adopted_on.year}-bao-cao-"
            f"{KIND_SLUG[self.quarter]}-{r.plan_year}"
        )


def _shortfall(row: Row, what: str) -> str:
    p = row.progress
    if row.comparison == Comparison.MAINTAIN and p.lowest is not None:
        done = f"có kỳ chỉ đạt {with_unit(p.lowest, row.unit)}"
    else:
        value = p.value if p.is_final else row.estimate
        done = f"{what} {with_unit(value, row.unit)}"
    plan = plan_words(row.comparison, row.plan, row.unit, row.plan_places)
    return f"{row.name} ({done}, {plan})"


def target_row(item: TargetProgress, tt: str, quarters) -> Row:
    target, p = item.target, item.progress
    used = dict(p.used)
    return Row(
        kind=RowKind.TARGET,
        tt=tt,
        name=target.name,
        unit=target.unit,
        plan=target.target_value,
        quarters=tuple(used.get(q) for q in quarters),
        estimated=tuple(q in p.estimated for q in quarters),
        progress=p,
        code=target.code,
        target_id=target.pk,
        comparison=target.comparison,
        plan_places=target.plan_decimal_places,
    )


def table_rows(items, quarters) -> list[Row]:
    """The table: each area (numbered I, II, …) with its indicators, each with its
    targets; an indicator with one target is that target's row, numbered as the
    indicator."""
    by_area = by_area_and_indicator(items, lambda item: item.target)
    rows: list[Row] = []
    for number, area in enumerate((a for a in Area.values if a in by_area), 1):
        name = Area(area).label
        rows.append(Row(kind=RowKind.AREA, tt=ROMAN_NUMERALS[number - 1], name=name))
        for indicator, items in by_area[area].items():
            tt = str(indicator.number)
            if len(items) == 1:
                rows.append(target_row(items[0], tt, quarters))
                continue
            rows.append(Row(kind=RowKind.INDICATOR, tt=tt, name=indicator.text))
            rows.extend(target_row(i, i.target.code, quarters) for i in items)
    return rows


def build_report(
    progress: ResolutionProgress, produced_on: datetime.date
) -> ComparisonReport:
    resolution = progress.resolution
    plan_year = resolution.plan_year
    quarters = tuple((plan_year, q) for q in range(1, 5))

    reported = sorted(
        {q for item in progress.items for q, _ in item.progress.used if q in quarters}
    )
    return ComparisonReport(
        progress=progress,
        produced_on=produced_on,
        quarter_labels=tuple(f"Quý {QUARTER_NAMES[q]}/{y}" for y, q in quarters),
        rows=tuple(table_rows(progress.items, quarters)),
        reported=tuple(reported),
        indicators=len({i.target.indicator_id for i in progress.items}),
        missing=tuple(missing_at_close(progress)),
    )
