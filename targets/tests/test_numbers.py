"""Vietnamese numbers: one strict parser and one formatter for every path."""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import override
from hypothesis import given, settings
from hypothesis import strategies as st
from import_export import fields, resources

from targets.decimal_inputs import StrictDecimalWidget, VietnameseDecimalField
from targets.numbers import (
    MAX_INTEGER_DIGITS,
    format_decimal,
    format_decimal_input,
    parse_decimal,
)

LANGUAGES = ["vi", "en"]


@dataclass(frozen=True)
class Rejected:
    code: str
    hint: str  # a piece of the message that tells the person what to do


def case(text, expected, **options):
    if isinstance(expected, str):
        expected = Decimal(expected)
    return pytest.param(text, options, expected, id=repr(text) + repr(options or ""))


# fmt: off
CASES = [
    # Vietnamese form
    case("3.865,28", "3865.28"),
    case("85.000.000", "85000000"),
    case("1.250.000", "1250000"),
    case("1.250.000,5", "1250000.5"),
    case("1,5", "1.5"),
    case("15,99", "15.99"),
    case("15,90", "15.90"),
    case("0,8", "0.8"),
    case("85", "85"),
    case("99.999.999.999,99", "99999999999.99"),
    # plain form
    case("3865.28", "3865.28"),
    case("3865,28", "3865.28"),
    case("1234,567", "1234.567", decimal_places=3),
    case("1234.567", "1234.567", decimal_places=3),
    case("0.500", "0.500", decimal_places=3),
    case("12345678901", "12345678901"),
    # whitespace around, spaces as grouping
    case(" 3.865,28 ", "3865.28"),
    case("\u00a03.865,28\t\n", "3865.28"),
    case("3 865,28", "3865.28"),
    case("1 250 000", "1250000"),
    case("1\u00a0250\u202f000", "1250000"),
    case("12 5", Rejected("grouping", "đủ 3 chữ số")),
    case("1  250", Rejected("grouping", "một dấu cách")),
    case("1 250.5", Rejected("grouping", "sau dấu phẩy")),
    # zero and signs
    case("0", "0"),
    case("0,00", "0.00"),
    case("-0", "0"),
    case("-0,00", "0.00"),
    case("-4,7", "-4.7", allow_negative=True),
    case("−4,7", "-4.7", allow_negative=True),
    case("-1.250.000,5", "-1250000.5", allow_negative=True),
    case("-4,7", Rejected("negative", "tốc độ tăng hoặc mức giảm")),
    case("−4,7", Rejected("negative", "không nhận số âm")),
    case("+5", Rejected("plus", "ví dụ 5")),
    case("--5", Rejected("sign", "-4,7")),
    case("- 5", Rejected("sign", "viết liền")),
    case("5-", Rejected("sign", "chỉ đặt một lần")),
    case("-", Rejected("invalid", "không có chữ số")),
    # ambiguous: never guessed
    case("3.865", Rejected("ambiguous", "hãy gõ 3865")),
    case("1,500", Rejected("ambiguous", "hãy gõ 1500")),
    case("12,345", Rejected("ambiguous", "12,3450"), decimal_places=3),
    case("12,345", Rejected("ambiguous", "chỉ nhận tối đa 2 chữ số thập phân")),
    case("1,000", Rejected("ambiguous", "hãy gõ 1 (bỏ")),
    case("15,990", Rejected("ambiguous", "hãy gõ 15,99"), max_value=Decimal(100)),
    case("-3.865", Rejected("negative", "không nhận số âm")),
    case("15,990", Rejected("ambiguous", "15990")),
    case("-3.865", Rejected("ambiguous", "-3865"), allow_negative=True),
    case("3.865", Rejected("ambiguous", "không rõ nghĩa"), decimal_places=0),
    # English form
    case("1,250,000", Rejected("english", "1.250.000")),
    case("1,250.50", Rejected("english", "1.250,50")),
    case("-1,250,000.5", Rejected("english", "-1.250.000,5"), allow_negative=True),
    case("1,2.5", Rejected("invalid", "dấu phẩy thập phân")),
    # bad grouping and misplaced marks
    case("1..2", Rejected("grouping", "nhóm đủ 3 chữ số")),
    case("1,,2", Rejected("invalid", "nhiều dấu phẩy")),
    case("1.2.3", Rejected("grouping", "1.250.000")),
    case("12.34.567", Rejected("grouping", "nhóm đủ 3 chữ số")),
    case("1.2345,6", Rejected("grouping", "nhóm đủ 3 chữ số")),
    case("1.250.", Rejected("grouping", "1250000")),
    case(",5", Rejected("invalid", "gõ 0,5")),
    case(".5", Rejected("invalid", "gõ 0,5")),
    case("5,", Rejected("invalid", "gõ 5")),
    case(".", Rejected("invalid", "không có chữ số")),
    case("00012", Rejected("leading_zeros", "gõ 12")),
    case("01,5", Rejected("leading_zeros", "gõ 1,5")),
    case("0.500.000", Rejected("leading_zeros", "gõ 500000")),
    # not numbers at all
    case("", Rejected("empty", "Chưa nhập số liệu")),
    case("   ", Rejected("empty", "Chưa nhập số liệu")),
    case("1e3", Rejected("exponent", "1000")),
    case("1E3", Rejected("exponent", "số mũ")),
    case("2,5e-3", Rejected("exponent", "số mũ")),
    case("NaN", Rejected("invalid", "chữ số 0–9")),
    case("nan", Rejected("invalid", "chữ số 0–9")),
    case("inf", Rejected("invalid", "chữ số 0–9")),
    case("-Infinity", Rejected("invalid", "chữ số 0–9"), allow_negative=True),
    case("Infinity", Rejected("invalid", "không phải là một số")),
    case("1_000", Rejected("invalid", "không phải là một số")),
    case("0x1F", Rejected("invalid", "không phải là một số")),
    case("100%", Rejected("percent", "Chỉ nhập con số")),
    case("85 ha", Rejected("invalid", "không phải là một số")),
    case("٣", Rejected("digits", "0–9")),
    case("１２", Rejected("digits", "0–9")),
    case("1²", Rejected("digits", "0–9")),
    # size and decimals: an error, never a rounding
    case("123456789012", Rejected("too_large", "11 chữ số")),
    case("123.456.789.012,5", Rejected("too_large", "11 chữ số")),
    case("99999999999999,99", Rejected("too_large", "11 chữ số")),
    case("99.999.999.999,9999", "99999999999.9999", decimal_places=4),
    case("0,125", Rejected("decimal_places", "tối đa 2 chữ số thập phân")),
    case("0,125", "0.125", decimal_places=3),
    case("3865,285", Rejected("decimal_places", "không tự làm tròn")),
    case("1,5", Rejected("decimal_places", "chỉ nhận số nguyên"), decimal_places=0),
    case("1.250.000,00", "1250000", decimal_places=0),
    case("0,120", "0.12"),
    case("15,9900", "15.99"),
    case("15,9910", Rejected("decimal_places", "tối đa 2 chữ số thập phân")),
    case("3,8650", Rejected("decimal_places", "có 4 chữ số sau dấu phẩy, trong đó 3")),
    case("3,865", Rejected("ambiguous", "hãy gõ 3,8650"), decimal_places=3),
    case("1,2340", "1.234", decimal_places=3),
    case("0,00001", Rejected("decimal_places", "tối đa 4"), decimal_places=4),
]
# fmt: on


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_it_reads_numbers_the_same_in_every_language(text, options, expected, language):
    with override(language):
        if isinstance(expected, Rejected):
            with pytest.raises(ValidationError) as caught:
                parse_decimal(text, **options)
            assert caught.value.code == expected.code
            message = caught.value.messages[0]
            assert expected.hint.lower() in message.lower()
        else:
            result = parse_decimal(text, **options)
            assert result == expected
            # The typed digits, not merely an equal value: "15,90" keeps its zero.
            assert str(result) == str(expected)


