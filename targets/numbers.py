"""Reading and writing numbers the Vietnamese way, the same on every path.

One strict parser (`parse_decimal`) and one display formatter (`format_decimal`) serve
the entry forms, the admin and the spreadsheet import. Neither looks at the active
language or at Django's number formats: "3.865" must not mean 3865 for one user and
3,865 for another (django-import-export's own widgets do exactly that).

What the parser accepts, after stripping surrounding whitespace:

- Vietnamese form: "." groups thousands in groups of exactly 3, "," is the decimal mark:
  "3.865,28", "1.250.000", "1.250.000,5", "15,99", "0,8", "85".
- Plain form, no grouping, either mark as the decimal mark: "3865,28", "3865.28".
- Spaces as thousands grouping (ISO style, also a regular space, a no-break space or a
  narrow no-break space), groups of exactly 3 separated by one space, decimal part after
  a comma: "1 250 000", "3 865,28". A space is never a decimal mark anywhere, so this is
  unambiguous. Spaces and dots are not mixed in one number.
- A leading "-" (or the Unicode minus "−") only when negatives are allowed. "-0" is
  zero: it is accepted even when negatives are not, and comes back as Decimal("0")
  with no sign.

What it rejects, each with a Vietnamese message that says how to write the number:

- Ambiguous: one separator, 1-3 digits (not a lone 0) before it and exactly 3 after:
  "3.865" and "1,500" may be a whole number (3865, 1500) or a decimal. The parser never
  guesses. "0.500" and "0,125" are decimals (a thousands group cannot follow a lone 0),
  and so is "1234.567" (a first group has at most 3 digits).
- English form: "1,250,000", "1,250.50".
- Bad grouping: "1.2.3", "12.34.567", "1.2345,6", "1..2"; several commas: "1,,2".
- A missing part: ",5" (write 0,5), "5," (write 5); a lone "." or "-".
- Leading zeros: "00012" (write 12). Only a single 0 may stand before the decimal mark.
- A leading "+": a positive number carries no sign, and in a spreadsheet "+" starts a
  formula.
- Anything that is not an ASCII digit, separator or sign: NaN, inf, Infinity, exponents
  (1e3), hex (0x1F), underscores (1_000), "%", units, full-width or Arabic digits.
- More than 11 digits before the decimal mark (the columns hold 15 digits, 4 after:
  SQLite keeps a decimal as a float, exact to 15 significant digits only).
- More significant decimals than `decimal_places`. Nothing is ever rounded. Zeros past
  the limit are accepted and dropped ("0,120" with 2 places is 0.12): they change no
  value, Figure.clean() also counts significant decimals, and without them a 3-place
  value such as 1.234 could not be written at all ("1,234" and "1.234" are both
  ambiguous, "1,2340" is not).

The result is a Decimal built from the typed digits, never through a float.
`format_decimal_input` writes the form the parser reads back exactly.
"""

import re
from decimal import ROUND_HALF_UP, Context, Decimal

from django.core.exceptions import ValidationError

# 11 + 4 decimals = 15 significant digits, what SQLite's float returns exactly.
MAX_INTEGER_DIGITS = 11

# Characters that may group thousands instead of dots: space, no-break space,
# narrow no-break space, thin space.
_SPACES = " \u00a0\u202f\u2009"
_ALLOWED = set("0123456789.," + _SPACES)

_VI_GROUPED = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")
_EN_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_SPACE_GROUPED = re.compile(rf"([0-9]{{1,3}}(?:[{_SPACES}][0-9]{{3}})+)(?:,([0-9]+))?")
_EXPONENT = re.compile(r"[0-9.,]*[0-9][eE][+\-]?[0-9]+")

_EXAMPLE = "ví dụ 3.865,28 hoặc 3865,28"


