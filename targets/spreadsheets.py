"""Reading and writing spreadsheets safely: the two file formats behind every import
and export (xlsx and csv).

django-import-export's own formats trust the file: its xlsx reader opens the workbook
read-only with cached values, so merged cells and formula cells without a value read
as empty cells, and its exports write text such as "=HYPERLINK(…)" as a live formula.
`SafeXLSX` and `SafeCSV` replace them. Before a file is parsed they check, cheapest
first, and refuse with a Vietnamese message that says what is wrong and what to do:

- the size (setting IMPORT_MAX_BYTES, default 5 MB), from the upload's size alone;
- that the content is what the extension says: an xlsx is a zip holding
  [Content_Types].xml and a workbook; a csv is UTF-8 text (with or without a BOM),
  not binary, not a renamed workbook;
- zip bombs, from the zip's directory only (declared sizes, compression ratio, number
  of parts), before anything is decompressed: zipfile never inflates a part past its
  declared size, so the declared sizes bound what openpyxl may read afterwards;
- macros and active content (vbaProject.bin, Excel 4 macro sheets, ActiveX, the
  macro-enabled content types), encrypted parts, XML with a DOCTYPE (entity bombs);
- then one streaming pass over the first worksheet's XML, which stops at the first
  problem: a formula cell, a merged range, or an extent past the limits — the one the
  sheet declares (<dimension ref="A1:Z999999999">) or the one read so far: rows
  (IMPORT_MAX_ROWS, default 20,000 below the header, counted as read, empty or not:
  a jump to row 999,999,999 is that many rows), columns (MAX_COLUMNS, any cell,
  empty or not) and cells (IMPORT_MAX_CELLS, default 1,000,000). Every formula is
  refused, with or without a cached value: a cached value may be stale and the
  portal never evaluates formulas, so the message asks for values (Copy, Paste
  Special → Values). Only then does openpyxl read the values, in a child process
  with a memory budget (IMPORT_MAX_MEMORY_BYTES, default 512 MB) inside the time
  budget of the whole read (IMPORT_MAX_SECONDS, default 30 s); see `_read_rows`.

A csv meets the same bounds, counted as read: every record is a row (a million
empty lines are a million rows), every field a cell, at most MAX_COLUMNS fields a
record, and a line with more separators than any table can have is refused before
it is split.

Only the first worksheet is read. Rows keep their place: dataset row n is sheet row
n + 1 (row 1 holds the headers), so messages can name the cell. Trailing empty rows
are dropped; empty rows in between stay (the resources skip them).

Exports never carry a live formula (targets.spreadsheet_cells: a formula-like text
is a quoted text cell in xlsx, gets OWASP's apostrophe in csv, which the csv reader
removes again so that export → import round-trips). Numbers stay numbers: Decimal
cells in xlsx with a grouping format (Excel shows them in the reader's locale),
`format_decimal_input` text in csv. Callers pass native values
(resource.export(force_native_type=True)) so that a number and a text that looks like
one are told apart by type.

Where each part lives: the bounds and refusal messages in targets.spreadsheet_limits,
the xlsx checks in targets.xlsx_checks, openpyxl's read in a child process in
targets.xlsx_child, written cells in targets.spreadsheet_cells; the two formats, the
csv reader and the office sheet's raw grid (`read_grid`) here.
"""

import csv
import io
import re
import time
from pathlib import Path

import tablib
from import_export.formats import base_formats

from .numbers import format_decimal
from .spreadsheet_cells import csv_cell, unescape, xlsx_cell
from .spreadsheet_limits import (
    MAX_COLUMNS,
    MAX_LINE_SEPARATORS,
    OFFICE_EXTRA_ROWS,
    OLE_MAGIC,
    TO_CSV,
    TO_EXCEL,
    ZIP_MAGIC,
    SpreadsheetRejected,
    cell_name,
    check_size,
    column_letters,
    is_blank,
    macro_file,
    max_cells,
    max_rows,
    max_seconds,
    no_rows,
    normalize_header,
    too_many_cells,
    too_many_columns,
    too_many_rows,
    too_slow,
)
from .xlsx_checks import inspect_xlsx
from .xlsx_child import read_rows


