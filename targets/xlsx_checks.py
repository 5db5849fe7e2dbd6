"""The checks on an xlsx file before openpyxl reads it, cheapest first: the zip's
directory (declared sizes, compression ratio, number of parts), macros and active
content, encrypted parts, XML with a DOCTYPE, then one streaming pass over the first
worksheet's XML (`SheetFacts`) that stops at the first formula, merged range, or
extent past the limits. `inspect_xlsx` runs them all."""

import io
import posixpath
import pyexpat
import time
import zipfile

from .numbers import format_decimal, format_megabytes
from .spreadsheet_limits import (
    MAX_COLUMNS,
    MAX_MERGES,
    MAX_PARTS,
    MAX_RATIO,
    OFFICE_EXTRA_ROWS,
    RATIO_CHECK_FROM,
    TO_EXCEL,
    ZIP_MAGIC,
    SpreadsheetRejected,
    cell_name,
    check_size,
    column_letters,
    formula_refused,
    macro_file,
    max_cells,
    max_rows,
    max_uncompressed_bytes,
    not_xlsx,
    too_many_cells,
    too_many_columns,
    too_many_rows,
    too_slow,
    zip_bomb,
)

_WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
}
_MACRO_TYPE_MARKS = ("macroenabled", "vbaproject", "activex", "binary.macro")
_MACRO_PARTS = ("vbaproject.bin", "xl/macrosheets/", "xl/activex/", "xl/dialogsheets/")
_RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class _Stop(Exception):
    """Ends a streaming parse early, once it has seen what it needs."""


def _parser(start=None, end=None, text=None) -> pyexpat.XMLParserType:
    parser = pyexpat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True

    def doctype(*args):
        raise SpreadsheetRejected(
            "Tệp chứa khai báo XML lạ (DOCTYPE), không có trong bảng tính Excel "
            "thật. Vì an toàn, hệ thống không mở tệp này. " + TO_EXCEL,
            "doctype",
        )

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    return parser