def test_the_table_is_large_enough():
    assert len(CASES) >= 45


def test_it_gives_identical_messages_in_vietnamese_and_english():
    def outcome(text, options):
        try:
            return parse_decimal(text, **options)
        except ValidationError as error:
            return error.messages

    for param in CASES:
        text, options, _ = param.values
        with override("vi"):
            in_vietnamese = outcome(text, options)
        with override("en"):
            in_english = outcome(text, options)
        assert in_vietnamese == in_english


def test_every_message_is_vietnamese_with_diacritics():
    for param in CASES:
        text, options, expected = param.values
        if isinstance(expected, Rejected):
            with pytest.raises(ValidationError) as caught:
                parse_decimal(text, **options)
            message = caught.value.messages[0]
            assert any(letter in message for letter in "ăâđêôơưạảãáàếệểốộớợủứừữ"), (
                message
            )


def test_minus_zero_comes_back_without_a_sign():
    assert not parse_decimal("-0").is_signed()
    assert not parse_decimal("-0,00", decimal_places=2).is_signed()
    assert not parse_decimal("−0", allow_negative=True).is_signed()


def test_it_keeps_no_zeros_past_the_limit():
    assert parse_decimal("15,9900", decimal_places=2).as_tuple().exponent == -2
    assert parse_decimal("7,00", decimal_places=0).as_tuple().exponent == 0


