"""The portal's own files come back with no change (the official report's xlsx,
the admin export), the pre-filled template imports with no mapping question, and a
quarter reopened for corrections takes the corrected sheet."""

import io
from decimal import Decimal

import openpyxl
from django.urls import reverse

from targets.models import Figure, FigureKind, WorkflowState
from targets.periods import period_reopen_for_corrections
from targets.services import WorkflowError

from .base import ImportTestCase, figures, office_xlsx


class RoundTripTests(ImportTestCase):
    def setUp(self):
        super().setUp()
        approved = {"state": WorkflowState.APPROVED}
        for quarter, value in ((1, "1000"), (2, "800"), (3, "500,5")):
            self.figure("2a", quarter, value.replace(",", "."), **approved)
        self.figure("10a", 3, "40.64", **approved)
        self.figure("7b", 3, "60", kind=FigureKind.ESTIMATE, **approved)

    def assert_no_change(self, data, name):
        before = figures()
        preview = self.preview(data, name)
        self.assertIn("confirm_form", preview.context, self.problems(preview))
        totals = preview.context["result"].totals
        self.assertEqual((totals["new"], totals["update"]), (0, 0))
        self.confirm(preview)
        self.assertEqual(figures(), before)
        return preview

    def problems(self, response):
        proposal = response.context.get("proposal")
        return proposal["p"].problems if proposal else []

    def test_the_official_report_xlsx_reimports_with_no_change(self):
        period = self.periods[3]
        response = self.client.get(
            reverse("reports:report_xlsx"), {"period": period.pk}
        )
        self.assertEqual(response.status_code, 200)
        preview = self.assert_no_change(response.content, "bao-cao.xlsx")
        columns = {
            c["header"]: c["meaning"] for c in preview.context["proposal"]["columns"]
        }
        self.assertEqual(
            columns["% so với KH"], "Cột tính toán của báo cáo (không nhập)"
        )

    def test_the_admin_export_reimports_with_no_change(self):
        for file_format, name in (("0", "so-lieu.xlsx"), ("1", "so-lieu.csv")):
            with self.subTest(name=name):
                self.assert_no_change(self.export("figure", file_format), name)


class TemplateTests(ImportTestCase):
    def test_the_prefilled_template_imports_without_a_mapping_question(self):
        response = self.client.get("/admin/targets/figure/import/template/")
        self.assertEqual(response.status_code, 200)
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        sheet = book.active
        self.assertIn("THỰC HIỆN CHỈ TIÊU QUÝ", sheet["A1"].value)
        headers = [c.value for c in sheet[4]]
        self.assertEqual(headers[:4], ["TT", "Mã chỉ tiêu", "Chỉ tiêu", "ĐVT"])
        self.assertEqual(len(sheet.data_validations.dataValidation), 1)
        every = list(sheet.iter_rows(min_row=5, values_only=True))
        rows = {row[1]: row for row in every if row[1] is not None}
        self.assertEqual(len(rows), len(self.targets))
        # The council layout's headings: areas (I. KINH TẾ…) and the indicators
        # with several targets ((2) and its text), with no code, unit or plan.
        headings = [(row[0], row[2]) for row in every if row[1] is None]
        self.assertEqual(
            [h for h in headings if h[0] in ("I", "II", "III")],
            [("I", "KINH TẾ"), ("II", "XÃ HỘI"), ("III", "MÔI TRƯỜNG")],
        )
        self.assertIn("2", [h[0] for h in headings])
        self.assertEqual((rows["2a"][0], rows["1"][0]), ("2a", "1"))
        self.assertEqual(Decimal(str(rows["2a"][4])), Decimal("3865.28"))
        quarter = int(response["Content-Disposition"].split("-quy-")[1][0])
        # Fill two figures and upload.
        for row in sheet.iter_rows(min_row=5):
            if row[1].value == "2a":
                row[5].value = 100
            if row[1].value == "6c":
                row[5].value = "15,5"
                row[6].value = "Ước thực hiện"
        stream = io.BytesIO()
        book.save(stream)
        preview = self.preview(stream.getvalue(), "mau.xlsx")
        self.assertIn("confirm_form", preview.context)
        self.assertFalse(preview.context["proposal"]["p"].needs_choice)
        self.confirm(preview)
        stored = {
            f.target.code: f for f in Figure.objects.select_related("target", "period")
        }
        self.assertEqual(set(stored), {"2a", "6c"})
        self.assertEqual(stored["6c"].kind, FigureKind.ESTIMATE)
        self.assertEqual(stored["6c"].value, Decimal("15.5"))
        self.assertEqual(stored["2a"].period.quarter, quarter)
        skipped = "\n".join(preview.context["proposal"]["p"].skipped)
        self.assertIn("tiêu đề nhóm “KINH TẾ”", skipped)
        # The same file again: 0 changes.
        again = self.preview(stream.getvalue(), "mau.xlsx")
        totals = again.context["result"].totals
        self.assertEqual((totals["new"], totals["update"], totals["skip"]), (0, 0, 2))


class CorrectionTests(ImportTestCase):
    def test_a_quarter_reopened_for_corrections_takes_the_corrected_sheet(self):
        approved = {"state": WorkflowState.APPROVED}
        self.figure("2a", 3, "500", **approved)
        self.figure("10a", 3, "40", **approved)
        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", None, 510, None]]
        data = office_xlsx(rows)
        refused = self.preview(data, "bieu.xlsx")
        self.assertNotIn("confirm_form", refused.context)
        self.assertTrue(
            any(
                "đã được phê duyệt" in line
                for line in refused.context["proposal"]["p"].problems
            )
        )
        count = period_reopen_for_corrections(
            user=self.admin, period=self.periods[3], reason="Sửa theo số liệu thống kê"
        )
        self.assertEqual(count, 2)
        for figure in Figure.objects.all():
            self.assertEqual(figure.state, WorkflowState.RETURNED)
            self.assertEqual(figure.state_reason, "Sửa theo số liệu thống kê")
            self.assertIn(
                "Sửa theo số liệu thống kê",
                figure.history.first().history_change_reason,
            )
        self.confirm(self.preview(data, "bieu.xlsx"))
        figure = Figure.objects.get(target__code="2a")
        self.assertEqual(figure.value, Decimal(510))
        self.assertNotEqual(figure.state, WorkflowState.APPROVED)
        with self.assertRaises(WorkflowError):
            period_reopen_for_corrections(
                user=self.admin, period=self.periods[3], reason="lại"
            )
        with self.assertRaises(WorkflowError):
            period_reopen_for_corrections(
                user=self.admin, period=self.periods[3], reason="  "
            )
