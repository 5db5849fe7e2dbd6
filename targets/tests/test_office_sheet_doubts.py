"""The commune's own sheet (targets.sheets, sheet_layout, sheet_rows) when the file
leaves a doubt: no header row, two columns claiming one meaning, no value column,
two resolutions the title does not tell apart, rows that match no target, two
targets, a near name or a code that is not the resolution's, a kind or plan that
cannot be read, a quarter without a reporting period. Each doubt is listed naming
its cell and nothing is written; the administrator's choices settle it. Files are
written with openpyxl (office_xlsx) and read by the admin's own reader."""

import datetime
import io
from decimal import Decimal

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from targets.models import (
    Commune,
    Figure,
    FigureKind,
)
from targets.sheet_layout import (
    fold,
    merged_cells,
    read_number,
)
from targets.sheet_template import figure_template
from targets.sheets import propose
from targets.spreadsheets import Grid, read_grid

from .base import ImportTestCase, office_xlsx, xlsx
from .builders import add_resolution, add_target

GRAIN = "Tổng sản lượng lương thực có hạt"
FOREST = "Tỷ lệ che phủ rừng"
HEADERS = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện quý III"]


def grid(rows, headers=HEADERS, title="BIỂU SỐ LIỆU QUÝ III/2025", edit=None):
    return read_grid(office_xlsx(rows, headers, title, edit), "bieu.xlsx")


class OfficeSheetTestCase(ImportTestCase):
    def assertProblem(self, text, proposal):
        self.assertTrue(
            any(text in line for line in proposal.problems), (text, proposal.problems)
        )

    def assertNote(self, text, proposal):
        self.assertTrue(
            any(text in line for line in proposal.notes), (text, proposal.notes)
        )

    def preview_office(self, data, **choices):
        return self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": "0",
                "import_file": SimpleUploadedFile("bieu.xlsx", data),
                **choices,
            },
        )


