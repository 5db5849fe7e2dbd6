"""Rules hold in the database itself, when forms and clean() are bypassed."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import TestCase

from targets.models import (
    Assessment,
    Assignment,
    Commune,
    Figure,
    Indicator,
    ReportingPeriod,
    ResponsibleBody,
    Target,
)

from .builders import add_resolution


def make_target(resolution, code="1", **kwargs):
    indicator, _ = Indicator.objects.get_or_create(
        resolution=resolution,
        number=int(code[0]),
        defaults={"area": "economy", "text": "x"},
    )
    values = dict(
        indicator=indicator,
        code=code,
        name="Chỉ tiêu thử",
        unit="tấn",
        target_value=Decimal("100"),
        comparison="at_least",
        combine="sum",
        path="from_start",
        window_start_year=2025,
        window_end_year=2025,
        clause="đạt 100 tấn",
    )
    values.update(kwargs)
    return Target.objects.create(**values)


def make_period(commune, quarter=1, **kwargs):
    if 1 <= quarter <= 4:
        kwargs.setdefault("data_from", datetime.date(2025, 3 * quarter - 2, 1))
        kwargs.setdefault("data_to", datetime.date(2025, 3 * quarter, 14))
        kwargs.setdefault("deadline", datetime.date(2025, 3 * quarter, 20))
    kwargs.setdefault("year", 2025)
    return ReportingPeriod.objects.create(commune=commune, quarter=quarter, **kwargs)


class ConstraintTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.commune = Commune.objects.create(name="Thử", province="Lai Châu")
        cls.resolution = add_resolution(cls.commune, number="1/NQ-HĐND", title="Thử")
        cls.target = make_target(cls.resolution)
        cls.period = make_period(cls.commune)

    def assertRefused(self, fn):
        with self.assertRaises(IntegrityError), transaction.atomic():
            fn()

    def test_it_refuses_a_second_figure_for_the_same_target_and_period(self):
        Figure.objects.create(
            target=self.target, period=self.period, value=Decimal("1")
        )
        self.assertRefused(
            lambda: Figure.objects.create(
                target=self.target, period=self.period, value=Decimal("2")
            )
        )

    def test_bulk_create_cannot_slip_a_duplicate_figure_past_the_database(self):
        Figure.objects.create(
            target=self.target, period=self.period, value=Decimal("1")
        )
        self.assertRefused(
            lambda: Figure.objects.bulk_create(
                [Figure(target=self.target, period=self.period, value=Decimal("2"))]
            )
        )

    def test_it_refuses_a_fifth_quarter(self):
        self.assertRefused(
            lambda: make_period(
                self.commune,
                quarter=5,
                data_from=datetime.date(2025, 12, 15),
                data_to=datetime.date(2026, 3, 14),
                deadline=datetime.date(2026, 3, 20),
            )
        )

    def test_it_refuses_a_deadline_before_the_period_starts(self):
        self.assertRefused(
            lambda: make_period(
                self.commune, quarter=2, deadline=datetime.date(2025, 3, 1)
            )
        )

    def test_it_refuses_a_raw_update_to_a_deadline_before_the_period_starts(self):
        self.assertRefused(
            lambda: ReportingPeriod.objects.filter(pk=self.period.pk).update(
                deadline=datetime.date(2024, 1, 1)
            )
        )

    def test_it_refuses_a_second_period_for_the_same_quarter(self):
        self.assertRefused(lambda: make_period(self.commune, quarter=1))

    def test_it_refuses_an_unknown_comparison(self):
        self.assertRefused(
            lambda: Target.objects.filter(pk=self.target.pk).update(comparison="more")
        )

    def test_it_refuses_a_window_that_ends_before_it_starts(self):
        self.assertRefused(
            lambda: Target.objects.filter(pk=self.target.pk).update(
                window_start_quarter=3, window_end_quarter=2
            )
        )

    def test_it_refuses_a_negative_target_value_unless_negatives_are_allowed(self):
        self.assertRefused(
            lambda: Target.objects.filter(pk=self.target.pk).update(
                target_value=Decimal("-1")
            )
        )
        Target.objects.filter(pk=self.target.pk).update(
            target_value=Decimal("-1"), allows_negative=True
        )

    def test_it_refuses_a_partial_seasonal_profile(self):
        self.assertRefused(
            lambda: Target.objects.filter(pk=self.target.pk).update(
                profile_q1=Decimal("50")
            )
        )

    def test_an_assignment_names_exactly_one_target_or_task(self):
        body = ResponsibleBody.objects.create(
            commune=self.commune, name="Phòng Kinh tế", kind="office"
        )
        self.assertRefused(lambda: Assignment.objects.create(body=body, role="lead"))

    def test_a_target_has_at_most_one_lead_body(self):
        a = ResponsibleBody.objects.create(
            commune=self.commune, name="A", kind="office"
        )
        b = ResponsibleBody.objects.create(
            commune=self.commune, name="B", kind="office"
        )
        Assignment.objects.create(body=a, target=self.target, role="lead")
        self.assertRefused(
            lambda: Assignment.objects.create(body=b, target=self.target, role="lead")
        )

    def test_an_override_needs_a_reason(self):
        self.assertRefused(
            lambda: Assessment.objects.create(
                target=self.target, period=self.period, verdict="met", reason=""
            )
        )

    def test_clean_rejects_more_decimals_than_the_target_holds(self):
        figure = Figure(target=self.target, period=self.period, value=Decimal("1.234"))
        with self.assertRaises(ValidationError) as caught:
            figure.full_clean()
        self.assertIn("chữ số thập phân", str(caught.exception))

    def test_clean_rejects_a_negative_figure_for_an_ordinary_target(self):
        figure = Figure(target=self.target, period=self.period, value=Decimal("-1"))
        with self.assertRaises(ValidationError) as caught:
            figure.full_clean()
        self.assertIn("không nhận số âm", str(caught.exception))

    def test_clean_rejects_a_period_outside_the_target_window(self):
        narrow = make_target(self.resolution, code="1b", window_start_quarter=3)
        figure = Figure(target=narrow, period=self.period, value=Decimal("1"))
        with self.assertRaises(ValidationError) as caught:
            figure.full_clean()
        self.assertIn("nằm ngoài khoảng đánh giá", str(caught.exception))

    def test_clean_rejects_a_period_of_another_commune(self):
        other = Commune.objects.create(name="Khác", province="Lai Châu")
        figure = Figure(
            target=self.target, period=make_period(other), value=Decimal("1")
        )
        with self.assertRaises(ValidationError):
            figure.full_clean()
