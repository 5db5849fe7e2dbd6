"""The comparison report as an Excel workbook (openpyxl) and as a PDF (WeasyPrint).

Excel: numbers are number cells with a number format that Excel shows in the reader's
locale (3.865,28 on a Vietnamese system); every text is a string cell, never a formula,
whatever it starts with (openpyxl would write "=…" as a live formula). PDF: the report's
HTML with the print stylesheet, DejaVu Sans for Vietnamese, no resource fetched from
anywhere."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .comparison import ComparisonReport

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A spreadsheet reads a cell starting with one of these as a formula (or DDE).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
BOLD = Font(name="Times New Roman", size=11, bold=True)
NORMAL = Font(name="Times New Roman", size=11)
ITALIC = Font(name="Times New Roman", size=11, italic=True)
HEAD_FILL = PatternFill("solid", fgColor="E7E6E6")
AREA_FILL = PatternFill("solid", fgColor="F2F2F2")

WIDTHS = (6, 48, 12, 13, 12, 12, 12, 12, 14, 11, 16)


def put_text(cell, text: str, font=NORMAL, alignment=WRAP):
    """A text cell that stays text: openpyxl makes any str starting with "=" a
    formula, so the type is set after the value; the quote prefix keeps Excel from
    re-reading it as a formula when someone edits the cell."""
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_START):
        cell.quotePrefix = True
    cell.font = font
    cell.alignment = alignment
    return cell


def number_format(value: Decimal) -> str:
    """Whole numbers without decimals, others with two (more if the value has
    them)."""
    exponent = value.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if places == 0:
        return "#,##0"
    return "#,##0." + "0" * max(2, places)


def put_number(cell, value: Decimal | None, fmt: str | None = None):
    if value is None:
        cell.value = None
    else:
        cell.value = value
        cell.number_format = fmt or number_format(value)
    cell.font = NORMAL
    cell.alignment = Alignment(horizontal="right", vertical="top")
    return cell


def report_xlsx(report: ComparisonReport) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo chỉ tiêu"
    columns = len(report.headers)
    last = get_column_letter(columns)

    # Heading: issuing body on the left, the national motto on the right.
    issuer = report.issuer
    ws.merge_cells("A1:C1")
    ws.merge_cells("A2:C2")
    put_text(ws["A1"], issuer[0], BOLD, CENTRE)
    put_text(ws["A2"], issuer[1], BOLD, CENTRE)
    ws.merge_cells(f"E1:{last}1")
    ws.merge_cells(f"E2:{last}2")
    ws.merge_cells(f"E3:{last}3")
    put_text(ws["E1"], "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", BOLD, CENTRE)
    put_text(ws["E2"], "Độc lập - Tự do - Hạnh phúc", BOLD, CENTRE)
    put_text(ws["E3"], report.place_and_date, ITALIC, CENTRE)
    for row, text, font in (
        (5, report.title, Font(name="Times New Roman", size=14, bold=True)),
        (6, report.subtitle, ITALIC),
        (7, report.scope, ITALIC),
    ):
        ws.merge_cells(f"A{row}:{last}{row}")
        put_text(ws.cell(row, 1), text, font, CENTRE)
    ws.row_dimensions[6].height = 30

    header_row = 9
    for col, text in enumerate(report.headers, 1):
        cell = put_text(ws.cell(header_row, col), text, BOLD, CENTRE)
        cell.fill = HEAD_FILL
        cell.border = BOX
    ws.row_dimensions[header_row].height = 45

    row_number = header_row
    for row in report.rows:
        row_number += 1
        _cells(ws, row_number, row)
        for col in range(1, columns + 1):
            ws.cell(row_number, col).border = BOX
        if row.kind != "target":
            for col in range(1, columns + 1):
                ws.cell(row_number, col).font = BOLD if row.kind == "area" else ITALIC
                if row.kind == "area":
                    ws.cell(row_number, col).fill = AREA_FILL

    row_number += 2
    for text in [report.paragraph, report.shortfalls, *report.notes]:
        if not text:
            continue
        ws.merge_cells(f"A{row_number}:{last}{row_number}")
        put_text(ws.cell(row_number, 1), text, NORMAL, WRAP)
        ws.row_dimensions[row_number].height = 15 * (1 + len(text) // 140)
        row_number += 1

    for col, width in enumerate(WIDTHS[:columns], 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(header_row + 1, 3)

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "Trang &P / &N"

    wb.properties.title = report.title
    wb.properties.creator = f"UBND xã {report.resolution.commune.name}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cells(ws, r: int, row) -> None:
    put_text(ws.cell(r, 1), row.tt, alignment=CENTRE)
    put_text(ws.cell(r, 2), row.name)
    if row.kind != "target":
        return
    put_text(ws.cell(r, 3), row.unit, alignment=CENTRE)
    put_number(ws.cell(r, 4), row.plan)
    for offset, value in enumerate(row.quarters):
        put_number(ws.cell(r, 5 + offset), value)
    col = 5 + len(row.quarters)
    put_number(ws.cell(r, col), row.estimate)
    put_number(ws.cell(r, col + 1), row.percent, "#,##0.00")
    put_text(ws.cell(r, col + 2), row.verdict_label, alignment=CENTRE)


# --- PDF -----------------------------------------------------------------------------

STYLESHEETS = ("css/report.css", "css/print.css")


def _refuse(url, *args, **kwargs):
    """The report needs nothing from outside; a URL in the HTML fetches nothing."""
    raise ValueError(f"Không tải tài nguyên ngoài khi tạo PDF: {url}")


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML  # heavy import, only where a PDF is made

    static = Path(settings.BASE_DIR) / "static"
    sheets = [
        CSS(string=(static / name).read_text(encoding="utf-8"), url_fetcher=_refuse)
        for name in STYLESHEETS
    ]
    document = HTML(string=html, url_fetcher=_refuse, media_type="print")
    return document.write_pdf(stylesheets=sheets)
