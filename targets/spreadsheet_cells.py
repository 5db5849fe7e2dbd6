"""Cells written to a spreadsheet (the exports of targets.spreadsheets and the
report of reports.exports): a text never becomes a live formula, and a number is a
number cell whose format Excel shows in the reader's locale.

A text starting with tab or CR, or whose first character after any whitespace and
line breaks is = + - @ (`looks_like_formula`), is written as a text cell with Excel's
quote prefix in xlsx (`keep_text`), and with a leading apostrophe in csv (OWASP's
advice, `formula_safe`); the csv reader removes exactly that apostrophe again
(`unescape`) so that export → import round-trips."""

import datetime
from decimal import Decimal

from .numbers import format_decimal_input

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def unescape(text: str) -> str:
    """Undo `formula_safe`: remove the apostrophe only where the export adds one,
    so that export → import gives back the exact text."""
    if text.startswith("'") and _needs_apostrophe(text[1:]):
        return text[1:]
    return text


def csv_cell(value: object) -> str:
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


def keep_text(cell, text: str):
    """Make `cell`, holding `text`, a text cell that stays text: openpyxl makes any
    str starting with "=" a formula (and "#N/A" an error), so the type is set after
    the value; the quote prefix keeps Excel from re-reading a formula-like text as a
    formula when someone edits the cell."""
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True
    return cell


def number_format(
    value: Decimal, suffix: str = "", places: int = 0, *, as_written: bool = False
) -> str:
    """Excel's number format for `value`, grouped by thousands (Excel shows the
    reader's separators: 3.865,28 on a Vietnamese system), with at least `places`
    decimals and the value's own: its significant ones (95,5 not 95,50; 9 not
    9,00), or with `as_written` the ones it carries (85,00 for a 2-place target);
    `suffix` as literal text ("%")."""
    exponent = (value if as_written else value.normalize()).as_tuple().exponent
    places = max(places, -exponent if isinstance(exponent, int) else 0)
    decimals = "." + "0" * places if places else ""
    return "#,##0" + decimals + (f'"{suffix}"' if suffix else "")


def xlsx_cell(sheet, value: object):
    """A write-only xlsx cell for a native value: Decimals as number cells with
    their decimals as written, booleans as Có/Không, dates as dd/mm/yyyy, every
    text a text cell (`keep_text`)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, bool):
        value = "Có" if value else "Không"
    if isinstance(value, Decimal):
        value = _tidy(value)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format(value, as_written=True)
        return cell
    if isinstance(value, int | float):
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime.date):
        value = value.strftime("%d/%m/%Y")
    text = "" if value is None else ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    cell = WriteOnlyCell(sheet, value=text or None)
    return keep_text(cell, text) if text else cell


def _tidy(value: Decimal) -> Decimal:
    """The value as written: no exponent (Decimal("1E+1") is 10)."""
    if value.as_tuple().exponent > 0:
        return value.quantize(Decimal(1))
    return value