def _parse_part(
    archive: zipfile.ZipFile, name: str, parser, deadline: float | None = None
) -> None:
    try:
        with archive.open(name) as stream:
            while chunk := stream.read(1 << 16):
                if deadline is not None and time.monotonic() > deadline:
                    raise too_slow()
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        pass
    except (pyexpat.ExpatError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise SpreadsheetRejected(
            f"Tệp bị hỏng (không đọc được phần “{name}”). " + TO_EXCEL,
            "corrupt",
        ) from error


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _check_archive(data: bytes) -> zipfile.ZipFile:
    if not data.startswith(ZIP_MAGIC):
        raise not_xlsx(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise not_xlsx(b"") from error
    if len(infos) > MAX_PARTS:
        raise zip_bomb(f"{len(infos)} phần bên trong")
    cap = max_uncompressed_bytes()
    total = 0
    for info in infos:
        name = info.filename.lower()
        if any(mark in name for mark in _MACRO_PARTS):
            raise macro_file()
        if info.flag_bits & 0x1:
            raise SpreadsheetRejected(
                "Tệp được đặt mật khẩu. Hãy mở bằng Excel, bỏ mật khẩu rồi lưu "
                "lại thành Sổ làm việc Excel (*.xlsx).",
                "encrypted",
            )
        total += info.file_size
        if total > cap:
            raise zip_bomb(
                f"giải nén ra hơn {format_megabytes(cap)} từ một tệp "
                f"{format_megabytes(len(data))}"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_FROM and ratio > MAX_RATIO:
            raise zip_bomb(f"phần “{info.filename}” nén {int(ratio)} lần")
    if "[Content_Types].xml" not in archive.namelist():
        raise SpreadsheetRejected(
            "Tệp nén này không phải là bảng tính Excel (thiếu [Content_Types].xml). "
            + TO_EXCEL,
            "wrong_type",
        )
    return archive


def _workbook_part(archive: zipfile.ZipFile) -> str:
    """The workbook's part name, from [Content_Types].xml; refuses macro types."""
    overrides: dict[str, str] = {}

    def start(name, attrs):
        content_type = attrs.get("ContentType", "").lower()
        if any(mark in content_type for mark in _MACRO_TYPE_MARKS):
            raise macro_file()
        if _local(name) == "Override":
            overrides[attrs.get("PartName", "").lstrip("/")] = content_type

    _parse_part(archive, "[Content_Types].xml", _parser(start))
    for part, content_type in overrides.items():
        if content_type in _WORKBOOK_TYPES:
            return part
    raise SpreadsheetRejected(
        "Tệp nén này không phải là bảng tính Excel (không có sổ làm việc; có thể là "
        "tệp Word hoặc PowerPoint bị đổi tên). " + TO_EXCEL,
        "wrong_type",
    )


def _first_worksheet(archive: zipfile.ZipFile, workbook: str) -> str:
    """The part of the workbook's first worksheet, the one openpyxl lists first."""
    sheet_ids: list[str] = []

    def sheet(name, attrs):
        if _local(name) == "sheet":
            sheet_ids.append(attrs.get(f"{_RELS_NS} id", ""))

    _parse_part(archive, workbook, _parser(sheet))
    folder, file_name = posixpath.split(workbook)
    rels_name = posixpath.join(folder, "_rels", file_name + ".rels")
    targets: dict[str, str] = {}

    def relationship(name, attrs):
        if _local(name) == "Relationship" and attrs.get("Type", "").endswith(
            "/worksheet"
        ):
            target = attrs.get("Target", "")
            if target.startswith("/"):
                part = target.lstrip("/")
            else:
                part = posixpath.normpath(posixpath.join(folder, target))
            targets[attrs.get("Id", "")] = part

    if rels_name in archive.namelist():
        _parse_part(archive, rels_name, _parser(relationship))
    for sheet_id in sheet_ids:
        part = targets.get(sheet_id)
        if part in archive.namelist():
            return part
    raise SpreadsheetRejected(
        "Sổ làm việc không có trang tính nào để đọc. " + TO_EXCEL, "empty"
    )


def _check_prologs(archive: zipfile.ZipFile, skip: set[str]) -> None:
    """openpyxl parses the other XML parts itself: refuse a DOCTYPE in any of them,
    reading each only up to its first element."""

    def first_element(name, attrs):
        raise _Stop

    for info in archive.infolist():
        name = info.filename
        if name in skip or not name.lower().endswith((".xml", ".rels")):
            continue
        _parse_part(archive, name, _parser(first_element))


class SheetFacts:
    """What one pass over a worksheet's XML found. Raises SpreadsheetRejected at the
    first formula or merged range, and the moment the sheet's extent passes a limit:
    the extent its <dimension> declares, or the rows, columns and cells as read.

    Rows are counted as read, empty or not: a row numbered 999,999,999 is that many
    rows, because that is what openpyxl would walk to reach it (`iter_rows` yields
    every empty row before a far one). So the cost of everything after this pass is
    bounded by the limits, not by what the file claims."""

    def __init__(
        self, row_limit: int, cell_limit: int, *, office: bool = False
    ) -> None:
        self.row_limit = row_limit
        self.cell_limit = cell_limit
        # The office layout (`read_grid`): a formula with a cached value and a
        # merged range are recorded for the caller to judge, not refused.
        self.office = office
        self.formulas: list[str] = []  # cells holding a formula and its cached value
        self.merges: list[str] = []  # merged ranges, as the sheet names them
        self.rows = 0  # rows holding at least one value, the header included
        self.last_row = 0  # the last row and column holding a value
        self.last_column = 0
        self.cells = 0  # <c> elements read, empty or not
        self._row = 0
        self._column = 0
        self._ref = ""
        self._row_has_value = False
        self._formula = False
        self._value = False
        self._in_value = False

    def start(self, name: str, attrs: dict) -> None:
        local = _local(name)
        if local == "c":
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                self._column = _column_index(letters)
                self._row = _row_index(ref[len(letters) :], self._row)
            else:
                self._column += 1
            self._ref = (ref or cell_name(self._column, self._row))[:20]
            self._formula = self._value = False
            self.cells += 1
            self._check_extent(self._row, self._column, self._ref)
            if self.cells > self.cell_limit:
                raise too_many_cells(self.cell_limit)
        elif local == "v":
            self._in_value = True
        elif local == "is":
            self._value = True
        elif local == "f":
            self._formula = True
        elif local == "row":
            self._row = _row_index(attrs.get("r", ""), self._row + 1)
            self._column = 0
            self._row_has_value = False
        elif local == "dimension":
            self._check_dimension(attrs.get("ref", ""))
        elif local == "mergeCell" and self.office:
            if len(self.merges) >= MAX_MERGES:
                raise SpreadsheetRejected(
                    f"Trang tính có hơn {MAX_MERGES} vùng gộp ô, không thể là một "
                    "bảng số liệu. Hãy bỏ gộp ô (Unmerge) rồi nhập lại.",
                    "merged",
                )
            self.merges.append(attrs.get("ref", "?")[:40])
        elif local == "mergeCell":
            raise SpreadsheetRejected(
                f"Ô {attrs.get('ref', '?')} đang gộp (merge). Hệ thống không đoán "
                "giá trị của ô gộp. Hãy chọn vùng đó, bỏ gộp ô (Unmerge) và ghi "
                "đủ giá trị vào từng ô, rồi nhập lại.",
                "merged",
            )

    def text(self, data: str) -> None:
        if self._in_value and data.strip():
            self._value = True

    def end(self, name: str) -> None:
        local = _local(name)
        if local == "v":
            self._in_value = False
        elif local == "c":
            if self._formula and self.office and self._value:
                # The cached value is read; the preview says which cells were
                # formulas. Without a cached value the cell would read as empty.
                self.formulas.append(self._ref)
            elif self._formula:
                raise formula_refused(self._ref, cached=self._value)
            if self._value:
                self._row_has_value = True
                self.last_column = max(self.last_column, self._column)
        elif local == "row":
            # A far row is refused at its first cell (the message names the cell),
            # or here if it has none.
            self._check_extent(self._row, 0, "")
            if self._row_has_value:
                self.rows += 1
                self.last_row = max(self.last_row, self._row)

    def _check_extent(self, row: int, column: int, ref: str) -> None:
        if row > self.row_limit + 1:
            where = f"ô {ref}" if ref else f"dòng {format_decimal(row)}"
            raise too_many_rows(self.row_limit, where)
        if column > MAX_COLUMNS:
            letters = column_letters(column)
            raise too_many_columns(f"ô {ref} (cột {letters})")

    def _check_dimension(self, ref: str) -> None:
        """The extent the sheet declares, before any row: Excel writes the used
        range here, and a file claiming A1:Z999999999 is refused unread."""
        corner = ref.rpartition(":")[2].replace("$", "")
        letters = corner.rstrip("0123456789")
        digits = corner[len(letters) :]
        if not (letters.isalpha() and letters.isascii() and digits.isdigit()):
            return  # openpyxl ignores a malformed dimension; so do we
        row, column = _row_index(digits, 0), _column_index(letters)
        where = f"vùng {ref[:40]} mà trang tính tự khai báo (thẻ dimension)"
        if row > self.row_limit + 1:
            raise too_many_rows(self.row_limit, where)
        if column > MAX_COLUMNS:
            raise too_many_columns(where)
        if row * column > self.cell_limit:
            raise too_many_cells(self.cell_limit, declared=ref[:40])


# Past these lengths an index is far beyond any limit; not converting it keeps a
# hostile attribute of a million digits cheap (and under int()'s digit cap).
_FAR_ROW = 10**12
_FAR_COLUMN = 26**7


def _row_index(digits: str, default: int) -> int:
    if not (digits.isdigit() and digits.isascii()):
        return default
    return int(digits) if len(digits) <= 12 else _FAR_ROW


def _column_index(letters: str) -> int:
    if len(letters) > 6:
        return _FAR_COLUMN
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


def inspect_xlsx(
    data: bytes, deadline: float | None = None, *, office: bool = False
) -> tuple[str, SheetFacts]:
    """Run every check on an xlsx file; return its first worksheet's part name and
    what the scan of that sheet found. `office` records cached formulas and merged
    ranges instead of refusing them (see `read_grid`)."""
    check_size(len(data))
    archive = _check_archive(data)
    workbook = _workbook_part(archive)
    sheet = _first_worksheet(archive, workbook)
    # Title rows above the table add to the rows read.
    facts = SheetFacts(
        max_rows() + OFFICE_EXTRA_ROWS * office, max_cells(), office=office
    )
    _parse_part(archive, sheet, _parser(facts.start, facts.end, facts.text), deadline)
    _check_prologs(archive, skip={"[Content_Types].xml", workbook, sheet})
    # openpyxl fills every row up to the last column asked for.
    if facts.last_row * facts.last_column > facts.cell_limit:
        raise too_many_cells(facts.cell_limit)
    return sheet, facts
