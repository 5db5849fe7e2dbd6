"""Production settings: the deploy check, security headers and cookies, error pages."""

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from gettext import GNUTranslations
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from khoenon.views import server_error
from targets.models import Figure

from .base import EntryTestCase

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
                # The reader pages are kept and revalidated (reports.page_cache);
                # every other page is never stored.
                reader = url == "/" or url.endswith(f"/chi-tieu/{self.grain.pk}/")
                self.assertEqual(
                    response["Cache-Control"],
                    "private, no-cache" if reader else "no-store",
                )

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


def _get(port: int, path: str, headers: dict | None = None, cookies: str = ""):
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = cookies
    connection_.request("GET", path, headers=headers)
    response = connection_.getresponse()
    body = response.read()
    connection_.close()
    return response, body


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="make run serves its own SQLite file whatever the suite's database: "
    "it runs once, in the SQLite suite",
)
def test_make_run_serves_the_portal_as_users_get_it(tmp_path):
    """`make run` itself, started as the README says, on a free port and its own
    SQLite file: DEBUG off, so a 404 is the Vietnamese page (not Django's English
    debug page with the URL list); CSS compressed and cached by WhiteNoise; the
    delegate logs in over plain http://127.0.0.1 (CSRF, cookies, no HTTPS redirect).
    Running the real target rather than imitating its settings is the point: the
    test fails when the Makefile does."""
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST", "EMAIL_")) and k != "DATABASE_URL"
    }
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}")
    log = open(tmp_path / "make-run.log", "w")
    server = subprocess.Popen(
        ["make", "run"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 400
        while True:
            assert server.poll() is None, (tmp_path / "make-run.log").read_text()
            try:
                response, _ = _get(port, "/accounts/login/")
                if response.status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "make run did not serve in time"
            time.sleep(1)
        output = (tmp_path / "make-run.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "daibieu" in output and "khoenon-demo-2025" in output

        response, body = _get(port, "/accounts/login/")
        page = body.decode()
        assert "Strict-Transport-Security" not in response.headers
        # Pages carry their stylesheets inline; the 404 page still links the
        # trimmed Bootstrap by its hashed name.
        missing, missing_body = _get(port, "/khong-co-trang-nay/")
        css = re.search(r'href="(/static/[^"]+\.css)"', missing_body.decode())[1]
        assert re.search(r"\.[0-9a-f]{12}\.css$", css), css  # manifest name
        static, _ = _get(port, css, {"Accept-Encoding": "gzip, br"})
        assert static.status == 200
        assert static.headers["Content-Encoding"] in ("br", "gzip")
        assert "immutable" in static.headers["Cache-Control"]

        text = missing_body.decode()
        assert missing.status == 404
        assert "Không tìm thấy trang" in text
        assert "URLconf" not in text and "Page not found" not in text

        # The delegate logs in over http as fresh-check does.
        cookies = SimpleCookie(response.headers["Set-Cookie"])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        login = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        login.request(
            "POST",
            "/accounts/login/",
            body=urlencode(
                {
                    "csrfmiddlewaretoken": token,
                    "username": "daibieu",
                    "password": "khoenon-demo-2025",
                }
            ),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{port}/accounts/login/",
                "Cookie": f"csrftoken={cookies['csrftoken'].value}",
            },
        )
        answer = login.getresponse()
        answer.read()
        assert answer.status == 302, answer.status
        jar = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie"):
            jar.load(header)
        session = jar["sessionid"].value
        home, body = _get(port, "/", cookies=f"sessionid={session}")
        assert home.status == 200
        assert "3.865,28" in body.decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Case matters: the admin writes "Axes" and CSS shows it as "AXES"; our
# "Đăng nhập (django-axes)" names the library on purpose.
ENGLISH_LEFTOVERS = [
    "Axes",
    "Access attempts",
    "Access failures",
    "Access logs",
    "Show counts",
    "1 entry",
    "Export",
    "Please correct the error",
    "Bản ghi nhớ",
    "Skip to main content",
    "Toggle theme",
    "View selected",
    "Model name",
    "Change reason",
    "Attempt Time",
    "Các mô models",
]


def _shown_text(html: str) -> str:
    """What a person reads or hears: the text, titles, labels and placeholders."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    attributes = re.findall(r'(?:title|aria-label|placeholder)="([^"]*)"', html)
    return re.sub(r"<[^>]+>", " ", html) + " ".join(attributes)


class AdminInVietnameseTests(EntryTestCase):
    def test_the_admin_and_axes_pages_show_none_of_the_english_leftovers(self):
        figure = Figure.objects.filter(period=self.q3).first()
        self.client.force_login(self.admin)
        pages = {
            "admin index": self.client.get("/admin/"),
            "a change form with an error": self.client.post(
                "/admin/targets/responsiblebody/add/", {"name": ""}
            ),
            "the figure history": self.client.get(
                f"/admin/targets/figure/{figure.pk}/history/"
            ),
            "figures": self.client.get("/admin/targets/figure/"),
            "axes attempts": self.client.get("/admin/axes/accessattempt/"),
            "axes failures": self.client.get("/admin/axes/accessfailurelog/"),
            "axes logs": self.client.get("/admin/axes/accesslog/"),
        }
        for name, response in pages.items():
            with self.subTest(page=name):
                self.assertEqual(response.status_code, 200)
                text = _shown_text(response.content.decode())
                found = [
                    english
                    for english in ENGLISH_LEFTOVERS
                    if re.search(rf"\b{re.escape(english)}", text)
                ]
                self.assertEqual(found, [])
        error = _shown_text(pages["a change form with an error"].content.decode())
        self.assertIn("có ô cần sửa", error)
        self.assertIn(
            "Lịch sử", _shown_text(pages["the figure history"].content.decode())
        )
        self.assertIn(
            "Đăng nhập (django-axes)",
            _shown_text(pages["admin index"].content.decode()),
        )


def test_the_committed_catalogue_is_compiled_from_its_source(tmp_path):
    """locale/vi/LC_MESSAGES/django.mo is committed (so `make run` needs no
    gettext): it must hold exactly what django.po says."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("gettext's msgfmt is not installed")
    source = Path(settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES"
    fresh = tmp_path / "django.mo"
    subprocess.run(
        [msgfmt, "--check", "-o", str(fresh), str(source / "django.po")], check=True
    )
    with open(fresh, "rb") as a, open(source / "django.mo", "rb") as b:
        compiled, committed = GNUTranslations(a), GNUTranslations(b)
    assert committed._catalog == compiled._catalog