def test_the_ambiguity_message_shows_both_readings():
    with pytest.raises(ValidationError) as caught:
        parse_decimal("3.865")
    message = caught.value.messages[0]
    assert "3865" in message
    assert "3 phẩy 865" in message


def test_it_refuses_anything_but_text():
    with pytest.raises(TypeError):
        parse_decimal(3865.28)


# Formatting


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Decimal("3865.28"), None, "3.865,28"),
        (Decimal("1250000"), None, "1.250.000"),
        (Decimal("85000000.0000"), None, "85.000.000"),
        (Decimal("-4.7"), None, "-4,7"),
        (Decimal("0"), None, "0"),
        (Decimal("-0.00"), None, "0"),
        (Decimal("32.0000"), None, "32"),
        (Decimal("40.6400"), None, "40,64"),
        (Decimal("0.0001"), None, "0,0001"),
        (Decimal("1E+3"), None, "1.000"),
        (Decimal("999"), None, "999"),
        (1250, None, "1.250"),
        (None, None, ""),
        (None, 2, ""),
        (Decimal("1250000"), 2, "1.250.000,00"),
        (Decimal("15.9"), 2, "15,90"),
        (Decimal("0"), 2, "0,00"),
        (Decimal("-0.5"), 0, "-0,5"),  # never rounded away
        (Decimal("3.14159"), 2, "3,14159"),
        (Decimal("3.1400"), 2, "3,14"),
    ],
)
def test_it_displays_numbers_the_vietnamese_way(value, places, expected):
    with override("en"):
        assert format_decimal(value, places) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("3865.2800"), "3865,28"),
        (Decimal("1250000"), "1250000"),
        (Decimal("-4.7"), "-4,7"),
        (Decimal("-0.0000"), "0"),
        (Decimal("1.234"), "1,2340"),
        (Decimal("0.125"), "0,125"),
        (Decimal("1234.567"), "1234,567"),
        (Decimal("1E+3"), "1000"),
        (None, ""),
    ],
)
def test_it_writes_input_text_that_reads_back_unambiguously(value, expected):
    assert format_decimal_input(value) == expected


def test_it_refuses_to_format_floats_and_nan():
    with pytest.raises(TypeError):
        format_decimal(3865.28)
    with pytest.raises(TypeError):
        format_decimal_input(True)
    with pytest.raises(ValueError):
        format_decimal(Decimal("NaN"))


# Round trips


