import datetime

import pytest
from django.contrib.auth.models import User
from django.test import TestCase
from django.utils import translation

from targets.loaders import DEMO_FILE, RESOLUTION_FILE, demo_load, resolution_load


class HomePageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.resolution = resolution_load(RESOLUTION_FILE)
        demo_load(DEMO_FILE, datetime.date(2026, 11, 29))
        cls.delegate = User.objects.get(username="daibieu")

    def test_anonymous_visitors_are_sent_to_the_login_page(self):
        response = self.client.get("/")
        self.assertRedirects(response, "/accounts/login/?next=/")

    def test_the_login_page_is_in_vietnamese(self):
        response = self.client.get("/accounts/login/")
        self.assertContains(response, "Tên đăng nhập")
        self.assertContains(response, "Mật khẩu")
        self.assertContains(response, 'lang="vi"')

    def test_a_wrong_password_gets_a_vietnamese_message(self):
        response = self.client.post(
            "/accounts/login/", {"username": "daibieu", "password": "sai"}
        )
        self.assertContains(response, "Tên đăng nhập hoặc mật khẩu không đúng")

    def test_the_home_page_lists_every_target_with_vietnamese_numbers(self):
        self.client.force_login(self.delegate)
        response = self.client.get("/")
        self.assertContains(response, "Nghị quyết số 13/NQ-HĐND ngày 30/07/2025")
        for shown in ["3.865,28", "15,99", "40,64", "99,68", "22,11", "96,27", "235"]:
            self.assertContains(response, shown)
        self.assertContains(response, "Về kinh tế")
        self.assertContains(response, "Về xã hội")
        self.assertContains(response, "Về môi trường")
        self.assertEqual(response.content.decode().count('<td class="num">'), 32)

    def test_numbers_read_the_same_in_english(self):
        self.client.force_login(self.delegate)
        with translation.override("en"):
            response = self.client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, "3.865,28")

    def test_an_unknown_resolution_is_not_found(self):
        self.client.force_login(self.delegate)
        self.assertEqual(self.client.get("/?nq=999").status_code, 404)
        self.assertEqual(self.client.get("/?nq=abc").status_code, 404)

    def test_the_admin_is_in_vietnamese_for_the_administrator(self):
        self.client.force_login(User.objects.get(username="quantri"))
        response = self.client.get("/admin/targets/target/")
        self.assertContains(response, "chỉ tiêu cụ thể")
        self.assertContains(response, "3.865,28")


def test_django_shows_vietnamese_number_and_date_formats():
    from django.utils import formats

    with translation.override("vi"):
        assert formats.number_format(1250000, use_l10n=True, force_grouping=True) == (
            "1.250.000"
        )
        assert formats.date_format(datetime.date(2025, 7, 30), "SHORT_DATE_FORMAT") == (
            "30/07/2025"
        )
        assert "%d/%m/%Y" in formats.get_format("DATE_INPUT_FORMATS")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_delegate_logs_in_and_reads_the_resolution_in_chromium(browser_page):
    resolution_load(RESOLUTION_FILE)
    demo_load(DEMO_FILE, datetime.date(2026, 11, 29))
    bp = browser_page()
    bp.login("daibieu")
    assert "3.865,28" in bp.page.content()
    bp.screenshot("home-delegate")
    assert bp.console_errors == []
    assert bp.outside_requests == []
