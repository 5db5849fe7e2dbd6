"""The commune's own spreadsheet: the office layout read into figures.

Offices keep their figures in the council report's layout, not in the portal's
template: a title (often merged) naming the period, "BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN
CHỈ TIÊU QUÝ III/2025", blank rows, a header row such as TT | Chỉ tiêu | ĐVT | Kế
hoạch 2025 | Thực hiện quý III | Ghi chú, area and indicator headings inside the
table, totals, and a footer (Người lập biểu, Nơi nhận, signatures). `propose` turns
the raw grid of such a sheet (`spreadsheets.read_grid`, with every bound of the
ordinary readers) into:

- a proposal the preview shows: which column became which field, which period each
  value column means, how every row matched a target, the file's plan and unit
  beside the stored ones, rows skipped (title, blank, heading, total, footer),
  formula cells whose cached value was taken, conversions (unit, cumulative);
- every problem of the file at once, each naming its cell;
- the choices still needed (a row's target, a column's meaning, the resolution),
  which the administrator makes in the preview form and previews again;
- rows in the portal's figure columns for `FigureBatchResource`, so validation,
  locks, bounds and history stay the ones that exist.

Nothing is guessed silently: a row matched by a near name, a name that belongs to
another code, a TT that disagrees with the name, an unknown unit, a cumulative column
without the earlier quarters: each is listed, and only an exact, unambiguous match
imports without a question.

Matching: by code (a "Mã chỉ tiêu" column, or a TT/STT cell that is a code and
agrees with the name), then by name, compared without case, spacing, Unicode form
or diacritics. Units: compared the same way; đồng / nghìn đồng / triệu đồng / tỷ đồng,
m² / ha and kg / tạ / tấn are converted and shown as converted, any other difference
is refused. Cumulative columns ("6 tháng", "9 tháng", the year) of a sum target
become the quarter's own amount: the total minus the earlier quarters of the
target's window (this file's own quarter columns for that row, else the approved
figures); a latest target takes the value as the position at the end of the period.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .models import (
    QUARTER_NAMES,
    Area,
    Combine,
    Figure,
    FigureKind,
    Indicator,
    ReportingPeriod,
    Resolution,
    Target,
    WorkflowState,
)
from .numbers import format_decimal, parse_decimal
from .resources import (
    QUARTER,
    RESOLUTION,
    TARGET_CODE,
    YEAR,
    FigureBatchResource,
    ImportRejected,
    cycle_collection_paused,
    key_text,
    shown,
)
from .spreadsheets import Grid, SpreadsheetRejected, cell_name, is_blank, read_grid

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
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
ROMAN_NUMERALS = ("I", "II", "III", "IV", "V", "VI")
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
        return year, ROMAN.get(word) or int(word), False
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


# -- the proposal ----------------------------------------------------------------------


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
        return "" if _is_empty(self.plan_cell) else shown(self.plan_cell)

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


def _cell(column: int, row: int) -> str:
    return cell_name(column + 1, row)


def _find_header(grid: Grid) -> tuple[int | None, list[Column]]:
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


def propose(grid: Grid, choices: dict | None = None) -> Proposal:
    """Read the grid; see the module docstring. Reads what it needs up front: the
    resolutions, then one query each for the targets, periods and figures."""
    choices = choices or {}
    proposal = Proposal(
        submit=bool(choices.get("submit")), confirm_flags=bool(choices.get("confirm"))
    )
    header, columns = _find_header(grid)
    if header is None:
        proposal.problems.append(
            "Không tìm thấy dòng tiêu đề cột trong "
            f"{HEADER_SEARCH_ROWS} dòng đầu của trang tính. Dòng tiêu đề cần có ít "
            "nhất cột tên chỉ tiêu (“Chỉ tiêu”, “Tên chỉ tiêu”, “Nội dung”) hoặc "
            "“Mã chỉ tiêu”, và một cột số liệu (“Thực hiện quý III”, “Quý I”, "
            "“9 tháng”…). Hãy tải tệp mẫu để xem cách ghi."
        )
        return proposal
    proposal.header_row = header + 1
    headers_folded = {fold(v) for v in grid.rows[header]}
    proposal.portal_layout = PORTAL_KEYS <= headers_folded
    title_rows = grid.rows[:header]
    proposal.title = " ".join(
        clean_text(v) for row in title_rows for v in row if not is_blank([v])
    )
    for number, row in enumerate(title_rows, start=1):
        what = "trống" if is_blank(row) else "tiêu đề"
        proposal.skipped.append(f"Dòng {number}: {what}")

    if proposal.portal_layout:
        return _portal(grid, header, proposal)

    title = fold(proposal.title)
    title_year, title_quarter, title_cumulative = read_period(title)
    plan_year = next((c.year for c in columns if c.role == "plan" and c.year), None)

    resolutions = list(
        Resolution.objects.select_related("commune").order_by("-plan_year", "number")
    )
    proposal.resolutions = resolutions
    chosen = choices.get("resolution")
    resolution = next((r for r in resolutions if str(r.pk) == str(chosen)), None)
    if resolution is None:
        named = [r for r in resolutions if fold(r.number) in title]
        if len(named) == 1:
            resolution = named[0]
        elif len(resolutions) == 1:
            resolution = resolutions[0]
        else:
            year = title_year or plan_year
            fitting = [r for r in resolutions if r.plan_year == year]
            resolution = fitting[0] if len(fitting) == 1 else None
    proposal.resolution = resolution
    default_year = title_year or plan_year or (resolution and resolution.plan_year)

    for column in columns:
        choice = choices.get(f"col:{column.letter}")
        if choice:
            parse_choice(column, choice)
        if column.role == "value" and not column.chosen:
            if column.quarter is None and title_quarter is not None:
                column.quarter, column.cumulative = title_quarter, title_cumulative
            column.year = column.year or default_year
            if column.quarter is None or column.year is None:
                proposal.column_choices.append(column)
                proposal.problems.append(
                    f"Ô {_cell(column.index, header + 1)} (“{column.header}”): không "
                    "rõ cột số liệu này thuộc kỳ nào (tiêu đề biểu không ghi quý). "
                    "Hãy chọn kỳ của cột trong bảng “Các cột” bên dưới rồi xem "
                    "trước lại."
                )
        if column.role == "year_estimate" and column.year is None:
            column.year = default_year
    if "chenh lech so voi kh" in headers_folded or any(
        h.startswith("chenh lech so voi kh") for h in headers_folded
    ):
        # The portal's own report: its year column is computed, never imported.
        for column in columns:
            if column.role == "value" and column.cumulative and not column.chosen:
                column.role = "computed"
    proposal.columns = columns
    by_role: dict[str, list[Column]] = {}
    for column in columns:
        by_role.setdefault(column.role, []).append(column)
    for role in ("tt", "code", "name", "unit", "plan", "note", "kind"):
        if len(by_role.get(role, [])) > 1:
            extra = by_role[role][1:]
            for column in extra:
                proposal.column_choices.append(column)
                proposal.problems.append(
                    f"Ô {_cell(column.index, header + 1)} (“{column.header}”): đã có "
                    f"cột {by_role[role][0].letter} là “{ROLE_LABELS[role]}”. Hãy "
                    "chọn nghĩa của cột này rồi xem trước lại."
                )
    if "name" not in by_role and "code" not in by_role:
        proposal.problems.append(
            "Không có cột tên chỉ tiêu hoặc mã chỉ tiêu: hãy chọn nghĩa các cột."
        )
    if not proposal.period_columns and not any(
        c.role == "year_estimate" and c.chosen for c in columns
    ):
        proposal.problems.append(
            "Không có cột số liệu nào (như “Thực hiện quý III”, “Quý I”, “9 tháng”): "
            "hãy chọn nghĩa của cột chứa số liệu."
        )
    if resolution is None:
        proposal.problems.append(
            "Không rõ tệp thuộc nghị quyết nào (tiêu đề không ghi số nghị quyết). "
            "Hãy chọn nghị quyết rồi xem trước lại."
        )
        return proposal
    _rows(grid, header, proposal, choices)
    return proposal


def _portal(grid: Grid, header: int, proposal: Proposal) -> Proposal:
    """The portal's own template: the rows as they are."""
    headers = [clean_text(v) for v in grid.rows[header]]
    for merged in grid.merges:
        proposal.problems.append(
            f"Ô {merged} đang gộp (merge). Hệ thống không đoán giá trị của ô gộp. "
            "Hãy bỏ gộp ô (Unmerge) và ghi đủ giá trị vào từng ô, rồi nhập lại."
        )
    for ref in sorted(grid.formulas):
        proposal.notes.append(f"Ô {ref} là công thức: lấy giá trị tính sẵn trong tệp.")
    keep = [i for i, h in enumerate(headers) if h]
    dataset = tablib.Dataset(headers=[headers[i] for i in keep])
    for number, values in enumerate(grid.rows[header + 1 :], start=header + 2):
        dataset.append([values[i] for i in keep])
        proposal.origin[len(dataset)] = (number, "")
    proposal.dataset = dataset
    proposal.columns = [classify(h, i) for i, h in enumerate(headers)]
    return proposal


