"""The one place of each idea the domain writes once: Roman numerals, the periods up
to a quarter, the stamp of a workflow change, rounding to a target's decimals, a
target's range in words, its lead body, its percent of plan; and the rules a
database constraint says, in Vietnamese, through full_clean."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.test import SimpleTestCase, TestCase

from targets.models import (
    QUARTER_NAMES,
    ROMAN_NUMERALS,
    Area,
    Assignment,
    BodyKind,
    Combine,
    Comparison,
    ExpectedPath,
    Figure,
    Indicator,
    ReportingPeriod,
    ResponsibleBody,
    Role,
    Target,
    TaskUpdate,
    decree_09_window,
    lead_body,
    periods_up_to,
    roman_number,
)
from targets.numbers import range_text, round_to
from targets.reading import TargetSpec, plan_percent
from targets.tests.builders import Y, build_commune

D = Decimal


def a_commune() -> tuple:
    """A commune with its four 2025 quarters and one indicator: (periods, indicator)."""
    resolution, periods = build_commune(
        "Thử", number="1/NQ-HĐND", title="Thử", council="HĐND xã Thử", session="1"
    )
    indicator = Indicator.objects.create(
        resolution=resolution, number=1, area=Area.ECONOMY, text="x"
    )
    return periods, indicator


def a_target(indicator, **kwargs) -> Target:
    """An unsaved target of the indicator: at least 100 tấn, summed, over 2025."""
    values = dict(
        indicator=indicator,
        code="1a",
        name="Thử",
        unit="tấn",
        target_value=D("100"),
        comparison=Comparison.AT_LEAST,
        combine=Combine.SUM,
        path=ExpectedPath.FROM_START,
        window_start_year=Y,
        window_end_year=Y,
        clause="x",
    )
    return Target(**{**values, **kwargs})


class RomanNumeralTests(SimpleTestCase):
    def test_quarters_are_named_by_the_first_four_numerals(self):
        self.assertEqual(QUARTER_NAMES, {1: "I", 2: "II", 3: "III", 4: "IV"})
        self.assertEqual(ROMAN_NUMERALS[4:], ("V", "VI"))

    def test_a_numeral_reads_back_in_any_case_and_spacing(self):
        self.assertEqual(roman_number("iv"), 4)
        self.assertEqual(roman_number(" VI "), 6)
        self.assertEqual(roman_number("I"), 1)

    def test_what_is_not_a_numeral_of_the_resolution_is_none(self):
        for text in ("VII", "", "IIII", "4", "quý I"):
            with self.subTest(text=text):
                self.assertIsNone(roman_number(text))


class RoundingTests(SimpleTestCase):
    def test_half_goes_up_away_from_zero(self):
        self.assertEqual(round_to(D("0.005"), 2), D("0.01"))
        self.assertEqual(round_to(D("-0.005"), 2), D("-0.01"))
        self.assertEqual(round_to(D("2.5"), 0), D("3"))
        self.assertEqual(round_to(D("-2.5"), 0), D("-3"))

    def test_below_half_goes_down_and_the_result_has_exactly_the_places(self):
        self.assertEqual(round_to(D("3644.21466"), 2), D("3644.21"))
        self.assertEqual(str(round_to(D("7"), 2)), "7.00")
        self.assertEqual(str(round_to(D("0.00004999"), 4)), "0.0000")

    def test_an_int_is_rounded_as_a_decimal(self):
        self.assertEqual(round_to(5, 1), D("5.0"))


class RangeTextTests(SimpleTestCase):
    def test_a_range_is_written_with_the_bounds_it_has(self):
        self.assertEqual(range_text(D("0"), D("100")), "từ 0 đến 100")
        self.assertEqual(range_text(D("0.5"), None), "không nhỏ hơn 0,5")
        self.assertEqual(range_text(None, D("1250000")), "không lớn hơn 1.250.000")


def spec(comparison, target_value):
    return TargetSpec(
        code="1a",
        comparison=comparison,
        combine=Combine.LATEST,
        path=ExpectedPath.FROM_START,
        target_value=D(target_value),
        window=((Y, 1),),
    )


class PlanPercentTests(SimpleTestCase):
    def test_at_least_and_above_targets_have_a_percent_of_plan(self):
        self.assertEqual(plan_percent(spec(Comparison.AT_LEAST, "200"), D("50")), 25)
        self.assertEqual(plan_percent(spec(Comparison.ABOVE, "3"), D("1")), D("33.33"))
        self.assertEqual(
            plan_percent(spec(Comparison.AT_LEAST, "3"), D("2")), D("66.67")
        )

    def test_at_most_maintain_and_a_zero_plan_have_none(self):
        self.assertIsNone(plan_percent(spec(Comparison.AT_MOST, "15"), D("10")))
        self.assertIsNone(plan_percent(spec(Comparison.MAINTAIN, "100"), D("100")))
        self.assertIsNone(plan_percent(spec(Comparison.AT_LEAST, "0"), D("10")))


class StampTests(SimpleTestCase):
    def test_a_new_row_keeps_version_one_and_records_who_and_why(self):
        user = User(username="kinhte")
        figure = Figure()
        figure.stamp(user, "Trang nhập số liệu")
        self.assertEqual(figure.version, 1)
        self.assertIs(figure.updated_by, user)
        self.assertEqual(figure._change_reason, "Trang nhập số liệu")

    def test_a_saved_row_moves_to_the_next_version(self):
        update = TaskUpdate(pk=7, version=3)
        update.stamp(None, "API")
        self.assertEqual(update.version, 4)
        self.assertIsNone(update.updated_by)
        self.assertEqual(update._change_reason, "API")


class LeadBodyTests(SimpleTestCase):
    def test_the_lead_is_the_body_whose_role_is_lead(self):
        office = ResponsibleBody(name="Phòng Kinh tế")
        front = ResponsibleBody(name="Mặt trận Tổ quốc")
        assignments = [
            Assignment(body=front, role=Role.SUPPORTING),
            Assignment(body=office, role=Role.LEAD),
            Assignment(body=front, role=Role.SUPERVISING),
        ]
        self.assertIs(lead_body(assignments), office)

    def test_no_lead_is_none(self):
        front = ResponsibleBody(name="Mặt trận Tổ quốc")
        self.assertIsNone(lead_body([Assignment(body=front, role=Role.SUPPORTING)]))
        self.assertIsNone(lead_body([]))


class PeriodsUpToTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.periods, indicator = a_commune()
        cls.commune = indicator.resolution.commune
        for year, quarter in ((Y - 1, 4), (Y + 1, 1)):
            data_from, data_to = decree_09_window(year, quarter)
            ReportingPeriod.objects.create(
                commune=cls.commune,
                year=year,
                quarter=quarter,
                data_from=data_from,
                data_to=data_to,
                deadline=data_to,
            )
        cls.target = a_target(indicator)
        cls.target.save()
        for quarter in (1, 2, 3):
            Figure.objects.create(
                target=cls.target, period=cls.periods[quarter], value=D(quarter)
            )

    def keys(self, q):
        return sorted(ReportingPeriod.objects.filter(q).values_list("year", "quarter"))

    def test_up_to_a_quarter_takes_the_years_before_and_the_quarters_up_to_it(self):
        self.assertEqual(self.keys(periods_up_to(Y, 2)), [(Y - 1, 4), (Y, 1), (Y, 2)])

    def test_before_a_quarter_leaves_the_quarter_out(self):
        self.assertEqual(
            self.keys(periods_up_to(Y, 2, before=True)), [(Y - 1, 4), (Y, 1)]
        )
        self.assertEqual(self.keys(periods_up_to(Y, 1, before=True)), [(Y - 1, 4)])

    def test_the_first_quarter_of_a_year_reaches_back_over_the_new_year(self):
        self.assertEqual(len(self.keys(periods_up_to(Y + 1, 1))), 6)

    def test_a_prefix_reaches_the_periods_through_a_relation(self):
        values = Figure.objects.filter(
            periods_up_to(Y, 2, prefix="period__")
        ).values_list("value", flat=True)
        self.assertEqual(sorted(values), [D(1), D(2)])


class ConstraintMessageTests(TestCase):
    """A rule a named constraint says is not said again in clean(): full_clean gives
    the constraint's own Vietnamese message."""

    @classmethod
    def setUpTestData(cls):
        cls.periods, cls.indicator = a_commune()
        cls.commune = cls.indicator.resolution.commune
        cls.body = ResponsibleBody.objects.create(
            commune=cls.commune, name="Phòng Kinh tế", kind=BodyKind.OFFICE
        )

    def target(self, **kwargs):
        return a_target(self.indicator, **kwargs)

    def refusal(self, instance) -> list[str]:
        with self.assertRaises(ValidationError) as caught:
            instance.full_clean()
        return caught.exception.message_dict.get(NON_FIELD_ERRORS, [])

    def test_a_negative_plan_where_negatives_are_not_allowed(self):
        self.assertEqual(
            self.refusal(self.target(target_value=D("-1"))),
            ["Chỉ tiêu này không nhận số âm."],
        )
        self.target(target_value=D("-1"), allows_negative=True).full_clean()

    def test_a_window_that_ends_before_it_starts(self):
        self.assertEqual(
            self.refusal(self.target(window_start_quarter=3, window_end_quarter=2)),
            ["Kỳ cuối của khoảng đánh giá không được trước kỳ đầu."],
        )

    def test_a_quarter_out_of_range_is_said_once_on_the_field(self):
        with self.assertRaises(ValidationError) as caught:
            self.target(window_start_quarter=5).full_clean()
        self.assertEqual(
            caught.exception.message_dict,
            {"window_start_quarter": ["Quý phải từ 1 đến 4."]},
        )

    def period(self, **kwargs):
        values = dict(
            commune=self.commune,
            year=Y + 1,
            quarter=1,
            data_from=datetime.date(Y, 12, 15),
            data_to=datetime.date(Y + 1, 3, 14),
            deadline=datetime.date(Y + 1, 4, 3),
        )
        return ReportingPeriod(**{**values, **kwargs})

    def test_a_fifth_quarter(self):
        self.assertEqual(self.refusal(self.period(quarter=5)), ["Quý phải từ 1 đến 4."])

    def test_a_deadline_before_the_data_window_starts(self):
        self.assertEqual(
            self.refusal(self.period(deadline=datetime.date(Y, 12, 1))),
            ["Hạn nhập số liệu không được trước ngày bắt đầu kỳ."],
        )

    def test_a_data_window_that_ends_before_it_starts_is_said_on_its_end(self):
        with self.assertRaises(ValidationError) as caught:
            self.period(data_to=datetime.date(Y, 12, 1)).full_clean()
        self.assertIn(
            "Ngày kết thúc số liệu phải sau ngày bắt đầu.",
            caught.exception.message_dict["data_to"],
        )

    def test_an_assignment_to_both_or_neither_a_target_and_a_task(self):
        target = self.target()
        target.save()
        message = "Phân công phải gắn với đúng một chỉ tiêu cụ thể hoặc một nhiệm vụ."
        neither = Assignment(body=self.body, role=Role.LEAD)
        self.assertEqual(self.refusal(neither), [message])
        Assignment(body=self.body, role=Role.LEAD, target=target).full_clean()
