"""The dashboard keeps its drawn body under the data version (reports.page_cache),
which database triggers move. These tests change the data behind the portal's back,
with QuerySet.update() and plain creates: no service, no signal, as an import, a
restore or SQL by hand would. The next page must show the change."""

import datetime
from decimal import Decimal
from unittest import mock

from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reports import views
from targets.models import (
    Assessment,
    Figure,
    Indicator,
    Resolution,
    ResponsibleBody,
    Target,
    WorkflowState,
)
from targets.numbers import format_decimal
from targets.progress_load import load_resolution_progress

from .builders import DemoTestCase
from .helpers import not_reported, target_rows, text

DASHBOARD = reverse("reports:dashboard")


class DashboardCacheTests(DemoTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.grain = Target.objects.get(code="2a")
        cls.tea = Target.objects.get(code="2b")

    def page(self, quarter=3):
        response = self.client.get(DASHBOARD, {"ky": self.periods[quarter].pk})
        self.assertEqual(response.status_code, 200)
        return response.text

    def assert_page_is_the_engines(self, page, quarter=3):
        """Every row's status and value, and the summary, as computed afresh."""
        progress = load_resolution_progress(self.resolution, self.periods[quarter])
        self.assertIn(progress.overall.summary, page)
        rows = target_rows(page)
        for item in progress.items:
            status, html = rows[item.target.pk]
            self.assertEqual(status, item.progress.status, item.target.code)
            value = item.progress.value
            shown = "–" if value is None else format_decimal(value)
            self.assertIn(f"Thực hiện</span>{shown}</td>", html, item.target.code)

    def test_the_same_page_is_drawn_once_and_then_served_from_the_cache(self):
        with mock.patch.object(
            views, "_dashboard_drawing", wraps=views._dashboard_drawing
        ) as draw:
            first, second = self.page(), self.page()
            self.assertEqual(draw.call_count, 1)
            self.page(quarter=2)
            self.assertEqual(draw.call_count, 2)
        self.assertEqual(target_rows(first), target_rows(second))
        self.assert_page_is_the_engines(second)

    def test_a_hit_reads_the_version_and_nothing_of_the_data(self):
        drawn = self.page()
        with CaptureQueriesContext(connection) as queries:
            kept = self.page()
        self.assertEqual(text(kept), text(drawn))
        # session, user, roles, the version
        self.assertEqual(len(queries), 4, [q["sql"][:60] for q in queries])
        self.assertIn("targets_dataversion", queries[-1]["sql"])

    def test_unknown_parameters_reuse_the_kept_page(self):
        with mock.patch.object(
            views, "_dashboard_drawing", wraps=views._dashboard_drawing
        ) as draw:
            first = self.page()
            for junk in ({"utm_source": "zalo"}, {"x": "1", "fbclid": "abc"}):
                response = self.client.get(
                    DASHBOARD, {"ky": self.periods[3].pk, **junk}
                )
                self.assertEqual(text(response.text), text(first))
            self.assertEqual(draw.call_count, 1)

    def test_an_assessment_before_the_years_result_changes_nothing_shown(self):
        # Grain has no quarter IV figure: the year's result is not known, so an
        # approver's verdict waits (targets.progress.evaluate): the page is redrawn
        # (the assessment is in its digest) and says the same.
        before = self.page(4)
        Assessment.objects.create(
            target=self.grain,
            period=self.periods[4],
            verdict="exceeded",
            reason="Số liệu thống kê chính thức cao hơn ước tính.",
        )
        self.assertEqual(text(self.page(4)), text(before))
        self.assertEqual(target_rows(before)[self.grain.pk][0], "on_track")

    def test_every_change_to_what_the_page_shows_shows_at_once(self):
        q3, q4 = self.periods[3], self.periods[4]
        approved = Figure.objects.filter(state=WorkflowState.APPROVED)
        grain_q3 = Figure.objects.filter(target=self.grain, period=q3)
        lead = self.grain.assignments.get(role="lead").body
        missing = Target.objects.get(code="6a")
        changes = [
            (
                "an approved figure's value",
                3,
                lambda: grain_q3.update(value=Decimal("1234.5")),
                None,
            ),
            (
                "a figure taken back from approval",
                3,
                lambda: grain_q3.update(state=WorkflowState.RETURNED),
                None,
            ),
            (
                "a target's name",
                3,
                lambda: Target.objects.filter(pk=self.grain.pk).update(
                    name="Sản lượng lương thực có hạt (đã sửa)"
                ),
                "Sản lượng lương thực có hạt (đã sửa)",
            ),
            (
                "an indicator's text",
                3,
                lambda: Indicator.objects.filter(pk=self.grain.indicator_id).update(
                    text="Nội dung chỉ tiêu đã sửa"
                ),
                "Nội dung chỉ tiêu đã sửa",
            ),
            (
                "a body's name",
                3,
                lambda: ResponsibleBody.objects.filter(pk=lead.pk).update(
                    name="Phòng Kinh tế (đổi tên)"
                ),
                "Chủ trì: Phòng Kinh tế (đổi tên)",
            ),
            (
                "the resolution's title",
                3,
                lambda: Resolution.objects.filter(pk=self.resolution.pk).update(
                    title="Tên nghị quyết đã sửa"
                ),
                "Tên nghị quyết đã sửa",
            ),
            (
                "a figure sent by a body that had not reported",
                3,
                lambda: Figure.objects.create(
                    target=missing,
                    period=q3,
                    value=Decimal("1"),
                    state=WorkflowState.SUBMITTED,
                    submitted_at=timezone.now(),
                ),
                None,
            ),
            (
                "the time of the last approval",
                3,
                lambda: approved.filter(target=self.grain, period__quarter=2).update(
                    approved_at=timezone.make_aware(datetime.datetime(2030, 1, 2, 8))
                ),
                "08:00 02/01/2030",
            ),
            (
                "the year's last figure approved",
                4,
                lambda: Figure.objects.create(
                    target=self.tea,
                    period=q4,
                    value=Decimal("354"),
                    state=WorkflowState.APPROVED,
                    submitted_at=timezone.now(),
                    approved_at=timezone.now(),
                ),
                None,
            ),
            (
                "an approver's assessment at year end",
                4,
                lambda: Assessment.objects.create(
                    target=self.tea,
                    period=q4,
                    verdict="met",
                    reason="Số liệu thống kê chính thức thấp hơn số báo cáo.",
                ),
                None,
            ),
        ]
        for what, quarter, change, expected in changes:
            with self.subTest(what):
                before = self.page(quarter)
                change()
                after = self.page(quarter)
                self.assertNotEqual(text(after), text(before))
                self.assert_page_is_the_engines(after, quarter)
                if expected:
                    self.assertIn(expected, after)
        # Tea: 342, 346, 352 and 354 against 350 is Vượt; the approver says Đạt.
        self.assertEqual(target_rows(self.page(4))[self.tea.pk][0], "met")
        # 6a sent; 2a's figure taken back, so its (renamed) lead has not reported.
        self.assertEqual(
            not_reported(self.page(3)),
            {"Phòng Kinh tế (đổi tên)": 1, "Phòng Văn hóa - Xã hội": 1},
        )

    def test_a_change_of_thresholds_in_the_settings_shows_at_once(self):
        before = target_rows(self.page())
        with override_settings(PROGRESS_THRESHOLDS={"on_track": "2", "at_risk": "1.5"}):
            after = self.page()
            self.assert_page_is_the_engines(after)
        self.assertNotEqual(target_rows(after), before)
        self.assertEqual(target_rows(self.page()), before)

    def test_a_clerk_never_gets_the_links_a_delegate_was_drawn(self):
        own = set(
            Target.objects.filter(
                assignments__role="lead", assignments__body__name="Phòng Kinh tế"
            ).values_list("pk", flat=True)
        )
        delegate_page = self.page()
        self.client.force_login(User.objects.get(username="kinhte"))
        clerk_page = self.page()
        self.client.force_login(self.delegate)
        for pk in target_rows(delegate_page):
            link = reverse("reports:target", args=[pk]) + "?ky="
            self.assertIn(link, delegate_page)
            self.assertEqual(link in clerk_page, pk in own, pk)
        again = self.page()
        self.assertEqual(target_rows(again), target_rows(delegate_page))
