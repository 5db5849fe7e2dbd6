"""Issue #17 on a slow link: Bootstrap trimmed to what the pages use and written into
the page with our own stylesheets, a clerk's login answered with their quarter in one
redirect, the cache emptied at logout, brotli copies of the static files."""

import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.template import engines
from django.test import SimpleTestCase, override_settings

from reports.presentation import NO_UPDATE, STYLES
from targets.templatetags import stylesheets
from targets.templatetags.stylesheets import inline_stylesheets, stylesheet_text

from .base import EntryTestCase

ROOT = Path(settings.BASE_DIR)
BOOTSTRAP = ROOT / "static" / "vendor" / "bootstrap-5.3.9" / "bootstrap.min.css"
# Every class Bootstrap 5.3.9 defines, written by tools/css/build.mjs.
BOOTSTRAP_CLASSES = ROOT / "tools" / "css" / "bootstrap-classes.txt"
PASSWORD = "khoenon-demo-2025"
PRODUCTION_STORAGES = {
    **settings.STORAGES,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}


def classes_defined(css: str) -> set[str]:
    """The class names in a stylesheet's selectors (data: URLs hold none)."""
    selectors = re.sub(r"url\([^)]*\)", "", css)
    return set(re.findall(r"(?<=\.)-?[_a-zA-Z][\w-]*", selectors))


def classes_written(text: str) -> set[str]:
    """The class names written whole in class="…" attributes; parts put together by
    template tags ({{ … }}, {% … %}) are left out (the build's safelist has them)."""
    names = set()
    for value in re.findall(r'class="([^"]*)"', text):
        value = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", value)
        names.update(n for n in value.split() if not re.search(r"[-{}]$|\{", n))
    return names


class TrimmedBootstrapTests(SimpleTestCase):
    """The committed build is `make css`'s output for the templates as they are."""

    def test_every_bootstrap_class_a_page_writes_is_in_the_trimmed_build(self):
        bootstrap = set(BOOTSTRAP_CLASSES.read_text().split())
        kept = classes_defined(BOOTSTRAP.read_text(encoding="utf-8"))
        sources = [
            p for p in (ROOT / "templates").rglob("*.html") if "admin" not in p.parts
        ]
        sources += [
            p
            for app in ("reports", "targets")
            for p in (ROOT / app).rglob("*.py")
            if not {"tests", "migrations"} & set(p.parts)
        ]
        missing = {
            f"{name} ({path.relative_to(ROOT)})"
            for path in sources
            for name in classes_written(path.read_text(encoding="utf-8"))
            if name in bootstrap and name not in kept
        }
        self.assertEqual(missing, set(), "run `make css` and commit its output")

    def test_the_classes_built_at_run_time_are_kept(self):
        kept = classes_defined(BOOTSTRAP.read_text(encoding="utf-8"))
        colours = {style.colour for style in STYLES.values()} | {NO_UPDATE.colour}
        for colour in colours:
            self.assertIn(f"text-bg-{colour}", kept)
        for tag in ("danger", "info", "success", "warning"):  # base.html's messages
            self.assertIn(f"alert-{tag}", kept)

    def test_the_build_is_a_small_part_of_bootstrap(self):
        self.assertLess(BOOTSTRAP.stat().st_size, 40_000)  # of 232 360 bytes
        self.assertIn(".badge{", BOOTSTRAP.read_text(encoding="utf-8"))
        # A component no page uses is gone.
        self.assertNotIn(".carousel", BOOTSTRAP.read_text(encoding="utf-8"))