def _merged_cells(grid: Grid) -> dict[tuple[int, int], str]:
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


def _is_empty(value: object) -> bool:
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


def _targets(resolution: Resolution) -> list[Target]:
    """The resolution's targets, each holding its indicator, which holds the
    resolution (and its commune): one object per indicator rather than a copy per
    target, as select_related would build (10,000 targets: 40,000 objects)."""
    indicators = {
        i.pk: i for i in Indicator.objects.filter(resolution=resolution).order_by()
    }
    for indicator in indicators.values():
        indicator.resolution = resolution
    targets = list(
        Target.objects.filter(indicator__resolution=resolution).order_by(
            "indicator__number", "order", "code"
        )
    )
    for target in targets:
        target.indicator = indicators[target.indicator_id]
    return targets


def _rows(grid: Grid, header: int, proposal: Proposal, choices: dict) -> None:
    resolution = proposal.resolution
    columns = proposal.columns
    role = {c.role: c for c in reversed(columns)}  # the first of each role
    values = [c for c in columns if c.role == "value" and c.quarter]
    estimate = role.get("year_estimate")
    if estimate is not None and estimate.chosen and estimate.year:
        values.append(estimate)
    targets = _targets(resolution)
    proposal.target_choices = targets
    by_code = {key_text(t.code): t for t in targets}
    by_name: dict[str, list[Target]] = {}
    for target in targets:
        by_name.setdefault(fold(target.name), []).append(target)
    periods = {
        (p.year, p.quarter): p
        for p in ReportingPeriod.objects.filter(commune=resolution.commune_id)
    }
    years = {c.year for c in values if c.year}
    stored = {
        (f.target_id, f.period.year, f.period.quarter): f
        for f in Figure.objects.filter(
            target__indicator__resolution=resolution, period__year__in=years
        )
        .select_related("period")
        .order_by()  # a dict: the model's ordering would join up to the resolution
    }
    covered = _merged_cells(grid)
    formulas = grid.formulas
    dataset = tablib.Dataset(headers=COLUMNS)
    seen_formulas: list[str] = []
    ended = False
    blank_rows = []

    for index in range(header + 1, len(grid.rows)):
        number = index + 1
        cells = grid.rows[index]
        if is_blank(cells):
            blank_rows.append(number)
            continue
        first_text = fold(" ".join(clean_text(v) for v in cells if v is not None))
        if ended or first_text.startswith(FOOTER_MARKS) or _is_date_line(first_text):
            ended = True
            proposal.skipped.append(f"Dòng {number}: cuối biểu (chữ ký, nơi nhận)")
            continue

        def get(column_role, cells=cells):
            column = role.get(column_role)
            return None if column is None else cells[column.index]

        name = clean_text(get("name"))
        code = clean_text(get("code"))
        tt = clean_text(get("tt"))
        unit = clean_text(get("unit"))
        plan = get("plan")
        filled = [c for c in values if not _is_empty(cells[c.index])]
        folded_name = fold(name)
        if folded_name.startswith(TOTAL_MARKS) or folded_name in ("cong", "tong"):
            proposal.skipped.append(f"Dòng {number}: dòng tổng")
            continue
        if not filled and not unit and _is_empty(plan):
            proposal.skipped.append(
                f"Dòng {number}: tiêu đề nhóm “{(name or tt)[:60]}”"
                if name or tt
                else f"Dòng {number}: không có số liệu"
            )
            continue
        match = RowMatch(
            row=number,
            name=name,
            code=code,
            unit=unit,
            plan_cell=plan,
        )
        proposal.matches.append(match)
        _match(match, folded_name, choices, by_code, by_name, targets, tt)
        if match.target is None:
            where = _cell(role["name"].index if "name" in role else 0, number)
            if match.needs_choice and match.candidates:
                proposal.problems.append(
                    f"Ô {where} (“{name[:60]}”): {match.how}. Hãy chọn chỉ tiêu của "
                    "dòng này trong bảng “Các dòng” rồi xem trước lại."
                )
            elif match.how != "bỏ qua (đã chọn)":
                match.needs_choice = True
                proposal.problems.append(
                    f"Ô {where} (“{name[:60] or code}”): không khớp chỉ tiêu nào của "
                    f"Nghị quyết {resolution.number} theo mã hoặc tên. Hãy chọn chỉ "
                    "tiêu của dòng này (hoặc “Bỏ qua dòng này”) rồi xem trước lại."
                )
            continue
        target = match.target
        # Merged cells inside a figure row would read as empty: never drop them.
        used = [role[r] for r in ("name", "code", "unit", "plan") if r in role]
        for column in used + values:
            ref = covered.get((number, column.index + 1))
            if ref:
                proposal.problems.append(
                    f"Ô {_cell(column.index, number)} nằm trong vùng gộp {ref}: "
                    "hệ thống không đoán giá trị của ô gộp. Hãy bỏ gộp ô (Unmerge) "
                    "và ghi đủ giá trị vào từng ô."
                )
        if not filled:
            proposal.skipped.append(f"Dòng {number}: {target.code} chưa có số liệu")
            continue
        # The unit.
        factor = Decimal(1)
        if unit:
            found = unit_factor(unit, target.unit)
            where = _cell(role["unit"].index, number)
            if found is None:
                proposal.problems.append(
                    f"Ô {where} (“{unit}”): đơn vị tính khác với chỉ tiêu "
                    f"{target.code} (“{target.unit}”) và không quy đổi được. Hãy đổi "
                    f"số liệu sang “{target.unit}” rồi nhập lại."
                )
                continue
            factor = found
            if factor != 1:
                proposal.notes.append(
                    f"Ô {where}: đơn vị “{unit}” được quy đổi sang “{target.unit}” "
                    f"(nhân {format_decimal(factor.normalize())})."
                )
        # The plan, for comparison only.
        if not _is_empty(plan):
            where = _cell(role["plan"].index, number)
            try:
                file_plan = read_number(plan) * factor
            except ValueError as error:
                proposal.problems.append(f"Ô {where} ({shown(plan)}): {error}")
            else:
                if file_plan != target.target_value:
                    proposal.warnings.append(
                        f"Ô {where}: kế hoạch trong tệp "
                        f"{format_decimal(file_plan.normalize())} {target.unit} khác "
                        f"kế hoạch đã lưu của chỉ tiêu {target.code} "
                        f"({format_decimal(target.target_value.normalize())} "
                        f"{target.unit}). Số liệu vẫn được nhập; hãy kiểm tra lại."
                    )
        note_column = role.get("note")
        note = clean_text(cells[note_column.index]) if note_column else None
        row_kind = None
        kind_column = role.get("kind")
        if kind_column is not None and not _is_empty(cells[kind_column.index]):
            typed = fold(cells[kind_column.index])
            row_kind = next(
                (k for k, label in FigureKind.choices if fold(label) == typed), None
            )
            if row_kind is None:
                proposal.problems.append(
                    f"Ô {_cell(kind_column.index, number)} "
                    f"({shown(cells[kind_column.index])}): loại số liệu phải là "
                    "“Thực hiện” hoặc “Ước thực hiện”."
                )
                continue
        own = {}  # this row's own quarter amounts in the file, for cumulative columns
        parsed = []
        for column in values:
            raw = cells[column.index]
            if _is_empty(raw):
                continue
            where = _cell(column.index, number)
            if where in formulas:
                seen_formulas.append(where)
            try:
                value = read_number(raw) * factor
            except ValueError as error:
                proposal.problems.append(f"Ô {where} ({shown(raw)}): {error}")
                continue
            if factor != 1:
                proposal.notes.append(
                    f"Ô {where}: {shown(raw)} {unit} = "
                    f"{format_decimal(value.normalize())} {target.unit}."
                )
            parsed.append((column, value, where, raw))
            if not column.cumulative and column.role == "value":
                own[(column.year, column.quarter)] = value
        last = max(
            (c for c, *_ in parsed),
            key=lambda c: (c.year, c.quarter or 4),
            default=None,
        )
        for column, value, where, _raw in parsed:
            quarter = column.quarter if column.role == "value" else 4
            kind = column.kind or row_kind
            if column.role == "year_estimate":
                kind = FigureKind.ESTIMATE
            if column.cumulative or column.role == "year_estimate":
                value = _own_amount(
                    proposal, target, column, quarter, value, where, own, stored
                )
                if value is None:
                    continue
            period = periods.get((column.year, quarter))
            if period is None:
                proposal.problems.append(
                    f"Ô {where}: chưa có kỳ báo cáo quý {QUARTER_NAMES[quarter]}/"
                    f"{column.year}. Hãy tạo kỳ báo cáo trong trang quản trị trước."
                )
                continue
            figure = stored.get((target.pk, column.year, quarter))
            if kind is None:
                kind = figure.kind if figure else FigureKind.ACTUAL
            row_note = note if column is last else None
            if row_note is None and figure is not None:
                row_note = figure.note
            match.figures.append((column.year, quarter, value))
            dataset.append(
                [
                    resolution.number,
                    target.code,
                    column.year,
                    quarter,
                    value,
                    KIND_LABELS[kind],
                    row_note or "",
                ]
            )
            proposal.origin[len(dataset)] = (number, where)
    if blank_rows:
        proposal.skipped.append(
            "Dòng trống: " + ", ".join(str(n) for n in blank_rows[:30])
        )
    for ref in seen_formulas:
        proposal.notes.append(
            f"Ô {ref} là công thức: lấy giá trị tính sẵn lưu trong tệp."
        )
    proposal.dataset = dataset