def format_for_name(name: str) -> type[base_formats.Format]:
    """The format a file's extension promises; refuses every other extension."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return SafeXLSX
    if suffix == ".csv":
        return SafeCSV
    if suffix in (".xlsm", ".xltm", ".xlsb", ".xlam"):
        raise macro_file()
    if suffix in (".xls", ".xlt"):
        raise SpreadsheetRejected(
            f"Tệp “{name}” là định dạng Excel cũ (.xls), hệ thống không đọc. "
            + TO_EXCEL,
            "old_excel",
        )
    raise SpreadsheetRejected(
        f"Tệp “{name}” không phải bảng tính .xlsx hoặc .csv. Hệ thống chỉ nhận "
        "hai định dạng này.",
        "extension",
    )


def read_file(path: Path) -> tablib.Dataset:
    """Read a spreadsheet from disk: extension, then size, then content."""
    path = Path(path)
    file_format = format_for_name(path.name)
    check_size(path.stat().st_size)
    return file_format().create_dataset(path.read_bytes())


def _dataset(rows: list[list], headers: list) -> tablib.Dataset:
    while rows and is_blank(rows[-1]):
        rows.pop()
    if not rows:
        raise no_rows()
    headers = [normalize_header(h) for h in headers]
    # A column with neither a header nor a value (a trailing separator, a formatted
    # empty column) is not part of the table.
    keep = [
        i
        for i, header in enumerate(headers)
        if header or not is_blank(row[i] for row in rows)
    ]
    if len(keep) < len(headers):
        headers = [headers[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    dataset = tablib.Dataset(headers=headers)
    for row in rows:
        dataset.append(row)
    return dataset


class SafeXLSX(base_formats.XLSX):
    """xlsx with the checks above on import and formula-proof cells on export."""

    def create_dataset(self, in_stream: bytes) -> tablib.Dataset:
        data = bytes(in_stream)
        deadline = time.monotonic() + max_seconds()
        _sheet, facts = inspect_xlsx(data, deadline)
        if facts.rows < 2:
            raise no_rows()
        rows = read_rows(data, facts.last_row, facts.last_column, deadline)
        if not rows:
            raise no_rows()
        return _dataset(rows[1:], rows[0])

    def export_data(self, dataset: tablib.Dataset, **kwargs) -> bytes:
        import openpyxl
        from openpyxl.styles import Font

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(title=(dataset.title or "Dữ liệu")[:31])
        for index, header in enumerate(dataset.headers or [], start=1):
            width = min(max(len(str(header)) + 4, 12), 60)
            sheet.column_dimensions[cell_name(index, 1)[:-1]].width = width
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header_cells = []
        for header in dataset.headers or []:
            cell = xlsx_cell(sheet, str(header))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in dataset:
            sheet.append([xlsx_cell(sheet, value) for value in row])
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue()


# -- csv ------------------------------------------------------------------------------


class SafeCSV(base_formats.CSV):
    """UTF-8 csv, read as bytes so that the checks, not the temp storage, decode it."""

    def is_binary(self) -> bool:
        return True

    def get_read_mode(self) -> str:
        return "rb"

    def create_dataset(self, in_stream: bytes | str) -> tablib.Dataset:
        data = in_stream.encode("utf-8") if isinstance(in_stream, str) else in_stream
        data = bytes(data)
        check_size(len(data))
        text = decode_csv(data)
        end = text.find("\n") % (len(text) + 1)  # the first line, without a copy
        semicolons, commas = text.count(";", 0, end), text.count(",", 0, end)
        delimiter = ";" if semicolons > commas else ","
        records = csv_records(text, delimiter, time.monotonic() + max_seconds())
        if not records:
            raise no_rows()
        headers, rows = records[0], records[1:]
        width = len(headers)
        for number, row in enumerate(rows, start=2):
            extra = [v for v in row[width:] if v.strip()]
            if extra:
                raise SpreadsheetRejected(
                    f"Dòng {number} có nhiều ô hơn dòng tiêu đề (ô thừa: "
                    f"“{extra[0][:40]}”). Có thể một ô chứa dấu phân cách mà không "
                    "đặt trong ngoặc kép. " + TO_CSV,
                    "columns",
                )
            row[:] = [unescape(v) for v in row[:width]] + [""] * (width - len(row))
        return _dataset(rows, headers)

    def export_data(self, dataset: tablib.Dataset, **kwargs) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([csv_cell(h) for h in dataset.headers or []])
        for row in dataset:
            writer.writerow([csv_cell(value) for value in row])
        # The BOM makes Excel open the file as UTF-8 (Vietnamese letters intact).
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_records(
    text: str, delimiter: str, deadline: float, *, extra: int = 0
) -> list[list[str]]:
    """The records of a csv text, with the xlsx path's bounds counted as read: every
    record counts as a row, empty or not (a million empty lines are a million rows),
    every field as a cell, and a line with more separators than a table can have is
    refused before the csv module splits it. Reading stops at the first limit
    passed, so its cost is bounded by the limits, not by the file."""
    row_limit, cell_limit = max_rows() + extra, max_cells()
    lines = _checked_lines(_lines(text), delimiter)
    reader = csv.reader(lines, delimiter=delimiter)
    records: list[list[str]] = []
    cells = 0
    try:
        for record in reader:
            records.append(record)
            if len(records) > row_limit + 1:
                where = f"dòng {format_decimal(len(records))}"
                raise too_many_rows(row_limit, where)
            if len(record) > MAX_COLUMNS:
                # Empty or not: every row is padded to the header's width later.
                ref = cell_name(len(record), len(records))
                letters = column_letters(len(record))
                raise too_many_columns(f"ô {ref} (cột {letters})")
            cells += len(record)
            if cells > cell_limit:
                raise too_many_cells(cell_limit)
            if len(records) % 1000 == 0 and time.monotonic() > deadline:
                raise too_slow()
    except csv.Error as error:
        raise SpreadsheetRejected(
            f"Tệp CSV bị lỗi ở dòng {reader.line_num}: có dấu ngoặc kép không "
            "đóng hoặc một ô quá dài. " + TO_CSV,
            "corrupt",
        ) from error
    return records


# A line and its end (\r\n, \r or \n), as io.StringIO(newline="") splits them. Not
# StringIO itself: it copies the text at 4 bytes a character (40 MB for a 10 MB line).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str):
    return (match.group() for match in _LINE.finditer(text))


def _checked_lines(lines, delimiter: str):
    for number, line in enumerate(lines, start=1):
        if line.count(delimiter) > MAX_LINE_SEPARATORS:
            raise SpreadsheetRejected(
                f"Dòng {number} của tệp CSV có hơn "
                f"{format_decimal(MAX_LINE_SEPARATORS)} dấu phân cách “{delimiter}”, "
                f"không thể là một bảng tối đa {MAX_COLUMNS} cột. Hãy mở tệp bằng "
                "Excel, xóa các cột thừa ở bên phải bảng rồi lưu lại. " + TO_CSV,
                "too_many_columns",
            )
        yield line


def decode_csv(data: bytes) -> str:
    if data.startswith(ZIP_MAGIC):
        raise SpreadsheetRejected(
            "Tệp có đuôi .csv nhưng thực ra là bảng tính Excel (.xlsx). Hãy chọn "
            "định dạng xlsx hoặc đổi đuôi tệp thành .xlsx.",
            "wrong_type",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpreadsheetRejected(
            "Tệp CSV được lưu bằng mã UTF-16 (“Unicode Text”), hệ thống chỉ đọc "
            "UTF-8. " + TO_CSV,
            "encoding",
        )
    if data.startswith(OLE_MAGIC) or b"\x00" in data:
        raise SpreadsheetRejected(
            "Tệp có đuôi .csv nhưng không phải là văn bản (có ký tự nhị phân). "
            + TO_CSV,
            "wrong_type",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SpreadsheetRejected(
            f"Tệp CSV không ở mã UTF-8 (ký tự không đọc được ở dòng {line}); có thể "
            "tệp được lưu bằng bảng mã cũ như TCVN3 hay Windows-1258. " + TO_CSV,
            "encoding",
        ) from error


# -- the raw grid of an office sheet ---------------------------------------------------


class Grid:
    """Every cell of the first sheet as read, for a caller that finds the table
    itself (targets.sheets): `rows[i][j]` is the cell in sheet row i + 1 and column
    j + 1, so a message can name it. `formulas` lists the cells whose value is a
    formula's cached value, `merges` the merged ranges: the caller decides where
    they are harmless (a title) and where not (a figure)."""

    def __init__(self, rows: list[list], formulas=(), merges=(), kind="xlsx"):
        width = max((len(r) for r in rows), default=0)
        self.rows = [list(r) + [None] * (width - len(r)) for r in rows]
        self.width = width
        self.formulas = set(formulas)
        self.merges = list(merges)
        self.kind = kind


def read_grid(data: bytes, name: str) -> Grid:
    """The first sheet of an xlsx or csv file as a `Grid`, with every bound of the
    ordinary readers (size, content, zip, macros, rows, columns, cells, time and
    memory), plus OFFICE_EXTRA_ROWS rows for titles above the table. A formula
    without a cached value is still refused: it would read as an empty cell."""
    file_format = format_for_name(name)
    data = bytes(data)
    check_size(len(data))
    deadline = time.monotonic() + max_seconds()
    if file_format is SafeCSV:
        text = decode_csv(data)
        head = text[: 1 << 16]
        lines = head.splitlines()[:40]
        semicolons = sum(line.count(";") for line in lines)
        commas = sum(line.count(",") for line in lines)
        delimiter = ";" if semicolons > commas else ","
        records = csv_records(text, delimiter, deadline, extra=OFFICE_EXTRA_ROWS)
        rows = [[unescape(v) if v.strip() else None for v in r] for r in records]
        while rows and is_blank(rows[-1]):
            rows.pop()
        if not rows:
            raise no_rows()
        return Grid(rows, kind="csv")
    _sheet, facts = inspect_xlsx(data, deadline, office=True)
    if facts.rows < 2:
        raise no_rows()
    rows = read_rows(data, facts.last_row, facts.last_column, deadline)
    while rows and is_blank(rows[-1]):
        rows.pop()
    return Grid(rows, facts.formulas, facts.merges, kind="xlsx")
