import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import settings as hypothesis_settings

# CI never flakes: a derandomized profile with no deadline (machines here are noisy).
hypothesis_settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, database=None
)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ARTIFACTS = Path(__file__).parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Flags that keep Debian's Chromium from reaching for the network this machine lacks.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    # Playwright's sync API runs an event loop; Django's ORM refuses to run beside one
    # unless told that this test process knows what it does.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class BrowserPage:
    """A page that records console errors and any request leaving 127.0.0.1."""

    def __init__(self, browser, base_url, width=1280, height=900):
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, locale="vi-VN"
        )
        self.page = self.context.new_page()
        self.base_url = base_url
        self.console_errors = []
        self.outside_requests = []
        self.page.on(
            "console",
            lambda msg: msg.type == "error" and self.console_errors.append(msg.text),
        )
        self.page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.outside_requests.append(route.request.url)
            route.abort()

    def goto(self, path):
        return self.page.goto(self.base_url + path)

    def login(self, username, password="khoenon-demo-2025"):
        self.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def screenshot(self, name):
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        self.context.close()


@pytest.fixture
def browser_page(chromium, live_server):
    pages = []

    def make(width=1280, height=900):
        bp = BrowserPage(chromium, live_server.url, width, height)
        pages.append(bp)
        return bp

    yield make
    for bp in pages:
        bp.close()


@pytest.fixture(autouse=True)
def _empty_pages_cache():
    """Each test starts with no kept page (reports.page_cache): a test that reads a
    page's context must see it drawn, not served from a test before."""
    from django.core.cache import caches

    caches["pages"].clear()
