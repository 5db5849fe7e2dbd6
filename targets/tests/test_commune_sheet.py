"""The commune's own spreadsheet (targets.sheets): the office layout read through
the admin preview and confirm, with the mapping shown, every problem in one pass,
conversions shown and nothing guessed. Files are built here with openpyxl."""

import io
import unicodedata
from decimal import Decimal

import openpyxl

from targets.figure_import import FigureBatchResource
from targets.import_base import error_lines
from targets.models import ROMAN_NUMERALS, Figure, FigureKind, WorkflowState
from targets.sheet_layout import fold, read_period, unit_factor
from targets.sheet_template import figure_template
from targets.sheets import propose
from targets.spreadsheets import read_grid

from .base import (
    ImportTestCase,
    figures,
    office_csv,
    office_xlsx,
    row,
    run,
    with_cached_formula,
    xlsx,
)

NFD_NAME = unicodedata.normalize("NFD", "Số lượng lao động được giải quyết việc làm")
COMMUNE_ROWS = [
    ["I", "KINH TẾ", None, None, None, None],
    ["1", "Tổng sản lượng lương thực có hạt", "Tấn", "3.865,28", "2.000,5", None],
    ["2", "Diện tích chè trồng mới ", "ha", 10, 0, "  Trồng   bổ sung  "],
    [
        "3",
        unicodedata.normalize("NFD", "Số lao động được giải quyết việc làm"),
        "người",
        235,
        60,
        unicodedata.normalize("NFD", "Đã tuyển dụng ") + "  ",
    ],
    ["", "Tổng cộng", None, None, None, None],
    [None, None, None, None, None, None],
    ["", "Người lập biểu", None, None, None, None],
]


