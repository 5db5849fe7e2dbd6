"""An approver's override shows wherever the verdict shows (issue 14, item 9): the
dashboard, the body scorecard, the target page and the report mark it (*) with its
reason, readable on hover (title) and on a tap (<details>, no script)."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from targets.models import (
    DELEGATE,
    ROLE_GROUPS,
    Assessment,
    PeriodState,
    ReportingPeriod,
    Verdict,
)

from .builders import (
    OVERRIDE_REASON,
    EveryStatusTestCase,
    build_every_status,
    user,
)
from .helpers import target_rows, text

REASON = "Đoạn đường hỏng đã được sửa xong, Sở Giao thông xác nhận đạt chuẩn."
EARLY_REASON = "Huyện dự kiến bổ sung số liệu điều tra cuối năm."
SENTENCE = (
    "Người phê duyệt đánh giá Đạt (kết quả tính toán: Không đạt). Lý do: " + REASON
)


def scorecard_rows(html: str) -> dict[int, tuple[str, str]]:
    """{target id: (data-status, row html)} of the body scorecard (the last card a
    target appears on wins; every card draws it the same)."""
    return {
        int(pk): (status, body)
        for status, pk, body in re.findall(
            r'<tr data-status="([a-z_]+)" data-target="(\d+)">(.*?)</tr>', html, re.S
        )
    }


class OverrideShownEverywhereTests(EveryStatusTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        periods = cls.data["periods"]
        cls.q3, cls.q4 = periods[3], periods[4]
        # 3c, a maintain target whose quarter II fell to 99 of 100: every quarter is
        # in at quarter IV, so the year's result is known (Không đạt) and the
        # approver's verdict replaces it.
        cls.road = cls.data["targets"]["3c"]
        Assessment.objects.create(
            target=cls.road, period=cls.q4, verdict=Verdict.MET, reason=REASON
        )
        # 1b at quarter III: the year's result is not known yet, so an override
        # recorded now waits and nothing is marked.
        cls.early = cls.data["targets"]["1b"]
        Assessment.objects.create(
            target=cls.early,
            period=cls.q3,
            verdict=Verdict.EXCEEDED,
            reason=EARLY_REASON,
        )

    def get(self, name, period, *args):
        response = self.client.get(
            reverse(name, args=args),
            {"nq": self.data["resolution"].pk, "ky": period.pk},
        )
        self.assertEqual(response.status_code, 200, name)
        return response.text

    def assert_marked(self, html: str, where: str):
        """The (*), the reason as the summary's title (hover) and inside the
        <details> (tap), with the computed verdict beside it."""
        mark = re.search(
            r'<details class="override"><summary title="([^"]*)">(.*?)</summary>'
            r"(.*?)</details>",
            html,
            re.S,
        )
        self.assertIsNotNone(mark, where)
        title, summary, note = (unescape(part) for part in mark.groups())
        self.assertEqual(title, SENTENCE, where)
        self.assertIn("(*)", summary, where)
        self.assertEqual(text(note), f"(*) {SENTENCE}", where)

    def test_the_dashboard_marks_the_override_with_its_reason(self):
        rows = target_rows(self.get("reports:dashboard", self.q4))
        status, row = rows[self.road.pk]
        self.assertEqual(status, "met")
        self.assertIn("✓ Đạt", text(row))
        self.assert_marked(row, "dashboard")
        # 2b's override comes from the builder; the rows without one carry no mark.
        marked = {pk for pk, (_, html) in rows.items() if "(*)" in html}
        targets = self.data["targets"]
        self.assertEqual(marked, {self.road.pk, targets["2b"].pk})

    def test_the_scorecard_marks_the_override_with_its_reason(self):
        rows = scorecard_rows(self.get("reports:bodies", self.q4))
        status, row = rows[self.road.pk]
        self.assertEqual(status, "met")
        self.assert_marked(row, "scorecard")
        self.assertNotIn("(*)", rows[self.data["targets"]["1a"].pk][1])

    def test_the_target_page_marks_the_override_with_its_reason(self):
        page = self.get("reports:target", self.q4, self.road.pk)
        top = re.search(
            r'<p class="mb-2" data-status="([a-z_]+)">(.*?)</p>', page, re.S
        )
        self.assertEqual(top[1], "met")
        self.assert_marked(top[2], "target page")
        self.assertIn(
            "Đánh giá của người phê duyệt; kết quả tính toán: ✗ Không đạt . "
            f"Lý do: {REASON}",
            text(page),
        )

    def test_the_report_marks_the_override_with_its_reason(self):
        page = self.get("reports:report", self.q4)
        row = re.search(
            r'<tr class="r-target overridden" data-code="3c" data-status="met">'
            r"(.*?)</tr>",
            page,
            re.S,
        )
        self.assertIsNotNone(row)
        cell = re.search(r'<td class="verdict" title="([^"]*)">(.*?)</td>', row[1])
        self.assertEqual(unescape(cell[1]), SENTENCE)
        self.assertEqual(cell[2], "Đạt (*)")
        self.assertIn(
            f"(*) {self.road.name}: {SENTENCE[:1].lower()}{SENTENCE[1:]}", text(page)
        )

    def test_an_override_before_the_years_result_is_marked_nowhere(self):
        for name in ("reports:dashboard", "reports:bodies", "reports:report"):
            page = self.get(name, self.q3)
            self.assertNotIn("(*)", page, name)
            self.assertNotIn(EARLY_REASON, page, name)
        # The target page says it is recorded and waits; the status is the engine's.
        page = self.get("reports:target", self.q3, self.early.pk)
        self.assertNotIn("(*)", page)
        self.assertIn(
            f"▲ Vượt (áp dụng khi đủ số liệu các quý). Lý do: {EARLY_REASON}",
            text(page),
        )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_a_tap_on_the_mark_shows_the_reason(browser_page, settings):
    """No hover on a phone: the (*) is a <details> summary a thumb can hit (≥ 44 px);
    tapping it shows the reason in the row. Quarter IV closed, so the list of what
    it lacks (3a, never reported) shows above the tables."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The role groups come from a data migration; a transactional test run before
    # this one flushes them.
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    data = build_every_status()
    user("dai-bieu", DELEGATE)
    q4 = data["periods"][4]
    ReportingPeriod.objects.filter(pk=q4.pk).update(state=PeriodState.CLOSED)
    behind = data["targets"]["2b"]

    phone = browser_page(width=360, height=780)
    phone.login("dai-bieu")
    page = phone.page
    phone.goto(f"/?nq={data['resolution'].pk}&ky={q4.pk}")
    page.wait_for_load_state()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert page.locator(".closed-missing li").all_inner_texts() == [
        "3a Chỉ tiêu 3a thử nghiệm – chủ trì: Phòng C"
    ]

    row = page.locator(f"#ct-{behind.pk}")
    note = row.locator(".override-note")
    assert not note.is_visible()
    summary = row.locator("details.override summary")
    box = summary.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, box
    summary.click()
    assert note.is_visible()
    assert OVERRIDE_REASON in note.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    row.scroll_into_view_if_needed()
    phone.screenshot("dashboard-override-360")
    assert phone.console_errors == []
