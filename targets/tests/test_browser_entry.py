"""The clerk's and the approver's journeys in Debian's headless Chromium."""

from decimal import Decimal

import pytest
from django.utils import timezone

from targets.loaders import DEMO_FILE, RESOLUTION_FILE, demo_load, resolution_load
from targets.models import Figure, ReportingPeriod, Target, WorkflowState


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_clerk_enters_and_submits_a_quarter_and_the_approver_approves(browser_page):
    resolution_load(RESOLUTION_FILE)
    demo_load(DEMO_FILE, timezone.localdate())
    grain, forest = Target.objects.get(code="2a"), Target.objects.get(code="10a")
    q4 = ReportingPeriod.objects.get(year=2025, quarter=4)

    clerk = browser_page(width=390, height=844)  # a phone
    clerk.login("kinhte")
    page = clerk.page
    assert "Nhập số liệu – Quý IV/2025" in page.content()
    page.fill(f"#v-{grain.pk}", "1.000,5")
    page.fill(f"#v-{forest.pk}", "39,5")  # below Q3's 40,5: the year ends Không đạt
    page.click("button[value=save]")
    page.wait_for_load_state()
    # A draft is a draft: saved without the explanation, which submit will ask for.
    text = page.inner_text("main")
    assert "khi gửi duyệt phải ghi nguyên nhân và giải pháp" in text
    assert page.input_value(f"#v-{grain.pk}") == "1000,5"  # reads back as saved
    clerk.screenshot("entry-explanation-pending")
    assert Figure.objects.get(period=q4, target=forest).state == WorkflowState.DRAFT

    page.fill(f"#n-{forest.pk}", "Cháy rừng cuối tháng 10 làm giảm diện tích.")
    page.check(f"#c-{forest.pk}")  # lower than quý III: a flag the clerk confirms
    page.click("button[value=review]")
    page.wait_for_load_state()
    assert "Sẽ gửi 2 mục" in page.inner_text("main")
    page.click("button[value=submit]")
    page.wait_for_load_state()
    assert "Đã gửi duyệt 2 mục" in page.inner_text("main")
    clerk.screenshot("entry-submitted")
    saved = {f.target_id: f for f in Figure.objects.filter(period=q4)}
    assert saved[grain.pk].value == Decimal("1000.5")
    assert saved[forest.pk].value == Decimal("39.5")
    assert saved[grain.pk].state == WorkflowState.SUBMITTED

    approver = browser_page()
    approver.login("pheduyet")
    approver.goto(f"/duyet/{q4.pk}/")
    assert "1.000,5" in approver.page.inner_text("main")
    approver.screenshot("review-before-approval")
    # Nothing is ticked for the approver: choosing everything is a deliberate act.
    approver.page.get_by_role("button", name="Chọn tất cả").first.click()
    approver.page.wait_for_load_state()
    approver.page.click("button[value=approve]")
    approver.page.wait_for_load_state()
    assert "Đã phê duyệt" in approver.page.inner_text("main")
    approver.screenshot("review-approved")
    grain_figure = Figure.objects.get(period=q4, target=grain)
    assert grain_figure.state == WorkflowState.APPROVED
    for bp in (clerk, approver):
        assert bp.console_errors == []
        assert bp.outside_requests == []
