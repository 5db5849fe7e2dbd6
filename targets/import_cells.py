"""The cells of an imported spreadsheet: the portal's column names, how a key typed
in a cell is compared, how a value is quoted in a message, and the widgets that read
and write each kind of cell (text, keys, whole numbers and quarters, choices by their
Vietnamese label, Có/Không, Decimals by `numbers.StrictDecimalWidget`).

Every resource of targets.resources and targets.figure_import reads its cells here,
so a file gives the same values and the same messages whatever the language."""

import unicodedata
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from import_export.fields import Field
from import_export.widgets import Widget

from .decimal_inputs import StrictDecimalWidget
from .models import QUARTER_NAMES, roman_number
from .numbers import format_decimal

RESOLUTION = "Số nghị quyết"
TARGET_CODE = "Mã chỉ tiêu"
YEAR = "Năm"
QUARTER = "Quý"
BODY_NAME = "Tên cơ quan, đơn vị"
TASK_NUMBER = "Thứ tự nhiệm vụ"
EMPTY_KEY = "Ô này không được để trống: hệ thống dùng nó để xác định dòng."


class ImportRejected(Exception):
    """A problem with the whole file (its headers, a concurrent write), shown as is."""


def key_text(value: object) -> str:
    """A key typed in a cell, compared leniently: case, spacing, Unicode form and the
    look-alike letter Ð (U+00D0, often typed for Đ) do not matter."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFC", str(value))
    text = text.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    return " ".join(text.split()).casefold()


def clean_key(value: object) -> str:
    """A key as it is stored for a new row: trimmed, single spaces, NFC."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    return " ".join(text.split())


def shown(value: object) -> str:
    """A cell's value as a message quotes it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "để trống"
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        try:
            text = format_decimal(Decimal(repr(value)))
        except (ValueError, ArithmeticError):
            text = repr(value)
    elif isinstance(value, int | Decimal):
        text = format_decimal(value) if Decimal(value).is_finite() else str(value)
    elif hasattr(value, "strftime"):
        text = value.strftime("%d/%m/%Y")
    else:
        text = str(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"giá trị “{text}”"


def same(stored: object, new: object) -> bool:
    """Equal for the import: Decimals by value, text whatever its line endings (xlsx
    cannot keep a CR, and browsers send textareas with CRLF)."""
    if isinstance(stored, str) and isinstance(new, str):
        return _lines(stored) == _lines(new)
    return stored == new


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_blank_row(row: dict) -> bool:
    return all(
        v is None or (isinstance(v, str) and not v.strip()) for v in row.values()
    )


# -- widgets ---------------------------------------------------------------------------


def is_native(kwargs: dict) -> bool:
    return bool(kwargs.get("force_native_type"))


class TextWidget(Widget):
    """Free text, kept as written; an empty cell is ""."""

    def clean(self, value, row=None, **kwargs) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if hasattr(value, "strftime"):
            return value.strftime("%d/%m/%Y")
        return str(value)

    def render(self, value, obj=None, **kwargs) -> str:
        return "" if value is None else str(value)


class KeyWidget(TextWidget):
    """A name or code: trimmed, single spaces, NFC."""

    def clean(self, value, row=None, **kwargs) -> str:
        return clean_key(value)


def read_integer(value: object, *, roman: bool = False) -> int | None:
    """A whole number from a cell: 2025, "2025", 2025.0; with `roman`, also I–IV."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("Ô này phải là một số nguyên, không phải TRUE/FALSE.")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and value == int(value):
        return int(value)
    text = str(value).strip()
    quarter = roman_number(text) if roman else None
    if quarter in QUARTER_NAMES:  # I–IV: a quarter's name
        return quarter
    if text.isascii() and text.isdigit():
        return int(text)
    hint = " (hoặc I, II, III, IV)" if roman else ""
    raise ValueError(
        f"“{text[:40]}” không phải là số nguyên. Hãy ghi một số nguyên không có "
        f"dấu chấm hay dấu phẩy, ví dụ 2025 hoặc 3{hint}."
    )


