"""The reader pages over HTTP (reports.page_cache.answer): an ETag and `private,
no-cache`, a 304 to a repeat of the same session, a full page to a new session or
after a change; every other logged-in page stays `no-store`. Two users whose links
differ never share a kept body."""

from unittest import mock

from django.contrib.auth.models import User
from django.test import Client, TestCase
from django.urls import reverse

from targets.models import Figure, ReportingPeriod, Target

from .builders import FAST_PASSWORDS, load_demo

READER_PAGES = [
    "reports:dashboard",
    "reports:bodies",
    "reports:tasks",
    "reports:report",
    "reports:report_xlsx",
    "reports:report_pdf",
]


@FAST_PASSWORDS
class ReaderPageHttpTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_demo()
        cls.delegate = User.objects.get(username="daibieu")
        cls.q3 = ReportingPeriod.objects.get(year=2025, quarter=3)
        cls.grain = Target.objects.get(code="2a")

    def setUp(self):
        self.client.force_login(self.delegate)
        patcher = mock.patch("reports.exports.html_to_pdf", return_value=b"%PDF-1.7")
        patcher.start()
        self.addCleanup(patcher.stop)

    def urls(self):
        yield from (reverse(name) + f"?ky={self.q3.pk}" for name in READER_PAGES)
        yield reverse("reports:target", args=[self.grain.pk])

    def test_reader_pages_carry_an_etag_and_answer_a_repeat_with_304(self):
        for url in self.urls():
            with self.subTest(url):
                first = self.client.get(url)
                self.assertEqual(first.status_code, 200)
                self.assertEqual(first["Cache-Control"], "private, no-cache")
                etag = first["ETag"]
                again = self.client.get(url, HTTP_IF_NONE_MATCH=etag)
                self.assertEqual(again.status_code, 304)
                self.assertEqual(again["ETag"], etag)
                self.assertEqual(again["Cache-Control"], "private, no-cache")
                self.assertEqual(again.content, b"")

    def test_a_change_or_a_new_session_gets_the_whole_page(self):
        url = reverse("reports:dashboard") + f"?ky={self.q3.pk}"
        etag = self.client.get(url)["ETag"]
        Figure.objects.filter(target=self.grain, period=self.q3).update(value=1)
        changed = self.client.get(url, HTTP_IF_NONE_MATCH=etag)
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed["ETag"], etag)
        etag = changed["ETag"]
        other = Client()
        other.force_login(self.delegate)  # a new login: another CSRF token
        self.assertEqual(other.get(url, HTTP_IF_NONE_MATCH=etag).status_code, 200)

    def test_unknown_parameters_keep_the_etag(self):
        url = reverse("reports:tasks")
        etag = self.client.get(url, {"ky": self.q3.pk})["ETag"]
        again = self.client.get(url, {"ky": self.q3.pk, "utm_source": "zalo"})
        self.assertEqual(again["ETag"], etag)

    def test_entry_review_history_and_admin_pages_stay_no_store(self):
        figure = Figure.objects.filter(target=self.grain).first()
        pages = {
            "kinhte": ["/nhap-so-lieu/"],
            "pheduyet": [f"/duyet/{self.q3.pk}/"],
            "quantri": [
                "/admin/",
                f"/chi-tieu/{self.grain.pk}/lich-su/",
                f"/admin/targets/figure/{figure.pk}/change/",
            ],
        }
        for username, urls in pages.items():
            client = Client()
            client.force_login(User.objects.get(username=username))
            for url in urls:
                with self.subTest(url):
                    response = client.get(url, follow=True)
                    self.assertEqual(response.status_code, 200)
                    self.assertEqual(response["Cache-Control"], "no-store")
                    self.assertNotIn("ETag", response)

    def test_a_clerk_and_a_delegate_never_share_a_scorecard(self):
        url = reverse("reports:bodies") + f"?ky={self.q3.pk}"
        link = reverse("reports:target", args=[self.grain.pk])
        jobs = reverse("reports:target", args=[Target.objects.get(code="7b").pk])
        delegate_page = self.client.get(url).text
        clerk = Client()
        clerk.force_login(User.objects.get(username="kinhte"))
        clerk_page = clerk.get(url).text
        self.assertIn(f'href="{jobs}', delegate_page)
        self.assertIn(f'href="{link}', clerk_page)
        self.assertNotIn(f'href="{jobs}', clerk_page)  # another body's target
        self.assertIn(f'href="{jobs}', self.client.get(url).text)
