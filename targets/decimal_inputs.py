"""Where a person's number meets Django: the form field of the entry and admin forms
and the django-import-export widget of the spreadsheet import. Both read with
targets.numbers' one parser and its rules; nothing here decides what a number is."""

import math
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from import_export.widgets import Widget

from .numbers import (
    checked_decimal,
    format_decimal,
    format_decimal_input,
    parse_decimal,
)


def invalid(message: str) -> ValidationError:
    return ValidationError(message, code="invalid")


class VietnameseDecimalField(forms.Field):
    """A form field for a figure: parses with `parse_decimal`, whatever the language.

    An empty input is None when the field is not required. `decimal_places` and
    `allow_negative` may be set after construction (from the target being edited).
    """

    widget = forms.TextInput
    default_error_messages = {"required": "Chưa nhập số liệu."}

    def __init__(
        self, *, decimal_places: int = 2, allow_negative: bool = False, **kwargs
    ) -> None:
        self.decimal_places = decimal_places
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, str]:
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        return attrs

    def to_python(self, value: object) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        # Data from a browser is text; anything else goes through the same parser.
        text = value if isinstance(value, str) else str(self.prepare_value(value))
        return parse_decimal(
            text,
            decimal_places=self.decimal_places,
            allow_negative=self.allow_negative,
        )

    def prepare_value(self, value: object) -> object:
        # Initial values are Decimals from the database; typed data stays as typed so
        # the person sees and corrects their own input.
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            if Decimal(value).is_finite():
                return format_decimal_input(value)
        return value


class StrictDecimalWidget(Widget):
    """django-import-export widget that reads cells with the same rules as the forms.

    clean() takes text (parsed by `parse_decimal`), int, Decimal, and float from xlsx
    cells (read through repr(), so 3865.28 is Decimal("3865.28"); a float carrying more
    decimals than allowed, such as a formula result 1288.4266666666667, is rejected).
    bool, NaN and infinity are rejected; an empty cell is None.

    Errors are raised as ValueError: import-export turns a ValueError into an error on
    this column and goes on checking the row's other columns, whereas a ValidationError
    would end up as a row error without the column name.

    render() gives the Decimal itself for binary formats (xlsx: a real number cell) or
    when coerce_to_string is False, and otherwise the `format_decimal_input` text, which
    is language-independent and imports back exactly. None renders as "".
    """

    def __init__(
        self,
        *,
        decimal_places: int = 2,
        allow_negative: bool = False,
        coerce_to_string: bool = True,
    ) -> None:
        self.decimal_places = decimal_places
        self.allow_negative = allow_negative
        super().__init__(coerce_to_string=coerce_to_string)

    def clean(
        self, value: object, row: dict | None = None, **kwargs: object
    ) -> Decimal | None:
        try:
            return self._clean(value)
        except ValidationError as error:
            raise ValueError(error.messages[0]) from error

    def _clean(self, value: object) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                return None
            return parse_decimal(
                value,
                decimal_places=self.decimal_places,
                allow_negative=self.allow_negative,
            )
        if isinstance(value, bool):
            raise invalid(
                "Ô này phải là một số, không phải giá trị đúng/sai (TRUE/FALSE)."
            )
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _not_finite()
            number = Decimal(repr(value))
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise _not_finite()
            number = value
        else:
            raise invalid(
                "Ô này phải chứa một số, ví dụ 3865,28; hãy kiểm tra định dạng ô."
            )
        return checked_decimal(
            number,
            decimal_places=self.decimal_places,
            allow_negative=self.allow_negative,
            shown=_shown_number(number),
        )

    def render(self, value: object, obj: object = None, **kwargs: object) -> object:
        if value is None:
            return ""
        if self.coerce_to_string and not kwargs.get("force_native_type"):
            return format_decimal_input(value)
        return value


def _not_finite() -> ValidationError:
    return invalid(
        "Ô này không chứa một con số cụ thể (có thể là lỗi công thức như #DIV/0! "
        "hoặc giá trị vô hạn). Hãy nhập số liệu."
    )


def _shown_number(number: Decimal) -> str:
    """A number from a cell, written the Vietnamese way for an error message."""
    if abs(number.adjusted()) > 400:  # a Decimal like 1E+999999 is not worth spelling
        return str(number)
    return format_decimal(number)
