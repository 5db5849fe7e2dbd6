"""Once a quarter is closed, the dashboard and the report (HTML, xlsx, PDF) name the
targets it was closed without (issue 14, item 7), each with its code, name and lead
body: the list closing it warned about (targets.reminders.missing_figures), read by
the pages from the progress rows they already have (reporting.missing_at_close), so
no query is added and the dashboard's kept drawing never hides a change to it."""

import datetime
import io
import re
import shutil
from decimal import Decimal
from html import unescape

import openpyxl
from django.urls import reverse
from django.utils import timezone

from reports.comparison import build_report
from reports.reporting import lead_name, missing_at_close
from targets.models import (
    Area,
    Assignment,
    Figure,
    Indicator,
    PeriodState,
    ReportingPeriod,
    ResponsibleBody,
    Target,
    WorkflowState,
)
from targets.progress_load import load_resolution_progress
from targets.reminders import missing_figures
from targets.tests.builders import add_resolution, add_target

from .builders import DemoTestCase, build_every_status
from .helpers import text
from .test_one_judgement import pdf_text

DASHBOARD = reverse("reports:dashboard")


def listed(html: str) -> dict[int, str]:
    """{target id: the line's text} of the dashboard's missing-figures list."""
    section = re.search(
        r'<section class="card card-body mb-3 closed-missing"(.*?)</section>',
        html,
        re.S,
    )
    if section is None:
        return {}
    return {
        int(pk): text(body)
        for pk, body in re.findall(
            r'<li data-target="(\d+)">(.*?)</li>', section.group(1), re.S
        )
    }


