"""Spreadsheet import and export: preview writes nothing, confirm writes exactly what
was previewed, all or nothing, the same file twice changes nothing, locks hold, and
exports never carry a live formula. Files are real: xlsx written by openpyxl, csv
bytes, both in the tests."""

import csv
import inspect
import io
import tempfile
from decimal import Decimal
from pathlib import Path
from unittest import mock

import openpyxl
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from targets import models
from targets.admin import FigureAdmin, FigureAdminForm
from targets.figure_import import FigureBatchResource
from targets.import_base import error_lines
from targets.models import Figure, ReportingPeriod, Target
from targets.resources import (
    AssignmentResource,
    IndicatorResource,
    ResponsibleBodyResource,
    TargetResource,
    TaskResource,
)
from targets.spreadsheets import SafeCSV, SafeXLSX

from .base import (
    HEADERS,
    HEADERS_NOTE,
    NUMBER,
    ImportTestCase,
    big_commune,
    csv_file,
    figures,
    row,
    run,
    xlsx,
)

# Each admin that imports, by its URL's model name: the resource names its model.
RESOURCES = [
    ResponsibleBodyResource,
    IndicatorResource,
    TargetResource,
    TaskResource,
    AssignmentResource,
    FigureBatchResource,
]
ADMINS = {r._meta.model._meta.model_name: (r._meta.model, r) for r in RESOURCES}


