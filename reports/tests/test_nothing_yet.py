"""Before the data is there: with no resolution loaded, or a resolution whose
commune has no reporting period yet, every page says what is missing and what the
administrator does next, instead of failing."""

import json

from django.contrib.auth.models import Group
from django.test import TestCase
from django.urls import reverse

from targets.models import DELEGATE, ROLE_GROUPS, Area, Commune, Indicator
from targets.tests.builders import add_resolution, add_target

from .builders import FAST_PASSWORDS, user

READER_PAGES = ["dashboard", "bodies", "tasks", "report", "report_xlsx", "report_pdf"]
PUBLIC_PAGES = ["index", "report", "report_xlsx", "report_pdf"]


class NothingYetTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        # The role groups come from a data migration a transactional test may flush.
        for name in ROLE_GROUPS:
            Group.objects.get_or_create(name=name)
        cls.delegate = user("dai-bieu", DELEGATE)

    def setUp(self):
        self.client.force_login(self.delegate)


@FAST_PASSWORDS
class NoResolutionTests(NothingYetTestCase):
    def test_every_reader_page_asks_for_the_resolution_to_be_loaded(self):
        for name in READER_PAGES:
            with self.subTest(name):
                response = self.client.get(reverse(f"reports:{name}"))
                self.assertEqual(response.status_code, 200)
                self.assertTemplateUsed(response, "reports/empty.html")
                self.assertContains(response, "Chưa có nghị quyết nào")
                self.assertContains(response, "manage.py load_resolution")

    def test_the_public_pages_say_there_is_no_resolution(self):
        self.client.logout()
        for name in [*PUBLIC_PAGES, "resolution"]:
            with self.subTest(name):
                response = self.client.get(reverse(f"public:{name}"))
                self.assertEqual(response.status_code, 404)
                self.assertContains(
                    response, "Chưa có nghị quyết nào trên hệ thống.", status_code=404
                )

    def test_the_api_says_there_is_no_resolution(self):
        response = self.client.get("/api/v1/progress/")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(
            json.loads(response.content)["detail"], "Chưa có nghị quyết nào."
        )
        for path in ("resolutions", "indicators", "targets", "periods", "figures"):
            with self.subTest(path):
                listed = json.loads(self.client.get(f"/api/v1/{path}/").content)
                self.assertEqual((listed["count"], listed["results"]), (0, []))


@FAST_PASSWORDS
class NoPeriodTests(NothingYetTestCase):
    """A resolution set up in the admin (one indicator, one target) before the
    commune's quarters were created."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        commune = Commune.objects.create(name="Nậm Sỏ", province="Lai Châu")
        cls.resolution = add_resolution(
            commune, number="01/NQ-HĐND", title="Về kế hoạch năm 2025"
        )
        indicator = Indicator.objects.create(
            resolution=cls.resolution, number=1, area=Area.ECONOMY, text="Kinh tế."
        )
        cls.target = add_target(indicator, "1a")

    def test_every_reader_page_asks_for_the_quarters(self):
        urls = [reverse(f"reports:{name}") for name in READER_PAGES]
        urls.append(reverse("reports:target", args=[self.target.pk]))
        for url in urls:
            with self.subTest(url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, f"{self.resolution}: chưa có kỳ báo cáo")
                self.assertContains(response, "tạo các kỳ báo cáo (quý) của xã")

    def test_the_public_pages_say_nothing_is_published_and_link_the_text(self):
        self.client.logout()
        urls = [reverse(f"public:{name}") for name in PUBLIC_PAGES]
        urls.append(reverse("public:target", args=[self.target.pk]))
        link = f"{reverse('public:resolution')}?nq={self.resolution.pk}"
        for url in urls:
            with self.subTest(url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "chưa có quý nào được công bố")
                self.assertContains(response, link)

    def test_the_resolution_itself_is_public_before_any_quarter(self):
        self.client.logout()
        response = self.client.get(reverse("public:resolution"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Về kế hoạch năm 2025")
        self.assertContains(response, self.target.name)

    def test_the_api_has_no_quarter_to_show_progress_at(self):
        response = self.client.get("/api/v1/progress/")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(
            json.loads(response.content)["detail"],
            "Kỳ này không có hoặc chưa được công bố.",
        )
