"""A share lies in 0–100: every write path (entry page, admin form, admin import)
refuses 150 and 100,5 with the Vietnamese message naming the bound, and stores
nothing. The rule lives on the model (Target.bound_error in Figure.clean), so each
path meets it; these tests prove each path does."""

from decimal import Decimal

from django.test import override_settings

from targets.figure_import import FigureBatchResource
from targets.models import Figure, Target

from .base import (
    CACHE_STORAGE,
    EntryTestCase,
    ImportTestCase,
    csv_file,
    figures,
    row,
    run,
)

# Tỷ lệ dân cư nông thôn được sử dụng nước sinh hoạt hợp vệ sinh: 100%, a share
# led by Phòng Kinh tế (the demo clerk kinhte).
WATER = "9c"
BOUND = "Chỉ tiêu 9c chỉ nhận giá trị từ 0 đến 100"
OUTSIDE = ("150", "100,5")
NOTE = "Số liệu thử nghiệm, đã kiểm tra lại với thôn bản."


class TheFixtureBoundsTheShareTests(EntryTestCase):
    def test_the_share_is_bounded_0_to_100(self):
        water = Target.objects.get(code=WATER)
        self.assertEqual((water.min_value, water.max_value), (Decimal(0), Decimal(100)))


class EntryPageBoundsTests(EntryTestCase):
    def setUp(self):
        self.water = Target.objects.get(code=WATER)

    def test_the_entry_page_refuses_a_share_above_100_and_stores_nothing(self):
        for typed in OUTSIDE:
            with self.subTest(typed=typed):
                response = self.save(
                    self.row(self.water, typed, note=NOTE), user=self.clerk
                )
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, BOUND)
                self.assertContains(response, "Chưa lưu")
                self.assertIsNone(self.figure(self.water))
                self.assertFalse(
                    Figure.history.filter(target_id=self.water.pk, period=self.q4)
                )

    def test_the_bound_itself_is_accepted(self):
        response = self.save(self.row(self.water, "100", note=NOTE), user=self.clerk)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.figure(self.water).value, Decimal("100"))


class AdminFormBoundsTests(EntryTestCase):
    def setUp(self):
        self.water = Target.objects.get(code=WATER)
        self.client.force_login(self.admin)

    def add(self, typed):
        return self.client.post(
            "/admin/targets/figure/add/",
            {
                "target": self.water.pk,
                "period": self.q4.pk,
                "value": typed,
                "kind": "actual",
                "note": NOTE,
            },
        )

    def test_the_admin_add_form_refuses_a_share_above_100_and_stores_nothing(self):
        for typed in OUTSIDE:
            with self.subTest(typed=typed):
                response = self.add(typed)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, BOUND)
                self.assertIsNone(self.figure(self.water))

    def test_the_admin_add_form_accepts_the_bound(self):
        response = self.add("100")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.figure(self.water).value, Decimal("100"))


@override_settings(IMPORT_EXPORT_TMP_STORAGE_CLASS=CACHE_STORAGE)
class ImportBoundsTests(ImportTestCase):
    def test_the_admin_import_preview_refuses_a_share_above_100(self):
        for typed in OUTSIDE:
            with self.subTest(typed=typed):
                before = figures()
                data = csv_file([row("2a", 3, "1"), row(WATER, 3, typed)])
                response = self.preview(data, "so-lieu.csv")
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, BOUND)
                # No confirm form: nothing of the file can be saved.
                self.assertNotIn("confirm_form", response.context or {})
                self.assertEqual(figures(), before)

    def test_the_import_refuses_it_and_writes_nothing(self):
        for typed in OUTSIDE:
            with self.subTest(typed=typed):
                before = figures()
                result = run(
                    FigureBatchResource,
                    csv_file([row("2a", 3, "1"), row(WATER, 3, typed)]),
                    self.admin,
                    name="x.csv",
                )
                self.assertTrue(result.has_validation_errors())
                self.assertEqual(figures(), before)

    def test_the_bound_itself_imports(self):
        preview = self.preview(csv_file([row(WATER, 3, "100")]), "so-lieu.csv")
        self.assertIn("confirm_form", preview.context)
        self.confirm(preview)
        figure = Figure.objects.get(target__code=WATER, period=self.periods[3])
        self.assertEqual(figure.value, Decimal("100"))
