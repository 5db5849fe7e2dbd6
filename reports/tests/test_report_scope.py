"""What the report says it covers: exactly the quarters whose approved figures are
in (contiguous as a span, otherwise listed one by one, or none yet), and which
report of the plan year a quarter outside that year gives."""

import datetime

from django.urls import reverse

from reports.comparison import build_report
from targets.models import Figure, ReportingPeriod, WorkflowState
from targets.progress_load import load_resolution_progress

from .builders import EveryStatusTestCase
from .helpers import text

TODAY = datetime.date(2025, 12, 5)


class ReportScopeTests(EveryStatusTestCase):
    def report(self, period):
        progress = load_resolution_progress(self.data["resolution"], period)
        return build_report(progress, TODAY)

    def page(self, quarter) -> str:
        response = self.client.get(
            reverse("reports:report"),
            {
                "nq": self.data["resolution"].pk,
                "ky": self.data["periods"][quarter].pk,
            },
        )
        self.assertEqual(response.status_code, 200)
        return text(response.text)

    def take_back(self, *quarters):
        Figure.objects.filter(
            target__indicator__resolution=self.data["resolution"],
            period__quarter__in=quarters,
        ).update(state=WorkflowState.RETURNED)

    def test_consecutive_quarters_read_as_one_span(self):
        self.assertEqual(
            self.report(self.data["periods"][3]).scope,
            "(Số liệu đã được phê duyệt quý I–III/2025)",
        )
        self.assertIn("(Số liệu đã được phê duyệt quý I–III/2025)", self.page(3))

    def test_a_quarter_with_nothing_approved_breaks_the_span(self):
        self.take_back(2)
        scope = "(Số liệu đã được phê duyệt quý I/2025, quý III/2025)"
        self.assertEqual(self.report(self.data["periods"][3]).scope, scope)
        self.assertIn(scope, self.page(3))

    def test_with_nothing_approved_the_report_says_so(self):
        self.take_back(1, 2, 3, 4)
        report = self.report(self.data["periods"][3])
        self.assertEqual(report.scope, "(Chưa có số liệu được phê duyệt)")
        self.assertEqual(report.reported, ())
        self.assertIn("(Chưa có số liệu được phê duyệt)", self.page(3))

    def test_a_quarter_before_the_plan_year_gives_its_first_report(self):
        commune = self.data["resolution"].commune
        before, after = (
            ReportingPeriod.objects.create(
                commune=commune,
                year=year,
                quarter=quarter,
                data_from=datetime.date(year, 3 * quarter - 2, 1),
                data_to=datetime.date(year, 3 * quarter, 14),
                deadline=datetime.date(year, 3 * quarter, 20),
            )
            for year, quarter in ((2024, 4), (2026, 1))
        )
        self.assertEqual(self.report(before).quarter, 1)
        self.assertEqual(self.report(after).quarter, 4)
        for quarter, period in enumerate(self.data["periods"].values(), 1):
            self.assertEqual(self.report(period).quarter, quarter)