def _is_date_line(text: str) -> bool:
    return bool(re.match(r"^[\w\s,.]*ngay\s*\d*\s*thang\s*\d*\s*nam", text))


def _match(match, folded_name, choices, by_code, by_name, targets, tt) -> None:
    """Fill match.target and match.how, or the candidates and needs_choice."""
    picked = choices.get(f"row:{match.row}")
    if picked == "skip":
        match.how = "bỏ qua (đã chọn)"
        return
    if picked:
        target = next((t for t in targets if str(t.pk) == str(picked)), None)
        if target is not None:
            match.target, match.how = target, "do quản trị viên chọn"
            return
    named = by_name.get(folded_name, []) if match.name else []
    if match.code:
        target = by_code.get(key_text(match.code))
        if target is None:
            match.needs_choice = True
            match.candidates = named
            match.how = f"mã “{match.code}” không có trong nghị quyết"
            return
        if match.name and named and target not in named:
            match.needs_choice = True
            match.candidates = [target, *named]
            others = ", ".join(t.code for t in named)
            match.how = (
                f"mã “{match.code}” là chỉ tiêu “{target.name}”, nhưng tên trong tệp "
                f"là của chỉ tiêu {others}"
            )
            return
        match.target = target
        match.how = "theo mã"
        return
    if len(named) == 1:
        match.target = named[0]
        tt_target = by_code.get(key_text(tt)) if tt else None
        if tt_target is not None and tt_target == named[0]:
            match.how = "theo tên (TT trùng mã)"
        elif tt_target is not None:
            match.how = f"theo tên (TT “{tt}” là mã của {tt_target.code}: bỏ qua TT)"
        else:
            match.how = "theo tên"
        return
    if len(named) > 1:
        tt_target = by_code.get(key_text(tt)) if tt else None
        if tt_target in named:
            match.target, match.how = tt_target, "theo tên và TT"
            return
        match.needs_choice = True
        match.candidates = named
        match.how = "tên khớp nhiều chỉ tiêu: " + ", ".join(t.code for t in named)
        return
    folded = fold(match.name)
    near = [
        t
        for t in targets
        if folded and (folded in fold(t.name) or fold(t.name) in folded)
    ]
    tt_target = by_code.get(key_text(tt)) if tt else None
    if tt_target is not None and tt_target not in near:
        near.append(tt_target)
    match.needs_choice = True
    match.candidates = near
    if near:
        match.how = "tên gần giống: " + ", ".join(t.code for t in near)