class AdminImportTests(ImportTestCase):
    def test_preview_writes_nothing(self):
        self.figure("2b", 3, "300")
        before = figures()
        response = self.preview(
            xlsx([row("2a", 3, "3.865,28"), row("2b", 3, "340"), row("7b", 3, "120")])
        )
        self.assertEqual(response.status_code, 200)
        self.assertIsNotNone(response.context["confirm_form"])
        totals = response.context["result"].totals
        self.assertEqual((totals["new"], totals["update"]), (2, 1))
        self.assertEqual(figures(), before)
        self.assertFalse(LogEntry.objects.exists())
        self.assertContains(response, "Xác nhận nhập")

    def test_confirm_writes_exactly_the_previewed_changes(self):
        unchanged = self.figure("2b", 3, "340", note="đủ")
        changed = self.figure("2c", 3, "4")
        preview = self.preview(
            xlsx(
                [
                    row("2a", 3, "3.865,28", "Ước thực hiện", "ước tính"),
                    row("2b", 3, "340", "Thực hiện", "đủ"),
                    row("2c", 3, "6", "Thực hiện", ""),
                ],
                HEADERS_NOTE,
            )
        )
        planned = [
            (r.import_type, r.object_repr) for r in preview.context["result"].rows
        ]
        self.assertEqual([p[0] for p in planned], ["new", "skip", "update"])

        response = self.confirm(preview)

        self.assertRedirects(response, "/admin/targets/figure/")
        new = Figure.objects.get(target__code="2a", period__quarter=3)
        self.assertEqual(
            (new.value, new.kind, new.note, new.version, new.updated_by),
            (Decimal("3865.28"), "estimate", "ước tính", 1, self.admin),
        )
        changed.refresh_from_db()
        self.assertEqual((changed.value, changed.version), (Decimal("6"), 2))
        self.assertEqual(changed.updated_by, self.admin)
        unchanged.refresh_from_db()
        self.assertEqual((unchanged.version, unchanged.updated_by), (1, None))
        history = Figure.history.filter(history_change_reason=models.VIA_IMPORT)
        self.assertEqual(
            sorted(history.values_list("target__code", "history_type", "value")),
            [("2a", "+", Decimal("3865.28")), ("2c", "~", Decimal("6"))],
        )
        self.assertEqual({h.history_user for h in history}, {self.admin})
        self.assertEqual(Figure.history.count(), 2 + 2)  # two created by the test
        # The admin's history speaks Vietnamese about imported rows.
        self.assertEqual(
            {e.object_id: e.get_change_message() for e in LogEntry.objects.all()},
            {
                str(new.pk): "Thêm bằng nhập bảng tính",
                str(changed.pk): "Sửa bằng nhập bảng tính",
            },
        )

    def test_an_imported_value_over_a_demo_figure_is_no_longer_marked_demo(self):
        demo = self.figure("2c", 3, "4", is_demo=True)
        kept = self.figure("2b", 3, "340", is_demo=True)
        preview = self.preview(xlsx([row("2c", 3, "6"), row("2b", 3, "340")]))
        self.assertRedirects(self.confirm(preview), "/admin/targets/figure/")
        demo.refresh_from_db()
        kept.refresh_from_db()
        self.assertEqual((demo.value, demo.is_demo), (Decimal("6"), False))
        # An unchanged row is skipped: nothing written, the mark stays.
        self.assertEqual((kept.version, kept.is_demo), (1, True))

    def test_confirm_writes_nothing_when_the_data_changed_since_the_preview(self):
        figure = self.figure("2b", 3, "340")
        preview = self.preview(xlsx([row("2a", 3, "10"), row("2b", 3, "340")]))
        Figure.objects.filter(pk=figure.pk).update(value=Decimal("1"))
        before = figures()

        response = self.confirm(preview)

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Dữ liệu đã thay đổi kể từ lúc xem trước")
        self.assertContains(response, "Không có gì được ghi")
        self.assertEqual(figures(), before)

    def test_confirm_refuses_a_figure_approved_since_the_preview(self):
        figure = self.figure("2b", 3, "340")
        preview = self.preview(xlsx([row("2a", 3, "10"), row("2b", 3, "350")]))
        Figure.objects.filter(pk=figure.pk).update(state="approved")
        before = figures()

        response = self.confirm(preview)

        self.assertContains(response, "Số liệu đã được phê duyệt nên đã khóa")
        self.assertEqual(figures(), before)

    def test_confirm_refuses_a_file_other_than_the_previewed_one(self):
        from django.core.cache import cache

        preview = self.preview(xlsx([row("2a", 3, "10")]))
        name = preview.context["confirm_form"].initial["import_file_name"]
        cache.set("django-import-export-" + Path(name).name, xlsx([row("2a", 3, "99")]))

        response = self.confirm(preview)

        self.assertContains(response, "Tệp hoặc lựa chọn khác lúc xem trước")
        self.assertFalse(Figure.objects.exists())

    def test_confirm_refuses_a_forged_preview(self):
        preview = self.preview(xlsx([row("2a", 3, "10")]))
        form = preview.context["confirm_form"]
        data = {name: form.initial.get(name, "") for name in form.fields}
        data["preview"] = "giả mạo"
        response = self.client.post("/admin/targets/figure/process_import/", data)
        self.assertContains(response, "Phiên xem trước không hợp lệ")
        self.assertFalse(Figure.objects.exists())

    def test_the_same_file_twice_changes_nothing_and_writes_no_history(self):
        data = xlsx(
            [row("2a", 3, "3865,28"), row("2b", 3, "350"), row("6b", 3, "-0,5")]
        )
        self.confirm(self.preview(data))
        first = figures()
        logged = LogEntry.objects.count()

        preview = self.preview(data)
        totals = preview.context["result"].totals
        self.assertEqual((totals["new"], totals["update"], totals["skip"]), (0, 0, 3))
        self.confirm(preview)

        self.assertEqual(figures(), first)
        self.assertEqual(LogEntry.objects.count(), logged)

    def test_changing_one_cell_changes_one_row_and_writes_one_history_row(self):
        rows = [row("2a", 3, "3865,28"), row("2b", 3, "350"), row("2c", 3, "10")]
        self.confirm(self.preview(xlsx(rows)))
        history = Figure.history.count()
        rows[1][4] = "351,5"

        self.confirm(self.preview(xlsx(rows)))

        self.assertEqual(Figure.history.count(), history + 1)
        changed = Figure.objects.get(target__code="2b")
        self.assertEqual((changed.value, changed.version), (Decimal("351.5"), 2))
        self.assertEqual(
            Figure.objects.exclude(pk=changed.pk).filter(version=1).count(), 2
        )

    def test_row_errors_name_the_row_the_column_and_the_cell_value(self):
        response = self.preview(
            xlsx([row("2a", 3, "10"), row("2b", 3, "3.865"), row("9z", 7, "1")])
        )
        self.assertIsNone(response.context.get("confirm_form"))
        self.assertContains(response, "Ô E3 (giá trị “3.865”)")
        self.assertContains(response, "không rõ nghĩa")
        self.assertContains(response, "Ô B4 (giá trị “9z”)")
        self.assertContains(response, "Quý phải từ 1 đến 4")
        self.assertContains(response, "<td>3</td>", html=True)  # spreadsheet row
        self.assertFalse(Figure.objects.exists())

    def test_unknown_and_missing_columns_are_refused_before_any_row(self):
        headers = ["Số nghị quyết", "Mã chỉ tiêu", "Năm", "Quý", "So lieu"]
        response = self.preview(xlsx([[NUMBER, "2a", 2025, 3, "1"]], headers))
        self.assertContains(response, "Tệp có cột không thuộc mẫu")
        self.assertContains(response, "“So lieu”")
        self.assertContains(response, "Thiếu cột bắt buộc: “Số liệu”")
        self.assertIsNone(response.context.get("confirm_form"))

    def test_the_stored_preview_file_is_removed_after_confirm(self):
        with override_settings(IMPORT_EXPORT_TMP_STORAGE_CLASS=None):
            del settings.IMPORT_EXPORT_TMP_STORAGE_CLASS
            preview = self.preview(xlsx([row("2a", 3, "10")]))
            stored = Path(preview.context["confirm_form"].initial["import_file_name"])
            stored = Path(tempfile.gettempdir()) / stored.name
            self.assertTrue(stored.exists())
            self.confirm(preview)
        self.assertFalse(stored.exists())
        self.assertEqual(Figure.objects.count(), 1)

    def test_a_file_whose_extension_does_not_match_the_format_is_refused(self):
        response = self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": "1",
                "import_file": SimpleUploadedFile("a.xlsx", xlsx([row("2a", 3, "1")])),
            },
        )
        self.assertContains(response, "Hãy chọn định dạng xlsx")


