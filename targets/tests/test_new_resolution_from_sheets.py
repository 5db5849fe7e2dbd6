"""A new resolution (next year's plan) set up from spreadsheets alone (issue 13,
item 7), as a new administrator would, following the user guide's steps: the
Resolution and its reporting period in the admin, then for bodies, indicators,
targets (comparison, unit, bounds, window), tasks and assignments the admin's
"Tải tệp mẫu", filled in with openpyxl under its own headers, uploaded, previewed
and confirmed; then a figure for the new resolution through the figures template."""

import io
from decimal import Decimal

import openpyxl

from targets.models import Commune, Figure, Resolution, Role, Target

from .base import ImportTestCase

NUMBER = "05/NQ-HĐND"


class NewResolutionFromSheetsTests(ImportTestCase):
    def template_filled(self, model: str, rows: list[dict]) -> bytes:
        """The admin's template for `model`, its rows filled by header."""
        response = self.client.get(f"/admin/targets/{model}/import/template/")
        self.assertEqual(response.status_code, 200)
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        sheet = book.active
        headers = [cell.value for cell in sheet[1]]
        for values in rows:
            unknown = set(values) - set(headers)
            self.assertFalse(unknown, f"{model}: no column {unknown} in {headers}")
            sheet.append([values.get(h) for h in headers])
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue()

    def import_sheet(self, model: str, rows: list[dict]) -> None:
        preview = self.preview(self.template_filled(model, rows), model=model)
        self.assertEqual(preview.status_code, 200)
        if "confirm_form" not in preview.context:
            result = preview.context.get("result")
            from targets.import_base import error_lines

            self.fail(f"{model}: {error_lines(result) if result else preview}")
        response = self.confirm(preview, model=model)
        self.assertEqual(response.status_code, 302, model)

    def add_in_admin(self, model: str, data: dict) -> None:
        response = self.client.post(f"/admin/targets/{model}/add/", data)
        if response.status_code != 302:
            form = response.context["adminform"].form
            self.fail(f"{model}: {form.errors.as_text()}")

    def test_a_next_year_resolution_is_set_up_from_spreadsheets_alone(self):
        commune = Commune.objects.get()
        # 1. The resolution and its first reporting period, in the admin.
        self.add_in_admin(
            "resolution",
            {
                "commune": commune.pk,
                "number": NUMBER,
                "title": "Về nhiệm vụ phát triển kinh tế - xã hội năm 2026",
                "council": "Hội đồng nhân dân xã Khoen On",
                "term": "khóa I",
                "session": "Kỳ họp thứ năm",
                "adopted_on": "15/12/2025",
                "effective_on": "15/12/2025",
                "plan_year": "2026",
                "covers_from": "01/01/2026",
                "covers_to": "31/12/2026",
                "indicators-TOTAL_FORMS": "0",
                "indicators-INITIAL_FORMS": "0",
            },
        )
        self.add_in_admin(
            "reportingperiod",
            {
                "commune": commune.pk,
                "year": "2026",
                "quarter": "1",
                "data_from": "15/12/2025",
                "data_to": "14/03/2026",
                "deadline": "20/03/2026",
                "state": "open",
            },
        )
        # 2. A new body.
        body = "Ban Quản lý rừng xã"
        self.import_sheet(
            "responsiblebody",
            [
                {
                    "Xã": commune.name,
                    "Tỉnh": commune.province,
                    "Tên cơ quan, đơn vị": body,
                    "Tên viết tắt": "BQLR",
                    "Loại": "Cơ quan chuyên môn",
                }
            ],
        )
        # 3. Indicators.
        self.import_sheet(
            "indicator",
            [
                {
                    "Số nghị quyết": NUMBER,
                    "Số chỉ tiêu": 1,
                    "Lĩnh vực": "Kinh tế",
                    "Nội dung nguyên văn": "Tổng sản lượng lương thực đạt 3.900 tấn.",
                },
                {
                    "Số chỉ tiêu": 2,
                    "Số nghị quyết": NUMBER,
                    "Lĩnh vực": "Môi trường",
                    "Nội dung nguyên văn": "Tỷ lệ che phủ rừng đạt 41,0%.",
                },
            ],
        )
        # 4. Targets: comparison, unit, bounds, window.
        self.import_sheet(
            "target",
            [
                {
                    "Số nghị quyết": NUMBER,
                    "Mã chỉ tiêu": "1",
                    "Số chỉ tiêu": 1,
                    "Tên chỉ tiêu cụ thể": "Tổng sản lượng lương thực có hạt",
                    "Đơn vị tính": "tấn",
                    "Kế hoạch": 3900,
                    "Cách so sánh": "Đạt",
                    "Cách cộng các quý": "Cộng dồn các quý",
                    "Giới hạn nhỏ nhất": 0,
                    "Tính từ năm": 2026,
                    "Tính từ quý": "I",
                    "Đến năm": 2026,
                    "Đến quý": "IV",
                    "Trích nguyên văn nghị quyết": "Tổng sản lượng lương thực đạt",
                },
                {
                    "Số nghị quyết": NUMBER,
                    "Mã chỉ tiêu": "2",
                    "Số chỉ tiêu": 2,
                    "Tên chỉ tiêu cụ thể": "Tỷ lệ che phủ rừng",
                    "Đơn vị tính": "%",
                    "Kế hoạch": "41,0",
                    "Cách so sánh": "Đạt",
                    "Cách cộng các quý": "Số tại thời điểm (lũy kế)",
                    "Giới hạn nhỏ nhất": 0,
                    "Giới hạn lớn nhất": 100,
                    "Tính từ năm": 2026,
                    "Tính từ quý": "I",
                    "Đến năm": 2026,
                    "Đến quý": "IV",
                    "Trích nguyên văn nghị quyết": "Tỷ lệ che phủ rừng đạt 41,0%",
                },
            ],
        )
        # 5. Tasks.
        self.import_sheet(
            "task",
            [
                {
                    "Số nghị quyết": NUMBER,
                    "Loại": "Nhiệm vụ",
                    "Thứ tự": 1,
                    "Nội dung nguyên văn": "Bảo vệ và phát triển rừng.",
                }
            ],
        )
        # 6. Assignments.
        self.import_sheet(
            "assignment",
            [
                {
                    "Số nghị quyết": NUMBER,
                    "Tên cơ quan, đơn vị": body,
                    "Mã chỉ tiêu": "2",
                    "Vai trò": "Chủ trì",
                    "Giả định": "Không",
                },
                {
                    "Số nghị quyết": NUMBER,
                    "Tên cơ quan, đơn vị": body,
                    "Loại nhiệm vụ": "Nhiệm vụ",
                    "Thứ tự nhiệm vụ": 1,
                    "Vai trò": "Chủ trì",
                    "Giả định": "Không",
                },
            ],
        )

        resolution = Resolution.objects.get(number=NUMBER)
        self.assertEqual(resolution.plan_year, 2026)
        self.assertEqual(resolution.indicators.count(), 2)
        targets = Target.objects.filter(indicator__resolution=resolution)
        forest = targets.get(code="2")
        self.assertEqual(
            (forest.unit, forest.comparison, forest.combine),
            ("%", "at_least", "latest"),
        )
        self.assertEqual((forest.min_value, forest.max_value), (0, 100))
        self.assertEqual(forest.target_value, Decimal("41"))
        self.assertEqual(forest.window, ((2026, 1), (2026, 4)))
        self.assertEqual(targets.get(code="1").target_value, Decimal("3900"))
        self.assertEqual(resolution.tasks.count(), 1)
        lead = commune.bodies.get(name=body)
        self.assertEqual(lead.assignments.filter(role=Role.LEAD).count(), 2)

        # 7. A figure for the new resolution: its pre-filled template.
        response = self.client.get(
            f"/admin/targets/figure/import/template/?resolution={resolution.pk}"
        )
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        sheet = book.active
        self.assertIn("QUÝ I/2026", sheet["A1"].value)
        self.assertIn(NUMBER, sheet["A2"].value)

        def forest_typed(value) -> bytes:
            """The template with the forest target's figure typed in."""
            for row in sheet.iter_rows(min_row=5):
                if row[1].value == "2":
                    row[5].value = value
            stream = io.BytesIO()
            book.save(stream)
            return stream.getvalue()

        preview = self.preview(forest_typed("40,8"), "q1-2026.xlsx")
        if "confirm_form" not in preview.context:
            self.fail(preview.context["proposal"]["p"].problems)
        self.confirm(preview)
        figure = Figure.objects.get(target=forest)
        self.assertEqual(figure.value, Decimal("40.8"))
        self.assertEqual(figure.period.key, (2026, 1))
        # Above the bound: refused, naming the cell.
        preview = self.preview(forest_typed(140), "q1-2026.xlsx")
        self.assertFalse("confirm_form" in preview.context)
        problems = "\n".join(preview.context["proposal"]["p"].problems)
        self.assertIn("Ô F", problems)