def _own_amount(proposal, target, column, quarter, total, where, own, stored):
    """A cumulative column's value as the quarter's own amount (sum targets): the
    total minus the earlier quarters of the target's window in that year."""
    months = quarter * 3
    label = column.header or column.letter
    if target.combine != Combine.SUM:
        proposal.notes.append(
            f"Ô {where}: cột lũy kế “{label}”, chỉ tiêu {target.code} là số thời "
            f"điểm: lấy nguyên {format_decimal(total.normalize())} cho quý "
            f"{QUARTER_NAMES[quarter]}/{column.year}."
        )
        return total
    start, _end = target.window
    earlier = [q for q in range(1, quarter) if (column.year, q) >= start]
    parts, missing = [], []
    for q in earlier:
        if (column.year, q) in own:
            parts.append(own[(column.year, q)])
            continue
        figure = stored.get((target.pk, column.year, q))
        if figure is not None and figure.state == WorkflowState.APPROVED:
            parts.append(figure.value)
        else:
            missing.append(QUARTER_NAMES[q])
    if missing:
        proposal.problems.append(
            f"Ô {where}: cột “{label}” là số lũy kế {months} tháng; để tính số của "
            f"riêng quý {QUARTER_NAMES[quarter]} cần số đã phê duyệt của quý "
            f"{', '.join(missing)}/{column.year} (chỉ tiêu {target.code}) nhưng chưa "
            "có. Hãy nhập số của từng quý, hoặc thêm cột các quý đó vào tệp."
        )
        return None
    value = total - sum(parts, Decimal(0))
    proposal.notes.append(
        f"Ô {where}: lũy kế {months} tháng {format_decimal(total.normalize())} − "
        f"các quý trước {format_decimal(sum(parts, Decimal(0)).normalize())} = "
        f"{format_decimal(value.normalize())} (số của riêng quý "
        f"{QUARTER_NAMES[quarter]}/{column.year}, đã quy đổi)."
    )
    return value