class MissingFiguresTests(DemoTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # A second resolution of the same commune, with no figure: its target is
        # missing from the quarter, but not from this resolution's pages.
        other = add_resolution(
            cls.resolution.commune,
            number="20/NQ-HĐND",
            title="Về một kế hoạch khác năm 2025",
            session="Kỳ họp thứ ba",
        )
        indicator = Indicator.objects.create(
            resolution=other, number=1, area=Area.ECONOMY, text="Chỉ tiêu khác."
        )
        cls.elsewhere = add_target(
            indicator,
            "1",
            name="Chỉ tiêu của nghị quyết khác",
            target_value=Decimal(10),
        )

    def get(self, name, quarter):
        response = self.client.get(
            reverse(name), {"nq": self.resolution.pk, "ky": self.periods[quarter].pk}
        )
        self.assertEqual(response.status_code, 200, name)
        return response

    def expected(self, quarter) -> list:
        ours = set(
            Target.objects.filter(indicator__resolution=self.resolution).values_list(
                "pk", flat=True
            )
        )
        return [
            m for m in missing_figures(self.periods[quarter]) if m.target_id in ours
        ]

    def test_the_demo_closed_quarter_iii_without_figures_the_dashboard_names(self):
        q3 = self.periods[3]
        self.assertEqual(q3.state, PeriodState.CLOSED)
        expected = self.expected(3)
        self.assertTrue(expected)
        page = self.get("reports:dashboard", 3).text
        self.assertIn(
            f"Quý III/2025 đã khóa sổ, còn {len(expected)} chỉ tiêu chưa có số liệu "
            "được phê duyệt",
            text(page),
        )
        lines = listed(page)
        self.assertEqual(list(lines), [m.target_id for m in expected])
        every = [m.target_id for m in missing_figures(q3)]
        self.assertIn(self.elsewhere.pk, every)
        self.assertNotIn(self.elsewhere.pk, lines)
        for m in expected:
            target = Target.objects.get(pk=m.target_id)
            self.assertEqual(
                lines[m.target_id],
                f"{target.code} {target.name} – chủ trì: {m.lead_name}",
            )
            link = reverse("reports:target", args=[m.target_id]) + f"?ky={q3.pk}"
            self.assertIn(f'href="{link}"', page)

    def test_an_open_quarter_names_nothing(self):
        self.assertEqual(self.periods[4].state, PeriodState.OPEN)
        page = self.get("reports:dashboard", 4).text
        report = self.get("reports:report", 4).text
        self.assertEqual(listed(page), {})
        self.assertNotIn("closed-missing", page)
        self.assertNotIn("Chưa có số liệu được phê duyệt", text(report))

    def test_the_list_is_the_one_closing_the_quarter_warned_about(self):
        # The pages read the list from the one judgement (reporting.missing_at_close);
        # targets.reminders.missing_figures is what closing warned about. Every
        # quarter closed, in the demo and in a resolution where a target has no
        # figure at all and another no lead.
        data = build_every_status()
        Assignment.objects.filter(target=data["targets"]["3a"], role="lead").delete()
        ReportingPeriod.objects.update(state=PeriodState.CLOSED)
        for resolution in (self.resolution, data["resolution"]):
            periods = ReportingPeriod.objects.filter(
                commune=resolution.commune, year=2025
            )
            ours = set(
                Target.objects.filter(indicator__resolution=resolution).values_list(
                    "pk", flat=True
                )
            )
            for period in periods:
                with self.subTest(resolution=resolution.number, period=str(period)):
                    warned = [
                        (m.target_id, m.lead_name)
                        for m in missing_figures(period)
                        if m.target_id in ours
                    ]
                    progress = load_resolution_progress(resolution, period)
                    shown = [
                        (i.target.pk, lead_name(i)) for i in missing_at_close(progress)
                    ]
                    self.assertEqual(shown, warned)
                    report = build_report(progress, datetime.date(2026, 1, 5))
                    self.assertEqual(
                        [i.target.pk for i in report.missing], [pk for pk, _ in warned]
                    )
        # 3a has no figure at all and, here, no lead.
        q4 = ReportingPeriod.objects.get(pk=data["periods"][4].pk)
        progress = load_resolution_progress(data["resolution"], q4)
        self.assertEqual(
            [(i.target.code, lead_name(i)) for i in missing_at_close(progress)],
            [("3a", "chưa phân công đơn vị chủ trì")],
        )

    def test_the_report_names_them_in_html_xlsx_and_pdf(self):
        expected = self.expected(3)
        line = (
            "Chưa có số liệu được phê duyệt quý III/2025 (kỳ đã khóa sổ): "
            + ", ".join(f"{m.code} ({m.lead_name})" for m in expected)
            + "."
        )
        html = self.get("reports:report", 3).text
        found = re.search(r'<p class="missing">(.*?)</p>', html, re.S)
        self.assertEqual(unescape(found.group(1)), line)
        # Under the summary paragraph, not in the table.
        self.assertLess(html.index("Trong "), html.index('<p class="missing">'))

        workbook = openpyxl.load_workbook(
            io.BytesIO(self.get("reports:report_xlsx", 3).content)
        )
        cells = [c.value for row in workbook.active.iter_rows() for c in row]
        self.assertIn(line, cells)

        if shutil.which("pdftotext"):
            pdf = pdf_text(self.get("reports:report_pdf", 3).content)
            self.assertIn(line, " ".join(pdf.split()))

    def test_a_change_to_the_missing_list_shows_at_once(self):
        # Behind the portal's back, as an import or SQL by hand would.
        q3, q4 = self.periods[3], self.periods[4]
        first = self.expected(3)[0]
        body = ResponsibleBody.objects.get(name=first.lead_name)
        self.assertIn(first.target_id, listed(self.get("reports:dashboard", 3).text))

        ResponsibleBody.objects.filter(pk=body.pk).update(name="Phòng đã đổi tên")
        line = listed(self.get("reports:dashboard", 3).text)[first.target_id]
        self.assertTrue(line.endswith("chủ trì: Phòng đã đổi tên"), line)

        figure = Figure.objects.filter(target_id=first.target_id, period=q3)
        if figure.exists():
            figure.update(state=WorkflowState.APPROVED)
        else:
            Figure.objects.create(
                target_id=first.target_id,
                period=q3,
                value=Decimal("1"),
                state=WorkflowState.APPROVED,
                approved_at=timezone.now(),
            )
        self.assertNotIn(first.target_id, listed(self.get("reports:dashboard", 3).text))

        # Quarter IV closed: its list appears on the next page.
        self.assertEqual(listed(self.get("reports:dashboard", 4).text), {})
        ReportingPeriod.objects.filter(pk=q4.pk).update(state=PeriodState.CLOSED)
        self.periods[4].refresh_from_db()
        expected = [m.target_id for m in self.expected(4)]
        self.assertEqual(len(expected), 32)  # nothing approved in quarter IV yet
        self.assertEqual(list(listed(self.get("reports:dashboard", 4).text)), expected)
        # And reopened: gone again.
        ReportingPeriod.objects.filter(pk=q4.pk).update(state=PeriodState.OPEN)
        self.assertEqual(listed(self.get("reports:dashboard", 4).text), {})
