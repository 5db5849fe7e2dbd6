"""The figures template: the council report's layout pre-filled with a resolution's
targets, which `targets.sheets` imports with no mapping question."""

import io

import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation

from .models import (
    QUARTER_NAMES,
    ROMAN_NUMERALS,
    Area,
    FigureKind,
    PeriodState,
    ReportingPeriod,
    Resolution,
    Target,
)


def figure_template(resolution: Resolution | None = None) -> tuple[bytes, str]:
    """The council report layout pre-filled with the resolution's targets (TT, code,
    name, unit, plan), the period in the title, a drop-down for the figure kind.
    Filled in, it imports with no mapping question (code and name agree)."""
    resolution = resolution or (
        Resolution.objects.select_related("commune").order_by("-plan_year").first()
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Số liệu"
    if resolution is None:
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue(), "mau-nhap-so-lieu.xlsx"
    periods = list(
        ReportingPeriod.objects.filter(
            commune=resolution.commune_id, year=resolution.plan_year
        ).order_by("quarter")
    )
    open_periods = [p for p in periods if p.state == PeriodState.OPEN]
    period = (open_periods or periods or [None])[-1]
    year = period.year if period else resolution.plan_year
    quarter = period.quarter if period else 1
    label = f"QUÝ {QUARTER_NAMES[quarter]}/{year}"
    targets = (
        Target.objects.filter(indicator__resolution=resolution)
        .select_related("indicator")
        .order_by("indicator__number", "order", "code")
    )
    headers = [
        "TT",
        "Mã chỉ tiêu",
        "Chỉ tiêu",
        "ĐVT",
        f"Kế hoạch {resolution.plan_year}",
        f"Thực hiện quý {QUARTER_NAMES[quarter]}/{year}",
        "Loại số liệu",
        "Ghi chú",
    ]
    bold = Font(bold=True)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"] = f"BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CHỈ TIÊU {label}"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(headers))
    sheet["A2"] = f"(Nghị quyết số {resolution.number})"
    sheet["A2"].alignment = Alignment(horizontal="center")
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(4, column, text)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
    kinds = DataValidation(
        type="list",
        formula1='"' + ",".join(label for _, label in FigureKind.choices) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Loại số liệu",
        error="Chọn “Thực hiện” hoặc “Ước thực hiện”.",
    )
    sheet.add_data_validation(kinds)
    # The council report's rows: an area heading (I. KINH TẾ), an indicator heading
    # where it has several targets ((2) and its text), then the targets, TT being
    # the indicator's number or the target's code. Headings have no unit, plan or
    # value: the import lists them as skipped.
    by_area: dict[str, dict] = {}
    for target in targets:
        indicator = target.indicator
        by_area.setdefault(indicator.area, {}).setdefault(indicator, []).append(target)
    italic = Font(italic=True)
    row = 4
    for area_number, area in enumerate((a for a in Area.values if a in by_area), 1):
        row += 1
        sheet.cell(row, 1, ROMAN_NUMERALS[area_number - 1]).font = bold
        sheet.cell(row, 3, Area(area).label.upper()).font = bold
        for indicator, items in by_area[area].items():
            if len(items) > 1:
                row += 1
                sheet.cell(row, 1, str(indicator.number)).font = italic
                sheet.cell(row, 3, indicator.text).font = italic
            for target in items:
                row += 1
                tt = str(indicator.number) if len(items) == 1 else target.code
                sheet.cell(row, 1, tt).data_type = "s"
                code = sheet.cell(row, 2, target.code)
                code.data_type = "s"
                sheet.cell(row, 3, target.name)
                sheet.cell(row, 4, target.unit)
                plan = sheet.cell(row, 5, target.target_value)
                plan.number_format = "#,##0.####"
                sheet.cell(row, 7, FigureKind.ACTUAL.label)
    if row > 4:
        kinds.add(f"G5:G{row}")
    for letter, width in zip("ABCDEFGH", (5, 10, 60, 12, 14, 16, 16, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "D5"
    stream = io.BytesIO()
    book.save(stream)
    name = f"mau-nhap-so-lieu-quy-{quarter}-{year}.xlsx"
    return stream.getvalue(), name
