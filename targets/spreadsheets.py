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

Exports never carry a live formula: text starting with tab or CR, or whose first
character after any whitespace and line breaks is = + - @ (`looks_like_formula`), is
written as a text cell with Excel's quote prefix in xlsx, and with a leading
apostrophe in csv (OWASP's advice, `formula_safe`); the csv reader removes exactly
that apostrophe again so that export → import round-trips. Numbers stay numbers:
Decimal cells in xlsx with a grouping format (Excel shows them in the reader's
locale), `format_decimal_input` text in csv.
Callers pass native values (resource.export(force_native_type=True)) so that a
number and a text that looks like one are told apart by type.
"""

import csv
import datetime
import io
import json
import logging
import posixpath
import pyexpat
import re
import subprocess
import sys
import time
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path

import tablib
from django.conf import settings
from import_export.formats import base_formats

from .numbers import (
    format_decimal,
    format_decimal_input,
    format_megabytes,
    too_big_text,
)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000
# A zip whose parts inflate past this, or one large part more than MAX_RATIO times its
# compressed size, is a zip bomb. A real 10,000-row sheet compresses about 12 times.
DEFAULT_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200
RATIO_CHECK_FROM = 1024 * 1024
MAX_PARTS = 1000
MAX_COLUMNS = 100
# Rows an office sheet may hold on top of IMPORT_MAX_ROWS (its titles above the
# header row). None: the office layout meets exactly the bounds of the template.
OFFICE_EXTRA_ROWS = 0
# Merged ranges an office sheet may hold (title, headings, signatures): a few dozen.
MAX_MERGES = 2000
# Rows × columns of the table openpyxl is asked for, and cells counted as read. A
# 20,000-row figures file has 7 columns (140,000 cells).
DEFAULT_MAX_CELLS = 1_000_000
# What reading one file may cost (see _read_rows): wall-clock seconds for the checks
# and the read together, and the address space of the process that runs openpyxl.
DEFAULT_MAX_SECONDS = 30
DEFAULT_MAX_MEMORY_BYTES = 512 * 1024 * 1024
# A csv line holding more separators than this cannot be a table of at most
# MAX_COLUMNS cells (Excel's cells hold at most 32,767 characters): refused before
# the csv module builds a list of millions of fields.
MAX_LINE_SEPARATORS = 10_000

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

logger = logging.getLogger(__name__)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
}
_MACRO_TYPE_MARKS = ("macroenabled", "vbaproject", "activex", "binary.macro")
_MACRO_PARTS = ("vbaproject.bin", "xl/macrosheets/", "xl/activex/", "xl/dialogsheets/")
_RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

_TO_EXCEL = (
    "Hãy mở tệp bằng Excel và chọn Tệp → Lưu thành → Sổ làm việc Excel (*.xlsx)."
)
_TO_CSV = "Trong Excel, chọn Tệp → Lưu thành → CSV UTF-8 (phân cách bằng dấu phẩy)."


class SpreadsheetRejected(ValueError):
    """A file refused before import, with the Vietnamese message to show."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_rows() -> int:
    return getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


def max_uncompressed_bytes() -> int:
    return getattr(
        settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES
    )


def max_cells() -> int:
    return getattr(settings, "IMPORT_MAX_CELLS", DEFAULT_MAX_CELLS)


def max_seconds() -> float:
    return getattr(settings, "IMPORT_MAX_SECONDS", DEFAULT_MAX_SECONDS)


def max_memory_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_MEMORY_BYTES", DEFAULT_MAX_MEMORY_BYTES)


def check_size(size: int) -> None:
    """Refuse a file larger than IMPORT_MAX_BYTES, from its size alone."""
    limit = max_bytes()
    if size > limit:
        raise SpreadsheetRejected(
            f"{too_big_text(size, limit)}. "
            "Hãy chia số liệu thành nhiều tệp nhỏ hơn, hoặc xóa các trang tính, "
            "hình ảnh không cần thiết rồi nhập lại.",
            "too_big",
        )


def format_for_name(name: str) -> type[base_formats.Format]:
    """The format a file's extension promises; refuses every other extension."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return SafeXLSX
    if suffix == ".csv":
        return SafeCSV
    if suffix in (".xlsm", ".xltm", ".xlsb", ".xlam"):
        raise _macro_file()
    if suffix in (".xls", ".xlt"):
        raise SpreadsheetRejected(
            f"Tệp “{name}” là định dạng Excel cũ (.xls), hệ thống không đọc. "
            + _TO_EXCEL,
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


def cell_name(column: int, row: int) -> str:
    """Excel's name for a cell, from 1-based indices: (3, 5) → "C5"."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def normalize_header(value: object) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def is_blank(values) -> bool:
    """Whether a row holds no value (None or blank text in every cell)."""
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _macro_file() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        "Tệp có chứa macro hoặc mã lệnh (VBA, ActiveX). Vì an toàn, hệ thống không "
        "nhận tệp loại này. Hãy lưu lại thành Sổ làm việc Excel (*.xlsx) – không "
        "có macro – rồi nhập lại.",
        "macro",
    )


