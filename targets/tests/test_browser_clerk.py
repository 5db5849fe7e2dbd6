"""The clerk's quarter on a 360 px phone (issue #14), in Debian's headless Chromium:
an ambiguous number corrected by following the advice, a behind figure saved as a
draft and explained at submit, evidence attached in the same save, the submit
confirmation listing what is empty; axe-core finds no violation and every control
is at least 44 px tall."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from targets.loaders import DEMO_FILE, RESOLUTION_FILE, demo_load, resolution_load
from targets.models import Figure, ReportingPeriod, Target, WorkflowState

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PDF = b"%PDF-1.4\n%bien ban nghiem thu\n"

# Every control a finger must hit, as the page lays it out: its own box, or for a
# checkbox the row it sits in with its label (what a tap on either toggles).
SMALL_CONTROLS = """() => {
  const out = [];
  for (const el of document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.bottom < 0 || box.right < 0) continue;  // the skip link, off screen
    if (el.type === 'checkbox' || el.type === 'radio') {
      box = (el.closest('.form-check') || el).getBoundingClientRect();
    }
    if (box.height < 44) {
      out.push(`${el.tagName} ${el.id || el.name || el.textContent.trim().slice(0, 30)}`
               + ` ${Math.round(box.height)}px`);
    }
  }
  return out;
}"""


def axe_violations(page):
    """axe-core's violations on the page as it stands. Injected through DevTools
    (page.evaluate): the portal's Content Security Policy (script-src 'self') rightly
    refuses add_script_tag's inline script, and the test must not loosen it."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']}))
            .violations.map(v => `${v.id}: ${v.nodes.length} (${v.help}) `
              + v.nodes.map(n => n.html.slice(0, 120)).join(' | '))"""
    )


def covered_by_the_save_bar(page, selector):
    """Whether the element's centre is under another element (the sticky bar), once
    brought into view the way the browser does for focus or a link (a notice above
    the form may push the first input below the fold)."""
    return page.evaluate(
        """(sel) => {
          const el = document.querySelector(sel);
          el.scrollIntoView({block: "nearest"});
          const r = el.getBoundingClientRect();
          const x = r.left + r.width / 2, y = r.top + r.height / 2;
          const hit = document.elementFromPoint(x, y);
          return !(hit === el || el.contains(hit));
        }""",
        selector,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_clerk_enters_a_quarter_on_a_360_px_phone(browser_page, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    resolution_load(RESOLUTION_FILE)
    demo_load(DEMO_FILE, timezone.localdate())
    grain, forest = Target.objects.get(code="2a"), Target.objects.get(code="10a")
    q4 = ReportingPeriod.objects.get(year=2025, quarter=4)

    clerk = browser_page(width=360, height=780)
    clerk.login("kinhte")
    page = clerk.page
    assert "Nhập số liệu – Quý IV/2025" in page.content()
    header = page.eval_on_selector("header", "h => h.getBoundingClientRect().height")
    assert header <= 60, header  # was 180 of 780 px
    assert page.eval_on_selector(".skip-link", "a => a.getAttribute('href')") == (
        "#noi-dung"
    )
    first_input = f"#v-{page.eval_on_selector('input[name^=v-]', 'i => i.name')[2:]}"
    assert not covered_by_the_save_bar(page, first_input)
    assert page.evaluate(SMALL_CONTROLS) == []
    assert axe_violations(page) == []
    clerk.screenshot("clerk-360-entry")

    # An ambiguous number: refused, and the advice is typed as given.
    page.fill(f"#v-{grain.pk}", "3,865")
    page.click("button[value=save]")
    page.wait_for_load_state()
    message = page.inner_text(f"#v-{grain.pk}-err")
    assert "không rõ nghĩa" in message
    advised = re.findall(r"hãy gõ (\S+?)[ .;)]", message)
    assert advised == ["3865"]
    assert page.input_value(f"#v-{grain.pk}") == "3,865"  # nothing typed is lost
    assert page.evaluate("document.activeElement.id") == "can-sua"
    clerk.screenshot("clerk-360-ambiguous")
    assert page.evaluate(SMALL_CONTROLS) == []
    assert axe_violations(page) == []

    # The advice, a behind figure with no explanation yet, and a file: one save.
    page.fill(f"#v-{grain.pk}", advised[0])
    page.fill(f"#v-{forest.pk}", "39,5")  # below quý III's 40,5: behind, flagged
    page.set_input_files(
        f"#e-{grain.pk}",
        files=[{"name": "bien-ban.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("button[value=save]")
    page.wait_for_load_state()
    assert "Đã lưu nháp 2 mục thay đổi, đính kèm 1 minh chứng" in page.inner_text(
        "main"
    )
    saved = {f.target_id: f for f in Figure.objects.filter(period=q4)}
    assert saved[grain.pk].value == Decimal("3865")
    assert saved[forest.pk].state == WorkflowState.DRAFT
    assert saved[grain.pk].evidence.count() == 1
    card = page.inner_text(f"#row-{forest.pk}")
    assert "khi gửi duyệt phải ghi nguyên nhân và giải pháp" in card
    assert "Số khác thường" in card
    assert "bien-ban.pdf" in page.inner_text(f"#row-{grain.pk}")
    clerk.screenshot("clerk-360-draft-saved")

    # Submit: the explanation and the confirmation are asked for, on their boxes.
    page.click("button[value=review]")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "can-sua"
    summary = page.inner_text("#can-sua")
    assert "mục cần sửa hoặc bổ sung" in summary
    assert page.get_attribute(f"#n-{forest.pk}", "aria-invalid") == "true"
    assert page.get_attribute(f"#v-{forest.pk}", "aria-invalid") is None
    clerk.screenshot("clerk-360-explain")
    page.click(f"#can-sua a[href='#row-{forest.pk}']")
    page.fill(f"#n-{forest.pk}", "Cháy rừng cuối tháng 10 làm giảm diện tích.")
    page.check(f"#c-{forest.pk}")
    # 3865 t in one quarter is the whole year's plan: flagged too; the clerk has
    # checked the harvest report and confirms it.
    assert "gấp hơn 3 lần" in page.inner_text(f"#flag-{grain.pk}")
    page.check(f"#c-{grain.pk}")
    page.click("button[value=review]")
    page.wait_for_load_state()

    # The confirmation lists what is still empty and what will be sent.
    text = page.inner_text("main")
    assert "Sẽ gửi 2 mục" in text
    assert "mục chưa nhập (sẽ không được gửi)" in text
    assert "Tỷ lệ che phủ rừng" in text
    assert page.evaluate(SMALL_CONTROLS) == []
    assert axe_violations(page) == []
    clerk.screenshot("clerk-360-confirm")
    page.click("button[value=submit]")
    page.wait_for_load_state()
    assert "Đã gửi duyệt 2 mục" in page.inner_text("main")
    clerk.screenshot("clerk-360-submitted")
    saved = {f.target_id: f for f in Figure.objects.filter(period=q4)}
    assert saved[grain.pk].state == WorkflowState.SUBMITTED
    assert saved[forest.pk].state == WorkflowState.SUBMITTED
    assert saved[forest.pk].note.startswith("Cháy rừng")
    assert clerk.console_errors == []
    assert clerk.outside_requests == []