@st.composite
def exact_decimals(draw, max_places=4):
    """A Decimal made from an integer and a scale, so it is exact, with its places."""
    places = draw(st.integers(min_value=0, max_value=max_places))
    limit = 10 ** (MAX_INTEGER_DIGITS + places) - 1
    unscaled = draw(
        st.one_of(
            st.integers(min_value=-(10**7), max_value=10**7),
            st.integers(min_value=-limit, max_value=limit),
        )
    )
    return Decimal(unscaled).scaleb(-places), places


@settings(max_examples=1500)
@given(exact_decimals())
def test_input_text_reads_back_to_the_same_number(value_and_places):
    value, places = value_and_places
    text = format_decimal_input(value)
    with override("en"):
        parsed = parse_decimal(text, decimal_places=places, allow_negative=True)
    assert parsed == value
    assert parsed.as_tuple().exponent >= -places


@settings(max_examples=1500)
@given(exact_decimals(), st.sampled_from([None, 0, 1, 2, 3, 4]))
def test_displayed_text_never_reads_back_as_another_number(value_and_places, shown):
    value, places = value_and_places
    text = format_decimal(value, shown)
    try:
        parsed = parse_decimal(text, decimal_places=places, allow_negative=True)
    except ValidationError as error:
        assert error.code == "ambiguous", (text, error.messages)
    else:
        assert parsed == value


@settings(max_examples=1500)
@given(exact_decimals(max_places=2))
def test_display_with_two_decimals_always_reads_back(value_and_places):
    value, _ = value_and_places
    text = format_decimal(value, 2)
    assert parse_decimal(text, decimal_places=2, allow_negative=True) == value


@settings(max_examples=1500)
@given(st.text(alphabet="0123456789.,- \u00a0", max_size=20))
def test_any_text_is_either_refused_or_read_exactly(text):
    try:
        parsed = parse_decimal(text, decimal_places=4, allow_negative=True)
    except ValidationError as error:
        assert error.messages[0]
    else:
        assert (
            parse_decimal(
                format_decimal_input(parsed), decimal_places=4, allow_negative=True
            )
            == parsed
        )


# The form field