def _zip_bomb(detail: str) -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Tệp nén bất thường ({detail}), có thể là “bom nén” làm treo máy chủ. "
        "Hệ thống không mở tệp này. Nếu đây là bảng tính thật, hãy mở bằng Excel, "
        "chép số liệu sang một sổ làm việc mới và lưu lại.",
        "zip_bomb",
    )


def _not_xlsx(data: bytes) -> SpreadsheetRejected:
    if data.startswith(_OLE_MAGIC):
        return SpreadsheetRejected(
            "Tệp có đuôi .xlsx nhưng thực ra là định dạng Excel cũ (.xls) hoặc "
            "tệp đặt mật khẩu. Hãy bỏ mật khẩu nếu có. " + _TO_EXCEL,
            "wrong_type",
        )
    head = data[:4096]
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return SpreadsheetRejected(
                "Tệp có đuôi .xlsx nhưng nội dung là văn bản (có thể là tệp CSV "
                "bị đổi tên). Hãy đổi đuôi tệp thành .csv, hoặc mở bằng Excel và "
                "lưu thành Sổ làm việc Excel (*.xlsx).",
                "wrong_type",
            )
    return SpreadsheetRejected(
        "Tệp có đuôi .xlsx nhưng không phải là bảng tính Excel hợp lệ. " + _TO_EXCEL,
        "wrong_type",
    )


# -- xlsx: checks on the zip and the XML --------------------------------------------


class _Stop(Exception):
    """Ends a streaming parse early, once it has seen what it needs."""