# -- the import ------------------------------------------------------------------------


class CommuneFigureResource(FigureBatchResource):
    """`FigureBatchResource` fed by `propose`: a dataset carrying a `grid` (from
    `CommuneXLSX` / `CommuneCSV`) is read as the office layout first. The result
    carries the proposal (`result.proposal`) for the preview."""

    def import_data(self, dataset, dry_run=False, **kwargs):
        grid = getattr(dataset, "grid", None)
        if grid is None:
            return super().import_data(dataset, dry_run=dry_run, **kwargs)
        with cycle_collection_paused():
            return self._import_grid(dataset, grid, dry_run, kwargs)

    def _import_grid(self, dataset, grid, dry_run, kwargs):
        choices = kwargs.pop("choices", None) or {}
        proposal = propose(grid, choices)
        self.proposal = proposal
        mapped = proposal.dataset
        if mapped is None:
            result = self.rejected(proposal.problems)
            result.proposal = proposal
            return result
        if proposal.problems:
            # Every problem in one pass: the rows are still checked (dry run) so
            # that the model's own errors are listed too; nothing is written.
            dry_run = True
        if proposal.target_choices:
            # The rows name only this resolution's targets, read once by propose.
            kwargs["known_targets"] = proposal.target_choices
        result = super().import_data(mapped, dry_run=dry_run, **kwargs)
        if proposal.submit:
            _submit(proposal, result, kwargs.get("user"), dry_run)
        if proposal.portal_layout:
            # The portal's template: its messages name the cells as they are; the
            # page lists them as for every other resource.
            for line in proposal.problems:
                result.append_base_error(_error(line))
            proposal.problems = []
            result.proposal = proposal
            return result
        located = []
        for error in result.base_errors:
            located.append(str(error.error))
        for row in result.invalid_rows:
            sheet_row, where = proposal.origin.get(row.number, (row.number + 1, ""))
            for column, messages in row.error_dict.items():
                for message in messages:
                    if message.startswith("Ô ") or message.startswith("("):
                        message = message.split(": ", 1)[-1]
                    place = f"Ô {where}" if where else f"Dòng {sheet_row}"
                    if column not in (NON_FIELD_ERRORS, VALUE) and where:
                        place += f" (cột “{column}”)"
                    located.append(f"{place}: {message}")
        if proposal.problems or located:
            proposal.problems.extend(
                line for line in located if line not in proposal.problems
            )
        if proposal.problems and not result.has_errors():
            result.append_base_error(
                _error(
                    f"Tệp có {len(proposal.problems)} vấn đề (xem danh sách): "
                    "không có gì được ghi."
                )
            )
        result.proposal = proposal
        return result