class CommuneLayoutTests(ImportTestCase):
    def preview_office(self, data, name="bieu-quy-3.xlsx", **choices):
        file_format = "0" if name.endswith(".xlsx") else "1"
        from django.core.files.uploadedfile import SimpleUploadedFile

        return self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": file_format,
                "import_file": SimpleUploadedFile(name, data),
                **choices,
            },
        )

    def assertShows(self, text, response):
        page = response.content.decode()
        if text not in page:
            self.fail(f"{text!r} not shown; problems: {self.problems(response)}")

    def problems(self, response) -> list[str]:
        proposal = response.context.get("proposal")
        return proposal["p"].problems if proposal else ["(no proposal)"]

    def commune_xlsx(self):
        data = office_xlsx(COMMUNE_ROWS)
        # E6 (jobs, 60) becomes a formula with its cached value.
        return with_cached_formula(data, "E7", "30*2", "60")

    def assert_commune_figures(self):
        stored = {
            f.target.code: f for f in Figure.objects.select_related("target", "period")
        }
        self.assertEqual(set(stored), {"2a", "2c", "7b"})
        for figure in stored.values():
            self.assertEqual((figure.period.year, figure.period.quarter), (2025, 3))
            self.assertEqual(figure.state, WorkflowState.DRAFT)
        self.assertEqual(stored["2a"].value, Decimal("2000.5"))
        self.assertEqual(stored["2c"].value, Decimal("0"))
        self.assertEqual(stored["7b"].value, Decimal("60"))
        self.assertEqual(stored["2c"].note, "Trồng   bổ sung")
        self.assertEqual(stored["7b"].note, "Đã tuyển dụng")
        self.assertTrue(unicodedata.is_normalized("NFC", stored["7b"].note))

    def test_the_commune_layout_imports_after_one_mapping_preview(self):
        preview = self.preview_office(self.commune_xlsx())
        self.assertEqual(preview.status_code, 200)
        self.assertIn("confirm_form", preview.context, self.problems(preview))
        self.assertShows("Dòng tiêu đề cột: dòng 3", preview)
        self.assertShows("Số liệu quý III/2025", preview)
        self.assertShows("Ô E7 là công thức: lấy giá trị tính sẵn", preview)
        self.assertShows("dòng tổng", preview)
        self.assertShows("cuối biểu", preview)
        self.assertShows("tiêu đề nhóm “KINH TẾ”", preview)
        self.assertEqual(Figure.objects.count(), 0)  # the preview writes nothing
        response = self.confirm(preview)
        self.assertEqual(response.status_code, 302)
        self.assert_commune_figures()
        before = figures()
        again = self.preview_office(self.commune_xlsx())
        self.assertEqual(again.context["result"].totals["skip"], 3)
        self.confirm(again)
        self.assertEqual(figures(), before)

    def test_the_same_sheet_as_a_semicolon_csv_with_a_bom_imports_alike(self):
        data = office_csv(COMMUNE_ROWS)
        preview = self.preview_office(data, name="bieu.csv")
        self.assertIn("confirm_form", preview.context, self.problems(preview))
        self.confirm(preview)
        self.assert_commune_figures()
        before = figures()
        self.confirm(self.preview_office(data, name="bieu.csv"))
        self.assertEqual(figures(), before)

    def test_quarter_columns_side_by_side_import_three_periods_at_once(self):
        headers = [
            "STT",
            "Tên chỉ tiêu",
            "Đơn vị tính",
            "KH",
            "Quý I",
            "Quý II",
            "Quý III",
        ]
        rows = [["1", "Tong san luong luong thuc co hat", "tấn", None, 1000, 800, 500]]
        preview = self.preview_office(
            office_xlsx(rows, headers, title="BÁO CÁO NĂM 2025")
        )
        self.assertIn("confirm_form", preview.context, self.problems(preview))
        self.confirm(preview)
        values = dict(
            Figure.objects.filter(target__code="2a").values_list(
                "period__quarter", "value"
            )
        )
        self.assertEqual(values, {1: Decimal(1000), 2: Decimal(800), 3: Decimal(500)})

    def test_a_nine_month_column_of_a_sum_target_becomes_the_third_quarter(self):
        self.figure("2a", 1, "1000", state=WorkflowState.APPROVED)
        self.figure("2a", 2, "800", state=WorkflowState.APPROVED)
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Kế hoạch 2025", "Thực hiện 9 tháng"]
        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", 3865.28, "2.300,0"]]
        preview = self.preview_office(office_xlsx(rows, headers, title="BIỂU 2025"))
        self.assertShows("Số liệu lũy kế 9 tháng → quý III/2025", preview)
        self.assertShows("lũy kế 9 tháng 2.300 − các quý trước 1.800 = 500", preview)
        self.assertShows("đã quy đổi", preview)
        self.confirm(preview)
        q3 = Figure.objects.get(target__code="2a", period__quarter=3)
        self.assertEqual(q3.value, Decimal(500))

    def test_a_nine_month_column_without_the_earlier_quarters_is_refused(self):
        self.figure("2a", 1, "1000", state=WorkflowState.APPROVED)
        headers = ["TT", "Chỉ tiêu", "ĐVT", "9 tháng"]
        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", 2300]]
        preview = self.preview_office(office_xlsx(rows, headers, title="BIỂU 2025"))
        self.assertNotIn("confirm_form", preview.context)
        self.assertShows("Ô D4: cột “9 tháng” là số lũy kế 9 tháng", preview)
        self.assertShows("quý II/2025", preview)

    def test_stt_numbers_that_are_target_codes_do_not_override_names(self):
        # STT 1 and 3 are the codes of budget revenue and tourists.
        rows = [
            ["1", "Tổng sản lượng lương thực có hạt", "tấn", None, 100, None],
            ["3", "Số lao động được giải quyết việc làm", "người", None, 5, None],
        ]
        preview = self.preview_office(office_xlsx(rows))
        self.assertIn("confirm_form", preview.context)
        self.assertShows("bỏ qua TT", preview)
        self.confirm(preview)
        codes = set(Figure.objects.values_list("target__code", flat=True))
        self.assertEqual(codes, {"2a", "7b"})

    def test_thousand_dong_against_million_dong_is_converted_and_shown(self):
        rows = [
            [
                "1",
                "Thu ngân sách nhà nước trên địa bàn",
                "nghìn đồng",
                85000,
                "35.000,0",
                None,
            ]
        ]
        preview = self.preview_office(office_xlsx(rows))
        self.assertShows("đơn vị “nghìn đồng” được quy đổi sang “triệu đồng”", preview)
        self.assertShows("35.000,0” nghìn đồng = 35 triệu đồng", preview)
        self.confirm(preview)
        self.assertEqual(Figure.objects.get().value, Decimal(35))

    def test_a_unit_that_cannot_be_converted_is_refused_naming_the_cell(self):
        rows = [["1", "Thu ngân sách nhà nước trên địa bàn", "USD", 85, 35, None]]
        preview = self.preview_office(office_xlsx(rows))
        self.assertNotIn("confirm_form", preview.context)
        self.assertShows("Ô C4 (“USD”): đơn vị tính khác", preview)

    def test_a_code_whose_name_belongs_to_another_target_is_flagged(self):
        headers = ["Mã chỉ tiêu", "Chỉ tiêu", "ĐVT", "Thực hiện quý III"]
        rows = [["2b", "Diện tích chè trồng mới", "ha", 3]]
        preview = self.preview_office(office_xlsx(rows, headers))
        self.assertNotIn("confirm_form", preview.context)
        self.assertShows("mã “2b” là chỉ tiêu “Diện tích cây chè”", preview)
        self.assertShows("tên trong tệp là của chỉ tiêu 2c", preview)
        # The administrator picks the name's target and previews again.
        remap = preview.context["remap"]
        row_pick = str(self.targets["2c"].pk)
        again = self.client.post(
            "/admin/targets/figure/import/",
            {**remap, "row:4": row_pick},
        )
        self.assertIn("confirm_form", again.context, self.problems(again))
        self.confirm(again)
        self.assertEqual(Figure.objects.get().target.code, "2c")

    def test_five_problems_are_all_reported_in_one_preview_each_with_its_cell(self):
        rows = [
            ["1", "Chỉ tiêu không có trong nghị quyết", "tấn", None, 5, None],
            ["2", "Tổng sản lượng lương thực có hạt", "thùng", None, 5, None],
            ["3", "Diện tích chè trồng mới", "ha", None, "3.865", None],
            ["4", "Số lượt khách du lịch", "lượt người", None, -5, None],
            ["5", "Tỷ lệ che phủ rừng", "%", None, 150, None],
        ]
        preview = self.preview_office(office_xlsx(rows))
        self.assertNotIn("confirm_form", preview.context)
        problems = preview.context["proposal"]["p"].problems
        for cell in ("Ô B4", "Ô C5", "Ô E6", "Ô E7", "Ô E8"):
            self.assertTrue(
                any(line.startswith(cell) for line in problems), (cell, problems)
            )
        self.assertShows("Có 5 vấn đề", preview)
        self.assertEqual(Figure.objects.count(), 0)

    def test_a_differing_plan_is_flagged_but_imports(self):
        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", 4000, 5, None]]
        preview = self.preview_office(office_xlsx(rows))
        self.assertIn("confirm_form", preview.context)
        self.assertShows("Ô D4: kế hoạch trong tệp 4.000 tấn khác", preview)

    def test_a_column_without_a_period_is_asked_about(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện"]
        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", 5]]
        preview = self.preview_office(office_xlsx(rows, headers, title="BIỂU SỐ LIỆU"))
        self.assertNotIn("confirm_form", preview.context)
        self.assertShows("Ô D3 (“Thực hiện”): không rõ cột", preview)
        again = self.client.post(
            "/admin/targets/figure/import/",
            {**preview.context["remap"], "col:D": "q:2025:2"},
        )
        self.assertIn("confirm_form", again.context)
        self.confirm(again)
        self.assertEqual(Figure.objects.get().period.quarter, 2)

    def test_a_merged_cell_inside_a_figure_row_is_refused(self):
        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", 5, 5, None]]
        data = office_xlsx(rows, edit=lambda s: s.merge_cells("D4:E4"))
        preview = self.preview_office(data)
        self.assertNotIn("confirm_form", preview.context)
        self.assertShows("Ô E4 nằm trong vùng gộp D4:E4", preview)

    def test_a_year_estimate_column_is_imported_only_where_mapped(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện quý III", "Ước thực hiện cả năm"]
        rows = [["1", "Tỷ lệ che phủ rừng", "%", 40, 41]]
        data = office_xlsx(rows, headers)
        preview = self.preview_office(data)
        self.confirm(preview)
        self.assertEqual(Figure.objects.count(), 1)
        mapped = self.preview_office(data, **{"col:E": "year_estimate"})
        self.confirm(mapped)
        q4 = Figure.objects.get(period__quarter=4)
        self.assertEqual((q4.value, q4.kind), (Decimal(41), FigureKind.ESTIMATE))

    def test_the_upload_form_says_what_each_resource_accepts(self):
        figures = self.client.get("/admin/targets/figure/import/")
        self.assertContains(figures, "ô công thức lấy giá trị tính sẵn")
        self.assertNotContains(figures, "không nhận công thức")
        targets = self.client.get("/admin/targets/target/import/")
        self.assertContains(targets, "không nhận công thức và ô gộp")


class ReadingTests(ImportTestCase):
    def test_text_folds_alike_in_nfc_nfd_and_any_case(self):
        self.assertEqual(
            fold("Tổng Sản"), fold(unicodedata.normalize("NFD", "TỔNG SẢN"))
        )
        self.assertEqual(fold("Đơn vị tính"), "don vi tinh")

    def test_units_convert_only_within_their_kind(self):
        self.assertEqual(unit_factor("nghìn đồng", "triệu đồng"), Decimal("0.001"))
        self.assertEqual(unit_factor("tỷ đồng", "Triệu  đồng"), Decimal(1000))
        self.assertEqual(unit_factor("ha", "m²"), Decimal(10000))
        self.assertEqual(unit_factor("kg", "tấn"), Decimal("0.001"))
        self.assertEqual(unit_factor("Tấn", "tấn"), Decimal(1))
        self.assertIsNone(unit_factor("ha", "tấn"))

    def test_a_formula_without_a_cached_value_is_still_refused(self):
        data = office_xlsx(
            [["1", "Tổng sản lượng lương thực có hạt", "tấn", None, "=1+1", None]]
        )
        from targets.spreadsheet_limits import SpreadsheetRejected

        with self.assertRaises(SpreadsheetRejected) as caught:
            read_grid(data, "x.xlsx")
        self.assertIn(
            "Ô E4 là công thức nhưng chưa có giá trị", caught.exception.message
        )

    def test_the_reading_takes_a_fixed_number_of_queries(self):
        rows = [
            [str(n), "Tổng sản lượng lương thực có hạt", "tấn", None, n, None]
            for n in range(1, 3)
        ]
        grid = read_grid(office_xlsx(rows * 50), "x.xlsx")
        # Resolutions, the chosen one's indicators and targets, periods, figures.
        with self.assertNumQueries(5):
            proposal = propose(grid)
        self.assertEqual(len(proposal.matches), 100)


class CommandTests(ImportTestCase):
    def test_import_figures_reads_the_commune_layout_too(self):
        import tempfile
        from pathlib import Path

        from django.core.management import call_command

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bieu.xlsx"
            path.write_bytes(office_xlsx(COMMUNE_ROWS))
            out = io.StringIO()
            call_command("import_figures", str(path), user="quantri", stdout=out)
        self.assertIn("3 dòng số liệu", out.getvalue())
        self.assertEqual(Figure.objects.count(), 3)


class RomanNumeralTests(ImportTestCase):
    """Quarters and areas written as Roman numerals (models.ROMAN_NUMERALS) read and
    write the same on every path: the office sheet's title and headers, the portal
    template's Quý column, and the figures template's area headings."""

    def test_a_title_naming_quarter_iv_makes_an_unlabelled_value_column_q4(self):
        data = office_xlsx(
            [["1", "Tổng sản lượng lương thực có hạt", "Tấn", 3865.28, 4000, None]],
            headers=["TT", "Chỉ tiêu", "ĐVT", "Kế hoạch 2025", "Thực hiện", "Ghi chú"],
            title="BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CHỈ TIÊU QUÝ IV/2025",
        )
        proposal = propose(read_grid(data, "bieu.xlsx"))
        self.assertEqual(proposal.problems, [])
        self.assertEqual(
            [(c.year, c.quarter) for c in proposal.period_columns], [(2025, 4)]
        )
        self.assertEqual([tuple(row[2:4]) for row in proposal.dataset], [(2025, 4)])

    def test_headers_name_quarters_in_roman_or_arabic_numerals_alike(self):
        for header, quarter in (
            ("Thực hiện quý I", 1),
            ("Thực hiện quý ii", 2),
            ("Thực hiện Quý III/2025", 3),
            ("Quý 4", 4),
        ):
            with self.subTest(header=header):
                year, found, cumulative = read_period(fold(header))
                self.assertEqual((found, cumulative), (quarter, False))

    def test_the_portal_template_reads_quarters_i_to_iv_and_refuses_v(self):
        result = run(FigureBatchResource, xlsx([row("2a", "iv", "1")]), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        self.assertEqual(Figure.objects.get().period, self.periods[4])
        result = run(FigureBatchResource, xlsx([row("2b", "V", "1")]), self.admin)
        lines = error_lines(result)
        self.assertTrue(any("(hoặc I, II, III, IV)" in line for line in lines), lines)
        self.assertEqual(Figure.objects.count(), 1)

    def test_the_figures_template_heads_each_area_with_its_roman_numeral(self):
        data, _name = figure_template()
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        headings = [
            row[0]
            for row in sheet.iter_rows(min_row=5, values_only=True)
            if row[0] and row[1] is None and row[2] and row[2].isupper()
        ]
        self.assertEqual(headings, list(ROMAN_NUMERALS[: len(headings)]))
        self.assertGreaterEqual(len(headings), 2)