def _error(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _quote(text: str) -> str:
    shown = text if len(text) <= 40 else text[:39] + "…"
    return f"“{shown}”"


def parse_decimal(
    text: str,
    *,
    decimal_places: int = 2,
    allow_negative: bool = False,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
) -> Decimal:
    """Read a number typed by a person; see the module docstring for the rules.

    Raises ValidationError (with a code such as "ambiguous" or "decimal_places") and a
    Vietnamese message that says what is wrong and how to write the number. The advice
    only ever suggests text that this same call accepts: `min_value` and `max_value`
    (the target's range) choose the advice for an ambiguous number and are not
    enforced here (Figure.clean refuses a value outside them, on every path).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_decimal() reads text, not {type(text).__name__}")
    shown = text.strip()
    if not shown:
        raise _error("Chưa nhập số liệu.", "empty")
    body = shown.replace("\u2212", "-")
    negative = body.startswith("-")
    if negative:
        body = body[1:]
    sign = "-" if negative else ""
    _check_characters(shown, body, negative)
    try:
        int_digits, frac_digits = _split(shown, body, sign)
    except _Ambiguous as ambiguous:
        raise _ambiguous_error(
            shown,
            sign,
            *ambiguous.args,
            decimal_places=decimal_places,
            allow_negative=allow_negative,
            bounds=(min_value, max_value),
        ) from None
    if len(int_digits) > 1 and int_digits.startswith("0"):
        fixed = sign + (int_digits.lstrip("0") or "0")
        if frac_digits:
            fixed += "," + frac_digits
        raise _error(
            f"{_quote(shown)} có chữ số 0 thừa ở đầu. Hãy gõ {fixed}.", "leading_zeros"
        )
    literal = sign + int_digits + ("." + frac_digits if frac_digits else "")
    return checked_decimal(
        Decimal(literal),
        decimal_places=decimal_places,
        allow_negative=allow_negative,
        shown=shown,
    )


def _check_characters(shown: str, body: str, negative: bool) -> None:
    strange = [ch for ch in body if ch not in _ALLOWED]
    if strange:
        if any(ch.isnumeric() for ch in strange):
            raise _error(
                f"{_quote(shown)} có chữ số lạ (chữ số toàn khổ, chữ số Ả Rập hoặc chỉ "
                "số). Hãy gõ lại bằng các chữ số 0–9 trên bàn phím.",
                "digits",
            )
        if "%" in strange:
            raise _error(
                "Chỉ nhập con số, không kèm dấu %, đơn vị tính hay chữ: ví dụ gõ 85 "
                "thay cho 85%.",
                "percent",
            )
        if _EXPONENT.fullmatch(body):
            raise _error(
                f"Không dùng cách viết số mũ như {_quote(shown)}. Hãy viết đủ các chữ "
                "số, ví dụ 1000 hoặc 1.250.000.",
                "exponent",
            )
        if shown.startswith("+"):
            raise _error(
                "Bỏ dấu “+” ở đầu: số dương viết không kèm dấu, ví dụ 5 hoặc 4,7.",
                "plus",
            )
        if "-" in strange or "\u2212" in strange:
            raise _error(
                "Dấu trừ chỉ đặt một lần, viết liền ngay trước chữ số đầu tiên, "
                "ví dụ -4,7.",
                "sign",
            )
        raise _error(
            f"{_quote(shown)} không phải là một số. Chỉ gõ các chữ số 0–9, dấu chấm "
            f"ngăn cách hàng nghìn và dấu phẩy thập phân, {_EXAMPLE}.",
            "invalid",
        )
    if negative and body[:1] in set(_SPACES):
        raise _error(
            "Dấu trừ phải viết liền ngay trước chữ số đầu tiên, ví dụ -4,7.", "sign"
        )
    if not any(ch.isdigit() for ch in body):
        raise _error(
            f"{_quote(shown)} không có chữ số nào. Hãy gõ một số, {_EXAMPLE}.",
            "invalid",
        )


def _split(shown: str, body: str, sign: str) -> tuple[str, str | None]:
    """The integer digits, and the decimal digits (None without a decimal mark)."""
    if any(ch in _SPACES for ch in body):
        match = _SPACE_GROUPED.fullmatch(body)
        if not match:
            raise _error(
                f"{_quote(shown)}: khi ngăn cách hàng nghìn bằng dấu cách, mỗi "
                "nhóm phải đủ 3 chữ số, cách nhau đúng một dấu cách, và phần thập "
                "phân đặt sau dấu phẩy, ví dụ 1 250 000 hoặc 3 865,28. Cũng có thể "
                "gõ liền: 3865,28.",
                "grouping",
            )
        return "".join(ch for ch in match[1] if ch.isdigit()), match[2]

    commas, dots = body.count(","), body.count(".")
    if (commas and dots and body.index(",") < body.rindex(".")) or commas > 1:
        if _EN_GROUPED.fullmatch(body):
            vietnamese = sign + body.translate(str.maketrans(",.", ".,"))
            raise _error(
                f"{_quote(shown)} viết theo kiểu tiếng Anh. Tiếng Việt viết "
                f"{vietnamese}: dấu chấm ngăn cách hàng nghìn, dấu phẩy trước phần "
                "thập phân.",
                "english",
            )
        if commas > 1:
            raise _error(
                f"{_quote(shown)} có nhiều dấu phẩy. Số chỉ có một dấu phẩy, đặt trước "
                f"phần thập phân, {_EXAMPLE}.",
                "invalid",
            )
        raise _error(
            f"{_quote(shown)} đặt dấu phẩy trước dấu chấm. Tiếng Việt dùng dấu chấm "
            f"ngăn cách hàng nghìn và dấu phẩy thập phân, {_EXAMPLE}.",
            "invalid",
        )

    if commas == 1:
        int_text, frac = body.split(",")
    elif dots == 1:
        int_text, frac = body.split(".")
    else:
        int_text, frac = body, None
    if int_text == "":
        raise _error(
            f"{_quote(shown)} thiếu phần nguyên trước dấu thập phân. "
            f"Hãy gõ {sign}0,{frac}.",
            "invalid",
        )
    if frac == "":
        raise _error(
            f"{_quote(shown)} thiếu chữ số sau dấu thập phân. Nếu là số nguyên, hãy "
            f"gõ {sign}{int_text} (bỏ dấu ở cuối).",
            "invalid",
        )
    if "." in int_text:
        if not _VI_GROUPED.fullmatch(int_text):
            raise _error(
                f"{_quote(shown)}: dấu chấm ngăn cách hàng nghìn phải chia phần "
                "nguyên thành từng nhóm đủ 3 chữ số, ví dụ 1.250.000 hoặc 3.865,28. "
                "Cũng có thể gõ liền không dấu chấm: 1250000.",
                "grouping",
            )
        return int_text.replace(".", ""), frac

    if (
        frac is not None
        and len(frac) == 3
        and len(int_text) <= 3
        and not int_text.startswith("0")
    ):
        raise _Ambiguous(int_text, frac)
    return int_text, frac


class _Ambiguous(Exception):
    """Raised by _split with the integer and the three digits after the mark; the
    caller knows the field's limits and writes the advice."""


def _ambiguous_error(
    shown: str,
    sign: str,
    int_text: str,
    frac: str,
    *,
    decimal_places: int,
    allow_negative: bool,
    bounds: tuple[Decimal | None, Decimal | None],
) -> ValidationError:
    """ "3.865" / "3,865": name both readings, and advise only the text of a reading
    the same field accepts, written so that it is not ambiguous itself ("3865",
    "3,8650", "15,99"), so following the advice always ends in an accepted value."""
    if sign and not allow_negative:  # both readings are negative
        return _negative_error(shown)
    whole = Decimal(sign + int_text + frac)
    decimal = Decimal(f"{sign}{int_text}.{frac}")
    low, high = bounds
    allowed = range_text(low, high)

    def refusal(value: Decimal) -> str | None:
        """Why the field refuses this reading, or None when it takes it."""
        if _significant_decimals(value) > decimal_places:
            if decimal_places == 0:
                return "số liệu này chỉ nhận số nguyên"
            return f"số liệu này chỉ nhận tối đa {decimal_places} chữ số thập phân"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"số liệu này chỉ nhận giá trị {allowed}"
        return None

    # Both readings are written ungrouped: "3.865" would be ambiguous again.
    whole_text = format_decimal_input(whole)
    decimal_text = format_decimal_input(decimal)
    typed_decimal = f"{sign}{int_text},{frac}"
    advice = [
        f"{_quote(shown)} không rõ nghĩa: có thể là số nguyên {whole_text} hoặc số "
        f"thập phân {sign}{int_text} phẩy {frac}. Hệ thống không đoán."
    ]
    whole_no, decimal_no = refusal(whole), refusal(decimal)
    if whole_no is None:
        advice.append(f"Nếu là số nguyên, hãy gõ {whole_text} (không có dấu).")
    else:
        advice.append(f"Không thể là số nguyên {whole_text}: {whole_no}.")
    if decimal_no is None:
        if decimal_text == typed_decimal + "0":
            how = "thêm một chữ số 0 ở cuối"
        else:
            how = "bỏ các chữ số 0 ở cuối"
        advice.append(f"Nếu là số thập phân, hãy gõ {decimal_text} ({how}).")
    elif _significant_decimals(decimal) > decimal_places:
        advice.append(
            f"Nếu là số thập phân {typed_decimal}: {decimal_no}; hệ thống không tự "
            "làm tròn, hãy nhập số đã làm tròn theo quy định."
        )
    else:
        advice.append(f"Không thể là số thập phân {typed_decimal}: {decimal_no}.")
    if whole_no is not None and decimal_no is not None:
        advice.append("Hãy kiểm tra lại số liệu và đơn vị tính.")
    return _error(" ".join(advice), "ambiguous")


def _significant_decimals(value: Decimal) -> int:
    if value.is_zero():
        return 0
    _, digits, exponent = value.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing_zeros)


