"""The office layout of a commune's spreadsheet, as `targets.sheets` reads it: which
row holds the headers, what each column means (TT, code, name, unit, plan, a quarter's
value, a cumulative total…) and which period a header or title names ("quý III/2025",
"9 tháng", "cả năm"), how a cell's number and unit are read, what marks a footer,
a total or an empty cell; and the data a reading proposes (`Proposal`, `RowMatch`),
which the admin's preview shows. Text is compared folded (`fold`): no case, spacing,
Unicode form or diacritics."""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import ValidationError

from .import_cells import QUARTER, RESOLUTION, TARGET_CODE, YEAR, shown
from .models import (
    QUARTER_NAMES,
    FigureKind,
    Resolution,
    Target,
    roman_number,
)
from .numbers import format_decimal, parse_decimal
from .spreadsheet_limits import cell_name
from .spreadsheets import Grid

VALUE = "Số liệu"
KIND = "Loại số liệu"
NOTE = "Ghi chú"
COLUMNS = [RESOLUTION, TARGET_CODE, YEAR, QUARTER, VALUE, KIND, NOTE]
PORTAL_KEYS = {"so nghi quyet", "ma chi tieu", "nam", "quy", "so lieu"}
HEADER_SEARCH_ROWS = 40

# The combining marks NFD leaves (Vietnamese tones and vowel marks among them):
# one regular expression instead of a Python test per character (10,000-row files).
COMBINING = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
QUARTER_WORD = re.compile(r"\bquy\s*(iv|iii|ii|i|[1-4])\b")
YEAR_WORD = re.compile(r"\b(20\d\d)\b")
MONTHS_WORD = re.compile(r"\b(3|6|9|12)\s*thang\b")
DIGITS = frozenset("0123456789")
KIND_LABELS = dict(FigureKind.choices)
EMPTY_MARKS = {"-", "–", "—", "x", "…", "...", "k/c", "kc"}
FOOTER_MARKS = (
    "nguoi lap",
    "noi nhan",
    "thu truong",
    "tm.",
    "tm ",
    "chu tich",
    "pho chu tich",
    "ke toan",
    "xac nhan",
    "ky ten",
    "ky, ghi ro",
    "luu:",
    "luu vt",
)
TOTAL_MARKS = ("tong cong", "tong so", "cong:", "cong ")

# Units a value may be converted between, as a multiple of the group's base unit.
UNITS = {
    "dong": ("tiền", Decimal(1)),
    "nghin dong": ("tiền", Decimal(1000)),
    "ngan dong": ("tiền", Decimal(1000)),
    "trieu dong": ("tiền", Decimal(10) ** 6),
    "ty dong": ("tiền", Decimal(10) ** 9),
    "m2": ("diện tích", Decimal(1)),
    "ha": ("diện tích", Decimal(10000)),
    "kg": ("khối lượng", Decimal(1)),
    "ta": ("khối lượng", Decimal(100)),
    "tan": ("khối lượng", Decimal(1000)),
}

UNIT_KEYS = {k.replace(" ", ""): v for k, v in UNITS.items()}

# What a column may mean (the form's choices for a column).
ROLE_LABELS = {
    "tt": "TT / STT (số thứ tự)",
    "code": "Mã chỉ tiêu",
    "name": "Tên chỉ tiêu",
    "unit": "Đơn vị tính",
    "plan": "Kế hoạch (để đối chiếu)",
    "note": "Ghi chú",
    "kind": "Loại số liệu",
    "computed": "Cột tính toán của báo cáo (không nhập)",
    "year_estimate": "Ước thực hiện cả năm (không nhập nếu không chọn)",
    "ignore": "Không dùng",
}


def fold(value: object) -> str:
    """Text compared leniently: NFC/NFD alike, no diacritics, đ as d, any case, single
    spaces. "Tổng sản lượng lương thực" and "TONG SAN LUONG LUONG THUC" fold alike."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = COMBINING.sub("", unicodedata.normalize("NFD", str(value)))
    text = text.replace("đ", "d").replace("Đ", "D").replace("\u00d0", "D")
    text = text.replace("²", "2").replace("\u00a0", " ")
    return " ".join(text.split()).casefold()


def clean_text(value: object) -> str:
    """A text as stored: NFC, trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


# -- columns ---------------------------------------------------------------------------


