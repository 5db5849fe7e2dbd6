import datetime
import io
import shutil
import subprocess
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from unittest import mock

import openpyxl
from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse
from openpyxl import Workbook

from reports.comparison import build_report
from reports.exports import put_text
from targets.models import DELEGATE, Figure, Indicator
from targets.progress import Status
from targets.progress_load import load_resolution_progress
from targets.tests.builders import add_target

from .builders import (
    AT_Q3,
    AT_Q4,
    FAST_PASSWORDS,
    OVERRIDE_REASON,
    DemoTestCase,
    build_every_status,
    user,
)
from .helpers import scripts, text

REPORT = reverse("reports:report")
XLSX = reverse("reports:report_xlsx")
PDF = reverse("reports:report_pdf")
D = Decimal
TODAY = datetime.date(2025, 12, 5)
HEADERS = [
    "TT",
    "Chỉ tiêu",
    "ĐVT",
    "Kế hoạch 2025",
    "Quý I/2025",
    "Quý II/2025",
    "Quý III/2025",
    "Quý IV/2025",
    "Ước thực hiện năm 2025",
    "% so với KH",
    "Chênh lệch so với KH (theo ĐVT)",
    "Đánh giá",
]
HOSTILE = [
    '=HYPERLINK("http://example.com","Bấm vào đây")',
    "+1+2 cộng",
    "-2+3 trừ",
    "@SUM(A1:A2)",
    "-Trừ đầu dòng",
]


def rounded(value, places=2):
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


