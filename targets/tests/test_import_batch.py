"""The figure import and the admin's figure form meet the one batch check of
targets.validation (DRAFT: the figure's own rules and the lock): the import refuses
what the entry page refuses, with the same words, in a fixed number of queries for
any number of rows; the admin form shows each refusal once."""

import os
import tempfile
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from targets.figure_import import FigureBatchResource
from targets.models import (
    Figure,
    FigureKind,
    PeriodState,
    ReportingPeriod,
    WorkflowState,
)

from .base import ImportTestCase, big_commune, figures, row, run, xlsx

BIG = "99/NQ-HĐND"
YEARS = range(2001, 2026)  # 100 quarters
TARGETS = 100  # × 100 quarters: 10,000 distinct rows
APPROVED_LOCK = "Số liệu đã được phê duyệt nên đã khóa"
NO_NEGATIVE = "không nhận số âm"
GONE = "Phiên xem trước không hợp lệ hoặc đã quá một giờ"


def big_rows(count: int) -> list[list]:
    """`count` rows, target by target through the quarters: row i is target i % 100
    in quarter i // 100; a negative value on row 5."""
    rows = []
    for i in range(count):
        quarter = i // TARGETS
        value = "-1" if i == 5 else f"{i},5"
        year, number = YEARS[0] + quarter // 4, 1 + quarter % 4
        rows.append([BIG, f"1t{i % TARGETS}", year, number, value, "Thực hiện"])
    return rows