class LockTests(ImportTestCase):
    def test_an_approved_figure_is_refused_with_the_reason(self):
        self.figure("2a", 3, "3000", state="approved")
        response = self.preview(xlsx([row("2a", 3, "3100")]))
        self.assertContains(response, "Số liệu đã được phê duyệt nên đã khóa")
        self.assertEqual(Figure.objects.get().value, Decimal("3000"))

    def test_a_closed_period_refuses_a_new_figure_with_the_reason(self):
        ReportingPeriod.objects.filter(pk=self.periods[2].pk).update(state="closed")
        response = self.preview(xlsx([row("2a", 2, "3100")]))
        self.assertContains(response, "Quý II/2025 đã khóa sổ")
        self.assertFalse(Figure.objects.exists())

    def test_unchanged_rows_of_locked_figures_pass(self):
        self.figure("2a", 3, "3000", state="approved")
        self.figure("2b", 2, "340")
        ReportingPeriod.objects.filter(pk=self.periods[2].pk).update(state="closed")
        response = self.preview(xlsx([row("2a", 3, "3000"), row("2b", 2, "340")]))
        self.assertEqual(response.context["result"].totals["skip"], 2)
        self.assertIsNotNone(response.context["confirm_form"])


class FigureImportRuleTests(ImportTestCase):
    """The figure import (one batch) enforces the model's rules with messages that
    name the cell, and writes nothing when a row is refused."""

    def assertRefused(self, rows, fragment):
        before = figures()
        result = run(FigureBatchResource, xlsx(rows), self.admin)
        self.assertTrue(result.has_validation_errors())
        self.assertEqual(figures(), before)
        lines = error_lines(result)
        self.assertTrue(any(fragment in line for line in lines), lines)

    def test_more_decimals_than_the_target_allows(self):
        self.assertRefused(
            [row("2a", 3, "1"), row("2a", 4, "3865,285")],
            "Ô E3 (giá trị “3865,285”): Chỉ tiêu 2a chỉ nhận tối đa 2 chữ số",
        )

    def test_a_negative_figure_for_a_target_that_cannot_be_negative(self):
        self.assertRefused(
            [row("2d", 3, "-4,7"), row("2a", 3, "-5")], "không nhận số âm"
        )

    def test_a_period_outside_the_targets_window(self):
        self.assertRefused(
            [row("1", 1, "20")],
            "Ô D2 (giá trị “1”): Quý I/2025 nằm ngoài khoảng đánh giá của chỉ tiêu 1",
        )

    def test_an_approved_figure(self):
        self.figure("2a", 3, "3000", state="approved")
        self.assertRefused(
            [row("2a", 3, "3100")], "Dòng 2: Số liệu đã được phê duyệt nên đã khóa"
        )

    def test_a_closed_period(self):
        self.figure("2b", 2, "340")
        ReportingPeriod.objects.filter(pk=self.periods[2].pk).update(state="closed")
        self.assertRefused([row("2b", 2, "341")], "Quý II/2025 đã khóa sổ")
        self.assertRefused([row("2a", 2, "1")], "Quý II/2025 đã khóa sổ")

    def test_an_ambiguous_number(self):
        self.assertRefused([row("2a", 3, "3.865")], "không rõ nghĩa")

    def test_an_unknown_target_code(self):
        self.assertRefused([row("2z", 3, "1")], "không có chỉ tiêu mã “2z”")

    def test_two_rows_for_the_same_figure(self):
        self.assertRefused(
            [row("2a", 3, "1"), row("2A", 3, "2")], "Dòng 3: Dòng này trùng với dòng 2"
        )

    def test_it_creates_updates_and_skips_with_one_history_row_per_change(self):
        kept = self.figure("2b", 3, "340")
        changed = self.figure("2c", 3, "9")
        rows = [row("2a", 3, "3865,28"), row("2b", 3, "340,00"), row("2c", 3, "10")]
        result = run(FigureBatchResource, xlsx(rows), self.admin)
        totals = result.totals
        self.assertEqual((totals["new"], totals["update"], totals["skip"]), (1, 1, 1))
        history = Figure.history.filter(history_change_reason=models.VIA_IMPORT)
        self.assertEqual(history.count(), 2)
        self.assertEqual({h.history_user for h in history}, {self.admin})
        stored = {
            code: (value, version, user)
            for code, _, value, _, _, _, version, user in figures()[0]
        }
        self.assertEqual(
            stored,
            {
                "2a": (Decimal("3865.28"), Figure().version, "quantri"),
                "2b": (Decimal("340"), kept.version, None),
                "2c": (Decimal("10"), changed.version + 1, "quantri"),
            },
        )

    def test_a_bad_last_row_makes_the_import_write_nothing(self):
        rows = [row(code, 3, "1") for code in ("2a", "2b", "2c", "3", "7b")]
        rows.append(row("8a", 3, "3.865"))
        result = run(FigureBatchResource, xlsx(rows), self.admin)
        self.assertEqual(len(result.invalid_rows), 1)
        self.assertEqual(figures(), ([], 0))


