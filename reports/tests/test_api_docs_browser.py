"""The API's docs page and the public page in real Chromium, under the portal's
Content Security Policy: Swagger UI comes from our own static files (no CDN), loads
the schema and lists the endpoints; no console error, nothing leaves 127.0.0.1."""

import pytest

from .builders import load_demo


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_works_under_the_csp_without_a_cdn(browser_page, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo()
    bp = browser_page(width=1280)
    response = bp.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    bp.page.wait_for_selector("text=/api/v1/progress/", timeout=20_000)
    assert bp.console_errors == []
    assert bp.outside_requests == []
    bp.screenshot("api-docs")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_public_page_works_without_javascript(browser_page, settings, chromium):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo()
    bp = browser_page(width=390, height=800)
    bp.goto("/accounts/login/")
    bp.page.click("text=trang công khai tiến độ thực hiện nghị quyết")
    bp.page.wait_for_load_state()
    assert "/cong-khai/" in bp.page.url
    assert bp.page.locator("tr[data-status]").count() == 32
    bp.page.click('a:has-text("Tổng sản lượng lương thực có hạt")')
    bp.page.wait_for_url("**/cong-khai/chi-tieu/**")
    assert bp.page.locator("svg.chart").count() == 1
    assert bp.console_errors == []
    assert bp.outside_requests == []
    bp.screenshot("public-target-phone")