class PreviewQueriesTests(TestCase):
    """A preview (dry run) of 10 rows and of 10,000 costs the same queries: the keys
    read once per table, the stored figures once, every row checked in memory
    (targets.validation.check_figures with the stored rows handed in). Every other
    row updates a stored draft; row 4's figure is approved (the lock), row 5 is
    negative (the figure's own rule)."""

    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("quantri", "", None)
        targets, periods = big_commune(BIG, YEARS, TARGETS)
        Figure.objects.bulk_create(
            Figure(
                target=targets[i % TARGETS],
                period=periods[i // TARGETS],
                value=Decimal(1),
                state=WorkflowState.APPROVED if i == 4 else WorkflowState.DRAFT,
            )
            for i in range(0, TARGETS * len(periods), 2)
        )

    def preview(self, count: int):
        data = xlsx(big_rows(count))
        with CaptureQueriesContext(connection) as captured:
            result = run(FigureBatchResource, data, self.admin, dry_run=True)
        return result, len(captured)

    def test_ten_rows_and_ten_thousand_cost_the_same_queries(self):
        small, small_queries = self.preview(10)
        big, big_queries = self.preview(10_000)
        self.assertEqual(small_queries, big_queries)
        for result, count in ((small, 10), (big, 10_000)):
            with self.subTest(rows=count):
                refused = {r.number: r.error_dict for r in result.invalid_rows}
                self.assertEqual(sorted(refused), [5, 6])  # rows 4 and 5, 1-based
                self.assertIn(APPROVED_LOCK, " ".join(refused[5]["__all__"]))
                self.assertIn(NO_NEGATIVE, " ".join(refused[6]["Số liệu"]))
                self.assertEqual(result.totals["update"], count // 2 - 1)
                self.assertEqual(result.totals["new"], count - count // 2 - 1)
        self.assertEqual(Figure.history.count(), 0)  # a preview writes nothing


class ImportMeetsTheBatchCheckTests(ImportTestCase):
    """Each refusal of the import is the figure's own rule or the lock, named on the
    row and the column that carries it; nothing is written when one row is refused."""

    def refusals(self, rows, headers=None):
        data = xlsx(rows, headers) if headers else xlsx(rows)
        result = run(FigureBatchResource, data, self.admin)
        return {r.number: r.error_dict for r in result.invalid_rows}

    def test_a_value_of_a_closed_quarter_is_refused_new_or_stored(self):
        self.figure("2b", 3, "10")
        ReportingPeriod.objects.filter(pk=self.periods[3].pk).update(
            state=PeriodState.CLOSED
        )
        before = figures()
        refused = self.refusals([row("2a", 3, "5"), row("2b", 3, "11")])
        self.assertEqual(sorted(refused), [1, 2])
        for number in (1, 2):
            with self.subTest(row=number):
                self.assertIn("đã khóa sổ", " ".join(refused[number]["__all__"]))
        self.assertEqual(figures(), before)

    def test_a_locked_figure_says_only_why_it_is_locked(self):
        """A figure that may not change is refused for that alone: a value past a
        bound on its row is not worth fixing while it is locked."""
        self.figure("9c", 3, "90", state=WorkflowState.APPROVED)
        refused = self.refusals([row("9c", 3, "150")])
        self.assertEqual(list(refused[1]), ["__all__"])
        self.assertIn(APPROVED_LOCK, refused[1]["__all__"][0])

    def test_an_unchanged_locked_figure_is_skipped_not_refused(self):
        self.figure("2a", 3, "5", state=WorkflowState.APPROVED)
        result = run(FigureBatchResource, xlsx([row("2a", 3, "5")]), self.admin)
        self.assertFalse(result.has_validation_errors())
        self.assertEqual(result.totals["skip"], 1)

    def test_new_figures_meet_the_targets_bounds_and_decimals(self):
        refused = self.refusals(
            [row("2a", 3, "1"), row("9c", 3, "150"), row("9c", 4, "99,1234")]
        )
        self.assertEqual(sorted(refused), [2, 3])
        self.assertIn("từ 0 đến 100", " ".join(refused[2]["Số liệu"]))
        self.assertIn("chữ số thập phân", " ".join(refused[3]["Số liệu"]))
        self.assertEqual(figures(), ([], 0))

    def test_a_quarter_outside_the_targets_window_is_refused_on_the_quarter(self):
        target = self.targets["2a"]
        target.window_start_year = target.window_end_year = 2025
        target.window_start_quarter = target.window_end_quarter = 4
        target.save()
        refused = self.refusals([row("2a", 3, "1")])
        self.assertIn("nằm ngoài khoảng đánh giá", " ".join(refused[1]["Quý"]))

    def test_an_update_keeps_the_state_and_marks_the_administrators_figure(self):
        stored = self.figure("2a", 3, "5", is_demo=True, state=WorkflowState.RETURNED)
        result = run(FigureBatchResource, xlsx([row("2a", 3, "6")]), self.admin)
        self.assertEqual(result.totals["update"], 1)
        stored.refresh_from_db()
        self.assertEqual(stored.value, Decimal("6"))
        self.assertEqual(stored.state, WorkflowState.RETURNED)
        self.assertEqual((stored.version, stored.updated_by), (2, self.admin))
        self.assertFalse(stored.is_demo)
        self.assertEqual(stored.kind, FigureKind.ACTUAL)


class AdminFormSaysEachRefusalOnceTests(ImportTestCase):
    """The admin's figure form runs the batch check; Figure.clean, which the model
    form runs after it, does not repeat what the check said."""

    def post(self, url, **values):
        data = {"value": "1", "kind": "actual", "note": "", **values}
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def add(self, **values):
        return self.post("/admin/targets/figure/add/", **values)

    def test_a_new_figure_in_a_closed_quarter_is_refused_once(self):
        ReportingPeriod.objects.filter(pk=self.periods[4].pk).update(
            state=PeriodState.CLOSED
        )
        page = self.add(target=self.targets["2a"].pk, period=self.periods[4].pk)
        self.assertEqual(page.count("đã khóa sổ: không thể thay đổi số liệu"), 1)
        self.assertFalse(Figure.objects.exists())

    def test_a_negative_value_of_a_target_that_takes_none_is_refused_once(self):
        page = self.add(
            target=self.targets["2a"].pk, period=self.periods[3].pk, value="-5"
        )
        self.assertEqual(page.count(NO_NEGATIVE), 1)
        self.assertFalse(Figure.objects.exists())

    def test_moving_a_draft_into_a_closed_quarter_is_refused_once(self):
        figure = self.figure("2a", 3, "5")
        ReportingPeriod.objects.filter(pk=self.periods[4].pk).update(
            state=PeriodState.CLOSED
        )
        page = self.post(
            f"/admin/targets/figure/{figure.pk}/change/",
            target=self.targets["2a"].pk,
            period=self.periods[4].pk,
            value="5",
        )
        self.assertEqual(page.count("đã khóa sổ: không thể thay đổi số liệu"), 1)
        figure.refresh_from_db()
        self.assertEqual(figure.period, self.periods[3])

    def test_a_figure_the_check_lets_through_is_saved_with_the_admins_stamp(self):
        figure = self.figure("2a", 3, "5")
        response = self.client.post(
            f"/admin/targets/figure/{figure.pk}/change/",
            {
                "target": self.targets["2a"].pk,
                "period": self.periods[3].pk,
                "value": "7,5",
                "kind": "estimate",
                "note": "",
            },
        )
        self.assertEqual(response.status_code, 302)
        figure.refresh_from_db()
        self.assertEqual((figure.value, figure.kind), (Decimal("7.5"), "estimate"))
        self.assertEqual((figure.version, figure.updated_by), (2, self.admin))


# The storage the admin keeps a previewed upload in, in production: a file in the
# temporary folder (the other tests keep it in the cache).
TEMP_FOLDER = "import_export.tmp_storages.TempFolderStorage"


@override_settings(IMPORT_EXPORT_TMP_STORAGE_CLASS=TEMP_FOLDER)
class ConfirmWritesOnlyThePreviewTests(ImportTestCase):
    """The confirm imports the file it previewed, with the choices it was previewed
    with, or writes nothing and says why on the upload page."""

    def setUp(self):
        super().setUp()
        self.previewed = self.preview(xlsx([row("2a", 3, "10")]))
        form = self.previewed.context["confirm_form"]
        self.posted = {name: form.initial.get(name, "") for name in form.fields}

    def confirm_with(self, **changes):
        response = self.client.post(
            "/admin/targets/figure/process_import/", {**self.posted, **changes}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Không có gì được ghi vào cơ sở dữ liệu")
        self.assertFalse(Figure.objects.exists())
        return response

    def test_a_confirm_without_its_token_is_refused(self):
        response = self.confirm_with(preview="")
        self.assertContains(response, "Thiếu thông tin xác nhận nhập")

    def test_a_confirm_whose_file_is_gone_is_refused(self):
        name = os.path.basename(self.posted["import_file_name"])
        os.remove(os.path.join(tempfile.gettempdir(), name))
        response = self.confirm_with()
        self.assertContains(response, "Tệp đã xem trước không còn trên máy")

    def test_a_confirm_with_another_format_is_refused(self):
        response = self.confirm_with(format="1")
        self.assertContains(response, "Tệp hoặc lựa chọn khác lúc xem trước")

    def test_the_previewed_confirm_writes_and_forgets_the_file(self):
        response = self.client.post(
            "/admin/targets/figure/process_import/", self.posted
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Figure.objects.get().value, Decimal("10"))
        again = self.client.post("/admin/targets/figure/process_import/", self.posted)
        self.assertContains(again, "Tệp đã xem trước không còn trên máy")
        self.assertEqual(Figure.objects.count(), 1)


@override_settings(IMPORT_EXPORT_TMP_STORAGE_CLASS=TEMP_FOLDER)
class PreviewAgainTests(ImportTestCase):
    """ "Xem trước lại" reads the file kept under a signed name, once."""

    def test_a_forged_kept_name_is_refused(self):
        response = self.client.post(
            "/admin/targets/figure/import/",
            {"resource": "0", "format": "0", "stored": "giả mạo"},
        )
        self.assertContains(response, GONE)
        self.assertFalse(Figure.objects.exists())

    def test_the_kept_file_is_previewed_again_then_forgotten(self):
        first = self.preview(xlsx([row("2a", 3, "10")]))
        remap = first.context["remap"]
        post = {"resource": "0", "format": "0", "stored": remap["stored"]}
        again = self.client.post("/admin/targets/figure/import/", post)
        self.assertEqual(again.context["result"].totals["new"], 1)
        self.assertIn("confirm_form", again.context)
        gone = self.client.post("/admin/targets/figure/import/", post)
        self.assertContains(gone, GONE)