@FAST_PASSWORDS
class ComparisonRowsTests(TestCase):
    """The report's figures against the engine's, on the hand-built resolution."""

    @classmethod
    def setUpTestData(cls):
        cls.data = build_every_status()

    def report(self, quarter):
        progress = load_resolution_progress(
            self.data["resolution"], self.data["periods"][quarter]
        )
        return progress, build_report(progress, TODAY)

    def test_at_year_end_every_figure_and_verdict_is_the_engines(self):
        progress, report = self.report(4)
        rows = {r.target_id: r for r in report.target_rows}
        for item in progress.items:
            p, row = item.progress, rows[item.target.pk]
            quarters = dict(p.used)
            self.assertEqual(
                row.quarters, tuple(quarters.get((2025, q)) for q in range(1, 5))
            )
            self.assertEqual(row.plan, item.target.target_value)
            self.assertEqual(row.estimate, p.estimate)
            self.assertEqual(row.percent, p.estimate_percent)
            self.assertEqual(row.status, p.status)
            self.assertEqual(row.is_final, p.is_final)
            self.assertEqual(row.overridden, p.override is not None)
            if p.is_final:  # the year's value itself, not a forecast
                self.assertEqual(row.estimate, rounded(p.value))
        self.assertEqual({r.code: r.status for r in report.target_rows}, AT_Q4)
        # 3a has no figure at all: "Chưa có số liệu", not a year's result, so the
        # report as a whole is not final and its column stays an estimate.
        self.assertEqual([r.code for r in report.target_rows if not r.is_final], ["3a"])
        self.assertFalse(report.is_final)
        self.assertIn("Ước thực hiện năm 2025", report.headers)

    def test_the_report_is_final_once_every_targets_window_is_complete(self):
        periods = self.data["periods"]
        for quarter, value in enumerate(("30", "30", "20", "25"), 1):
            Figure.objects.create(
                target=self.data["targets"]["3a"],
                period=periods[quarter],
                value=D(value),
                state="approved",
            )
        _, report = self.report(4)
        self.assertTrue(report.is_final)
        self.assertIn("Thực hiện năm 2025", report.headers)
        self.assertNotIn("Ước thực hiện năm 2025", report.headers)
        row = next(r for r in report.target_rows if r.code == "3a")
        self.assertEqual((row.status, row.estimate), (Status.EXCEEDED, D("105")))
        # Quarter III is never final, whatever is in.
        _, during = self.report(3)
        self.assertFalse(during.is_final)
        self.assertFalse(any(r.is_final for r in during.target_rows))

    def test_during_the_year_the_status_is_the_engines_with_its_estimate(self):
        progress, report = self.report(3)
        self.assertFalse(report.is_final)
        rows = {r.target_id: r for r in report.target_rows}
        for item in progress.items:
            p, row = item.progress, rows[item.target.pk]
            self.assertFalse(row.is_final, item.target.code)
            self.assertEqual(row.status, p.status)
            self.assertEqual(row.verdict_label, p.status.label)
            if p.value is None:
                self.assertIsNone(row.estimate)
                self.assertEqual(row.verdict_label, "Chưa có số liệu")
                continue
            self.assertEqual(row.estimate, rounded(p.forecast))
        self.assertEqual({r.code: r.status for r in report.target_rows}, AT_Q3)
        estimates = {r.code: r.estimate for r in report.target_rows}
        self.assertEqual(
            estimates,
            {
                "1a": D("106.33"),  # trend 90, 95, 101; already met at 101
                "1b": D("100.00"),  # 75 × 4/3
                "2a": D("80.00"),  # 60 × 4/3
                "2b": D("40.00"),  # 30 × 4/3
                "3a": None,
                "3b": D("15.50"),  # trend 17, 16,5, 16 → 15,5
                "3c": D("100.00"),  # the latest level; fell to 99 in quarter II
            },
        )

    def test_the_percentage_is_the_estimate_over_the_plan_for_at_least_targets(self):
        _, report = self.report(3)
        rows = {r.code: r for r in report.target_rows}
        self.assertEqual(rows["2a"].percent, Decimal("80.00"))
        self.assertEqual(rows["1b"].percent, Decimal("100.00"))
        self.assertIsNone(rows["3b"].percent)  # at most: judged by comparison
        self.assertIsNone(rows["3c"].percent)  # maintain

    def test_the_summary_paragraph_counts_the_verdicts_in_administrative_wording(self):
        _, final = self.report(4)
        self.assertEqual(
            final.paragraph,
            "Trong 3 chỉ tiêu, 7 chỉ tiêu cụ thể của Nghị quyết số 99/NQ-HĐND, kết "
            "quả thực hiện năm 2025 có 2/7 chỉ tiêu vượt kế hoạch, 2/7 chỉ tiêu đạt "
            "kế hoạch, 2/7 chỉ tiêu không đạt kế hoạch; các chỉ tiêu còn lại chưa đủ "
            "số liệu cả năm; căn cứ số liệu đã được phê duyệt quý I–IV/2025, có 1/7 "
            "chỉ tiêu chưa có số liệu.",
        )
        self.assertEqual(
            final.notes,
            [
                "(*) Chỉ tiêu 2b thử nghiệm: người phê duyệt đánh giá Đạt (kết quả "
                f"tính toán: Không đạt). Lý do: {OVERRIDE_REASON}"
            ],
        )
        self.assertEqual(
            final.shortfalls,
            [
                "Các chỉ tiêu không đạt kế hoạch: Chỉ tiêu 2a thử nghiệm (thực hiện "
                "70 tấn, kế hoạch 100 tấn); Chỉ tiêu 3c thử nghiệm (có kỳ chỉ đạt "
                "99%, kế hoạch duy trì 100%)."
            ],
        )
        _, during = self.report(3)
        self.assertEqual(
            during.paragraph,
            "Trong 3 chỉ tiêu, 7 chỉ tiêu cụ thể của Nghị quyết số 99/NQ-HĐND, kết "
            "quả chưa đủ số liệu cả năm; căn cứ số liệu đã được phê duyệt quý "
            "I–III/2025, có 1/7 chỉ tiêu đã đạt kế hoạch, 2/7 chỉ tiêu đúng tiến độ, "
            "1/7 chỉ tiêu có nguy cơ không đạt, 2/7 chỉ tiêu chậm tiến độ, 1/7 chỉ "
            "tiêu chưa có số liệu.",
        )
        self.assertEqual(
            during.shortfalls,
            [
                "Các chỉ tiêu chậm tiến độ, có nguy cơ không đạt: Chỉ tiêu 2a thử "
                "nghiệm (ước thực hiện cả năm 80 tấn, kế hoạch 100 tấn); Chỉ tiêu 2b "
                "thử nghiệm (ước thực hiện cả năm 40 tấn, kế hoạch 100 tấn); Chỉ tiêu "
                "3c thử nghiệm (có kỳ chỉ đạt 99%, kế hoạch duy trì 100%)."
            ],
        )

    def test_rows_are_grouped_by_area_with_indicator_rows(self):
        _, report = self.report(4)
        self.assertEqual(
            [(r.kind, r.tt) for r in report.rows],
            [
                ("area", "I"),
                ("indicator", "1"),
                ("target", "1a"),
                ("target", "1b"),
                ("area", "II"),
                ("indicator", "2"),
                ("target", "2a"),
                ("target", "2b"),
                ("area", "III"),
                ("indicator", "3"),
                ("target", "3a"),
                ("target", "3b"),
                ("target", "3c"),
            ],
        )
        self.assertEqual(
            [r.name for r in report.rows if r.kind == "area"],
            ["Kinh tế", "Xã hội", "Môi trường"],
        )


