"""The approver's quarter on a 360 px phone (issue #14), in Debian's headless Chromium:
nothing ticked; one item returned with its own button without unticking anything;
the rest approved with "Chọn tất cả"; closing with figures missing asks for a
confirmation first. axe-core finds no violation and every control is 44 px tall."""

from pathlib import Path

import pytest
from django.utils import timezone

from targets.loaders import DEMO_FILE, RESOLUTION_FILE, demo_load, resolution_load
from targets.models import Figure, PeriodState, ReportingPeriod, WorkflowState

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"

# Every control a finger must hit as laid out: its own box, or for a checkbox the
# label it sits in (a tap anywhere on it toggles the box).
SMALL_CONTROLS = """() => {
  const out = [];
  for (const el of document.querySelectorAll(
      'main a[href], main button, main input:not([type=hidden]), main select, '
      + 'main textarea, main summary')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (el.type === 'checkbox' || el.type === 'radio') {
      box = (el.closest('label, .form-check') || el).getBoundingClientRect();
    }
    if (box.height < 44 || box.width < 24) {
      out.push(`${el.tagName} ${el.id || el.name || el.textContent.trim().slice(0, 30)}`
               + ` ${Math.round(box.width)}x${Math.round(box.height)}px`);
    }
  }
  return out;
}"""


def axe_violations(page):
    """axe-core's violations, injected through DevTools: the Content Security Policy
    (script-src 'self') rightly refuses an inline script tag."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map(v => `${v.id}: ${v.help} ${v.nodes.map("
        "n => n.html.slice(0, 100)).join(' | ')}`)"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_approver_returns_one_approves_the_rest_and_closes_on_a_phone(
    browser_page,
):
    if not AXE.exists():
        pytest.skip("axe-core is not vendored at targets/tests/vendor")
    resolution_load(RESOLUTION_FILE)
    demo_load(DEMO_FILE, timezone.localdate())
    q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
    waiting = {
        f.target.code: f
        for f in Figure.objects.filter(period=q4, state="submitted").select_related(
            "target"
        )
    }
    assert len(waiting) >= 3

    approver = browser_page(width=360, height=780)
    approver.login("pheduyet")
    page = approver.page
    approver.goto(f"/duyet/{q4.pk}/")
    approver.screenshot("review-360-opened")
    assert page.locator("#review-form input[type=checkbox]:checked").count() == 0
    assert page.get_by_text("Người gửi").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    small = page.evaluate(SMALL_CONTROLS)
    assert small == [], small
    violations = axe_violations(page)
    assert violations == [], violations

    # Return 7b with its own button; nothing else is touched.
    returned = waiting["7b"]
    card = page.locator(f"#muc-f-{returned.pk}")
    card.locator("summary").click()
    card.locator("textarea").fill("Số lao động quý IV chưa khớp báo cáo của thôn.")
    card.get_by_role("button", name="Trả lại 7b").click()
    page.wait_for_load_state()
    assert "Đã trả lại 1 mục" in page.inner_text("main")
    approver.screenshot("review-360-one-returned")

    # Then approve everything left: "Chọn tất cả", then the bulk button.
    page.get_by_role("button", name="Chọn tất cả").first.click()
    assert page.locator("#review-form input[type=checkbox]:not(:checked)").count() == 0
    page.get_by_role("button", name="Phê duyệt các mục đã chọn").click()
    page.wait_for_load_state()
    assert f"Đã phê duyệt {len(waiting) - 1} mục" in page.inner_text("main")
    states = dict(
        Figure.objects.filter(pk__in=[f.pk for f in waiting.values()]).values_list(
            "target__code", "state"
        )
    )
    assert states.pop("7b") == WorkflowState.RETURNED
    assert set(states.values()) == {WorkflowState.APPROVED}
    approver.screenshot("review-360-rest-approved")

    # Closing with figures missing: refused, named, then confirmed.
    page.fill("#period-reason", "Khóa sổ quý IV/2025.")
    page.get_by_role("button", name="Khóa sổ Quý IV/2025").click()
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "Chưa khóa sổ Quý IV/2025" in text
    assert "2a – Phòng Kinh tế (chưa nhập)" in text
    q4.refresh_from_db()
    assert q4.state == PeriodState.OPEN
    approver.screenshot("review-360-close-asks-confirmation")
    small = page.evaluate(SMALL_CONTROLS)
    assert small == [], small
    violations = axe_violations(page)
    assert violations == [], violations

    page.fill("#period-reason", "Khóa sổ quý IV/2025.")
    page.check("#confirm-missing")
    page.get_by_role("button", name="Khóa sổ Quý IV/2025").click()
    page.wait_for_load_state()
    assert "Đã khóa sổ Quý IV/2025. Trạng thái kỳ bây giờ: đã khóa sổ." in (
        page.inner_text("main")
    )
    q4.refresh_from_db()
    assert q4.state == PeriodState.CLOSED
    approver.screenshot("review-360-closed")
    assert approver.console_errors == []
    assert approver.outside_requests == []
