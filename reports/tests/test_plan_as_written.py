"""A plan reads as the resolution writes it: 10b is "32,0 ha" in the text, not "32"."""

import io

import openpyxl
from django.contrib.auth.models import User
from django.test import TestCase

from targets.models import DELEGATE, Target

from .builders import FAST_PASSWORDS, load_demo, user


@FAST_PASSWORDS
class PlanAsWrittenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_demo()
        cls.new_forest = Target.objects.get(code="10b")
        cls.grain = Target.objects.get(code="2a")
        cls.reader = user("doc", DELEGATE)

    def setUp(self):
        self.client.force_login(User.objects.get(username="doc"))

    def test_the_loader_keeps_the_decimals_the_text_writes(self):
        self.assertIn("32,0 ha", self.new_forest.clause)
        self.assertEqual(self.new_forest.plan_decimal_places, 1)
        self.assertEqual(self.new_forest.plan_text, "32,0")
        self.assertEqual(self.grain.plan_text, "3.865,28")
        self.assertEqual(Target.objects.get(code="1").plan_text, "85")

    def test_every_page_and_the_report_files_show_32_0(self):
        for url in (
            "/tong-quan-nghi-quyet/",
            f"/chi-tieu/{self.new_forest.pk}/",
            "/bao-cao/",
            "/cong-khai/nghi-quyet/",
        ):
            with self.subTest(url=url):
                page = self.client.get(url).content.decode()
                self.assertIn("32,0", page)

    def test_the_report_xlsx_formats_the_plan_with_one_decimal(self):
        book = openpyxl.load_workbook(
            io.BytesIO(self.client.get("/bao-cao/excel/").content)
        )
        cells = [
            row[3]
            for row in book.worksheets[0].iter_rows()
            if len(row) > 3 and row[3].value is not None and row[3].value == 32
        ]
        self.assertTrue(cells)
        self.assertTrue(all(c.number_format.endswith("0.0") for c in cells), cells)