def _submit(proposal: Proposal, result, user, dry_run: bool) -> None:
    """ "Gửi duyệt" chosen in the preview: the entry page's submit rules on every
    row (services.import_submit_refusals), refusals naming the cell; when writing
    and nothing is refused, the rows go to the approver (services.import_submit).
    A refusal when writing is a base error: the admin rolls the import back."""
    from import_export.results import RowResult

    from .services import ImportSubmitRefused, import_submit, import_submit_refusals

    figures, numbers = [], []
    for number, row in enumerate(result.rows, start=1):
        if (
            row.instance is not None
            and row.import_type != RowResult.IMPORT_TYPE_INVALID
        ):
            figures.append(row.instance)
            numbers.append(number)
    clean = not (result.has_errors() or result.has_validation_errors())
    refusals = {}
    if dry_run or not clean or proposal.problems:
        refusals = import_submit_refusals(figures, confirmed=proposal.confirm_flags)
    else:
        try:
            proposal.submitted = import_submit(
                user, figures, confirmed=proposal.confirm_flags
            )
        except ImportSubmitRefused as refused:
            refusals = refused.refusals
    proposal.to_submit = sum(
        1 for f in figures if f.state in (WorkflowState.DRAFT, WorkflowState.RETURNED)
    )
    for index, messages in sorted(refusals.items()):
        sheet_row, where = proposal.origin.get(numbers[index], (numbers[index] + 1, ""))
        place = f"Ô {where}" if where else f"Dòng {sheet_row}"
        target = figures[index].target.code
        for message in messages:
            line = f"{place} (chỉ tiêu {target}, gửi duyệt): {message}"
            proposal.problems.append(line)
            if not dry_run and clean:
                result.append_base_error(_error(line))