class FigureForm(forms.Form):
    value = VietnameseDecimalField(decimal_places=2)
    baseline = VietnameseDecimalField(required=False, allow_negative=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_form_reads_vietnamese_and_plain_numbers(language):
    with override(language):
        form = FigureForm(data={"value": "3.865,28", "baseline": "-4,7"})
        assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "value": Decimal("3865.28"),
        "baseline": Decimal("-4.7"),
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_form_explains_an_ambiguous_number_in_vietnamese(language):
    with override(language):
        form = FigureForm(data={"value": "3.865", "baseline": ""})
        assert not form.is_valid()
        assert "không rõ nghĩa" in form.errors["value"][0]
        # The person sees what they typed, to correct it.
        assert form["value"].value() == "3.865"


@pytest.mark.parametrize("language", LANGUAGES)
def test_form_asks_for_a_required_number_in_vietnamese(language):
    with override(language):
        form = FigureForm(data={"value": "  ", "baseline": ""})
        assert not form.is_valid()
        assert form.errors["value"] == ["Chưa nhập số liệu."]


def test_form_leaves_an_optional_number_empty():
    form = FigureForm(data={"value": "85", "baseline": ""})
    assert form.is_valid()
    assert form.cleaned_data["baseline"] is None


def test_form_refuses_a_negative_where_none_is_allowed():
    form = FigureForm(data={"value": "-1", "baseline": ""})
    assert not form.is_valid()
    assert "không nhận số âm" in form.errors["value"][0]


def test_form_refuses_more_decimals_than_the_target_holds():
    form = FigureForm(data={"value": "1,5", "baseline": ""})
    form.fields["value"].decimal_places = 0
    assert not form.is_valid()
    assert "chỉ nhận số nguyên" in form.errors["value"][0]


def test_form_input_asks_phones_for_a_decimal_keyboard():
    html = str(FigureForm()["value"])
    assert 'type="text"' in html
    assert 'inputmode="decimal"' in html
    assert 'autocomplete="off"' in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_form_prefilled_from_the_database_round_trips(language):
    initial = {"value": Decimal("3865.2800"), "baseline": Decimal("1.2340")}
    with override(language):
        shown = FigureForm(initial=initial)
        assert 'value="3865,28"' in str(shown["value"])
        data = {name: shown[name].value() for name in ("value", "baseline")}
        assert data == {"value": "3865,28", "baseline": "1,2340"}
        form = FigureForm(data=data, initial=initial)
        form.fields["baseline"].decimal_places = 3
        assert form.is_valid(), form.errors
        assert not form.has_changed()
    assert form.cleaned_data == {
        "value": Decimal("3865.28"),
        "baseline": Decimal("1.234"),
    }


# The import widget


def test_widget_reads_text_strictly_whatever_the_language():
    widget = StrictDecimalWidget()
    with override("en"):
        assert widget.clean("3.865,28") == Decimal("3865.28")
    with override("vi"):
        assert widget.clean("3865.28") == Decimal("3865.28")
        with pytest.raises(ValueError, match="không rõ nghĩa"):
            widget.clean("3.865")


def test_widget_reads_whole_numbers_exactly():
    assert StrictDecimalWidget().clean(1250000) == Decimal("1250000")
    assert StrictDecimalWidget().clean(12345678901) == Decimal("12345678901")


def test_widget_reads_a_float_cell_by_its_shortest_form():
    result = StrictDecimalWidget().clean(3865.28)
    assert result == Decimal("3865.28")
    assert str(result) == "3865.28"
    assert StrictDecimalWidget(decimal_places=4).clean(0.0001) == Decimal("0.0001")
    assert StrictDecimalWidget().clean(100.0) == Decimal("100")


def test_widget_reads_a_decimal_and_drops_zeros_past_the_limit():
    result = StrictDecimalWidget().clean(Decimal("15.9900"))
    assert str(result) == "15.99"


def test_widget_treats_empty_cells_as_none():
    widget = StrictDecimalWidget()
    assert widget.clean(None) is None
    assert widget.clean("") is None
    assert widget.clean("   ") is None


def test_widget_refuses_true_and_false():
    with pytest.raises(ValueError, match="đúng/sai"):
        StrictDecimalWidget().clean(True)
    with pytest.raises(ValueError, match="đúng/sai"):
        StrictDecimalWidget().clean(False)


def test_widget_refuses_a_float_with_too_many_decimals():
    with pytest.raises(ValueError, match="tối đa 2 chữ số thập phân"):
        StrictDecimalWidget().clean(0.1 + 0.2)
    with pytest.raises(ValueError, match="không tự làm tròn"):
        StrictDecimalWidget().clean(1288.4266666666667)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), Decimal("NaN")]
)
def test_widget_refuses_cells_that_are_not_a_number(value):
    with pytest.raises(ValueError, match="con số cụ thể"):
        StrictDecimalWidget(allow_negative=True).clean(value)


def test_widget_refuses_other_cell_types():
    with pytest.raises(ValueError, match="phải chứa một số"):
        StrictDecimalWidget().clean(datetime.date(2025, 3, 14))


def test_widget_applies_the_sign_and_size_limits():
    with pytest.raises(ValueError, match="không nhận số âm"):
        StrictDecimalWidget().clean(-4.7)
    assert StrictDecimalWidget(allow_negative=True).clean(-4.7) == Decimal("-4.7")
    assert not StrictDecimalWidget().clean(-0.0).is_signed()
    with pytest.raises(ValueError, match="11 chữ số"):
        StrictDecimalWidget().clean(1e12)


def test_widget_renders_a_number_cell_for_xlsx_and_text_otherwise():
    widget = StrictDecimalWidget()
    value = Decimal("3865.2800")
    assert widget.render(value) == "3865,28"
    assert widget.render(Decimal("1.2340")) == "1,2340"
    assert widget.render(value, force_native_type=True) is value
    assert StrictDecimalWidget(coerce_to_string=False).render(value) is value
    assert widget.render(None) == ""
    assert widget.render(None, force_native_type=True) == ""