class LanguageTests(ImportTestCase):
    ROWS = [
        row("2a", 3, "3.865,28"),
        row("3", 3, "1.250.000"),
        row("6c", 3, "15,99"),
        row("2d", 3, "-4,7"),
        row("10a", 3, "40.64"),
        row("7b", 3, "235", "Ước thực hiện"),
    ]

    def test_a_csv_imported_under_vi_and_en_gives_identical_rows(self):
        data = csv_file(self.ROWS)
        states = []
        for language in ("vi", "en"):
            with translation.override(language):
                result = run(FigureBatchResource, data, self.admin, name="x.csv")
            self.assertFalse(result.has_validation_errors(), error_lines(result))
            states.append(figures()[0])
            Figure.history.all().delete()
            Figure.objects.all().delete()
        self.assertEqual(states[0], states[1])
        values = {code: value for code, _, value, *_ in states[0]}
        self.assertEqual(values["2a"], Decimal("3865.28"))
        self.assertEqual(values["3"], Decimal("1250000"))
        self.assertEqual(values["10a"], Decimal("40.64"))

    def test_the_admin_under_en_reads_numbers_as_under_vi(self):
        response = self.preview(
            csv_file(self.ROWS), "so-lieu.csv", HTTP_ACCEPT_LANGUAGE="en"
        )
        self.confirm(response, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(
            Figure.objects.get(target__code="2a").value, Decimal("3865.28")
        )

    def test_an_ambiguous_number_is_refused_in_both_languages_alike(self):
        data = csv_file([row("2a", 3, "3.865")])
        messages = []
        for language in ("vi", "en"):
            response = self.preview(data, "x.csv", HTTP_ACCEPT_LANGUAGE=language)
            self.assertIsNone(response.context.get("confirm_form"))
            messages.append(error_lines(response.context["result"]))
        self.assertEqual(messages[0], messages[1])
        self.assertIn("“3.865” không rõ nghĩa", messages[0][0])
        self.assertFalse(Figure.objects.exists())


class ExportTests(ImportTestCase):
    NOTES = [
        '=HYPERLINK("http://x")',
        "+84 912",
        "-2 so với kỳ trước",
        "@SUM(A1)",
        "\tthụt đầu",
        "\rxuống dòng",
    ]

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        codes = ["2a", "2b", "2c", "3", "7b", "8a"]
        for code, note in zip(codes, cls.NOTES, strict=True):
            figure = Figure.objects.create(
                target=cls.targets[code], period=cls.periods[3], value=Decimal("12.5")
            )
            # Stored as older data or SQL by hand could hold it: a save would trim
            # the leading tab or line break (targets.fields.clean_text).
            Figure.objects.filter(pk=figure.pk).update(note=note)
        Figure.objects.create(
            target=cls.targets["2d"],
            period=cls.periods[3],
            value=Decimal("-4.7"),
            state="approved",
        )
        Figure.objects.create(
            target=cls.targets["2b"],
            period=cls.periods[1],
            value=Decimal("300"),
        )
        ReportingPeriod.objects.filter(pk=cls.periods[1].pk).update(state="closed")

    def test_exported_text_starting_with_a_formula_character_stays_text_in_xlsx(self):
        book = openpyxl.load_workbook(io.BytesIO(self.export("figure")))
        sheet = book.worksheets[0]
        headers = [c.value for c in sheet[1]]
        note, value = headers.index("Ghi chú") + 1, headers.index("Số liệu") + 1
        notes = {}
        for cells in sheet.iter_rows(min_row=2):
            if cells[note - 1].value:
                cell = cells[note - 1]
                self.assertEqual(cell.data_type, "s", cell.value)
                self.assertTrue(cell.quotePrefix)
                notes[cell.value] = cell
            number = cells[value - 1]
            self.assertEqual(number.data_type, "n")
        self.assertEqual(len(notes), len(self.NOTES))
        self.assertIn('=HYPERLINK("http://x")', notes)
        negative = [
            c[value - 1]
            for c in sheet.iter_rows(min_row=2)
            if c[value - 1].value == -4.7
        ]
        self.assertEqual(negative[0].number_format, "#,##0.00")

    def test_exported_text_starting_with_a_formula_character_is_escaped_in_csv(self):
        text = self.export("figure", "1").decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline="")))
        headers = records[0]
        notes = [r[headers.index("Ghi chú")] for r in records[1:]]
        values = [r[headers.index("Số liệu")] for r in records[1:]]
        for original in self.NOTES:
            self.assertIn("'" + original, notes)
        self.assertIn("-4,7", values)  # a number keeps its sign, unescaped
        self.assertNotIn("'-4,7", values)

    def test_export_then_import_leaves_the_database_unchanged(self):
        for model, (model_class, _) in ADMINS.items():
            for file_format, name in (("0", "tep.xlsx"), ("1", "tep.csv")):
                with self.subTest(model=model, format=name):
                    before = (list(model_class.objects.values_list()), figures())
                    preview = self.preview(self.export(model, file_format), name, model)
                    result = preview.context["result"]
                    self.assertFalse(result.has_errors(), error_lines(result))
                    self.assertFalse(
                        result.has_validation_errors(), error_lines(result)
                    )
                    totals = result.totals
                    self.assertEqual((totals["new"], totals["update"]), (0, 0))
                    self.assertEqual(totals["skip"], model_class.objects.count())
                    response = self.confirm(preview, model)
                    self.assertEqual(response.status_code, 302)
                    after = (list(model_class.objects.values_list()), figures())
                    self.assertEqual(after, before)

    def test_a_template_can_be_downloaded_for_every_resource(self):
        for model, (_, resource_class) in ADMINS.items():
            if model == "figure":
                continue  # pre-filled in the report layout: test_commune_sheet
            with self.subTest(model=model):
                response = self.client.get(f"/admin/targets/{model}/import/template/")
                self.assertEqual(response.status_code, 200)
                book = openpyxl.load_workbook(io.BytesIO(response.content))
                rows = list(book.worksheets[0].iter_rows(values_only=True))
                self.assertEqual(list(rows[0]), resource_class().get_export_headers())
                self.assertEqual(len(rows), 1)

    def test_an_edited_export_updates_only_the_edited_target(self):
        data = self.export("target")
        book = openpyxl.load_workbook(io.BytesIO(data))
        sheet = book.worksheets[0]
        headers = [c.value for c in sheet[1]]
        sheet.cell(row=2, column=headers.index("Ghi chú cách hiểu") + 1, value="sửa")
        stream = io.BytesIO()
        book.save(stream)
        preview = self.preview(stream.getvalue(), "chi-tieu.xlsx", "target")
        self.assertEqual(preview.context["result"].totals["update"], 1)
        self.assertFalse(Target.objects.filter(reading_note="sửa").exists())
        self.confirm(preview, "target")
        self.assertEqual(Target.objects.filter(reading_note="sửa").count(), 1)


