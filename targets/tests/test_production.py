"""Production settings: the deploy check, security headers and cookies, error pages."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from khoenon.views import server_error

from .test_entry import EntryTestCase

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def production_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST")) and k != "DATABASE_URL"
    }
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="khoenon.laichau.gov.vn",
        DATABASE_URL="sqlite:////tmp/khoenon-deploy-check.sqlite3",
        **extra,
    )
    return env


def test_the_deploy_check_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_production_refuses_to_serve_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    serve = subprocess.run(
        [sys.executable, "-c", "import khoenon.wsgi"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert serve.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in serve.stderr
    deploy_check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "security.W009" in deploy_check.stdout + deploy_check.stderr


HTTPS_SETTINGS = dict(
    SECURE_HSTS_SECONDS=31536000,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)


class HeaderTests(EntryTestCase):
    def pages(self):
        return [
            (self.delegate, "/"),
            (self.clerk, self.entry_url()),
            (self.approver, f"/duyet/{self.q4.pk}/"),
            (self.delegate, f"/chi-tieu/{self.grain.pk}/"),
            (self.delegate, f"/chi-tieu/{self.grain.pk}/lich-su/"),
            (self.admin, "/admin/targets/figure/"),
        ]

    @override_settings(**HTTPS_SETTINGS)
    def test_six_pages_carry_the_security_headers(self):
        for user, url in self.pages():
            client = Client()
            client.force_login(user)
            response = client.get(url, secure=True, follow=True)
            with self.subTest(url=url):
                self.assertEqual(response.status_code, 200)
                csp = response["Content-Security-Policy"]
                script_src = re.search(r"script-src ([^;]*)", csp).group(1)
                self.assertEqual(script_src.strip(), "'self'")
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertIn("object-src 'none'", csp)
                self.assertEqual(
                    response["Strict-Transport-Security"],
                    "max-age=31536000; includeSubDomains",
                )
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response["Referrer-Policy"], "same-origin")
                self.assertEqual(response["X-Frame-Options"], "DENY")
                self.assertEqual(response["Cache-Control"], "no-store")

    def test_our_pages_carry_no_inline_script(self):
        for user, url in self.pages()[:5]:
            client = Client()
            client.force_login(user)
            html = client.get(url, follow=True).content.decode()
            for attrs in SCRIPT_TAG.findall(html):
                with self.subTest(url=url, script=attrs):
                    self.assertTrue(
                        "src=" in attrs or 'type="application/json"' in attrs,
                        attrs,
                    )

    @override_settings(**HTTPS_SETTINGS)
    def test_session_and_csrf_cookies_are_secure_httponly_and_same_site(self):
        client = Client()
        page = client.get("/accounts/login/", secure=True)
        csrf = page.cookies["csrftoken"]
        self.assertTrue(csrf["secure"])
        self.assertTrue(csrf["httponly"])
        self.assertEqual(csrf["samesite"], "Lax")
        response = client.post(
            "/accounts/login/",
            {"username": "daibieu", "password": "khoenon-demo-2025"},
            secure=True,
        )
        session = response.cookies["sessionid"]
        self.assertTrue(session["secure"])
        self.assertTrue(session["httponly"])
        self.assertEqual(session["samesite"], "Lax")

    def test_a_missing_page_is_vietnamese_without_a_trace(self):
        self.client.force_login(self.delegate)
        response = self.client.get("/khong-co-trang-nay/")
        self.assertContains(response, "Không tìm thấy trang", status_code=404)
        self.assertNotContains(response, "Traceback", status_code=404)

    def test_a_refused_csrf_post_is_vietnamese(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.clerk)
        response = client.post(self.entry_url(), {"action": "save"})
        self.assertContains(response, "tải lại trang", status_code=403)

    def test_a_server_error_page_is_vietnamese_without_a_trace(self):
        response = server_error(None)
        self.assertEqual(response.status_code, 500)
        self.assertIn("Lỗi hệ thống", response.content.decode())
        self.assertNotIn("Traceback", response.content.decode())


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_gives_a_503_page_and_the_portal_recovers(django_user_model):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite is a file beside the app; the outage is PostgreSQL's case")
    user = django_user_model.objects.create_user("daibieu2", password="x")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = client.get("/")
        assert response.status_code == 503
        body = response.content.decode()
        assert "Hệ thống tạm thời gián đoạn" in body
        assert "Traceback" not in body and "OperationalError" not in body
        assert response["Retry-After"] == "30"
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert client.get("/").status_code in (200, 302)