def _parser(start=None, end=None, text=None) -> pyexpat.XMLParserType:
    parser = pyexpat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True

    def doctype(*args):
        raise SpreadsheetRejected(
            "Tệp chứa khai báo XML lạ (DOCTYPE), không có trong bảng tính Excel "
            "thật. Vì an toàn, hệ thống không mở tệp này. " + _TO_EXCEL,
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
                    raise _too_slow()
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        pass
    except (pyexpat.ExpatError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise SpreadsheetRejected(
            f"Tệp bị hỏng (không đọc được phần “{name}”). " + _TO_EXCEL,
            "corrupt",
        ) from error


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _check_archive(data: bytes) -> zipfile.ZipFile:
    if not data.startswith(_ZIP_MAGIC):
        raise _not_xlsx(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise _not_xlsx(b"") from error
    if len(infos) > MAX_PARTS:
        raise _zip_bomb(f"{len(infos)} phần bên trong")
    cap = max_uncompressed_bytes()
    total = 0
    for info in infos:
        name = info.filename.lower()
        if any(mark in name for mark in _MACRO_PARTS):
            raise _macro_file()
        if info.flag_bits & 0x1:
            raise SpreadsheetRejected(
                "Tệp được đặt mật khẩu. Hãy mở bằng Excel, bỏ mật khẩu rồi lưu "
                "lại thành Sổ làm việc Excel (*.xlsx).",
                "encrypted",
            )
        total += info.file_size
        if total > cap:
            raise _zip_bomb(
                f"giải nén ra hơn {format_megabytes(cap)} từ một tệp "
                f"{format_megabytes(len(data))}"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_FROM and ratio > MAX_RATIO:
            raise _zip_bomb(f"phần “{info.filename}” nén {int(ratio)} lần")
    if "[Content_Types].xml" not in archive.namelist():
        raise SpreadsheetRejected(
            "Tệp nén này không phải là bảng tính Excel (thiếu [Content_Types].xml). "
            + _TO_EXCEL,
            "wrong_type",
        )
    return archive


def _workbook_part(archive: zipfile.ZipFile) -> str:
    """The workbook's part name, from [Content_Types].xml; refuses macro types."""
    overrides: dict[str, str] = {}

    def start(name, attrs):
        content_type = attrs.get("ContentType", "").lower()
        if any(mark in content_type for mark in _MACRO_TYPE_MARKS):
            raise _macro_file()
        if _local(name) == "Override":
            overrides[attrs.get("PartName", "").lstrip("/")] = content_type

    _parse_part(archive, "[Content_Types].xml", _parser(start))
    for part, content_type in overrides.items():
        if content_type in _WORKBOOK_TYPES:
            return part
    raise SpreadsheetRejected(
        "Tệp nén này không phải là bảng tính Excel (không có sổ làm việc; có thể là "
        "tệp Word hoặc PowerPoint bị đổi tên). " + _TO_EXCEL,
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
        "Sổ làm việc không có trang tính nào để đọc. " + _TO_EXCEL, "empty"
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
                raise _too_many_cells(self.cell_limit)
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
                raise _formula(self._ref, cached=self._value)
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
            raise _too_many_rows(self.row_limit, where)
        if column > MAX_COLUMNS:
            letters = _column_letters(column)
            raise _too_many_columns(f"ô {ref} (cột {letters})")

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
            raise _too_many_rows(self.row_limit, where)
        if column > MAX_COLUMNS:
            raise _too_many_columns(where)
        if row * column > self.cell_limit:
            raise _too_many_cells(self.cell_limit, declared=ref[:40])


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


def _formula(ref: str, *, cached: bool) -> SpreadsheetRejected:
    paste = (
        "Hãy chọn các ô, Sao chép (Ctrl+C) rồi Dán đặc biệt → Giá trị (Paste "
        "Values), lưu lại và nhập lại."
    )
    if cached:
        return SpreadsheetRejected(
            f"Ô {ref} là công thức. Hệ thống chỉ nhận giá trị, không nhận công thức "
            f"(kết quả lưu sẵn của công thức có thể đã cũ). {paste}",
            "formula",
        )
    return SpreadsheetRejected(
        f"Ô {ref} là công thức nhưng chưa có giá trị tính sẵn (tệp do phần mềm "
        "khác tạo, chưa mở bằng Excel), nên đọc ra sẽ là ô trống. Hệ thống không "
        f"tự tính công thức. Hãy mở tệp bằng Excel rồi: {paste[0].lower()}"
        f"{paste[1:]}",
        "formula",
    )


_FAR_CELLS = (
    "Nếu bảng thật nhỏ hơn, có thể còn ô lẻ hoặc định dạng nằm xa bảng: trong Excel "
    "nhấn Ctrl+End để tới ô đó, xóa các dòng, cột thừa (chuột phải → Xóa), lưu lại "
    "rồi nhập lại; hoặc chép riêng bảng số liệu sang một sổ làm việc mới."
)


def _too_many_rows(limit: int, where: str = "") -> SpreadsheetRejected:
    """`where` names how far the sheet goes ("ô A999999999", "dòng 20.002"); without
    it, the count of non-empty rows passed the limit."""
    shown = format_decimal(limit)
    if not where:
        return SpreadsheetRejected(
            f"Tệp có hơn {shown} dòng số liệu, vượt giới hạn {shown} dòng mỗi lần "
            "nhập. Hãy chia thành nhiều tệp nhỏ hơn.",
            "too_many_rows",
        )
    return SpreadsheetRejected(
        f"Trang tính kéo dài tới {where}, tức hơn {shown} dòng số liệu (các dòng "
        f"trống ở giữa cũng được tính), vượt giới hạn {shown} dòng mỗi lần nhập. "
        f"Hãy chia thành nhiều tệp nhỏ hơn. {_FAR_CELLS}",
        "too_many_rows",
    )


def _too_many_columns(where: str) -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Trang tính có dữ liệu tới {where}, quá {MAX_COLUMNS} cột. Hãy xóa các "
        f"cột thừa ở bên phải bảng rồi nhập lại. {_FAR_CELLS}",
        "too_many_columns",
    )


def _column_letters(column: int) -> str:
    return cell_name(column, 1)[:-1] if column <= 10**6 else "rất xa bên phải"


def _too_many_cells(limit: int, declared: str = "") -> SpreadsheetRejected:
    what = f"khai báo (thẻ dimension) vùng {declared}, " if declared else "có "
    return SpreadsheetRejected(
        f"Trang tính {what}hơn {format_decimal(limit)} ô, vượt giới hạn mỗi lần "
        f"nhập. Hãy chia thành nhiều tệp nhỏ hơn. {_FAR_CELLS}",
        "too_many_cells",
    )


def _too_slow() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Đọc tệp mất hơn {format_decimal(Decimal(str(max_seconds())))} giây nên hệ "
        "thống đã dừng lại để máy chủ không bị treo; không có gì được ghi. Hãy chia "
        "số liệu thành nhiều tệp nhỏ hơn, hoặc chép riêng bảng số liệu sang một sổ "
        "làm việc mới rồi nhập lại.",
        "too_slow",
    )


def _too_costly() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Đọc tệp cần hơn {format_megabytes(max_memory_bytes())} bộ nhớ nên hệ thống "
        "đã "
        "dừng lại để máy chủ không bị treo; không có gì được ghi. Tệp có thể chứa "
        "quá nhiều định dạng, kiểu ô hoặc văn bản. Hãy chép riêng bảng số liệu sang "
        "một sổ làm việc mới (Dán đặc biệt → Giá trị), lưu lại rồi nhập lại.",
        "too_costly",
    )


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
        raise _too_many_cells(facts.cell_limit)
    return sheet, facts


# -- xlsx: the read, in a child process with a memory and a time budget ------------
#
# Why a child process. The scan above bounds the sheet (rows, columns and cells as
# read, the declared extent, the inflated size), so the sheet openpyxl is asked for
# is at most IMPORT_MAX_ROWS × MAX_COLUMNS. But openpyxl also parses, in full and in
# memory, parts the scan does not model: styles.xml (measured here: 100,000 cell
# formats, a 6 MB part that zips to a few KB, cost 1.7 s and 74 MB in openpyxl),
# shared strings, defined names, other sheets' headers. Bounding each by hand would
# be a list that is never complete. A child process is bounded by the kernel instead:
# RLIMIT_AS caps its memory (a MemoryError there, not in the web worker) and the
# parent kills it when the request's time budget is spent. The gunicorn gthread
# worker's own timeout is only a heartbeat and never stops a thread that computes,
# and a resource limit set in the worker would apply to every thread of it, so the
# limit has to live in another process. The cost, measured (bench/README.md): about
# 0.1-0.25 s and 26 MB (in the child, not the worker) per file, against 6-8 s for
# importing 10,000 rows. The child is started with exec (subprocess), never a bare
# fork of a threaded worker, and returns JSON, not a pickle: what it sends back was
# computed from a hostile file.
_CHILD_READER = r"""
import datetime, io, json, resource, sys

memory, max_row, max_col = (int(arg) for arg in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def tag(value):
    for kind in (datetime.datetime, datetime.date, datetime.time):
        if isinstance(value, kind):
            return {kind.__name__: value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"timedelta": value.total_seconds()}
    raise TypeError(type(value).__name__)


try:
    import openpyxl

    book = openpyxl.load_workbook(
        io.BytesIO(sys.stdin.buffer.read()), read_only=True, data_only=True
    )
    rows = book.worksheets[0].iter_rows(
        min_row=1, max_row=max_row, max_col=max_col, values_only=True
    )
    out = json.dumps([list(row) for row in rows], default=tag, ensure_ascii=True)
    sys.stdout.write(out)
except MemoryError:
    sys.exit(3)
except Exception as error:
    sys.stderr.write(f"{type(error).__name__}: {str(error)[:300]}")
    sys.exit(2)
"""

_TAGS = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "timedelta": lambda seconds: datetime.timedelta(seconds=seconds),
}


def _untag(item: dict):
    if len(item) == 1:
        ((kind, value),) = item.items()
        if kind in _TAGS:
            return _TAGS[kind](value)
    return item


def _read_rows(data: bytes, max_row: int, max_col: int, deadline: float) -> list:
    """The first sheet's values, rows 1..max_row and columns 1..max_col, read by
    openpyxl in a child process within the memory and time budgets."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _too_slow()
    command = [sys.executable, "-I", "-c", _CHILD_READER]
    command += [str(max_memory_bytes()), str(max_row), str(max_col)]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=remaining, check=False
        )
    except subprocess.TimeoutExpired:
        raise _too_slow() from None
    if done.returncode == 3 or b"MemoryError" in done.stderr:
        raise _too_costly()
    if done.returncode != 0:
        logger.warning("xlsx read failed (%s): %s", done.returncode, done.stderr[-500:])
        raise SpreadsheetRejected(
            "Tệp bị hỏng, hệ thống không đọc được số liệu trong đó. " + _TO_EXCEL,
            "corrupt",
        )
    return json.loads(done.stdout, object_hook=_untag)


def _no_rows() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        "Tệp không có dòng số liệu nào dưới dòng tiêu đề. Dòng 1 là tiêu đề cột, "
        "số liệu bắt đầu từ dòng 2.",
        "empty",
    )


def _dataset(rows: list[list], headers: list) -> tablib.Dataset:
    while rows and is_blank(rows[-1]):
        rows.pop()
    if not rows:
        raise _no_rows()
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
            raise _no_rows()
        rows = _read_rows(data, facts.last_row, facts.last_column, deadline)
        if not rows:
            raise _no_rows()
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
            cell = _xlsx_cell(sheet, str(header))
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in dataset:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue()


def _xlsx_cell(sheet, value: object):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, bool):
        value = "Có" if value else "Không"
    if isinstance(value, Decimal):
        value = _tidy(value)
        cell = WriteOnlyCell(sheet, value=value)
        places = max(0, -value.as_tuple().exponent)
        cell.number_format = "#,##0" + ("." + "0" * places if places else "")
        return cell
    if isinstance(value, int | float):
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime.date):
        value = value.strftime("%d/%m/%Y")
    text = "" if value is None else ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    cell = WriteOnlyCell(sheet, value=text or None)
    if looks_like_formula(text):
        # openpyxl would store "=…" as a formula; a quoted text cell stays text even
        # when someone edits it in Excel.
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def _tidy(value: Decimal) -> Decimal:
    """The value as written: no exponent (Decimal("1E+1") is 10)."""
    if value.as_tuple().exponent > 0:
        return value.quantize(Decimal(1))
    return value


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
        text = _decode_csv(data)
        end = text.find("\n") % (len(text) + 1)  # the first line, without a copy
        semicolons, commas = text.count(";", 0, end), text.count(",", 0, end)
        delimiter = ";" if semicolons > commas else ","
        records = _csv_records(text, delimiter, time.monotonic() + max_seconds())
        if not records:
            raise _no_rows()
        headers, rows = records[0], records[1:]
        width = len(headers)
        for number, row in enumerate(rows, start=2):
            extra = [v for v in row[width:] if v.strip()]
            if extra:
                raise SpreadsheetRejected(
                    f"Dòng {number} có nhiều ô hơn dòng tiêu đề (ô thừa: "
                    f"“{extra[0][:40]}”). Có thể một ô chứa dấu phân cách mà không "
                    "đặt trong ngoặc kép. " + _TO_CSV,
                    "columns",
                )
            row[:] = [_unescape(v) for v in row[:width]] + [""] * (width - len(row))
        return _dataset(rows, headers)

    def export_data(self, dataset: tablib.Dataset, **kwargs) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([_csv_cell(h) for h in dataset.headers or []])
        for row in dataset:
            writer.writerow([_csv_cell(value) for value in row])
        # The BOM makes Excel open the file as UTF-8 (Vietnamese letters intact).
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_records(
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
                raise _too_many_rows(row_limit, where)
            if len(record) > MAX_COLUMNS:
                # Empty or not: every row is padded to the header's width later.
                ref = cell_name(len(record), len(records))
                letters = _column_letters(len(record))
                raise _too_many_columns(f"ô {ref} (cột {letters})")
            cells += len(record)
            if cells > cell_limit:
                raise _too_many_cells(cell_limit)
            if len(records) % 1000 == 0 and time.monotonic() > deadline:
                raise _too_slow()
    except csv.Error as error:
        raise SpreadsheetRejected(
            f"Tệp CSV bị lỗi ở dòng {reader.line_num}: có dấu ngoặc kép không "
            "đóng hoặc một ô quá dài. " + _TO_CSV,
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
                "Excel, xóa các cột thừa ở bên phải bảng rồi lưu lại. " + _TO_CSV,
                "too_many_columns",
            )
        yield line


def _decode_csv(data: bytes) -> str:
    if data.startswith(_ZIP_MAGIC):
        raise SpreadsheetRejected(
            "Tệp có đuôi .csv nhưng thực ra là bảng tính Excel (.xlsx). Hãy chọn "
            "định dạng xlsx hoặc đổi đuôi tệp thành .xlsx.",
            "wrong_type",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpreadsheetRejected(
            "Tệp CSV được lưu bằng mã UTF-16 (“Unicode Text”), hệ thống chỉ đọc "
            "UTF-8. " + _TO_CSV,
            "encoding",
        )
    if data.startswith(_OLE_MAGIC) or b"\x00" in data:
        raise SpreadsheetRejected(
            "Tệp có đuôi .csv nhưng không phải là văn bản (có ký tự nhị phân). "
            + _TO_CSV,
            "wrong_type",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SpreadsheetRejected(
            f"Tệp CSV không ở mã UTF-8 (ký tự không đọc được ở dòng {line}); có thể "
            "tệp được lưu bằng bảng mã cũ như TCVN3 hay Windows-1258. " + _TO_CSV,
            "encoding",
        ) from error


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet may read this text as a formula (or DDE): it starts
    with TAB or CR, or its first character after any whitespace (spaces, tabs, line
    breaks) is = + - @. Excel and LibreOffice skip leading blanks before "=" when a
    cell is typed or a csv is opened, so " =1+1" and "\n=cmd" count too."""
    return text.startswith(FORMULA_PREFIXES) or text.lstrip().startswith(
        FORMULA_PREFIXES
    )


def formula_safe(text: str) -> str:
    """The text with OWASP's leading apostrophe when `looks_like_formula`, for
    formats that carry only text (csv). In xlsx, write the text unchanged as a
    string cell with `quotePrefix = True` (see `_xlsx_cell`): Excel shows no
    apostrophe and still never evaluates it.

    A text that already starts with apostrophes before a formula character gets one
    more ("'=x" → "''=x"), so that `_unescape` can give back exactly what was
    written, whatever it was."""
    return "'" + text if _needs_apostrophe(text) else text


def _needs_apostrophe(text: str) -> bool:
    return looks_like_formula(text.lstrip("'"))


def _unescape(text: str) -> str:
    """Undo `formula_safe`: remove the apostrophe only where the export adds one,
    so that export → import gives back the exact text."""
    if text.startswith("'") and _needs_apostrophe(text[1:]):
        return text[1:]
    return text


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, Decimal):
        return format_decimal_input(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_decimal_input(Decimal(repr(value)))
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return formula_safe(str(value))


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
        text = _decode_csv(data)
        head = text[: 1 << 16]
        lines = head.splitlines()[:40]
        semicolons = sum(line.count(";") for line in lines)
        commas = sum(line.count(",") for line in lines)
        delimiter = ";" if semicolons > commas else ","
        records = _csv_records(text, delimiter, deadline, extra=OFFICE_EXTRA_ROWS)
        rows = [[_unescape(v) if v.strip() else None for v in r] for r in records]
        while rows and is_blank(rows[-1]):
            rows.pop()
        if not rows:
            raise _no_rows()
        return Grid(rows, kind="csv")
    _sheet, facts = inspect_xlsx(data, deadline, office=True)
    if facts.rows < 2:
        raise _no_rows()
    rows = _read_rows(data, facts.last_row, facts.last_column, deadline)
    while rows and is_blank(rows[-1]):
        rows.pop()
    return Grid(rows, facts.formulas, facts.merges, kind="xlsx")
