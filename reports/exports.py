"""The comparison report as an Excel workbook (openpyxl) and as a PDF (WeasyPrint).

Excel: numbers are number cells with a number format that Excel shows in the reader's
locale (3.865,28 on a Vietnamese system); every text is a string cell, never a formula,
whatever it starts with (openpyxl would write "=…" as a live formula): both as every
spreadsheet the portal writes (targets.spreadsheet_cells). PDF: the report's
HTML with the print stylesheet and Liberation Serif (PDF_CSS), no resource fetched
from anywhere."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from targets.spreadsheet_cells import keep_text, number_format

from .comparison import ComparisonReport, RowKind

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
BOLD = Font(name="Times New Roman", size=11, bold=True)
NORMAL = Font(name="Times New Roman", size=11)
ITALIC = Font(name="Times New Roman", size=11, italic=True)
HEAD_FILL = PatternFill("solid", fgColor="E7E6E6")
AREA_FILL = PatternFill("solid", fgColor="F2F2F2")

WIDTHS = (6, 48, 12, 13, 12, 12, 12, 12, 14, 11, 14, 16)


def put_text(cell, text: str, font=NORMAL, alignment=WRAP):
    """A text cell that stays text (targets.spreadsheet_cells.keep_text), styled."""
    cell.value = text
    keep_text(cell, text)
    cell.font = font
    cell.alignment = alignment
    return cell


def put_number(
    cell, value: Decimal | None, suffix: str = "", signed=False, places: int = 0
):
    if value is None:
        cell.value = None
    else:
        cell.value = value
        # Its significant decimals, at least `places` (a plan written "32,0").
        fmt = number_format(value, suffix, places)
        # A gap shows its sign: +0,51.
        cell.number_format = f"+{fmt};-{fmt};0" if signed else fmt
    cell.font = NORMAL
    cell.alignment = Alignment(horizontal="right", vertical="top")
    return cell


def _merged_text(ws, row: int, first: int, last: int, text: str, font, align):
    ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    return put_text(ws.cell(row, first), text, font, align)


# The left half of the heading and of the signature block ends before this column, the
# right half starts after it.
HALF = 4
HEADER_ROW = 10
TITLE = Font(name="Times New Roman", size=14, bold=True)
BOLD_ITALIC = Font(name="Times New Roman", size=11, bold=True, italic=True)
RECIPIENTS = [
    "Nơi nhận:",
    "- Thường trực HĐND xã;",
    "- Các Ban HĐND xã;",
    "- Các đại biểu HĐND xã;",
    "- Lãnh đạo UBND xã;",
    "- Lưu: VT.",
]


def report_xlsx(report: ComparisonReport) -> bytes:
    """The report as the same document as the PDF: heading, Quốc hiệu, number, title,
    scope, the table, the summary, Nơi nhận and the signature block."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo chỉ tiêu"
    columns = len(report.headers)
    _heading(ws, report, columns)
    last = _table(ws, report, columns)
    last = _summary(ws, report, columns, last + 2)
    _signature(ws, report, columns, last + 1)
    for col, width in enumerate(WIDTHS[:columns], 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"C{HEADER_ROW + 1}"
    _page_setup(ws)
    wb.properties.title = report.title
    wb.properties.creator = f"UBND xã {report.resolution.commune.name}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _heading(ws, report: ComparisonReport, columns: int) -> None:
    """Rows 1–8: the issuer and the document's number on the left, Quốc hiệu,
    Tiêu ngữ and the place and date on the right, then the title and the scope."""
    issuer = report.issuer
    _merged_text(ws, 1, 1, HALF - 1, issuer[0], NORMAL, CENTRE)
    _merged_text(ws, 2, 1, HALF - 1, issuer[1], BOLD, CENTRE)
    _merged_text(ws, 3, 1, HALF - 1, report.number_line, NORMAL, CENTRE)
    _merged_text(
        ws, 1, HALF + 1, columns, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", BOLD, CENTRE
    )
    _merged_text(ws, 2, HALF + 1, columns, "Độc lập - Tự do - Hạnh phúc", BOLD, CENTRE)
    _merged_text(ws, 3, HALF + 1, columns, report.place_and_date, ITALIC, CENTRE)
    _merged_text(ws, 5, 1, columns, "BÁO CÁO", TITLE, CENTRE)
    _merged_text(ws, 6, 1, columns, report.about, BOLD, CENTRE)
    _merged_text(ws, 7, 1, columns, report.subtitle, ITALIC, CENTRE)
    _merged_text(ws, 8, 1, columns, report.scope, ITALIC, CENTRE)
    ws.row_dimensions[7].height = 30


def _table(ws, report: ComparisonReport, columns: int) -> int:
    """The header row, then a row per area, indicator and target, boxed; areas bold
    on grey, indicators in italics. Returns the last row written."""
    for col, text in enumerate(report.headers, 1):
        cell = put_text(ws.cell(HEADER_ROW, col), text, BOLD, CENTRE)
        cell.fill = HEAD_FILL
        cell.border = BOX
    ws.row_dimensions[HEADER_ROW].height = 45
    row_number = HEADER_ROW
    for row in report.rows:
        row_number += 1
        _cells(ws, row_number, row, columns)
        for col in range(1, columns + 1):
            ws.cell(row_number, col).border = BOX
        if row.kind != RowKind.TARGET:
            area = row.kind == RowKind.AREA
            for col in range(1, columns + 1):
                ws.cell(row_number, col).font = BOLD if area else ITALIC
                if area:
                    ws.cell(row_number, col).fill = AREA_FILL
    return row_number


def _summary(ws, report: ComparisonReport, columns: int, first: int) -> int:
    """The summary paragraph, the shortfalls, the missing figures and the notes, a
    merged row each from `first`, tall enough for its text. Returns the next row."""
    row_number = first
    missing = [report.missing_line] if report.missing_line else []
    for text in [report.paragraph, *report.shortfalls, *missing, *report.notes]:
        _merged_text(ws, row_number, 1, columns, text, NORMAL, WRAP)
        ws.row_dimensions[row_number].height = 15 * (1 + len(text) // 140)
        row_number += 1
    return row_number


def _signature(ws, report: ComparisonReport, columns: int, first: int) -> None:
    """Nơi nhận on the left, the signer on the right, from row `first`."""
    signer = ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "", "", "", report.signer_name]
    for offset, (left, right) in enumerate(zip(RECIPIENTS, signer, strict=True)):
        r = first + offset
        font = BOLD_ITALIC if offset == 0 else NORMAL
        _merged_text(ws, r, 1, HALF - 1, left, font, WRAP)
        if right:
            _merged_text(ws, r, HALF + 1, columns, right, BOLD, CENTRE)


def _page_setup(ws) -> None:
    """A4 landscape, one page wide, the header row repeated on every page, numbered."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "Trang &P / &N"


def _cells(ws, r: int, row, columns: int) -> None:
    put_text(ws.cell(r, 1), row.tt, alignment=CENTRE)
    if row.kind != RowKind.TARGET:
        text = row.name.upper() if row.kind == RowKind.AREA else row.name
        _merged_text(ws, r, 2, columns, text, NORMAL, WRAP)
        return
    put_text(ws.cell(r, 2), row.name)
    put_text(ws.cell(r, 3), row.unit, alignment=CENTRE)
    put_number(ws.cell(r, 4), row.plan, places=row.plan_places)
    for offset, (value, estimated) in enumerate(row.cells):
        put_number(ws.cell(r, 5 + offset), value, " (ư)" if estimated else "")
    col = 5 + len(row.quarters)
    put_number(ws.cell(r, col), row.estimate)
    put_number(ws.cell(r, col + 1), row.percent, "%")
    put_number(ws.cell(r, col + 2), row.gap, signed=True)
    put_text(ws.cell(r, col + 3), row.verdict_label, alignment=CENTRE)


# --- PDF -----------------------------------------------------------------------------

STYLESHEETS = ("css/report.css", "css/print.css")

# The PDF is a state document: a Times New Roman-compatible serif with every
# Vietnamese letter (Liberation Serif 2, Debian's fonts-liberation2; Tinos is the same
# design), DejaVu only for the status icons. Body text is never smaller than the notes.
PDF_FONT = "Liberation Serif"
PDF_CSS = f"""
@page {{ @bottom-center {{ font-family: "{PDF_FONT}", serif; font-size: 10pt; }} }}
body, .report-doc, .report-doc * {{ font-family: "{PDF_FONT}", "Tinos", serif; }}
.report-doc {{ font-size: 11pt; }}
.report-doc .doc-title {{ font-size: 13pt; }}
.report-table {{ font-size: 9.5pt; }}
.report-doc .doc-summary p {{ font-size: 11pt; }}
.report-doc .doc-summary p.note {{ font-size: 9.5pt; }}
.report-doc .doc-sign .recipients {{ font-size: 9.5pt; }}
.report-doc .doc-sign .signer {{ font-size: 11pt; }}
.report-doc .sign-space {{ height: 18mm; }}
"""


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
    sheets.append(CSS(string=PDF_CSS, url_fetcher=_refuse))
    document = HTML(string=html, url_fetcher=_refuse, media_type="print")
    return document.write_pdf(stylesheets=sheets)