class PermissionTests(ImportTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.staff = User.objects.create_user("canbo", is_staff=True)
        cls.staff.user_permissions.set(
            Permission.objects.filter(content_type__app_label="targets")
        )
        cls.staff.groups.add(Group.objects.get(name=models.APPROVER))
        cls.admin_member = User.objects.create_user("quantri2", is_staff=True)
        cls.admin_member.groups.add(Group.objects.get(name=models.ADMINISTRATOR))

    def test_staff_who_are_not_administrators_cannot_import(self):
        self.client.force_login(self.staff)
        for url in (
            "/admin/targets/figure/import/",
            "/admin/targets/figure/import/template/",
        ):
            self.assertEqual(self.client.get(url).status_code, 403, url)
        response = self.client.post("/admin/targets/figure/process_import/", {})
        self.assertEqual(response.status_code, 403)
        response = self.preview(xlsx([row("2a", 3, "1")]))
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Figure.objects.exists())
        changelist = self.client.get("/admin/targets/figure/")
        self.assertNotContains(changelist, "Nhập từ bảng tính")
        self.assertContains(changelist, "Xuất ra bảng tính")

    def test_staff_with_view_permission_can_export(self):
        self.client.force_login(self.staff)
        self.assertEqual(
            self.client.post(
                "/admin/targets/figure/export/", {"resource": "0", "format": "0"}
            ).status_code,
            200,
        )

    def test_has_import_permission_follows_the_administrator_rule(self):
        from django.contrib import admin
        from django.test import RequestFactory

        model_admin = FigureAdmin(Figure, admin.site)
        request = RequestFactory().get("/")
        for user, allowed in (
            (self.staff, False),
            (self.admin_member, True),
            (self.admin, True),
        ):
            request.user = user
            self.assertEqual(model_admin.has_import_permission(request), allowed)

    def test_an_administrator_group_member_can_import(self):
        self.client.force_login(self.admin_member)
        self.confirm(self.preview(xlsx([row("2a", 3, "1")])))
        self.assertEqual(Figure.objects.get().updated_by, self.admin_member)


