"""The bounds every spreadsheet read meets (settings IMPORT_MAX_BYTES, IMPORT_MAX_ROWS,
IMPORT_MAX_CELLS, IMPORT_MAX_SECONDS, IMPORT_MAX_MEMORY_BYTES…), the refusal they
raise (`SpreadsheetRejected`, with the Vietnamese message that says what is wrong and
what to do), and the small helpers every reader shares (cell names, headers, blank
rows). See targets.spreadsheets for the order in which the checks run."""

import unicodedata
from decimal import Decimal

from django.conf import settings

from .numbers import format_decimal, format_megabytes, too_big_text

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

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

TO_EXCEL = "Hãy mở tệp bằng Excel và chọn Tệp → Lưu thành → Sổ làm việc Excel (*.xlsx)."
TO_CSV = "Trong Excel, chọn Tệp → Lưu thành → CSV UTF-8 (phân cách bằng dấu phẩy)."


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


def macro_file() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        "Tệp có chứa macro hoặc mã lệnh (VBA, ActiveX). Vì an toàn, hệ thống không "
        "nhận tệp loại này. Hãy lưu lại thành Sổ làm việc Excel (*.xlsx) – không "
        "có macro – rồi nhập lại.",
        "macro",
    )


def zip_bomb(detail: str) -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Tệp nén bất thường ({detail}), có thể là “bom nén” làm treo máy chủ. "
        "Hệ thống không mở tệp này. Nếu đây là bảng tính thật, hãy mở bằng Excel, "
        "chép số liệu sang một sổ làm việc mới và lưu lại.",
        "zip_bomb",
    )


def not_xlsx(data: bytes) -> SpreadsheetRejected:
    if data.startswith(OLE_MAGIC):
        return SpreadsheetRejected(
            "Tệp có đuôi .xlsx nhưng thực ra là định dạng Excel cũ (.xls) hoặc "
            "tệp đặt mật khẩu. Hãy bỏ mật khẩu nếu có. " + TO_EXCEL,
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
        "Tệp có đuôi .xlsx nhưng không phải là bảng tính Excel hợp lệ. " + TO_EXCEL,
        "wrong_type",
    )


def formula_refused(ref: str, *, cached: bool) -> SpreadsheetRejected:
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


FAR_CELLS = (
    "Nếu bảng thật nhỏ hơn, có thể còn ô lẻ hoặc định dạng nằm xa bảng: trong Excel "
    "nhấn Ctrl+End để tới ô đó, xóa các dòng, cột thừa (chuột phải → Xóa), lưu lại "
    "rồi nhập lại; hoặc chép riêng bảng số liệu sang một sổ làm việc mới."
)


def too_many_rows(limit: int, where: str = "") -> SpreadsheetRejected:
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
        f"Hãy chia thành nhiều tệp nhỏ hơn. {FAR_CELLS}",
        "too_many_rows",
    )


def too_many_columns(where: str) -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Trang tính có dữ liệu tới {where}, quá {MAX_COLUMNS} cột. Hãy xóa các "
        f"cột thừa ở bên phải bảng rồi nhập lại. {FAR_CELLS}",
        "too_many_columns",
    )


def column_letters(column: int) -> str:
    return cell_name(column, 1)[:-1] if column <= 10**6 else "rất xa bên phải"


def too_many_cells(limit: int, declared: str = "") -> SpreadsheetRejected:
    what = f"khai báo (thẻ dimension) vùng {declared}, " if declared else "có "
    return SpreadsheetRejected(
        f"Trang tính {what}hơn {format_decimal(limit)} ô, vượt giới hạn mỗi lần "
        f"nhập. Hãy chia thành nhiều tệp nhỏ hơn. {FAR_CELLS}",
        "too_many_cells",
    )


def too_slow() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Đọc tệp mất hơn {format_decimal(Decimal(str(max_seconds())))} giây nên hệ "
        "thống đã dừng lại để máy chủ không bị treo; không có gì được ghi. Hãy chia "
        "số liệu thành nhiều tệp nhỏ hơn, hoặc chép riêng bảng số liệu sang một sổ "
        "làm việc mới rồi nhập lại.",
        "too_slow",
    )


def too_costly() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        f"Đọc tệp cần hơn {format_megabytes(max_memory_bytes())} bộ nhớ nên hệ thống "
        "đã "
        "dừng lại để máy chủ không bị treo; không có gì được ghi. Tệp có thể chứa "
        "quá nhiều định dạng, kiểu ô hoặc văn bản. Hãy chép riêng bảng số liệu sang "
        "một sổ làm việc mới (Dán đặc biệt → Giá trị), lưu lại rồi nhập lại.",
        "too_costly",
    )


def no_rows() -> SpreadsheetRejected:
    return SpreadsheetRejected(
        "Tệp không có dòng số liệu nào dưới dòng tiêu đề. Dòng 1 là tiêu đề cột, "
        "số liệu bắt đầu từ dòng 2.",
        "empty",
    )
