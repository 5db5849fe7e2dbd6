"""What the official report writes, read back from each output: the HTML page, the
xlsx (openpyxl) and the PDF (pdftotext, pdffonts). A council document never writes a
zero count ("có 0/32 chỉ tiêu"), words an at-most target as the resolution does
("kế hoạch giảm xuống còn 15,99%", never "16,13/15,99"), puts no space before "%",
and the PDF is set in Liberation Serif (Times New Roman's metrics, every Vietnamese
letter), with no fallback to DejaVu."""

import datetime
import io
import re
import shutil
import subprocess
import tempfile
from html import unescape
from unittest import mock

import openpyxl
from django.urls import reverse

from .builders import (
    DemoTestCase,
    EveryStatusTestCase,
)

TODAY = datetime.date(2025, 12, 5)
ZERO_COUNT = re.compile(r"(?<![\d,.])0/\d+")
SPACE_BEFORE_PERCENT = re.compile(r"\d[\s\u00a0]+%")
AT_MOST_AS_RATIO = re.compile(r"\d/15,99|\d/22,11")


def text_nodes(html: str) -> list[str]:
    """The text of each element on its own (a table's cells are never joined)."""
    return [
        " ".join(unescape(t).split())
        for t in re.findall(r">([^<]+)<", html)
        if t.strip()
    ]


def pdf_tool(tool: str, pdf: bytes, *args) -> str:
    if not shutil.which(tool):
        raise AssertionError(f"{tool} missing: apt-get install poppler-utils")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return subprocess.run(
            [tool, *args, f.name, *(["-"] if tool == "pdftotext" else [])],
            capture_output=True,
            check=True,
        ).stdout.decode()


def xlsx_strings(content: bytes) -> list[str]:
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


class OutputChecks:
    """Mixin: the three outputs of the report at a period, checked alike."""

    def outputs(self, query: dict) -> dict[str, object]:
        html = self.client.get(reverse("reports:report"), query)
        xlsx = self.client.get(reverse("reports:report_xlsx"), query)
        pdf = self.client.get(reverse("reports:report_pdf"), query)
        for response in (html, xlsx, pdf):
            self.assertEqual(response.status_code, 200)
        return {
            "html": html.content.decode(),
            "xlsx": xlsx.content,
            "pdf": pdf.content,
        }

    def assert_council_wording(self, out: dict) -> None:
        html = text_nodes(out["html"])
        strings = xlsx_strings(out["xlsx"])
        pdf = " ".join(pdf_tool("pdftotext", out["pdf"], "-enc", "UTF-8").split())
        for where, texts in (("html", html), ("xlsx", strings), ("pdf", [pdf])):
            for t in texts:
                with self.subTest(where=where, text=t[:80]):
                    self.assertIsNone(ZERO_COUNT.search(t), t)
                    self.assertIsNone(AT_MOST_AS_RATIO.search(t), t)
                    if where != "pdf":  # pdftotext joins table cells with spaces
                        self.assertIsNone(SPACE_BEFORE_PERCENT.search(t), t)
        # In the PDF, the paragraphs below the table are checked for "%" too.
        summary = pdf[pdf.index("Trong ") :]
        self.assertIsNone(SPACE_BEFORE_PERCENT.search(summary), summary)
        return html, strings, pdf

    def assert_liberation_serif_only(self, pdf: bytes) -> None:
        fonts = pdf_tool("pdffonts", pdf)
        # "SWSLVQ+Liberation-Serif-Bold": subset tag, then the family and style.
        names = [
            line.split()[0].replace("-", "")
            for line in fonts.splitlines()[2:]
            if line.strip()
        ]
        self.assertTrue(names, fonts)
        self.assertTrue(any("LiberationSerif" in n for n in names), fonts)
        self.assertFalse([n for n in names if "DejaVu" in n], fonts)
        self.assertTrue(all("LiberationSerif" in n for n in names), fonts)


@mock.patch("reports.views.timezone.localdate", return_value=TODAY)
class DemoOutputTests(OutputChecks, DemoTestCase):
    def test_every_quarter_reads_as_a_council_document(self, _today):
        for quarter in (1, 2, 3, 4):
            with self.subTest(quarter=quarter):
                out = self.outputs({"ky": self.periods[quarter].pk})
                self.assert_council_wording(out)

    def test_at_most_targets_are_worded_as_the_resolution(self, _today):
        out = self.outputs({"ky": self.periods[3].pk})
        html, strings, pdf = self.assert_council_wording(out)
        wording = (
            "Tỷ lệ suy dinh dưỡng trẻ em dưới 5 tuổi (thể cân nặng) (ước thực hiện "
            "cả năm 16,13%, kế hoạch giảm xuống còn 15,99%)"
        )
        self.assertIn(wording, " ".join(html))
        self.assertTrue(any(wording in s for s in strings))
        self.assertIn(wording, pdf)

    def test_the_pdf_is_set_in_liberation_serif_and_never_dejavu(self, _today):
        for quarter in (3, 4):
            with self.subTest(quarter=quarter):
                out = self.outputs({"ky": self.periods[quarter].pk})
                self.assert_liberation_serif_only(out["pdf"])


@mock.patch("reports.views.timezone.localdate", return_value=TODAY)
class EveryStatusOutputTests(OutputChecks, EveryStatusTestCase):
    """The hand-built resolution: zero counts abound (no target is 'Đạt' at quarter
    III, 'Không đạt' appears only at IV), so each omission is exercised."""

    def test_no_zero_count_and_no_space_before_percent_in_any_output(self, _today):
        for quarter in (1, 2, 3, 4):
            with self.subTest(quarter=quarter):
                query = {
                    "nq": self.data["resolution"].pk,
                    "ky": self.data["periods"][quarter].pk,
                }
                out = self.outputs(query)
                html, strings, pdf = self.assert_council_wording(out)
                self.assert_liberation_serif_only(out["pdf"])
                if quarter == 4:
                    # Maintain shortfall worded with its plan, "%" joined.
                    self.assertIn(
                        "Chỉ tiêu 3c thử nghiệm (có kỳ chỉ đạt 99%, kế hoạch duy "
                        "trì 100%)",
                        pdf,
                    )