class ColumnDoubtTests(OfficeSheetTestCase):
    def test_a_sheet_without_a_header_row_is_refused_in_the_preview(self):
        data = xlsx([["Số liệu quý III"], [12]], headers=["Báo cáo của xã"])
        preview = self.preview_office(data)
        self.assertNotIn("confirm_form", preview.context)
        self.assertContains(
            preview, "Không tìm thấy dòng tiêu đề cột trong 40 dòng đầu"
        )
        self.assertFalse(Figure.objects.exists())

    def test_a_second_name_column_is_asked_about(self):
        headers = ["TT", "Chỉ tiêu", "Tên chỉ tiêu", "ĐVT", "Thực hiện quý III"]
        proposal = propose(grid([["1", GRAIN, GRAIN, "tấn", 5]], headers))
        self.assertProblem(
            "Ô C3 (“Tên chỉ tiêu”): đã có cột B là “Tên chỉ tiêu”. Hãy chọn nghĩa "
            "của cột này rồi xem trước lại.",
            proposal,
        )
        self.assertEqual([c.letter for c in proposal.column_choices], ["C"])
        settled = propose(
            grid([["1", GRAIN, GRAIN, "tấn", 5]], headers), {"col:C": "ignore"}
        )
        self.assertEqual(settled.problems, [])
        self.assertEqual(len(settled.dataset), 1)

    def test_a_sheet_without_a_value_column_says_so(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Ghi chú"]
        proposal = propose(grid([["1", GRAIN, "tấn", "x"]], headers))
        self.assertProblem("Không có cột số liệu nào", proposal)

    def test_a_name_column_chosen_away_leaves_no_way_to_match_rows(self):
        proposal = propose(grid([["1", GRAIN, "tấn", 5]]), {"col:B": "ignore"})
        self.assertProblem(
            "Không có cột tên chỉ tiêu hoặc mã chỉ tiêu: hãy chọn nghĩa các cột.",
            proposal,
        )

    def test_a_chosen_cumulative_estimate_column_reads_as_such(self):
        proposal = propose(grid([["1", FOREST, "%", 40]]), {"col:D": "cum:2025:3u"})
        column = proposal.period_columns[0]
        self.assertEqual(
            column.meaning, "Số liệu lũy kế 9 tháng → quý III/2025 (ước thực hiện)"
        )
        self.assertEqual(column.code(), "cum:2025:3u")
        self.assertEqual(
            (proposal.dataset[0][3], proposal.dataset[0][5]), (3, "Ước thực hiện")
        )

    def test_an_estimate_header_marks_its_figures_as_estimates(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Ước thực hiện quý III"]
        proposal = propose(grid([["1", GRAIN, "tấn", 700]], headers))
        self.assertEqual(proposal.problems, [])
        self.assertEqual(proposal.period_columns[0].kind, FigureKind.ESTIMATE)
        self.assertEqual(proposal.dataset[0][5], "Ước thực hiện")

    def test_the_portal_reports_year_column_is_computed_never_imported(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Quý III", "Cả năm", "Chênh lệch so với KH"]
        proposal = propose(grid([["1", GRAIN, "tấn", 500, 3000, "-865"]], headers))
        roles = [c.role for c in proposal.columns]
        self.assertEqual(roles[3:], ["value", "computed", "computed"])
        self.assertEqual([tuple(r[2:5]) for r in proposal.dataset], [(2025, 3, 500)])

    def test_a_column_without_a_period_offers_every_quarter_of_the_plan_year(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện"]
        proposal = propose(grid([["1", GRAIN, "tấn", 5]], headers, title="BIỂU"))
        self.assertTrue(proposal.needs_choice)
        column = proposal.column_choices[0]
        self.assertEqual(column.meaning, "Số liệu – chưa rõ kỳ (hãy chọn)")
        self.assertEqual(column.code(), "value")
        options = dict(proposal.column_options)
        self.assertEqual(options["q:2025:4u"], "Số liệu ước quý IV/2025")
        self.assertEqual(options["cum:2025:2"], "Lũy kế 6 tháng → quý II/2025")
        self.assertEqual(options["ignore"], "Không dùng")
        self.assertNotIn("q:2026:1", options)


class ResolutionDoubtTests(OfficeSheetTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        commune = Commune.objects.get()
        cls.second = add_resolution(commune, number="14/NQ-HĐND", title="Thử")

    def test_two_resolutions_of_the_year_are_asked_about_in_the_preview(self):
        data = office_xlsx([["1", GRAIN, "tấn", 3865.28, 500, None]], title="BIỂU 2025")
        preview = self.preview_office(data)
        self.assertNotIn("confirm_form", preview.context)
        self.assertContains(preview, "Không rõ tệp thuộc nghị quyết nào")
        first = self.targets["2a"].indicator.resolution
        again = self.client.post(
            "/admin/targets/figure/import/",
            {**preview.context["remap"], "resolution": str(first.pk)},
        )
        self.assertIn(
            "confirm_form", again.context, again.context["proposal"]["p"].problems
        )
        self.confirm(again)
        stored = Figure.objects.get()
        self.assertEqual((stored.target.code, stored.value), ("2a", Decimal(500)))

    def test_a_title_naming_the_resolution_chooses_it(self):
        title = "BIỂU SỐ LIỆU THỰC HIỆN NGHỊ QUYẾT 13/NQ-HĐND QUÝ III/2025"
        proposal = propose(grid([["1", GRAIN, "tấn", 500]], title=title))
        self.assertEqual(proposal.resolution.number, "13/NQ-HĐND")
        self.assertEqual(proposal.problems, [])


class RowDoubtTests(OfficeSheetTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        grain = cls.targets["2a"]
        cls.twin = add_target(grain.indicator, "2z", name=GRAIN, window_start_quarter=3)

    def test_a_name_shared_by_two_targets_is_asked_about(self):
        proposal = propose(grid([["", GRAIN, "tấn", 500]]))
        self.assertProblem(f"Ô B4 (“{GRAIN}”): tên khớp nhiều chỉ tiêu: 2", proposal)
        candidates = {t.code for t in proposal.matches[0].candidates}
        self.assertEqual(candidates, {"2a", "2z"})
        self.assertEqual(len(proposal.dataset), 0)

    def test_the_tt_cell_settles_a_shared_name(self):
        proposal = propose(grid([["2z", GRAIN, "tấn", 500]]))
        self.assertEqual(proposal.problems, [])
        self.assertEqual(proposal.matches[0].how, "theo tên và TT")
        self.assertEqual(proposal.dataset[0][1], "2z")

    def test_a_row_the_administrator_skips_writes_nothing_and_asks_nothing(self):
        rows = [["", "Chỉ tiêu không có trong nghị quyết", "tấn", 5]]
        asked = propose(grid(rows))
        self.assertProblem("không khớp chỉ tiêu nào của Nghị quyết 13/NQ-HĐND", asked)
        skipped = propose(grid(rows), {"row:4": "skip"})
        self.assertEqual(skipped.problems, [])
        self.assertEqual(skipped.matches[0].how, "bỏ qua (đã chọn)")
        self.assertEqual(len(skipped.dataset), 0)

    def test_a_tt_naming_a_code_is_offered_for_an_unknown_name(self):
        rows = [["1", "Chỉ tiêu không có trong nghị quyết", "tấn", 5]]
        proposal = propose(grid(rows))
        self.assertProblem("tên gần giống: 1. Hãy chọn chỉ tiêu", proposal)

    def test_a_near_name_is_offered_not_taken(self):
        proposal = propose(grid([["", "Diện tích chè trồng mới năm 2025", "ha", 3]]))
        self.assertProblem("tên gần giống: 2c", proposal)
        self.assertEqual([t.code for t in proposal.matches[0].candidates], ["2c"])
        self.assertEqual(len(proposal.dataset), 0)

    def test_a_tt_that_is_the_names_code_says_so(self):
        proposal = propose(grid([["2c", "Diện tích chè trồng mới", "ha", 3]]))
        self.assertEqual(proposal.matches[0].how, "theo tên (TT trùng mã)")

    def test_a_code_the_resolution_does_not_have_is_asked_about(self):
        headers = ["Mã chỉ tiêu", "Chỉ tiêu", "ĐVT", "Thực hiện quý III"]
        proposal = propose(grid([["9x", "Diện tích chè trồng mới", "ha", 3]], headers))
        self.assertProblem(
            "Ô B4 (“Diện tích chè trồng mới”): mã “9x” không có trong nghị quyết",
            proposal,
        )
        self.assertEqual([t.code for t in proposal.matches[0].candidates], ["2c"])

    def test_a_row_with_a_unit_but_no_value_is_listed_as_empty(self):
        proposal = propose(grid([["1", GRAIN + " ", "tấn", "-"]]))
        self.assertProblem("tên khớp nhiều chỉ tiêu", proposal)
        single = propose(grid([["1", "Diện tích chè trồng mới", "ha", "…"]]))
        self.assertIn("Dòng 4: 2c chưa có số liệu", single.skipped)


class CellDoubtTests(OfficeSheetTestCase):
    def test_a_kind_that_is_neither_actual_nor_estimate_is_refused(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện quý III", "Loại số liệu"]
        rows = [
            ["1", GRAIN, "tấn", 500, "Dự kiến"],
            ["2", "Diện tích chè trồng mới", "ha", 3, "ước thực hiện"],
        ]
        proposal = propose(grid(rows, headers))
        self.assertProblem(
            "Ô E4 (giá trị “Dự kiến”): loại số liệu phải là “Thực hiện” hoặc “Ước "
            "thực hiện”.",
            proposal,
        )
        self.assertEqual(
            [tuple(r[1:6:4]) for r in proposal.dataset], [("2c", "Ước thực hiện")]
        )

    def test_a_plan_that_is_not_a_number_is_refused_naming_its_cell(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Kế hoạch 2025", "Thực hiện quý III"]
        proposal = propose(grid([["1", GRAIN, "tấn", "ba nghìn", 500]], headers))
        self.assertProblem("Ô D4 (giá trị “ba nghìn”):", proposal)

    def test_a_value_that_is_a_date_is_refused(self):
        rows = [["1", GRAIN, "tấn", datetime.datetime(2025, 9, 30)]]
        proposal = propose(grid(rows))
        self.assertProblem(
            "Ô D4 (giá trị “30/09/2025”): Ô này phải là một số.", proposal
        )

    def test_a_quarter_without_a_reporting_period_asks_for_one(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện quý I/2026"]
        proposal = propose(grid([["1", GRAIN, "tấn", 500]], headers, title="BIỂU 2025"))
        self.assertProblem(
            "Ô D4: chưa có kỳ báo cáo quý I/2026. Hãy tạo kỳ báo cáo trong trang "
            "quản trị trước.",
            proposal,
        )

    def test_a_cumulative_column_of_a_latest_target_is_taken_as_it_is(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Thực hiện 9 tháng"]
        proposal = propose(grid([["10a", FOREST, "%", "40,5"]], headers, title="2025"))
        self.assertEqual(proposal.problems, [])
        self.assertNote(
            "Ô D4: cột lũy kế “Thực hiện 9 tháng”, chỉ tiêu 10a là số thời điểm: "
            "lấy nguyên 40,5 cho quý III/2025.",
            proposal,
        )
        self.assertEqual(proposal.dataset[0][4], Decimal("40.5"))

    def test_a_nine_month_total_uses_the_files_own_earlier_quarters(self):
        headers = ["TT", "Chỉ tiêu", "ĐVT", "Quý I", "Quý II", "9 tháng"]
        rows = [["1", "Thu ngân sách nhà nước trên địa bàn", "triệu đồng", 10, 20, 50]]
        proposal = propose(grid(rows, headers, title="BIỂU NĂM 2025"))
        # Target 1 counts from quarter III: the earlier quarters are not its own.
        self.assertNote("lũy kế 9 tháng 50 − các quý trước 0 = 50", proposal)
        values = {(r[3], r[4]) for r in proposal.dataset}
        self.assertEqual(values, {(1, 10), (2, 20), (3, 50)})

    def test_the_signature_lines_end_the_table(self):
        rows = [
            ["1", GRAIN, "tấn", 500],
            ["", "Khoen On, ngày 05 tháng 10 năm 2025", None, None],
            ["2", "Diện tích chè trồng mới", "ha", 3],
        ]
        proposal = propose(grid(rows))
        self.assertIn("Dòng 5: cuối biểu (chữ ký, nơi nhận)", proposal.skipped)
        self.assertIn("Dòng 6: cuối biểu (chữ ký, nơi nhận)", proposal.skipped)
        self.assertEqual([r[1] for r in proposal.dataset], ["2a"])

    def test_numbers_are_read_from_cells_strictly(self):
        self.assertEqual(read_number(Decimal("1.5")), Decimal("1.5"))
        self.assertEqual(read_number(2.25), Decimal("2.25"))
        for bad in (True, datetime.date(2025, 1, 1), "3.865"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                read_number(bad)


class PortalTemplateInOfficeReaderTests(OfficeSheetTestCase):
    def test_a_merged_cell_in_the_portal_template_is_refused_and_formulas_noted(self):
        headers = ["Số nghị quyết", "Mã chỉ tiêu", "Năm", "Quý", "Số liệu"]

        def edit(sheet):
            sheet.merge_cells("A5:A6")

        rows = [["13/NQ-HĐND", "2a", 2025, 3, 500], [None, "2c", 2025, 3, 2]]
        proposal = propose(grid(rows, headers, edit=edit))
        self.assertTrue(proposal.portal_layout)
        self.assertProblem("Ô A5:A6 đang gộp (merge).", proposal)

    def test_merged_ranges_cover_all_but_their_first_cell(self):
        sheet = Grid([[None]], merges=["B2:C3", "bad", "A1:A20000"], kind="xlsx")
        covered = merged_cells(sheet)
        self.assertEqual(covered[(2, 3)], "B2:C3")
        self.assertEqual(covered[(3, 2)], "B2:C3")
        self.assertNotIn((2, 2), covered)
        self.assertNotIn((3, 1), covered)  # a huge range: its first row only
        self.assertEqual(fold(2025.0), "2025")


class TemplateWithoutResolutionTests(TestCase):
    def test_the_figures_template_without_any_resolution_is_an_empty_sheet(self):
        data, name = figure_template()
        self.assertEqual(name, "mau-nhap-so-lieu.xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        self.assertEqual(sheet.title, "Số liệu")
        self.assertEqual(list(sheet.iter_rows(values_only=True)), [])
