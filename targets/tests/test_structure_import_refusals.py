"""The structure import (targets.resources: bodies, indicators, targets, tasks and
assignments) refuses every row it cannot identify, naming the row, the column, the
cell and its value, writes nothing when one row is refused, and finds stored rows
by keys typed however people type them (case, spacing, NFD, the look-alike Ð).
Files are xlsx written by openpyxl, read by the admin's own format."""

import datetime
import io
import unicodedata

import openpyxl

from targets.import_base import error_lines
from targets.models import (
    Assignment,
    Commune,
    Indicator,
    Resolution,
    ResponsibleBody,
    Role,
    Target,
    Task,
)
from targets.resources import (
    AssignmentResource,
    IndicatorResource,
    ResponsibleBodyResource,
    TargetResource,
    TaskResource,
)

from .base import NUMBER, ImportTestCase, covering, run, xlsx
from .builders import add_resolution

BODY = ["Xã", "Tỉnh", "Tên cơ quan, đơn vị", "Tên viết tắt", "Loại"]
INDICATOR = ["Số nghị quyết", "Số chỉ tiêu", "Lĩnh vực", "Nội dung nguyên văn"]
TARGET = [
    "Số nghị quyết",
    "Mã chỉ tiêu",
    "Số chỉ tiêu",
    "Tên chỉ tiêu cụ thể",
    "Đơn vị tính",
    "Kế hoạch",
    "Cách so sánh",
    "Cách cộng các quý",
    "Tính từ năm",
    "Tính từ quý",
    "Đến năm",
    "Đến quý",
    "Cho phép số âm",
    "Lộ trình kỳ vọng",
    "Trích nguyên văn nghị quyết",
]
TASK = ["Số nghị quyết", "Loại", "Thứ tự", "Nội dung nguyên văn"]
ASSIGNMENT = [
    "Số nghị quyết",
    "Tên cơ quan, đơn vị",
    "Mã chỉ tiêu",
    "Loại nhiệm vụ",
    "Thứ tự nhiệm vụ",
    "Vai trò",
    "Giả định",
]
OFFICE = "Phòng Kinh tế"


def counts():
    return [
        m.objects.count()
        for m in (ResponsibleBody, Indicator, Target, Task, Assignment, Resolution)
    ]


class StructureImportTestCase(ImportTestCase):
    def lines(self, resource, rows, headers):
        """The import's problem lines; the database is left as it was."""
        before = counts()
        result = run(resource, xlsx(rows, headers), self.admin)
        self.assertEqual(counts(), before)
        return error_lines(result)

    def assertLine(self, text, lines):
        self.assertTrue(any(text in line for line in lines), (text, lines))

    def target_row(self, code="1z", indicator=1, **changes):
        values = dict(
            zip(
                TARGET,
                [
                    NUMBER,
                    code,
                    indicator,
                    "Chỉ tiêu thử",
                    "tấn",
                    "10",
                    "Đạt",
                    "Cộng dồn các quý",
                    2025,
                    "III",
                    2025,
                    "IV",
                    "Không",
                    None,
                    "Chỉ tiêu thử đạt 10 tấn",
                ],
                strict=True,
            )
        )
        values.update(changes)
        return [values[h] for h in TARGET]