def checked_decimal(
    value: Decimal, *, decimal_places: int, allow_negative: bool, shown: str
) -> Decimal:
    """Apply the limits every path shares to a finite Decimal, and tidy it: no sign on
    zero, no zeros past `decimal_places`, no positive exponent."""
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise _error(
            f"{_quote(shown)} quá lớn: phần nguyên chỉ được có tối đa "
            f"{MAX_INTEGER_DIGITS} chữ số. Hãy kiểm tra lại số liệu và đơn vị tính.",
            "too_large",
        )
    places = _significant_decimals(value)
    if places > decimal_places:
        if decimal_places == 0:
            limit = "chỉ nhận số nguyên, không có chữ số thập phân"
        else:
            limit = f"chỉ nhận tối đa {decimal_places} chữ số thập phân"
        # Count what the person sees: "3,8650" has 4 digits after the mark, of which
        # 3 count (a trailing 0 changes nothing).
        typed = max(0, -value.as_tuple().exponent)
        if typed > places:
            counted = (
                f"có {typed} chữ số sau dấu phẩy, trong đó {places} chữ số thập phân "
                "có nghĩa (chữ số 0 ở cuối không tính)"
            )
        else:
            counted = f"có {places} chữ số thập phân"
        raise _error(
            f"{_quote(shown)} {counted}; số liệu này {limit}. Hệ thống không tự làm "
            "tròn: hãy nhập số đã làm tròn theo quy định hoặc kiểm tra lại số liệu.",
            "decimal_places",
        )
    if value.is_zero():
        value = value.copy_abs()
    elif value < 0 and not allow_negative:
        raise _negative_error(shown)
    # Keep the typed zeros up to the limit, drop those past it. Exact: only zeros go.
    exponent = value.as_tuple().exponent
    wanted = -min(max(-exponent, 0), decimal_places)
    if exponent != wanted:
        wide = Context(prec=MAX_INTEGER_DIGITS + decimal_places + 1)
        value = value.quantize(Decimal(1).scaleb(wanted), context=wide)
    return value