def test_widget_text_output_imports_back_exactly():
    widget = StrictDecimalWidget(decimal_places=4, allow_negative=True)
    for value in [Decimal("1.5000"), Decimal("-1250000.0000"), Decimal("1.2340")]:
        assert widget.clean(widget.render(value)) == value


class ValueResource(resources.Resource):
    value = fields.Field(
        attribute="value", column_name="Số liệu", widget=StrictDecimalWidget()
    )
    baseline = fields.Field(
        attribute="baseline", column_name="Điểm xuất phát", widget=StrictDecimalWidget()
    )


def test_an_import_row_reports_each_bad_column_by_name():
    row = {"Số liệu": "3.865", "Điểm xuất phát": True}
    with pytest.raises(ValidationError) as caught:
        ValueResource().import_instance(SimpleNamespace(), row)
    errors = caught.value.message_dict
    assert "không rõ nghĩa" in errors["value"][0]
    assert "đúng/sai" in errors["baseline"][0]


def test_an_import_row_reads_good_cells():
    instance = SimpleNamespace()
    ValueResource().import_instance(
        instance, {"Số liệu": 3865.28, "Điểm xuất phát": "1.250.000"}
    )
    assert instance.value == Decimal("3865.28")
    assert instance.baseline == Decimal("1250000")


# The advice never loops: whatever the field, each text an ambiguous message tells the
# person to type ("hãy gõ …") is accepted by the same field.

ADVICE = re.compile(r"hãy gõ (\S+?)(?=[ .;,)]*(?:\s|$))")


def _advised(message):
    return [m.rstrip(".") for m in ADVICE.findall(message)]


@settings(max_examples=600)
@given(
    st.integers(min_value=1, max_value=999),
    st.integers(min_value=0, max_value=999),
    st.sampled_from([".", ","]),
    st.booleans(),
    st.integers(min_value=0, max_value=4),
    st.sampled_from([(None, None), (Decimal(0), Decimal(100)), (Decimal(0), None)]),
)
def test_every_advised_text_is_accepted_by_the_same_field(
    int_part, frac, mark, negative, places, bounds
):
    text = ("-" if negative else "") + f"{int_part}{mark}{frac:03d}"
    options = {
        "decimal_places": places,
        "allow_negative": True,
        "min_value": None if negative else bounds[0],
        "max_value": bounds[1],
    }
    with pytest.raises(ValidationError) as caught:
        parse_decimal(text, **options)
    assert caught.value.code == "ambiguous"
    for advised in _advised(caught.value.messages[0]):
        value = parse_decimal(advised, **options)
        low, high = options["min_value"], options["max_value"]
        assert low is None or value >= low, (text, advised)
        assert high is None or value <= high, (text, advised)


def test_the_guides_example_3_865_leads_to_an_accepted_value():
    """The loop of issue #14: "3,865" was refused, the advice said "3,8650", which was
    refused again for its decimals. Each suggestion now parses."""
    with pytest.raises(ValidationError) as caught:
        parse_decimal("3,865", decimal_places=2)
    message = caught.value.messages[0]
    assert "3,8650" not in message
    assert _advised(message) == ["3865"]
    assert parse_decimal("3865", decimal_places=2) == Decimal("3865")
    with pytest.raises(ValidationError) as caught:
        parse_decimal("3,865", decimal_places=3)
    assert _advised(caught.value.messages[0]) == ["3865", "3,8650"]
    assert parse_decimal("3,8650", decimal_places=3) == Decimal("3.865")


def test_a_person_typing_1_250_is_still_refused_as_ambiguous():
    for places in (0, 2, 4):
        with pytest.raises(ValidationError) as caught:
            parse_decimal("1.250", decimal_places=places)
        assert caught.value.code == "ambiguous"