class CommandTests(ImportTestCase):
    def setUp(self):
        super().setUp()
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)

    def call(self, data, *args, name="so-lieu.xlsx"):
        path = self.folder / name
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        call_command("import_figures", str(path), *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_it_imports_every_row_with_the_user_and_the_reason(self):
        out, _ = self.call(
            xlsx([row("2a", 3, "3865,28"), row("2b", 3, "350")]), "--user", "quantri"
        )
        self.assertIn("Thêm mới: 2 · Cập nhật: 0 · Không đổi: 0 · Lỗi: 0", out)
        history = Figure.history.all()
        self.assertEqual(history.count(), 2)
        self.assertEqual(
            {(h.history_user, h.history_change_reason) for h in history},
            {(self.admin, models.VIA_IMPORT)},
        )

    def test_a_dry_run_writes_nothing(self):
        out, _ = self.call(
            csv_file([row("2a", 3, "1")]),
            "--user",
            "quantri",
            "--dry-run",
            name="x.csv",
        )
        self.assertIn("Thêm mới: 1", out)
        self.assertIn("không ghi gì", out)
        self.assertEqual(figures(), ([], 0))

    def test_one_bad_row_fails_the_command_and_writes_nothing(self):
        rows = [row("2a", 3, "1"), row("2b", 3, "2"), row("2c", 3, "3.865")]
        with self.assertRaisesMessage(CommandError, "không có gì được ghi"):
            self.call(xlsx(rows), "--user", "quantri")
        self.assertEqual(figures(), ([], 0))

    def test_the_errors_name_the_row_the_column_and_the_value(self):
        err = io.StringIO()
        path = self.folder / "x.xlsx"
        path.write_bytes(xlsx([row("2a", 3, "1"), row("2c", 3, "3.865")]))
        with self.assertRaises(CommandError):
            call_command(
                "import_figures",
                str(path),
                "--user",
                "quantri",
                stderr=err,
                stdout=io.StringIO(),
            )
        self.assertIn(
            "Dòng 3, cột “Số liệu”: Ô E3 (giá trị “3.865”): “3.865” không rõ nghĩa",
            err.getvalue(),
        )

    def test_it_refuses_a_user_who_is_not_an_administrator(self):
        User.objects.create_user("kinhte")
        with self.assertRaisesMessage(CommandError, "chỉ quản trị hệ thống"):
            self.call(xlsx([row("2a", 3, "1")]), "--user", "kinhte")
        self.assertFalse(Figure.objects.exists())

    def test_it_refuses_a_macro_workbook_by_its_name(self):
        with self.assertRaisesMessage(CommandError, "macro"):
            self.call(xlsx([row("2a", 3, "1")]), "--user", "quantri", name="a.xlsm")


class BigFileTests(TestCase):
    """One bad row at the end of a 5,000-row file writes nothing, on the admin path
    and on the command path. 50 targets × 100 quarters, built with bulk_create."""

    ROWS = 5000

    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("quantri", "", None)
        big_commune("99/NQ-HĐND", range(2001, 2026), 50)
        rows = [
            ["99/NQ-HĐND", f"1t{i % 50}", 2001 + i // 200, 1 + (i // 50) % 4, "12,5"]
            for i in range(cls.ROWS)
        ]
        rows[-1][4] = "3.865"
        cls.data = xlsx(rows, HEADERS[:5])

    def test_the_admin_preview_refuses_the_file_and_nothing_is_written(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": "0",
                "import_file": SimpleUploadedFile("lon.xlsx", self.data),
            },
        )
        result = response.context["result"]
        self.assertEqual(len(result.invalid_rows), 1)
        self.assertEqual(result.invalid_rows[0].number + 1, self.ROWS + 1)
        self.assertEqual(result.totals["new"], self.ROWS - 1)
        self.assertIsNone(response.context.get("confirm_form"))
        self.assertEqual(figures(), ([], 0))

    def command(self, data: bytes, name: str) -> None:
        """`manage.py import_figures` on `data` saved as `name`, by quantri."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            call_command(
                "import_figures",
                str(path),
                "--user",
                "quantri",
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )

    def test_the_command_refuses_the_file_and_nothing_is_written(self):
        with self.assertRaises(CommandError):
            self.command(self.data, "lon.xlsx")
        self.assertEqual(figures(), ([], 0))

    def test_without_the_bad_row_the_whole_file_is_written(self):
        dataset = SafeXLSX().create_dataset(self.data)
        dataset[-1] = dataset[-1][:4] + ("7",)
        self.command(SafeCSV().export_data(dataset), "lon.csv")
        self.assertEqual(Figure.objects.count(), self.ROWS)
        self.assertEqual(Figure.history.count(), self.ROWS)


class FigureAdminFormTests(ImportTestCase):
    def test_the_admin_form_reads_vietnamese_numbers_with_the_targets_rules(self):
        figure = self.figure("2a", 3, "1")
        data = {
            "target": figure.target_id,
            "period": figure.period_id,
            "kind": "actual",
            "state": "draft",
            "note": "",
            "state_reason": "",
        }
        form = FigureAdminForm({**data, "value": "3.865,28"}, instance=figure)
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual(form.cleaned_data["value"], Decimal("3865.28"))
        for typed in ("3.865", "3865,285", "-1"):
            form = FigureAdminForm({**data, "value": typed}, instance=figure)
            self.assertFalse(form.is_valid(), typed)
            self.assertIn("value", form.errors)

    def test_saving_in_the_admin_bumps_the_version_and_records_who_and_how(self):
        from django.contrib import admin
        from django.test import RequestFactory

        figure = self.figure("2a", 3, "1")
        request = RequestFactory().post("/")
        request.user = self.admin
        figure.value = Decimal("2")
        FigureAdmin(Figure, admin.site).save_model(request, figure, None, True)
        figure.refresh_from_db()
        self.assertEqual((figure.version, figure.updated_by), (2, self.admin))
        self.assertEqual(figure.history.first().history_change_reason, models.VIA_ADMIN)


class QueryCountTests(ImportTestCase):
    def test_the_batched_import_runs_as_many_queries_for_40_rows_as_for_10(self):
        pairs = [(c, q) for c in sorted(self.targets) if c != "1" for q in (3, 4)]
        counts = {}
        for size in (10, 40):
            first = xlsx([row(c, q, "5") for c, q in pairs[:size]])
            second = xlsx([row(c, q, "6") for c, q in pairs[:size]])
            queries = []
            for data in (first, first, second):  # new, unchanged, updated
                with CaptureQueriesContext(connection) as captured:
                    result = run(FigureBatchResource, data, self.admin)
                self.assertFalse(result.has_validation_errors())
                queries.append(len(captured))
            counts[size] = queries
            Figure.objects.all().delete()
        self.assertEqual(counts[10], counts[40])


class LibraryContractTests(ImportTestCase):
    """What the import relies on in django-import-export 4.4.3 beyond its documented
    hooks, and what no longer exists: each test fails if an upgrade changes it."""

    def test_process_result_calls_the_public_log_hook_the_admin_overrides(self):
        from import_export.admin import ImportMixin

        from targets.admin_import import SpreadsheetAdmin

        hook = inspect.signature(ImportMixin.generate_log_entries).parameters
        self.assertEqual(list(hook), ["self", "result", "request"])
        source = inspect.getsource(ImportMixin.process_result)
        self.assertIn("self.generate_log_entries(result, request)", source)
        self.assertIn("generate_log_entries", vars(SpreadsheetAdmin))
        # No private method of the library is overridden any more.
        private = {
            name
            for name in vars(SpreadsheetAdmin)
            if name.startswith("_") and not name.startswith("__")
        }
        library = {name for name in dir(ImportMixin) if name.startswith("_")}
        self.assertEqual(private & library, set())

    def test_the_library_marks_the_stored_upload_with_its_tmp_storage_name(self):
        from import_export.admin import ImportMixin
        from import_export.tmp_storages import BaseStorage

        source = inspect.getsource(ImportMixin.import_action)
        self.assertIn("import_file.tmp_storage_name = tmp_storage.name", source)
        storage = BaseStorage(name="x", read_mode="rb", encoding=None)
        self.assertEqual((storage.name, storage.read_mode), ("x", "rb"))

    def test_figures_have_no_per_row_import(self):
        from import_export import resources as library

        from targets import resources

        self.assertFalse(hasattr(resources, "FigureResource"))
        with self.assertRaises(NotImplementedError):
            FigureBatchResource().find({})
        refuse = AssertionError("the library's per-row path ran")
        with mock.patch.object(library.Resource, "import_row", side_effect=refuse):
            result = run(FigureBatchResource, xlsx([row("2a", 3, "1")]), self.admin)
        self.assertEqual(result.totals["new"], 1)

    def test_the_library_import_command_no_longer_finds_the_per_row_resource(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "so-lieu.csv"
            path.write_bytes(csv_file([row("2a", 3, "1")]))
            with self.assertRaisesMessage(CommandError, "Cannot import"):
                call_command(
                    "import",
                    "targets.resources.FigureResource",
                    str(path),
                    "--no-input",
                )
        self.assertFalse(Figure.objects.exists())