def _error(message: str):
    from import_export.results import Error

    return Error(ImportRejected(message))


class _GridFormat:
    def create_dataset(self, in_stream) -> tablib.Dataset:
        data = in_stream.encode("utf-8") if isinstance(in_stream, str) else in_stream
        with cycle_collection_paused():  # 10,000 rows of cells: see resources
            grid = read_grid(bytes(data), f"x.{self.get_extension()}")
            if not grid.rows:
                raise SpreadsheetRejected("Tệp không có dòng nào.", "empty")
            dataset = tablib.Dataset()
            for row in grid.rows:
                dataset.append(row)
        dataset.grid = grid
        return dataset


def grid_formats():
    from .spreadsheets import SafeCSV, SafeXLSX

    class CommuneXLSX(_GridFormat, SafeXLSX):
        pass

    class CommuneCSV(_GridFormat, SafeCSV):
        pass

    return CommuneXLSX, CommuneCSV


CommuneXLSX, CommuneCSV = grid_formats()


def read_path(path) -> tablib.Dataset:
    """A file on disk as a dataset for `CommuneFigureResource`."""
    from pathlib import Path

    path = Path(path)
    file_format = CommuneXLSX if path.suffix.lower() == ".xlsx" else CommuneCSV
    from .spreadsheets import check_size, format_for_name

    format_for_name(path.name)
    check_size(path.stat().st_size)
    return file_format().create_dataset(path.read_bytes())


# -- the figures template --------------------------------------------------------------


def figure_template(resolution: Resolution | None = None) -> tuple[bytes, str]:
    """The council report layout pre-filled with the resolution's targets (TT, code,
    name, unit, plan), the period in the title, a drop-down for the figure kind.
    Filled in, it imports with no mapping question (code and name agree)."""
    import io

    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from .models import PeriodState

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


__all__ = [
    "CommuneCSV",
    "CommuneFigureResource",
    "CommuneXLSX",
    "Proposal",
    "fold",
    "propose",
    "read_path",
    "unit_factor",
]
