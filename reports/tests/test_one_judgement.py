"""One judgement on every page: for every period, the status of every target is the
same on the dashboard, the target page, the body scorecard, the report HTML, the
xlsx (read back with openpyxl) and the PDF text (pdftotext). And the report says only
what it knows: no year's result before every quarter of a window is in."""

import datetime
import io
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from decimal import Decimal

import openpyxl
from django.test import TestCase
from django.urls import reverse

from reports.comparison import build_report, vn_date
from targets.models import Figure, Target
from targets.progress import FINAL_STATUSES, Status
from targets.progress_load import load_resolution_progress

from .builders import (
    DemoTestCase,
    EveryStatusTestCase,
)

D = Decimal
TODAY = datetime.date(2025, 12, 5)
LABELS = sorted((s.label for s in Status), key=len, reverse=True)
LABEL_RE = re.compile("|".join(re.escape(label) for label in LABELS))
FINAL_LABELS = {s.label for s in FINAL_STATUSES}


def pdf_text(pdf: bytes, *args) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return subprocess.run(
            ["pdftotext", *args, f.name, "-"], capture_output=True, check=True
        ).stdout.decode()


def xlsx_statuses(content: bytes, report) -> dict[str, str]:
    """{target code: Đánh giá} read back from the workbook, rows in the report's
    order."""
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "TT")
    last = len(report.headers)
    codes = iter(r.code for r in report.target_rows)
    found = {}
    for r in range(header + 1, header + 1 + len(report.rows)):
        label = ws.cell(r, last).value
        if label:
            found[next(codes)] = label.removesuffix(" (*)")
    return found


class Agreement:
    """Mixin: every page agrees with the engine, for each selected period."""

    def pages(self, resolution, period):
        q = f"?nq={resolution.pk}&ky={period.pk}"
        progress = load_resolution_progress(resolution, period)
        expected = {i.target.pk: i.progress.status for i in progress.items}
        codes = {i.target.pk: i.target.code for i in progress.items}
        disagreements = []

        def differ(where, pk, got):
            if got != expected[pk].value and got != expected[pk].label:
                disagreements.append((where, codes[pk], got, expected[pk].value))

        dashboard = self.client.get(reverse("reports:dashboard") + q).content.decode()
        rows = dict(
            re.findall(r'<tr id="ct-(\d+)" data-status="([a-z_]+)">', dashboard)
        )
        self.assertEqual(len(rows), len(expected))
        for pk, status in rows.items():
            differ("dashboard", int(pk), status)

        bodies = self.client.get(reverse("reports:bodies") + q).content.decode()
        for status, pk in re.findall(
            r'<tr data-status="([a-z_]+)" data-target="(\d+)">', bodies
        ):
            differ("scorecard", int(pk), status)

        for pk in expected:
            page = self.client.get(
                reverse("reports:target", args=[pk]) + f"?ky={period.pk}"
            ).content.decode()
            differ("target page", pk, re.search(r'data-status="([a-z_]+)"', page)[1])

        html = self.client.get(reverse("reports:report") + q).content.decode()
        by_code = {v: k for k, v in codes.items()}
        found = re.findall(r'data-code="([^"]+)" data-status="([a-z_]+)"', html)
        self.assertEqual(len(found), len(expected))
        for code, status in found:
            differ("report", by_code[code], status)

        report = build_report(progress, TODAY)
        xlsx = self.client.get(reverse("reports:report_xlsx") + q).content
        read_back = xlsx_statuses(xlsx, report)
        self.assertEqual(len(read_back), len(expected))
        for code, label in read_back.items():
            differ("xlsx", by_code[code], label)

        if shutil.which("pdftotext"):
            text = pdf_text(self.client.get(reverse("reports:report_pdf") + q).content)
            table = text.split("Trong ", 1)[0]
            got = Counter(LABEL_RE.findall(" ".join(table.split())))
            got.pop("Đánh giá", None)
            want = Counter(s.label for s in expected.values())
            if got != want:
                disagreements.append(("pdf", dict(got), dict(want)))
        self.assertEqual(disagreements, [])
        return progress, html


class DemoAgreementTests(Agreement, DemoTestCase):
    def test_every_page_agrees_at_every_demo_period(self):
        for quarter in (1, 2, 3, 4):
            with self.subTest(quarter=quarter):
                self.pages(self.resolution, self.periods[quarter])

    def test_q4_with_only_q1_to_q3_approved_states_no_result(self):
        progress, html = self.pages(self.resolution, self.periods[4])
        page = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        self.assertIn("(Số liệu đã được phê duyệt quý I–III/2025)", page)
        self.assertNotIn("quý I–IV", page)
        for item in progress.items:
            self.assertNotIn(item.progress.status, FINAL_STATUSES, item.target.code)
        jobs = next(i for i in progress.items if i.target.code == "7b").progress
        # Run-rate of the quarters that are in: (20 + 25 + 30) × 4/3 = 100.
        self.assertEqual(jobs.estimate, D("100"))
        report = build_report(progress, TODAY)
        row = next(r for r in report.target_rows if r.code == "7b")
        self.assertEqual(row.estimate, D("100"))
        vaccination = next(r for r in report.target_rows if r.code == "6e")
        # The trend passes 100%; the estimate stops at the bound.
        self.assertEqual(vaccination.estimate, D("100"))
        self.assertNotIn(vaccination.status, FINAL_STATUSES)
        for label in FINAL_LABELS:
            self.assertNotIn(f">{label}<", html)

    def test_q4_with_every_quarter_approved_gives_the_final_verdicts(self):
        # Jobs 20 + 25 + 30 + 165 = 240 (plan 235).
        values = {"6c": "16.2", "7b": "165", "10a": "40.64"}
        q4 = self.periods[4]
        for code, value in values.items():
            Figure.objects.update_or_create(
                target=Target.objects.get(code=code),
                period=q4,
                defaults={"value": D(value), "state": "approved"},
            )
        progress = load_resolution_progress(self.resolution, q4)
        status = {i.target.code: i.progress.status for i in progress.items}
        self.assertEqual(status["6c"], Status.NOT_MET)  # 16,2 > 15,99
        self.assertEqual(status["7b"], Status.EXCEEDED)  # 240 > 235
        self.assertEqual(status["10a"], Status.MET)  # exactly 40,64
        self.pages(self.resolution, q4)


class EveryStatusAgreementTests(Agreement, EveryStatusTestCase):
    def test_every_page_agrees_at_every_period(self):
        for quarter in (1, 2, 3, 4):
            with self.subTest(quarter=quarter):
                self.pages(self.data["resolution"], self.data["periods"][quarter])


class ReportWordingTests(TestCase):
    def test_dates_follow_decree_30(self):
        self.assertEqual(
            vn_date(datetime.date(2025, 2, 5)), "ngày 05 tháng 02 năm 2025"
        )
        self.assertEqual(
            vn_date(datetime.date(2025, 7, 30)), "ngày 30 tháng 7 năm 2025"
        )
        self.assertEqual(
            vn_date(datetime.date(2025, 1, 12)), "ngày 12 tháng 01 năm 2025"
        )
        self.assertEqual(
            vn_date(datetime.date(2025, 12, 9)), "ngày 09 tháng 12 năm 2025"
        )