@mock.patch("reports.views.timezone.localdate", return_value=TODAY)
class DemoReportTests(DemoTestCase):
    """Resolution 13 with the demo figures, as the HTML page, Excel file and PDF."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.q3 = cls.periods[3]

    def test_the_page_has_the_heading_the_table_and_the_summary(self, _today):
        response = self.client.get(REPORT)
        self.assertContains(
            response,
            "<title>Báo cáo kết quả thực hiện các chỉ tiêu Nghị quyết số 13/NQ-HĐND",
        )
        cells = text(response.text)
        for shown in [
            "ỦY BAN NHÂN DÂN XÃ KHOEN ON",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc",
            "Khoen On, ngày 05 tháng 12 năm 2025",
            "BÁO CÁO Kết quả thực hiện các chỉ tiêu Nghị quyết số 13/NQ-HĐND 9 tháng "
            "năm 2025",
            "(Nghị quyết số 13/NQ-HĐND ngày 30 tháng 7 năm 2025 của Hội đồng nhân dân "
            "xã Khoen On về kế hoạch phát triển",
            "(Số liệu đã được phê duyệt quý I–III/2025)",
            " ".join(HEADERS),
            "I KINH TẾ",
            "II XÃ HỘI",
            "III MÔI TRƯỜNG",
            "2a Tổng sản lượng lương thực có hạt tấn 3.865,28 900 1.050,5 1.000 3.934 "
            "101,78% +68,72 Đúng tiến độ",
            "Trong 11 chỉ tiêu, 32 chỉ tiêu cụ thể của Nghị quyết số 13/NQ-HĐND, kết "
            "quả chưa đủ số liệu cả năm; căn cứ số liệu đã được phê duyệt quý "
            "I–III/2025, có",
            "2/32 chỉ tiêu chưa có số liệu.",
            "Tỷ lệ suy dinh dưỡng trẻ em dưới 5 tuổi (thể cân nặng) (ước thực hiện cả "
            "năm 16,13%, kế hoạch giảm xuống còn 15,99%)",
            "TM. ỦY BAN NHÂN DÂN CHỦ TỊCH",
        ]:
            self.assertIn(shown, cells)
        progress = load_resolution_progress(self.resolution, self.q3)
        report = build_report(progress, TODAY)
        self.assertIn(report.paragraph, cells)
        self.assertEqual(report.total, 32)
        self.assertEqual(sum(report.counts.values()), 32)
        self.assertFalse(report.is_final)

    def test_the_page_prints_on_a4_landscape_with_page_numbers(self, _today):
        page = self.client.get(REPORT).text
        self.assertEqual(scripts(page), [])
        self.assertNotIn(" style=", page)
        self.assertIn('href="/static/css/print.css" media="print"', page)
        css = Path("static/css/print.css").read_text(encoding="utf-8")
        self.assertIn("size: A4 landscape", css)
        self.assertIn('content: "Trang " counter(page) " / " counter(pages)', css)

    def test_the_excel_file_holds_numbers_text_and_print_settings(self, _today):
        response = self.client.get(XLSX)
        self.assertEqual(
            response["Content-Type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        self.assertIn("attachment;", response["Content-Disposition"])
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
        self.assertEqual(ws["A1"].value, "ỦY BAN NHÂN DÂN")
        self.assertEqual(ws["A2"].value, "XÃ KHOEN ON")
        self.assertEqual(ws["A3"].value, "Số:       /BC-UBND")
        self.assertEqual(ws["E1"].value, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        self.assertEqual(ws["E3"].value, "Khoen On, ngày 05 tháng 12 năm 2025")
        self.assertEqual(ws["A5"].value, "BÁO CÁO")
        self.assertEqual(
            ws["A6"].value,
            "Kết quả thực hiện các chỉ tiêu Nghị quyết số 13/NQ-HĐND 9 tháng năm 2025",
        )
        self.assertEqual(ws["A8"].value, "(Số liệu đã được phê duyệt quý I–III/2025)")
        header = [c.value for c in ws[10]]
        self.assertEqual(header, HEADERS)
        rows = {r[1].value: r for r in ws.iter_rows(min_row=11) if r[2].value}
        areas = [r[1].value for r in ws.iter_rows(min_row=11) if r[0].value == "II"]
        self.assertEqual(areas, ["XÃ HỘI"])  # area rows in capitals
        grain = rows["Tổng sản lượng lương thực có hạt"]
        self.assertEqual(
            [c.value for c in grain],
            ["2a", "Tổng sản lượng lương thực có hạt", "tấn", 3865.28, 900, 1050.5]
            + [1000, None, 3934, 101.78, 68.72, "Đúng tiến độ"],
        )
        for cell in grain[3:11]:
            if cell.value is not None:
                self.assertIn(cell.data_type, "n")
                self.assertIn("#,##0", cell.number_format)
        # Each number with the decimals it has: 1.050,5 not 1.050,50; 900 not 900,00.
        self.assertEqual(grain[3].number_format, "#,##0.00")
        self.assertEqual(grain[4].number_format, "#,##0")
        self.assertEqual(grain[5].number_format, "#,##0.0")
        self.assertEqual(grain[9].number_format, '#,##0.00"%"')
        self.assertEqual(grain[10].number_format, "+#,##0.00;-#,##0.00;0")
        self.assertEqual(len(rows), 32)
        self.assertEqual(ws.freeze_panes, "C11")
        self.assertEqual(ws.print_title_rows, "$10:$10")
        self.assertEqual(ws.page_setup.orientation, "landscape")
        self.assertEqual(ws.page_setup.fitToWidth, 1)
        self.assertTrue(ws.sheet_properties.pageSetUpPr.fitToPage)
        self.assertEqual(ws.column_dimensions["B"].width, 48)
        texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
        self.assertEqual(len([t for t in texts if t.startswith("Trong 11")]), 1)
        self.assertIn("Nơi nhận:", texts)
        self.assertIn("TM. ỦY BAN NHÂN DÂN", [c.value for c in ws["E"]])

    def test_text_that_looks_like_a_formula_stays_text_in_excel(self, _today):
        indicator = Indicator.objects.get(resolution=self.resolution, number=11)
        for n, name in enumerate(HOSTILE):
            add_target(
                indicator,
                f"11{'xyzuv'[n]}",
                order=90 + n,
                name=name,
                unit="=1+1",
                target_value=Decimal("5"),
                clause="=cmd|' /C calc'!A0",
            )
        response = self.client.get(XLSX)
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
        names = {c.value: c for c in ws["B"]}
        for name in HOSTILE:
            self.assertIn(name, names)
            self.assertEqual(names[name].data_type, "s")
            self.assertTrue(names[name].quotePrefix)
        units = [c for c in ws["C"] if c.value == "=1+1"]
        self.assertEqual(len(units), len(HOSTILE))
        self.assertTrue(all(c.data_type == "s" for c in units))
        # No cell anywhere is a formula.
        self.assertFalse(
            [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
        )

    def test_the_writer_keeps_a_tab_or_return_at_the_start_as_text(self, _today):
        # A name is stored stripped (targets.fields), so no target can start with a
        # tab; the writer guards the cell whatever reaches it.
        cell = Workbook().active["A1"]
        for value in ("\tTab đầu dòng", "\rVề đầu dòng", "=1+1"):
            put_text(cell, value)
            self.assertEqual((cell.value, cell.data_type), (value, "s"))
            self.assertTrue(cell.quotePrefix)

    def test_the_pdf_keeps_every_vietnamese_letter_and_numbers_its_pages(self, _today):
        if not shutil.which("pdftotext"):
            self.fail("pdftotext missing: apt-get install poppler-utils")
        response = self.client.get(PDF)
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertTrue(response.content.startswith(b"%PDF-"))
        with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
            pdf.write(response.content)
            pdf.flush()
            out = subprocess.run(
                ["pdftotext", "-enc", "UTF-8", pdf.name, "-"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        flat = " ".join(out.split())
        for shown in [
            "Chỉ tiêu",
            "Không đạt",
            "Tổng sản lượng lương thực có hạt",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Khoen On, ngày 05 tháng 12 năm 2025",
            "Kết quả thực hiện các chỉ tiêu Nghị quyết số 13/NQ-HĐND",
            "Tỷ lệ suy dinh dưỡng trẻ em dưới 5 tuổi",
            "3.865,28",
            "Trong 11 chỉ tiêu, 32 chỉ tiêu cụ thể của Nghị quyết số 13/NQ-HĐND",
            "TM. ỦY BAN NHÂN DÂN",
        ]:
            self.assertIn(shown, flat)
        pages = out.count("\f")
        self.assertGreaterEqual(pages, 2)
        self.assertIn(f"Trang 1 / {pages}", flat)
        self.assertIn(f"Trang {pages} / {pages}", flat)


@FAST_PASSWORDS
class ReportAccessTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.data = build_every_status()

    def test_every_role_may_read_the_report_and_visitors_may_not(self):
        self.client.force_login(user("dai-bieu", DELEGATE))
        for url in (REPORT, XLSX):
            self.assertEqual(self.client.get(url).status_code, 200)
        self.client.force_login(User.objects.create_user("no-role"))
        for url in (REPORT, XLSX, PDF):
            self.assertEqual(self.client.get(url).status_code, 404)
        self.client.logout()
        self.assertEqual(self.client.get(PDF).status_code, 302)

    def test_the_file_names_say_which_resolution_and_quarter(self):
        self.client.force_login(user("dai-bieu", DELEGATE))
        periods = self.data["periods"]
        for quarter, kind in ((1, "quy-I"), (2, "6-thang-dau-nam"), (3, "9-thang")):
            response = self.client.get(PDF, {"ky": periods[quarter].pk})
            self.assertEqual(
                response["Content-Disposition"],
                'attachment; filename="nghi-quyet-99-NQ-HDND-2025-bao-cao-'
                f'{kind}-2025.pdf"',
            )
        response = self.client.get(XLSX, {"ky": periods[4].pk})
        self.assertEqual(
            response["Content-Disposition"],
            'attachment; filename="nghi-quyet-99-NQ-HDND-2025-bao-cao-nam-2025.xlsx"',
        )
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
        self.assertEqual(ws[10][11].value, "Đánh giá")
        verdicts = [r[11].value for r in ws.iter_rows(min_row=11) if r[2].value]
        self.assertIn("Đạt (*)", verdicts)  # the approver's override, marked
        self.assertIn("Chưa có số liệu", verdicts)  # 3a: no figure, no result
