import datetime
import re
from html import escape

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone, translation

from reports.presentation import style_of
from targets.models import (
    Area,
    Figure,
    ResponsibleBody,
    Target,
)
from targets.numbers import format_decimal
from targets.progress import Status
from targets.progress_load import load_resolution_progress

from .builders import (
    AT_Q1,
    AT_Q3,
    AT_Q4,
    DemoTestCase,
    EveryStatusTestCase,
    build_every_status,
)
from .helpers import not_reported, scripts, target_rows, text

DASHBOARD = reverse("reports:dashboard")


def shown_value(progress, unit):
    """What the "% KH / chênh lệch" cell says for a progress."""
    if progress.percent_of_plan is not None:
        return format_decimal(progress.percent_of_plan) + "%"
    if progress.gap is not None:
        gap = format_decimal(progress.gap)
        gap = "+" + gap if progress.gap > 0 else gap
        # No space before a percent sign.
        return gap + unit if unit.startswith("%") else f"{gap} {unit}"
    return "–"


class DemoDashboardTests(DemoTestCase):
    """Resolution 13 with the demo figures: Q1–Q3 approved, Q4 open with a few
    submitted figures."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.economy = ResponsibleBody.objects.get(name="Phòng Kinh tế")
        cls.culture = ResponsibleBody.objects.get(name="Phòng Văn hóa - Xã hội")

    def engine(self, quarter):
        return load_resolution_progress(self.resolution, self.periods[quarter])

    def test_delegates_land_on_the_dashboard_at_the_latest_approved_quarter(self):
        response = self.client.get("/")
        self.assertTemplateUsed(response, "reports/dashboard.html")
        self.assertContains(response, "<title>Tiến độ chỉ tiêu – Quý III/2025 – ")
        summary = self.engine(3).overall.summary
        self.assertEqual(
            summary,
            "32 chỉ tiêu: 6 đã đạt, 11 đúng tiến độ, 9 có nguy cơ, 4 chậm tiến độ, "
            "2 chưa có số liệu",
        )
        self.assertContains(response, f'<h2 class="h5 mb-2" id="tom-tat">{summary}')
        self.assertContains(response, "đến hết <strong>quý III/2025</strong>")

    def test_approvers_land_on_the_dashboard_too(self):
        self.client.force_login(User.objects.get(username="pheduyet"))
        self.assertTemplateUsed(self.client.get("/"), "reports/dashboard.html")

    def test_every_row_shows_the_engines_value_plan_percent_or_gap_and_status(self):
        progress = self.engine(3)
        rows = target_rows(self.client.get(DASHBOARD).content.decode())
        self.assertEqual(len(rows), 32)
        for item in progress.items:
            t, p = item.target, item.progress
            status, row = rows[t.pk]
            cells = text(row)
            self.assertEqual(status, p.status, t.code)
            self.assertIn(f"{style_of(p.status).icon} {p.status.label}", cells, t.code)
            self.assertIn(format_decimal(t.target_value), cells, t.code)
            value = "–" if p.value is None else format_decimal(p.value)
            self.assertIn(value, cells, t.code)
            self.assertIn(shown_value(p, t.unit), cells, t.code)
            self.assertIn(f"Chủ trì: {item.lead.name}", cells, t.code)

    def test_the_areas_and_indicators_carry_their_counts(self):
        progress = self.engine(3)
        page = self.client.get(DASHBOARD).content.decode()
        for area, counts in progress.by_area.items():
            self.assertIn(f"Về {Area(area).label.lower()}", page)
            self.assertIn(counts.summary, page)
        for indicator, counts in progress.by_indicator.items():
            self.assertIn(f"({indicator.number})", page)
            self.assertIn(f"– {counts.summary}", page)

    def test_the_status_filter_keeps_exactly_the_targets_in_that_status(self):
        progress = self.engine(3)
        for status in Status:
            response = self.client.get(DASHBOARD, {"tt": status.value})
            rows = target_rows(response.content.decode())
            self.assertEqual(len(rows), progress.overall[status], status)
            self.assertEqual({s for s, _ in rows.values()} - {status.value}, set())

    def test_the_area_and_body_filters_narrow_and_combine(self):
        progress = self.engine(3)
        environment = {
            i.target.pk
            for i in progress.items
            if i.target.indicator.area == Area.ENVIRONMENT
        }
        rows = target_rows(self.client.get(DASHBOARD, {"lv": "environment"}).text)
        self.assertEqual(set(rows), environment)
        self.assertEqual(len(rows), progress.by_area[Area.ENVIRONMENT].total)

        economy = {
            i.target.pk for i in progress.items if self.economy in i.responsible_bodies
        }
        response = self.client.get(DASHBOARD, {"dv": self.economy.pk})
        self.assertEqual(set(target_rows(response.text)), economy)
        self.assertContains(response, "Đang hiển thị <strong>11/32</strong>")

        both = self.client.get(
            DASHBOARD, {"dv": self.economy.pk, "lv": "economy", "tt": "at_risk"}
        )
        expected = {
            i.target.pk
            for i in progress.items
            if i.target.pk in economy
            and i.target.indicator.area == Area.ECONOMY
            and i.progress.status == Status.AT_RISK
        }
        self.assertEqual(set(target_rows(both.text)), expected)
        self.assertEqual(len(expected), 2)  # 2c and 2d

    def test_a_filter_that_matches_nothing_says_so(self):
        response = self.client.get(DASHBOARD, {"lv": "environment", "tt": "behind"})
        self.assertEqual(target_rows(response.text), {})
        self.assertContains(response, "Không có chỉ tiêu nào khớp bộ lọc.")

    def test_unknown_filters_periods_and_resolutions_are_not_found(self):
        for params in [
            {"tt": "xyz"},
            {"lv": "culture"},
            {"dv": "999999"},
            {"dv": "abc"},
            {"ky": "abc"},
            {"ky": "999999"},
            {"nq": "999999"},
            {"nq": "1 "},
        ]:
            with self.subTest(params):
                self.assertEqual(self.client.get(DASHBOARD, params).status_code, 404)

    def test_a_chosen_period_is_judged_at_that_period(self):
        for quarter in (1, 2, 4):
            response = self.client.get(DASHBOARD, {"ky": self.periods[quarter].pk})
            self.assertContains(response, self.engine(quarter).overall.summary)
            rows = target_rows(response.text)
            for item in self.engine(quarter).items:
                self.assertEqual(rows[item.target.pk][0], item.progress.status)

    def test_bodies_without_a_sent_figure_for_the_period_are_listed(self):
        response = self.client.get(DASHBOARD)
        self.assertEqual(not_reported(response.text), {self.culture.name: 2})
        self.assertContains(
            response,
            "<strong>Phòng Văn hóa - Xã hội</strong>: chưa gửi số liệu 2/21 chỉ tiêu "
            "(6a, 8c)",
        )
        # Quarter IV: six figures submitted, all of the culture office.
        q4 = self.client.get(DASHBOARD, {"ky": self.periods[4].pk})
        self.assertEqual(
            not_reported(q4.text), {self.economy.name: 11, self.culture.name: 15}
        )

    def test_the_last_update_is_the_latest_approval_up_to_the_period(self):
        approved = Figure.objects.filter(state="approved")
        approved.update(approved_at=timezone.make_aware(datetime.datetime(2025, 9, 1)))
        moment = timezone.make_aware(datetime.datetime(2025, 10, 3, 9, 5))
        approved.filter(target__code="2a", period=self.periods[3]).update(
            approved_at=moment
        )
        later = timezone.make_aware(datetime.datetime(2026, 1, 10, 8, 0))
        Figure.objects.filter(target__code="7b", period=self.periods[4]).update(
            approved_at=later
        )  # submitted, not approved: does not count
        response = self.client.get(DASHBOARD)
        self.assertContains(response, "Số liệu cập nhật lần cuối: <time")
        self.assertContains(response, ">09:05 03/10/2025</time>")
        # Quarter II's page ignores the quarter III approval.
        response = self.client.get(DASHBOARD, {"ky": self.periods[2].pk})
        self.assertContains(response, ">00:00 01/09/2025</time>")

    def test_a_clerk_reads_the_dashboard_and_links_only_to_its_own_targets(self):
        clerk = User.objects.get(username="kinhte")
        self.client.force_login(clerk)
        self.assertRedirects(
            self.client.get("/"),
            reverse("targets:entry"),
            fetch_redirect_response=False,
        )
        page = self.client.get(DASHBOARD).text
        self.assertEqual(len(target_rows(page)), 32)
        own = Target.objects.filter(
            assignments__role="lead", assignments__body=self.economy
        )
        other = Target.objects.exclude(pk__in=own)
        for target in own:
            self.assertIn(reverse("reports:target", args=[target.pk]) + "?ky=", page)
        for target in other:
            self.assertNotIn(reverse("reports:target", args=[target.pk]) + "?", page)
        self.assertEqual(
            self.client.get(reverse("reports:target", args=[other[0].pk])).status_code,
            404,
        )
        self.assertEqual(
            self.client.get(reverse("reports:target", args=[own[0].pk])).status_code,
            200,
        )

    def test_users_without_a_role_and_visitors_cannot_read_it(self):
        self.client.force_login(User.objects.create_user("nobody"))
        self.assertEqual(self.client.get(DASHBOARD).status_code, 404)
        self.client.logout()
        response = self.client.get(DASHBOARD)
        self.assertRedirects(response, f"/accounts/login/?next={DASHBOARD}")

    def test_the_dashboard_loads_no_script_at_all_and_no_inline_style(self):
        page = self.client.get(DASHBOARD).text
        self.assertEqual(scripts(page), [])
        self.assertNotIn("chart.umd", page)
        self.assertNotIn(" style=", page)
        self.assertIn('<svg class="pbar"', page)
        self.assertIn('<svg class="sbar"', page)

    def test_numbers_read_the_same_in_english(self):
        with translation.override("en"):
            response = self.client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, "3.865,28")
        self.assertContains(response, "2.950,5")
        self.assertContains(response, "76,33%")

    def test_the_bar_width_is_a_dot_decimal_whatever_the_language(self):
        page = self.client.get(DASHBOARD).text
        # 2a: 76,33% of plan; the SVG attribute must stay "76.3".
        self.assertIn('aria-label="76,3% kế hoạch"', page)
        self.assertIn('width="76.3"', page)


class EveryStatusDashboardTests(EveryStatusTestCase):
    """A hand-built resolution: each in-year status at quarter III, each year-end
    status at quarter IV, one approver override."""

    def get(self, quarter, **params):
        return self.client.get(
            DASHBOARD,
            {"nq": self.data["resolution"].pk, "ky": self.data["periods"][quarter].pk}
            | params,
        )

    def test_the_builder_gives_every_status(self):
        for quarter, expected in ((1, AT_Q1), (3, AT_Q3), (4, AT_Q4)):
            progress = load_resolution_progress(
                self.data["resolution"], self.data["periods"][quarter]
            )
            self.assertEqual(
                {i.target.code: i.progress.status for i in progress.items}, expected
            )
        self.assertEqual(
            set(AT_Q1.values()) | set(AT_Q3.values()) | set(AT_Q4.values()),
            set(Status.values),
        )

    def test_each_status_appears_with_icon_words_and_count(self):
        for quarter, expected in ((3, AT_Q3), (4, AT_Q4)):
            response = self.get(quarter)
            rows = target_rows(response.text)
            codes = {t.pk: code for code, t in self.data["targets"].items()}
            self.assertEqual({codes[pk]: s for pk, (s, _) in rows.items()}, expected)
            progress = load_resolution_progress(
                self.data["resolution"], self.data["periods"][quarter]
            )
            self.assertContains(response, progress.overall.summary)
            for status in set(expected.values()):
                status = Status(status)
                self.assertContains(
                    response,
                    f'<span aria-hidden="true">{style_of(status).icon}</span> '
                    f"{status.label}"
                    f'</span> <span class="count">{progress.overall[status]}</span>',
                )

    def test_the_override_is_the_status_at_year_end(self):
        row = target_rows(self.get(4).text)[self.data["targets"]["2b"].pk]
        self.assertEqual(row[0], "met")
        self.assertIn("40", text(row[1]))  # the value stays the computed one

    def test_at_most_and_maintain_targets_show_the_gap_not_a_percentage(self):
        rows = target_rows(self.get(3).text)
        at_most = text(rows[self.data["targets"]["3b"].pk][1])
        maintain = text(rows[self.data["targets"]["3c"].pk][1])
        self.assertIn("So với KH +0,01%", at_most)  # 16 against 15,99
        self.assertIn("So với KH -1%", maintain)  # lowest 99 against 100
        self.assertNotIn("%KH", at_most)
        # No space before a percent sign, in the row or in the unit after the plan
        # (tags dropped as a browser joins them: "15,99<span>%</span>" is "15,99%").
        for code in ("3b", "3c"):
            html = rows[self.data["targets"][code].pk][1]
            joined = " ".join(re.sub(r"<[^>]+>", "", html).split())
            self.assertIsNone(re.search(r"\d\s+%", joined), joined)
            self.assertIn("Kế hoạch15,99%" if code == "3b" else "Kế hoạch100%", joined)

    def test_only_the_chosen_resolution_is_shown(self):
        build_every_status("Nậm Sỏ")
        rows = target_rows(self.get(3).text)
        self.assertEqual(set(rows), {t.pk for t in self.data["targets"].values()})
        self.assertContains(self.get(3), escape("Nghị quyết số 99/NQ-HĐND"))