@dataclass
class Column:
    index: int  # 0-based
    header: str
    role: str  # a ROLE_LABELS key, or "value"
    year: int | None = None
    quarter: int | None = None
    cumulative: bool = False  # a total to date ("6 tháng", "9 tháng", the year)
    kind: str | None = None  # FigureKind, when the header says (ước)
    chosen: bool = False  # set by the administrator in the form

    @property
    def letter(self) -> str:
        return cell_name(self.index + 1, 1)[:-1]

    @property
    def meaning(self) -> str:
        if self.role != "value":
            return ROLE_LABELS[self.role]
        if self.quarter is None:
            return "Số liệu – chưa rõ kỳ (hãy chọn)"
        period = f"quý {QUARTER_NAMES[self.quarter]}/{self.year}"
        kind = " (ước thực hiện)" if self.kind == FigureKind.ESTIMATE else ""
        if self.cumulative:
            months = self.quarter * 3
            return f"Số liệu lũy kế {months} tháng → {period}{kind}"
        return f"Số liệu {period}{kind}"

    def code(self) -> str:
        """The column's meaning as the form's value."""
        if self.role != "value":
            return self.role
        if self.quarter is None:
            return "value"
        kind = "u" if self.kind == FigureKind.ESTIMATE else ""
        mark = "cum" if self.cumulative else "q"
        return f"{mark}:{self.year}:{self.quarter}{kind}"


def read_period(text: str) -> tuple[int | None, int | None, bool]:
    """(year, quarter, cumulative) named by a folded text: "quy iii/2025" →
    (2025, 3, False), "9 thang dau nam 2025" → (2025, 3, True), "ca nam" → 4."""
    year_match = YEAR_WORD.search(text)
    year = int(year_match.group(1)) if year_match else None
    quarter_match = QUARTER_WORD.search(text)
    if quarter_match:
        word = quarter_match.group(1)
        return year, roman_number(word) or int(word), False
    months = MONTHS_WORD.search(text)
    if months:
        return year, int(months.group(1)) // 3, int(months.group(1)) > 3
    if "ca nam" in text or "nam" in text.split():
        return year, 4, True
    return year, None, False


def classify(header: object, index: int) -> Column:
    text = fold(header)
    column = Column(index=index, header=clean_text(header), role="ignore")
    words = text.split()
    if not text:
        return column
    if text in ("tt", "stt", "so tt", "so thu tu", "thu tu"):
        column.role = "tt"
    elif text.startswith("ma chi tieu") or text in ("ma", "ma so", "ma ct"):
        column.role = "code"
    elif text.startswith(("don vi", "dvt")):
        column.role = "unit"
    elif text.startswith("ghi chu"):
        column.role = "note"
    elif text.startswith("loai so lieu"):
        column.role = "kind"
    elif any(w in text for w in ("% so voi", "ty le", "danh gia", "chenh lech", "%")):
        column.role = "computed"
    elif text.startswith(("ke hoach", "kh ")) or text == "kh":
        column.role = "plan"
        column.year = read_period(text)[0]
    elif (
        text.startswith("uoc")
        and "quy" not in words
        and ("ca nam" in text or "nam" in words)
    ):
        column.role = "year_estimate"
        column.year = read_period(text)[0]
    elif text in ("chi tieu", "ten chi tieu", "noi dung", "ten", "chi tieu cu the") or (
        text.startswith(("ten chi tieu", "noi dung chi tieu", "chi tieu"))
    ):
        column.role = "name"
    else:
        year, quarter, cumulative = read_period(text)
        valueish = (
            quarter is not None
            or text.startswith(("thuc hien", "th ", "uoc", "so lieu", "gia tri"))
            or text == "th"
        )
        if valueish:
            column.role = "value"
            column.year, column.quarter = year, quarter
            column.cumulative = cumulative
            if text.startswith("uoc") or " uoc " in f" {text} ":
                column.kind = FigureKind.ESTIMATE
    return column


def parse_choice(column: Column, choice: str) -> Column:
    """Apply the administrator's choice for a column ("q:2025:3", "cum:2025:3u",
    "year_estimate", "ignore", "name"…)."""
    column.chosen = True
    if choice in ROLE_LABELS:
        column.role = choice
        return column
    match = re.fullmatch(r"(q|cum):(\d{4}):([1-4])(u?)", choice)
    if match:
        column.role = "value"
        column.cumulative = match.group(1) == "cum"
        column.year, column.quarter = int(match.group(2)), int(match.group(3))
        column.kind = FigureKind.ESTIMATE if match.group(4) else None
    return column


@dataclass
class RowMatch:
    row: int  # sheet row, 1-based
    name: str
    code: str
    unit: str
    plan_cell: object  # the plan as the file has it
    target: Target | None = None
    how: str = ""
    candidates: list[Target] = field(default_factory=list)
    needs_choice: bool = False
    # What each value cell became: (year, quarter, value).
    figures: list[tuple[int, int, Decimal]] = field(default_factory=list)

    # Written out when a page shows them, not for each of 10,000 rows imported.
    @property
    def plan(self) -> str:
        return "" if is_empty_cell(self.plan_cell) else shown(self.plan_cell)

    @property
    def values(self) -> list[str]:
        return [
            f"quý {QUARTER_NAMES[quarter]}/{year}: {format_decimal(value.normalize())}"
            for year, quarter, value in self.figures
        ]