class BodyImportTests(StructureImportTestCase):
    def test_a_commune_that_does_not_exist_is_named_with_its_province(self):
        lines = self.lines(
            ResponsibleBodyResource,
            [["Khoen Ôn Mới", "Lai Châu", "Phòng mới", "PM", "Cơ quan chuyên môn"]],
            BODY,
        )
        self.assertLine(
            "Dòng 2, cột “Xã”: Ô A2 (giá trị “Khoen Ôn Mới”): Không có xã "
            "“Khoen Ôn Mới” thuộc tỉnh “Lai Châu”.",
            lines,
        )

    def test_an_empty_body_name_cannot_identify_the_row(self):
        lines = self.lines(
            ResponsibleBodyResource,
            [["Khoen On", "Lai Châu", "   ", "PM", "Cơ quan chuyên môn"]],
            BODY,
        )
        self.assertLine("Ô C2 (để trống): Ô này không được để trống", lines)

    def test_a_body_typed_in_capitals_nfd_and_with_the_look_alike_d_is_updated(self):
        typed = unicodedata.normalize("NFD", "  PHÒNG  KINH TẾ ")
        lookalike = "ỦY BAN NHÂN DÂN XÃ KHOEN ON"
        rows = [
            ["khoen on", "LAI CHÂU", typed, "PKT", "Cơ quan chuyên môn"],
            ["Khoen On", "Lai Châu", lookalike, "UBND", "Ủy ban nhân dân"],
        ]
        before = ResponsibleBody.objects.count()
        result = run(ResponsibleBodyResource, xlsx(rows, BODY), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        self.assertEqual(result.totals["new"], 0)
        self.assertEqual(ResponsibleBody.objects.count(), before)
        office = ResponsibleBody.objects.get(name=OFFICE)
        self.assertEqual(office.short_name, "PKT")

    def test_the_look_alike_capital_eth_finds_a_council_typed_with_it(self):
        board = "Ban Kinh tế - Ngân sách HĐND xã"
        typed = board.replace("Đ", "\u00d0")  # Ð, typed for Đ on some keyboards
        rows = [["Khoen On", "Lai Châu", typed, "Ban KT-NS", "Hội đồng nhân dân"]]
        result = run(ResponsibleBodyResource, xlsx(rows, BODY), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        self.assertEqual(result.totals["new"], 0)
        self.assertFalse(ResponsibleBody.objects.filter(name=typed).exists())

    def test_a_kind_that_is_not_a_label_lists_the_labels(self):
        lines = self.lines(
            ResponsibleBodyResource,
            [["Khoen On", "Lai Châu", "Phòng mới", "PM", "Phòng ban"]],
            BODY,
        )
        self.assertLine(
            "“Phòng ban” không hợp lệ. Hãy ghi: “Ủy ban nhân dân”, “Hội đồng nhân "
            "dân”, “Cơ quan chuyên môn”, “Mặt trận Tổ quốc và đoàn thể”.",
            lines,
        )

    def test_a_yes_no_cell_that_is_neither_is_refused(self):
        headers = BODY + ["Có tên trong nghị quyết"]
        lines = self.lines(
            ResponsibleBodyResource,
            [
                [
                    "Khoen On",
                    "Lai Châu",
                    "Phòng mới",
                    "PM",
                    "Cơ quan chuyên môn",
                    "Có lẽ",
                ]
            ],
            headers,
        )
        self.assertLine("“Có lẽ” không hợp lệ. Hãy ghi Có hoặc Không.", lines)

    def test_a_new_body_is_stored_with_its_name_trimmed_and_nfc(self):
        typed = unicodedata.normalize("NFD", "  Ban   Quản lý rừng  ")
        rows = [["Khoen On", "Lai Châu", typed, "BQLR", "Cơ quan chuyên môn"]]
        result = run(ResponsibleBodyResource, xlsx(rows, BODY), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        body = ResponsibleBody.objects.get(short_name="BQLR")
        self.assertEqual(body.name, "Ban Quản lý rừng")
        self.assertEqual(body.commune, Commune.objects.get())


class HeaderTests(StructureImportTestCase):
    def test_a_blank_header_cell_and_a_repeated_column_are_named(self):
        headers = ["Số nghị quyết", "Số chỉ tiêu", None, "Lĩnh vực", "Lĩnh vực"]
        lines = self.lines(
            IndicatorResource, [[NUMBER, 12, "x", "Kinh tế", "Kinh tế"]], headers
        )
        self.assertLine("Ô tiêu đề C1 để trống: dòng 1 phải ghi tên cột", lines)
        self.assertLine("Cột “Lĩnh vực” xuất hiện nhiều lần", lines)

    def test_a_task_file_without_its_key_columns_is_refused_before_any_row(self):
        lines = self.lines(TaskResource, [["Nhiệm vụ mới"]], ["Nội dung nguyên văn"])
        self.assertEqual(
            lines,
            ["Thiếu cột bắt buộc: “Số nghị quyết”, “Loại”, “Thứ tự”."],
        )


class IndicatorImportTests(StructureImportTestCase):
    def test_an_unknown_resolution_lists_the_numbers_that_exist(self):
        lines = self.lines(
            IndicatorResource, [["99/NQ-HĐND", 12, "Kinh tế", "Mới"]], INDICATOR
        )
        self.assertLine(
            "Không có nghị quyết số “99/NQ-HĐND”. Hãy ghi đúng số nghị quyết như "
            f"trên văn bản ({NUMBER}).",
            lines,
        )

    def test_a_resolution_number_in_two_communes_is_ambiguous(self):
        other = Commune.objects.create(name="Tà Mung", province="Lai Châu")
        add_resolution(other, number=NUMBER, **covering([2025]))
        lines = self.lines(
            IndicatorResource, [[NUMBER, 12, "Kinh tế", "Mới"]], INDICATOR
        )
        self.assertLine(
            f"Có 2 nghị quyết số “{NUMBER}” ở các xã khác nhau, không xác định được "
            "nghị quyết nào.",
            lines,
        )

    def test_an_indicator_number_that_is_not_a_whole_number_is_explained(self):
        lines = self.lines(
            IndicatorResource, [[NUMBER, "1.5", "Kinh tế", "Mới"]], INDICATOR
        )
        self.assertLine(
            "“1.5” không phải là số nguyên. Hãy ghi một số nguyên không có dấu chấm "
            "hay dấu phẩy, ví dụ 2025 hoặc 3.",
            lines,
        )

    def test_true_is_not_an_indicator_number(self):
        lines = self.lines(
            IndicatorResource, [[NUMBER, True, "Kinh tế", "Mới"]], INDICATOR
        )
        self.assertLine("(giá trị “TRUE”): Ô này phải là một số nguyên", lines)

    def test_two_rows_for_the_same_indicator_name_the_first_one(self):
        rows = [[NUMBER, 12, "Kinh tế", "Mới"], [NUMBER, "12", "Kinh tế", "Lặp"]]
        lines = self.lines(IndicatorResource, rows, INDICATOR)
        self.assertLine(
            "Dòng 3: Dòng này trùng với dòng 2 (cùng Số nghị quyết, Số chỉ tiêu). "
            "Mỗi đối tượng chỉ được có một dòng trong tệp",
            lines,
        )

    def test_a_long_cell_is_quoted_cut_at_forty_characters(self):
        long_number = "Nghị quyết số " + "1" * 60
        lines = self.lines(
            IndicatorResource, [[long_number, 12, "Kinh tế", "x"]], INDICATOR
        )
        quoted = long_number[:39] + "…"
        self.assertLine(f"Ô A2 (giá trị “{quoted}”)", lines)

    def test_a_date_typed_as_the_resolution_is_quoted_as_a_date(self):
        when = datetime.datetime(2025, 7, 30)
        lines = self.lines(IndicatorResource, [[when, 12, "Kinh tế", "x"]], INDICATOR)
        self.assertLine("Ô A2 (giá trị “30/07/2025”)", lines)


class TargetImportTests(StructureImportTestCase):
    def test_a_new_target_reads_roman_quarters_and_vietnamese_numbers(self):
        row = self.target_row(**{"Kế hoạch": "1.234,5", "Tính từ quý": "II"})
        result = run(TargetResource, xlsx([row], TARGET), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        target = Target.objects.get(code="1z")
        self.assertEqual(str(target.target_value), "1234.5000")
        self.assertEqual(
            (target.window_start_year, target.window_start_quarter), (2025, 2)
        )
        self.assertEqual(target.indicator.number, 1)
        self.assertFalse(target.allows_negative)

    def test_an_indicator_the_resolution_does_not_have_asks_for_the_list_first(self):
        lines = self.lines(TargetResource, [self.target_row(indicator=99)], TARGET)
        self.assertLine(
            f"Ô C2 (giá trị “99”): Nghị quyết {NUMBER} chưa có chỉ tiêu (99). Hãy "
            "nhập danh sách chỉ tiêu trước.",
            lines,
        )

    def test_an_empty_indicator_number_is_refused_in_its_column(self):
        lines = self.lines(TargetResource, [self.target_row(indicator=None)], TARGET)
        self.assertLine("Dòng 2, cột “Số chỉ tiêu”: Ô C2 (để trống)", lines)

    def test_an_empty_target_code_cannot_identify_the_row(self):
        lines = self.lines(TargetResource, [self.target_row(code="")], TARGET)
        self.assertLine(
            "Dòng 2, cột “Mã chỉ tiêu”: Ô B2 (để trống): Ô này không được để trống: "
            "hệ thống dùng nó để xác định dòng.",
            lines,
        )

    def test_a_quarter_five_lists_the_roman_names_too(self):
        lines = self.lines(
            TargetResource, [self.target_row(**{"Đến quý": "V"})], TARGET
        )
        self.assertLine("(hoặc I, II, III, IV)", lines)


class TaskImportTests(StructureImportTestCase):
    def test_a_kind_that_is_neither_task_nor_solution_is_refused(self):
        lines = self.lines(TaskResource, [[NUMBER, "Việc", 1, "x"]], TASK)
        self.assertLine(
            "Ô B2 (giá trị “Việc”): “Việc” không hợp lệ. Hãy ghi: “Nhiệm vụ”, "
            "“Giải pháp”.",
            lines,
        )

    def test_an_empty_task_number_cannot_identify_the_row(self):
        lines = self.lines(TaskResource, [[NUMBER, "Nhiệm vụ", None, "x"]], TASK)
        self.assertLine("Dòng 2, cột “Thứ tự”: Ô C2 (để trống)", lines)

    def test_a_task_kind_written_as_its_stored_code_is_accepted(self):
        task = Task.objects.get(kind="solution", number=1)
        rows = [[NUMBER, "SOLUTION", 1.0, "Nội dung đã sửa."]]
        result = run(TaskResource, xlsx(rows, TASK), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        task.refresh_from_db()
        self.assertEqual(task.text, "Nội dung đã sửa.")


class AssignmentImportTests(StructureImportTestCase):
    def test_a_row_naming_both_a_target_and_a_task_is_refused(self):
        rows = [[NUMBER, OFFICE, "2a", "Nhiệm vụ", 1, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine(
            "Mỗi dòng phân công ghi đúng một trong hai: mã chỉ tiêu, hoặc loại và "
            "thứ tự nhiệm vụ.",
            lines,
        )

    def test_a_row_naming_neither_is_refused_too(self):
        rows = [[NUMBER, OFFICE, None, None, None, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine("Mỗi dòng phân công ghi đúng một trong hai", lines)

    def test_a_task_kind_without_its_number_asks_for_both(self):
        rows = [[NUMBER, OFFICE, None, "Giải pháp", None, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine(
            "cột “Thứ tự nhiệm vụ”: Ô E2 (để trống): Ghi cả loại (Nhiệm vụ hoặc "
            "Giải pháp) và thứ tự của nhiệm vụ.",
            lines,
        )

    def test_a_task_number_without_its_kind_asks_for_both(self):
        rows = [[NUMBER, OFFICE, None, None, 2, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine("cột “Loại nhiệm vụ”: Ô D2 (để trống): Ghi cả loại", lines)

    def test_a_body_the_commune_does_not_have_asks_for_the_bodies_first(self):
        rows = [[NUMBER, "Phòng không có", "2a", None, None, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine(
            "Xã Khoen On chưa có cơ quan, đơn vị “Phòng không có”. Hãy nhập danh "
            "sách cơ quan, đơn vị trước.",
            lines,
        )

    def test_a_task_the_resolution_does_not_have_is_named(self):
        rows = [[NUMBER, OFFICE, None, "Giải pháp", 99, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine(f"Nghị quyết {NUMBER} không có giải pháp thứ 99.", lines)

    def test_an_unknown_target_code_lists_the_first_twelve_codes(self):
        rows = [[NUMBER, OFFICE, "zz", None, None, "Chủ trì", "Không"]]
        lines = self.lines(AssignmentResource, rows, ASSIGNMENT)
        self.assertLine(
            f"Nghị quyết {NUMBER} không có chỉ tiêu mã “zz”. Các mã có: 1,", lines
        )
        line = next(line for line in lines if "Các mã có" in line)
        self.assertTrue(line.endswith("…."), line)
        self.assertEqual(line.split("Các mã có: ")[1].count(","), 11)

    def test_a_new_assignment_of_a_task_is_stored_with_its_role(self):
        front = "Ủy ban MTTQ Việt Nam xã và các đoàn thể"
        body = ResponsibleBody.objects.get(name=front)
        task = Task.objects.get(kind="task", number=1)
        Assignment.objects.filter(body=body, task=task).delete()
        rows = [[NUMBER, front, None, "Nhiệm vụ", 1, "Phối hợp", "Có"]]
        result = run(AssignmentResource, xlsx(rows, ASSIGNMENT), self.admin)
        self.assertFalse(result.has_validation_errors(), error_lines(result))
        stored = Assignment.objects.get(body=body, task=task)
        self.assertEqual((stored.role, stored.is_assumption), (Role.SUPPORTING, True))
        self.assertIsNone(stored.target)

    def test_the_exported_assignments_name_a_task_by_kind_and_number(self):
        data = self.export("assignment")
        rows = list(
            openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)
        )
        headers = list(rows[0])
        kinds = {r[headers.index("Loại nhiệm vụ")] for r in rows[1:]}
        self.assertEqual(kinds, {None, "Nhiệm vụ", "Giải pháp"})
        resolutions = {r[headers.index("Số nghị quyết")] for r in rows[1:]}
        self.assertEqual(resolutions, {NUMBER})
