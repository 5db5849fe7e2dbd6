"""The target page on a 360 px phone (issue 14, item 4): the quarterly table becomes
one card per quarter, nothing is clipped or scrolls sideways, each quarter's value is
on screen, and every control in the page's content is at least 44 px tall. Real
Chromium (Debian's), screenshots in test-artifacts/."""

import pytest

from conftest import ARTIFACTS
from targets.models import Figure, ReportingPeriod, Target, WorkflowState
from targets.numbers import format_decimal

from .builders import load_demo

WIDTH = 360

# Every visible control in the page's content (the header is the site's own).
CONTROL_SIZES = """() => [...document.querySelectorAll(
    '#noi-dung :is(a, button, select, input:not([type=hidden]), textarea, summary)')]
  .filter(e => e.offsetParent !== null)
  .map(e => {
    const r = e.getBoundingClientRect();
    return {what: e.outerHTML.slice(0, 80), height: r.height, width: r.width};
  })"""

CARDS = """() => [...document.querySelectorAll('tr.quarter-row')].map(tr => {
    const box = tr.getBoundingClientRect();
    const value = tr.querySelector('td.val');
    const v = value.getBoundingClientRect();
    return {
      quarter: tr.querySelector('th.quarter').innerText.trim(),
      value: value.innerText.trim(),
      label: getComputedStyle(value, '::before').content,
      left: box.left, right: box.right,
      valueLeft: v.left, valueRight: v.right, valueWidth: v.width,
      valueHeight: v.height,
      display: getComputedStyle(tr).display,
    };
  })"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_target_page_is_one_card_per_quarter_at_360_px(browser_page, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_demo()
    grain = Target.objects.get(code="2a")
    q3 = ReportingPeriod.objects.get(year=2025, quarter=3)
    approved = {
        f.period.quarter: format_decimal(f.value)
        for f in Figure.objects.filter(
            target=grain, state=WorkflowState.APPROVED, period__quarter__lte=3
        ).select_related("period")
    }
    assert sorted(approved) == [1, 2, 3]

    # A delegate reads it; the approver also has the assessment form.
    for username in ("daibieu", "pheduyet"):
        phone = browser_page(width=WIDTH, height=780)
        phone.login(username)
        page = phone.page
        phone.goto(f"/chi-tieu/{grain.pk}/?ky={q3.pk}")
        page.wait_for_load_state()

        assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
        cards = page.evaluate(CARDS)
        assert [c["quarter"] for c in cards] == [
            "Quý I/2025",
            "Quý II/2025",
            "Quý III/2025",
        ]
        for quarter, card in enumerate(cards, 1):
            assert card["display"] == "block", card
            assert 0 <= card["left"] and card["right"] <= WIDTH, card
            # The quarter's own figure, labelled, wholly on screen.
            assert card["value"] == approved[quarter], card
            assert card["label"] == '"Số liệu trong quý"', card
            assert card["valueWidth"] > 0 and card["valueHeight"] > 0, card
            assert 0 <= card["valueLeft"] and card["valueRight"] <= WIDTH, card
        for quarter in (1, 2, 3):
            value = page.locator("tr.quarter-row td.val").nth(quarter - 1)
            value.scroll_into_view_if_needed()
            assert value.is_visible()

        small = [c for c in page.evaluate(CONTROL_SIZES) if c["height"] < 44]
        assert small == [], small
        if username == "pheduyet":
            assert page.locator("#danh-gia").is_visible()
        phone.screenshot(f"target-cards-360-{username}")
        if username == "daibieu":
            # The quarters alone, at full size, to read the cards.
            page.locator("section[aria-labelledby=so-lieu]").screenshot(
                path=str(ARTIFACTS / "target-cards-360-quarters.png")
            )
        assert phone.console_errors == []
        assert phone.outside_requests == []

    # The desktop keeps the table.
    desk = browser_page(width=1280)
    desk.login("daibieu")
    desk.goto(f"/chi-tieu/{grain.pk}/?ky={q3.pk}")
    desk.page.wait_for_load_state()
    assert desk.page.locator("table.figures thead").is_visible()
    assert (
        desk.page.evaluate(
            "() => getComputedStyle(document.querySelector('tr.quarter-row')).display"
        )
        == "table-row"
    )
    desk.screenshot("target-table-1280")