def _negative_error(shown: str) -> ValidationError:
    return _error(
        f"{_quote(shown)} là số âm. Số liệu này không nhận số âm; chỉ các chỉ tiêu "
        "về tốc độ tăng hoặc mức giảm mới được âm.",
        "negative",
    )


def _fixed(value: Decimal | int) -> tuple[str, str, str]:
    """Sign, integer digits and significant decimal digits of a finite number."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"expected a Decimal or an int, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"cannot format {value}")
    text = format(value, "f")  # plain digits, never an exponent, never rounded
    sign = "-" if text.startswith("-") and not value.is_zero() else ""
    int_part, _, frac = text.lstrip("-").partition(".")
    return sign, int_part, frac.rstrip("0")


def round_to(value: Decimal, places: int) -> Decimal:
    """The value rounded half-up to `places` decimals: the one rounding of a figure to
    a target's precision."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def format_decimal(
    value: Decimal | int | None, decimal_places: int | None = None
) -> str:
    """Vietnamese display: "3.865,28", "1.250.000", "-4,7", "0"; None is "".

    Without `decimal_places`, insignificant trailing zeros go (Decimal("40.6400") is
    "40,64"). With it, the decimals are padded to that many; a value with more
    significant decimals shows them all rather than being rounded.

    For display only: "1.250" reads back as ambiguous. Pre-fill inputs and write text
    exports with `format_decimal_input`.
    """
    if value is None:
        return ""
    sign, int_part, frac = _fixed(value)
    if decimal_places is not None and len(frac) < decimal_places:
        frac = frac.ljust(decimal_places, "0")
    grouped = f"{int(int_part):,}".replace(",", ".")
    return sign + grouped + ("," + frac if frac else "")