class IntegerWidget(Widget):
    """Whole numbers, read the same in every language (the library's widget is not)."""

    def __init__(self, *, roman: bool = False, default: int | None = None) -> None:
        self.roman = roman
        self.default = default
        super().__init__(coerce_to_string=True)

    def clean(self, value, row=None, **kwargs) -> int | None:
        number = read_integer(value, roman=self.roman)
        return self.default if number is None else number

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if is_native(kwargs) else str(value)


class ChoiceWidget(Widget):
    """A choice written with its Vietnamese label ("Ước thực hiện"); the label's head
    before a bracket ("Đạt" for "Đạt (≥)") and the stored code are accepted too."""

    def __init__(self, choices, *, default: str | None = None) -> None:
        self.choices = choices
        self.default = default
        self.accepted = {}
        for value, label in choices.choices:
            for name in (value, label, label.split(" (")[0]):
                self.accepted.setdefault(key_text(name), value)
        super().__init__(coerce_to_string=True)

    def clean(self, value, row=None, **kwargs) -> str | None:
        text = key_text(value)
        if not text:
            return self.default
        if text in self.accepted:
            return self.accepted[text]
        labels = ", ".join(f"“{label}”" for label in self.choices.labels)
        raise ValueError(f"“{clean_key(value)[:40]}” không hợp lệ. Hãy ghi: {labels}.")

    def render(self, value, obj=None, **kwargs) -> str:
        if value in self.choices.values:
            return str(self.choices(value).label)
        return "" if value is None else str(value)


class YesNoWidget(Widget):
    """Có / Không; an empty cell takes the default."""

    YES = {"có", "co", "x", "true", "1", "đúng"}
    NO = {"không", "khong", "false", "0", "sai"}

    def __init__(self, *, default: bool) -> None:
        self.default = default
        super().__init__(coerce_to_string=True)

    def clean(self, value, row=None, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        text = key_text(value)
        if not text:
            return self.default
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValueError(
            f"“{clean_key(value)[:40]}” không hợp lệ. Hãy ghi Có hoặc Không."
        )

    def render(self, value, obj=None, **kwargs) -> str:
        return "" if value is None else ("Có" if value else "Không")


class NumberWidget(StrictDecimalWidget):
    """`numbers.StrictDecimalWidget`, optionally required; native exports carry no
    exponent and no zeros beyond the significant ones."""

    def __init__(self, *, required: bool = False, **kwargs) -> None:
        self.required = required
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> Decimal | None:
        number = super().clean(value, row, **kwargs)
        if number is None and self.required:
            raise ValueError("Chưa nhập số liệu: ô này không được để trống.")
        return number

    def render(self, value, obj=None, **kwargs):
        if value is not None and is_native(kwargs):
            return tidy(value)
        return super().render(value, obj, **kwargs)


def tidy(value: Decimal, places: int | None = None) -> Decimal:
    """The value with its significant decimals only, or exactly `places` of them when
    that loses nothing; never an exponent."""
    value = Decimal(value)
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if places is not None and -exponent <= places:
        return value.quantize(Decimal(1).scaleb(-places))
    if exponent > 0:
        return value.quantize(Decimal(1))
    return normal


class Computed(Field):
    """A read-only column computed from the row's objects: the natural keys a row is
    found by, or context such as a target's name. Exported and previewed; on import a
    key column identifies the row and any other is ignored."""

    def __init__(self, column_name: str, getter, widget: Widget | None = None) -> None:
        super().__init__(
            column_name=column_name, widget=widget or TextWidget(), readonly=True
        )
        self.getter = getter

    def get_value(self, instance):
        try:
            return self.getter(instance)
        except (ObjectDoesNotExist, AttributeError):
            return None


def model_field(attribute: str, column: str, widget: Widget) -> Field:
    """A column that writes the model's `attribute`."""
    return Field(attribute=attribute, column_name=column, widget=widget)


def decimal_field(attribute, column, places=4, negative=True, required=False) -> Field:
    """A Decimal column, read by `NumberWidget` to the column's limits."""
    widget = NumberWidget(
        decimal_places=places, allow_negative=negative, required=required
    )
    return model_field(attribute, column, widget)