@dataclass
class Proposal:
    header_row: int | None = None
    columns: list[Column] = field(default_factory=list)
    resolution: Resolution | None = None
    resolutions: list[Resolution] = field(default_factory=list)
    title: str = ""
    skipped: list[str] = field(default_factory=list)
    matches: list[RowMatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # conversions, formulas, flags
    warnings: list[str] = field(default_factory=list)  # flagged, not blocking
    problems: list[str] = field(default_factory=list)  # blocking, each naming a cell
    column_choices: list[Column] = field(default_factory=list)  # to ask about
    target_choices: list[Target] = field(default_factory=list)
    portal_layout: bool = False
    submit: bool = False  # "Gửi duyệt" chosen in the preview
    confirm_flags: bool = False  # the flagged values were checked
    to_submit: int = 0
    submitted: int = 0
    dataset: tablib.Dataset | None = None
    origin: dict[int, tuple[int, str]] = field(default_factory=dict)

    @property
    def needs_choice(self) -> bool:
        return bool(
            self.column_choices
            or any(m.needs_choice for m in self.matches)
            or (self.resolution is None and self.resolutions)
        )

    @property
    def period_columns(self) -> list[Column]:
        return [c for c in self.columns if c.role == "value"]

    @property
    def column_options(self) -> list[tuple[str, str]]:
        years = sorted(
            {c.year for c in self.columns if c.year}
            | ({self.resolution.plan_year} if self.resolution else set())
        ) or [datetime.date.today().year]
        options = [(k, v) for k, v in ROLE_LABELS.items()]
        for year in years:
            for q in range(1, 5):
                name = f"quý {QUARTER_NAMES[q]}/{year}"
                options.append((f"q:{year}:{q}", f"Số liệu {name}"))
                options.append((f"q:{year}:{q}u", f"Số liệu ước {name}"))
                options.append((f"cum:{year}:{q}", f"Lũy kế {q * 3} tháng → {name}"))
        return options


def cell_at(column: int, row: int) -> str:
    return cell_name(column + 1, row)


def find_header(grid: Grid) -> tuple[int | None, list[Column]]:
    for r, values in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        columns = [classify(v, i) for i, v in enumerate(values)]
        roles = {c.role for c in columns}
        folded = {fold(v) for v in values}
        if PORTAL_KEYS <= folded:
            return r, columns
        known = [c for c in columns if c.role not in ("ignore",)]
        if ("name" in roles or "code" in roles) and len(known) >= 2:
            return r, columns
    return None, []


def merged_cells(grid: Grid) -> dict[tuple[int, int], str]:
    """(row, column) (1-based) → the merged range covering it, but its first cell."""
    covered = {}
    for ref in grid.merges:
        first, _, last = ref.partition(":")
        try:
            r1, c1 = _coords(first)
            r2, c2 = _coords(last or first)
        except ValueError:
            continue
        if (r2 - r1 + 1) * (c2 - c1 + 1) > 10_000:
            r2 = r1  # a huge range: only its first row matters for a table row
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1):
                    covered[(r, c)] = ref
    return covered


def _coords(ref: str) -> tuple[int, int]:
    letters = ref.rstrip("0123456789")
    digits = ref[len(letters) :]
    if not letters.isalpha() or not digits.isdigit():
        raise ValueError(ref)
    column = 0
    for letter in letters.upper():
        column = column * 26 + ord(letter) - 64
    return int(digits), column


def read_number(value: object) -> Decimal:
    """A cell's number: a number cell as it is, a text by the strict parser (text
    decimals "3.865,28" and plain "3865.28"; ambiguous "3.865" refused)."""
    if isinstance(value, bool) or isinstance(value, datetime.date | datetime.time):
        raise ValueError("Ô này phải là một số.")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    try:
        return parse_decimal(str(value), decimal_places=4, allow_negative=True)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    except InvalidOperation:
        raise ValueError("Ô này phải là một số.") from None


def is_empty_cell(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    # A text that starts with a digit is a number, never a mark: no folding needed
    # (half the cells of a sheet with text decimals).
    return not text or (text[0] not in DIGITS and fold(text) in EMPTY_MARKS)


def unit_factor(file_unit: str, target_unit: str) -> Decimal | None:
    """How many of the target's unit one of the file's unit is; None when unknown.
    1 when they are the same unit written differently ("Tấn" is "tấn")."""
    return _unit_factor(file_unit, target_unit)


@functools.lru_cache(maxsize=256)
def _unit_factor(file_unit: str, target_unit: str) -> Decimal | None:
    # A sheet repeats a handful of units on thousands of rows: fold each pair once.
    a, b = fold(file_unit).replace(" ", ""), fold(target_unit).replace(" ", "")
    if a == b:
        return Decimal(1)
    if a in UNIT_KEYS and b in UNIT_KEYS and UNIT_KEYS[a][0] == UNIT_KEYS[b][0]:
        return UNIT_KEYS[a][1] / UNIT_KEYS[b][1]
    return None


def is_date_line(text: str) -> bool:
    return bool(re.match(r"^[\w\s,.]*ngay\s*\d*\s*thang\s*\d*\s*nam", text))