def range_text(low: Decimal | None, high: Decimal | None) -> str:
    """A target's range in words: "từ 0 đến 100", "không nhỏ hơn 0", "không lớn hơn
    100" (at least one bound given)."""
    if low is not None and high is not None:
        return f"từ {format_decimal(low)} đến {format_decimal(high)}"
    if low is not None:
        return f"không nhỏ hơn {format_decimal(low)}"
    return f"không lớn hơn {format_decimal(high)}"


def unit_suffix(unit: str) -> str:
    """The unit as it follows a number: "%" with no space before it, " tấn"."""
    if not unit:
        return ""
    return unit if unit.startswith("%") else f" {unit}"


def format_megabytes(size: int) -> str:
    """A file size for a message: "6 MB", "1,5 MB" (to a tenth, half up)."""
    return format_decimal(round_to(Decimal(size) / (1024 * 1024), 1)) + " MB"


def too_big_text(size: int, limit: int) -> str:
    """ "Tệp nặng 7,5 MB, vượt giới hạn 6 MB"; a file just over the limit reads
    "nặng hơn 6 MB" rather than "nặng 6 MB, vượt giới hạn 6 MB"."""
    shown, allowed = format_megabytes(size), format_megabytes(limit)
    if shown == allowed:
        shown = f"hơn {shown}"
    return f"Tệp nặng {shown}, vượt giới hạn {allowed}"


def format_decimal_input(value: Decimal | int | None) -> str:
    """The form `parse_decimal` reads back to the same value: no grouping, "," as the
    decimal mark, no insignificant zeros ("3865,28", "1250000", "-4,7"); None is "".

    A value such as 1.234 would come out as "1,234", which the parser calls ambiguous,
    so it gets one trailing zero: "1,2340" (the parser drops zeros past the limit).
    """
    if value is None:
        return ""
    sign, int_part, frac = _fixed(value)
    if len(frac) == 3 and len(int_part) <= 3 and int_part != "0":
        frac += "0"
    return sign + int_part + ("," + frac if frac else "")