class InlineStylesheetTests(SimpleTestCase):
    def test_a_link_to_one_of_our_stylesheets_becomes_its_text(self):
        html = inline_stylesheets('<link rel="stylesheet" href="/static/css/app.css">')
        app = (ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
        self.assertEqual(html, f"<style>{app.strip()}</style>")

    def test_a_print_sheet_and_a_file_we_do_not_have_stay_links(self):
        links = (
            '<link rel="stylesheet" href="/static/css/print.css" media="print">'
            '<link rel="stylesheet" href="/static/css/khong-co.css">'
            '<link rel="stylesheet" href="https://cdn.example/x.css">'
            '<link rel="stylesheet" href="/static/../khoenon/x.css">'
        )
        self.assertEqual(inline_stylesheets(links), links)

    def test_in_production_the_collected_copy_is_read_under_its_hashed_name(self):
        with tempfile.TemporaryDirectory() as static_root:
            collected = Path(static_root) / "css" / "app.0123456789ab.css"
            collected.parent.mkdir()
            # Nothing in a stylesheet can close the <style> element.
            collected.write_text(".tap{color:red}</style>")
            self.addCleanup(stylesheets._read_once.cache_clear)
            with override_settings(
                STATIC_ROOT=static_root, STORAGES=PRODUCTION_STORAGES, DEBUG=False
            ):
                text = stylesheet_text("/static/css/app.0123456789ab.css")
        self.assertEqual(text, ".tap{color:red}<\\/style>")

    def test_base_html_inlines_its_sheets_and_a_page_s_own(self):
        page = engines["django"].from_string(
            "{% extends 'base.html' %}{% load static %}{% block head %}"
            '<link rel="stylesheet" href="{% static \'css/report.css\' %}">'
            '<link rel="stylesheet" href="{% static \'css/print.css\' %}" '
            'media="print">{% endblock %}'
        )
        head = page.render({}).split("</head>")[0]
        self.assertEqual(
            re.findall(r'<link rel="stylesheet"[^>]*>', head),
            ['<link rel="stylesheet" href="/static/css/print.css" media="print">'],
        )
        self.assertIn(".badge{", head)  # Bootstrap
        self.assertIn(".skip-link", head)  # app.css
        self.assertIn(".fill-primary", head)  # report.css


class LoginLandingTests(EntryTestCase):
    def log_in(self, username, **extra):
        return self.client.post(
            "/accounts/login/", {"username": username, "password": PASSWORD, **extra}
        )

    def entry_choice(self):
        """Where /nhap-so-lieu/ sends the clerk, asked the long way."""
        self.client.force_login(self.clerk)
        chosen = self.client.get("/nhap-so-lieu/")
        self.client.logout()
        self.assertEqual(chosen.status_code, 302)
        return chosen["Location"]

    def test_a_clerk_lands_on_the_open_quarter_in_one_redirect(self):
        expected = self.entry_choice()
        self.assertRegex(expected, r"^/nhap-so-lieu/\d+/$")
        response = self.log_in("kinhte")
        self.assertRedirects(response, expected, fetch_redirect_response=False)
        self.assertEqual(self.client.get(response["Location"]).status_code, 200)

    def test_next_slash_from_the_home_page_is_no_wish_of_the_clerk_s(self):
        expected = self.entry_choice()
        response = self.log_in("kinhte", next="/")
        self.assertRedirects(response, expected, fetch_redirect_response=False)

    def test_a_safe_next_is_followed(self):
        target = f"/chi-tieu/{self.grain.pk}/"
        response = self.log_in("kinhte", next=target)
        self.assertRedirects(response, target, fetch_redirect_response=False)

    def test_a_next_leaving_the_site_is_refused(self):
        expected = self.entry_choice()
        for unsafe in ("https://evil.example/", "//evil.example/nhap-so-lieu/"):
            with self.subTest(unsafe):
                response = self.log_in("kinhte", next=unsafe)
                self.assertRedirects(response, expected, fetch_redirect_response=False)
                self.client.logout()

    def test_readers_land_on_the_dashboard(self):
        for user in ("daibieu", "pheduyet"):
            with self.subTest(user):
                response = self.log_in(user)
                self.assertRedirects(response, "/", fetch_redirect_response=False)
                self.client.logout()

    def test_logging_out_empties_the_browser_cache_of_the_site(self):
        self.client.force_login(self.clerk)
        response = self.client.post("/accounts/logout/")
        self.assertRedirects(response, "/accounts/login/")
        self.assertEqual(response["Clear-Site-Data"], '"cache"')
        self.assertNotIn("_auth_user_id", self.client.session)


class CompressedStaticFilesTests(SimpleTestCase):
    def test_collectstatic_writes_brotli_copies_beside_the_gzip_ones(self):
        from whitenoise.compress import Compressor

        self.assertTrue(Compressor(quiet=True).use_brotli)
        requirements = (ROOT / "requirements.txt").read_text()
        self.assertRegex(requirements, r"(?im)^brotli==")
