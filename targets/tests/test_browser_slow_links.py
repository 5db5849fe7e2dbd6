"""Issue #17 in Debian's headless Chromium at 360 px: the dashboard's first paint
waits for no stylesheet and the page is still styled; a clerk's login reaches the
quarter open for entry in one redirect."""

import re

import pytest
from django.utils import timezone

from targets.loaders import DEMO_FILE, RESOLUTION_FILE, demo_load, resolution_load

# Stylesheets that hold up the first paint: linked for the screen in <head>, and
# what Chromium itself marked render-blocking among the resources it fetched.
BLOCKING = """() => [
  ...[...document.head.querySelectorAll('link[rel=stylesheet]')]
    .filter(l => !l.media || matchMedia(l.media).matches).map(l => l.href),
  ...performance.getEntriesByType('resource')
    .filter(e => e.renderBlockingStatus === 'blocking').map(e => e.name),
]"""


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser_page):
    """The demo portal in a 360 px wide browser."""
    resolution_load(RESOLUTION_FILE)
    demo_load(DEMO_FILE, timezone.localdate())
    return browser_page(width=360, height=780)


def style(page, selector, prop):
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")


def test_the_dashboard_paints_styled_with_no_stylesheet_to_wait_for(phone):
    phone.login("daibieu")
    page = phone.page
    assert page.url.endswith("/")
    assert page.evaluate(BLOCKING) == []
    # Bootstrap: a badge has its colour; app.css: the red header; report.css: bars.
    assert style(page, ".badge.text-bg-success", "backgroundColor") == (
        "rgb(25, 135, 84)"
    )
    assert style(page, ".site-header", "backgroundColor") == "rgb(139, 26, 26)"
    assert style(page, "svg.pbar", "display") == "block"
    assert style(page, "main", "paddingLeft") == "12px"  # .container-xl
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.console_errors == []
    phone.screenshot("slow-links-dashboard-360")


def test_a_clerk_s_login_reaches_the_open_quarter_in_one_redirect(phone):
    phone.goto("/accounts/login/")
    page = phone.page
    page.fill("#id_username", "kinhte")
    page.fill("#id_password", "khoenon-demo-2025")
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    landed = navigation.value
    assert re.search(r"/nhap-so-lieu/\d+/$", landed.url), landed.url
    hops = []
    request = landed.request.redirected_from
    while request is not None:
        hops.append(request.url)
        request = request.redirected_from
    assert [h.removeprefix(phone.base_url) for h in hops] == ["/accounts/login/"]
    assert "Nhập số liệu" in page.content()
    assert page.evaluate(BLOCKING) == []
