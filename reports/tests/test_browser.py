"""A delegate in real Chromium: logs in, reads the dashboard, filters, opens a target
and sees its chart drawn; at desktop and phone widths, with screenshots saved to
test-artifacts/. No console error, no request leaving 127.0.0.1."""

import re

import pytest

from .builders import load_demo

CHART_DRAWN = (
    "() => window.targetChart !== undefined && window.targetChart.chartArea"
    " && window.targetChart.chartArea.width > 0"
)

GRAIN = "Tổng sản lượng lương thực có hạt"
TARGET_URL = re.compile(r"/chi-tieu/\d+/\?ky=\d+$")


def target_rows(page):
    return page.locator("tr[data-status]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_delegate_reads_the_dashboard_filters_and_opens_a_target_chart(
    browser_page, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo()

    # Desktop.
    bp = browser_page(width=1280)
    bp.login("daibieu")
    page = bp.page
    assert page.url.endswith("/")
    assert page.locator("#tom-tat").inner_text() == (
        "32 chỉ tiêu: 6 đã đạt, 11 đúng tiến độ, 9 có nguy cơ, 4 chậm tiến độ, "
        "2 chưa có số liệu"
    )
    assert target_rows(page).count() == 32
    assert page.locator("script").count() == 0  # no chart library on the dashboard
    bp.screenshot("dashboard-1280")

    # Filter with the plain GET form: behind, then economy within it.
    page.select_option("#tt", "behind")
    page.click("form.filters button")
    page.wait_for_load_state()
    assert "tt=behind" in page.url
    assert target_rows(page).count() == 4
    assert set(
        target_rows(page).evaluate_all("rows => rows.map(r => r.dataset.status)")
    ) == {"behind"}
    page.select_option("#lv", "economy")
    page.click("form.filters button")
    page.wait_for_load_state()
    assert target_rows(page).count() == 0
    page.get_by_role("link", name="Bỏ lọc").first.click()
    page.wait_for_load_state()
    assert target_rows(page).count() == 32

    # Open the grain target and wait for Chart.js to draw it.
    page.get_by_role("link", name=GRAIN, exact=True).click()
    page.wait_for_url(TARGET_URL)
    page.wait_for_function(CHART_DRAWN)
    box = page.locator("#target-chart").bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    datasets = page.evaluate("() => window.targetChart.data.datasets.map(d => d.label)")
    assert datasets == [
        "Thực hiện trong quý",
        "Lũy kế thực hiện",
        "Kế hoạch",
        "Ước thực hiện",
    ]
    assert page.evaluate(
        "() => window.targetChart.data.datasets[2].data[0]"
    ) == pytest.approx(3865.28)
    bp.screenshot("target-1280")

    # Phone.
    phone = browser_page(width=360, height=780)
    phone.login("daibieu")
    small = phone.page
    assert target_rows(small).count() == 32
    assert small.evaluate("() => document.documentElement.scrollWidth") <= 360
    phone.screenshot("dashboard-360")
    small.get_by_role("link", name=GRAIN, exact=True).click()
    small.wait_for_url(TARGET_URL)
    small.wait_for_function(CHART_DRAWN)
    assert small.locator("#target-chart").bounding_box()["width"] > 250
    assert small.evaluate("() => document.documentElement.scrollWidth") <= 360
    phone.screenshot("target-360")

    for each in (bp, phone):
        assert each.console_errors == []
        assert each.outside_requests == []
