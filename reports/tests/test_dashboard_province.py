"""The dashboard at province size (reports.folding.fold): a resolution of
1 500 targets folds into areas and indicator lines with their counts, each line
linked to its rows a page of fifty at a time, without script; every page stays
under 150 KB of HTML and runs the same queries as the commune's 30 targets. Data
built in code (targets.tests.builders.build_resolution, 30 × 50 targets)."""

import re
from html import unescape
from unittest import mock
from urllib.parse import parse_qs, urljoin, urlsplit

from django.core.cache import caches
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import folding, views
from targets.models import (
    DELEGATE,
    Area,
    Indicator,
    PeriodState,
    ResponsibleBody,
    Target,
)
from targets.progress import Status
from targets.progress_load import load_resolution_progress
from targets.tests.builders import build_commune, build_resolution, target_fields

from .builders import FAST_PASSWORDS, user
from .helpers import scripts, target_rows, text
from .test_queries import PAGES

DASHBOARD = reverse("reports:dashboard")
LIMIT = 150_000  # bytes of HTML, uncompressed
LABELS = {s.label: s for s in Status}


def lower_half(html: str) -> str:
    """The page below the filters and the lists: the rows or the folded lines, and
    the links between pages."""
    starts = [
        i for i in (html.find('id="danh-sach"'), html.find('class="area"')) if i >= 0
    ]
    start = min(starts) if starts else html.find("Không có chỉ tiêu nào khớp")
    end = html.index('<p class="small text-muted mt-3">Trạng thái tính cho')
    return html[start:end]


def links(html: str) -> list[str]:
    """The dashboard links of the lower half ("?…"), decoded, without fragment."""
    return [
        unescape(href).split("#")[0]
        for href in re.findall(r'<a href="(\?[^"]*)"', lower_half(html))
    ]


def indicator_lines(html: str) -> dict[int, dict]:
    """{indicator id: {"total", "counts": {Status: n}, "link", "shows"}} of the
    folded page's indicator lines."""
    lines = {}
    for pk, body in re.findall(
        r'<li class="border-bottom py-2" data-indicator="(\d+)">(.*?)</li>', html, re.S
    ):
        total = re.search(r'<p class="small mb-1 counts">(\d+) chỉ tiêu:', body)
        counts = {
            LABELS[label]: int(n)
            for label, n in re.findall(
                r'</span> ([^<]+)</span> <span class="count">(\d+)</span>', body
            )
        }
        link = re.search(r'<a href="([^"]*)">Xem (\d+) chỉ tiêu', body)
        lines[int(pk)] = {
            "total": int(total.group(1)),
            "counts": counts,
            "link": unescape(link.group(1)).split("#")[0],
            "shows": int(link.group(2)),
        }
    return lines


def headings(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])\b", html)]


class Reading:
    """Reading the dashboard as a delegate does: following its links."""

    def follow(self, link: str) -> str:
        response = self.client.get(urljoin(DASHBOARD, link))
        self.assertEqual(response.status_code, 200, link)
        return response.content.decode()

    def walk(self, start: str) -> tuple[set[int], list[str]]:
        """Every target row reached from `start` by the links of the lower halves,
        and every page seen on the way."""
        seen, pages, found = {start}, [], set()
        waiting = [start]
        while waiting:
            html = self.follow(waiting.pop())
            pages.append(html)
            found |= set(target_rows(html))
            for link in links(html):
                if link not in seen:
                    seen.add(link)
                    waiting.append(link)
            self.assertLess(len(pages), 200, "the walk does not end")
        return found, pages


@FAST_PASSWORDS
class ProvinceDashboardTests(Reading, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.large, periods = build_resolution("Bản Bo", scale=50)
        cls.small, small_periods = build_resolution("Khoen On", scale=1)
        cls.q3, cls.q4 = periods[3], periods[4]
        cls.small_q3 = small_periods[3]
        # Quarter III is closed: its missing figures are listed above the rows.
        for period in (cls.q3, cls.small_q3):
            period.state = PeriodState.CLOSED
            period.save(update_fields=["state"])
        cls.targets = set(
            Target.objects.filter(indicator__resolution=cls.large).values_list(
                "pk", flat=True
            )
        )
        cls.delegate = user("dai-bieu", DELEGATE)

    def setUp(self):
        caches["pages"].clear()
        self.client.force_login(self.delegate)

    def get(self, url=DASHBOARD, **params):
        params = {"nq": self.large.pk, "ky": self.q3.pk} | params
        response = self.client.get(url, params)
        self.assertEqual(response.status_code, 200, params)
        return response.content.decode()

    def engine(self, period=None):
        return load_resolution_progress(self.large, period or self.q3)

    def indicator(self, number: int) -> Indicator:
        return Indicator.objects.get(resolution=self.large, number=number)

    def test_the_1500_target_dashboard_folds_into_lines_under_150_kb(self):
        for period in (self.q3, self.q4):
            with self.subTest(period=str(period)):
                html = self.get(ky=period.pk)
                self.assertLess(len(html.encode()), LIMIT)
                self.assertEqual(target_rows(html), {})
                self.assertEqual(len(indicator_lines(html)), 11)
                self.assertEqual(scripts(html), [])
                self.assertNotIn("Trang sau", html)

    def test_every_target_is_reached_by_following_the_links(self):
        start = f"?nq={self.large.pk}&ky={self.q3.pk}"
        found, pages = self.walk(start)
        self.assertEqual(found, self.targets)
        # the folded page, then each indicator's 136 or 137 rows on three pages
        self.assertEqual(len(pages), 1 + 11 * 3)
        for html in pages:
            self.assertLess(len(html.encode()), LIMIT)
            self.assertLessEqual(len(target_rows(html)), folding.PAGE_ROWS)

    def test_the_counts_shown_are_the_judged_statuses(self):
        progress = self.engine()
        html = self.get()
        self.assertIn(progress.overall.summary, html)
        for area, counts in progress.by_area.items():
            self.assertIn(f"Về {Area(area).label.lower()}", html)
            self.assertIn(counts.summary, html)
        by_pk = {i.pk: counts for i, counts in progress.by_indicator.items()}
        lines = indicator_lines(html)
        self.assertEqual(set(lines), set(by_pk))
        for pk, line in lines.items():
            counts = by_pk[pk]
            self.assertEqual(line["total"], counts.total)
            self.assertEqual(line["shows"], counts.total)
            self.assertEqual(line["counts"], {s: counts[s] for s in line["counts"]})
            self.assertEqual(sum(line["counts"].values()), counts.total)
        # A narrowed page's rows carry each target's own status.
        first = next(iter(progress.by_indicator))
        statuses = {i.target.pk: i.progress.status for i in progress.items}
        for pk, (status, _) in target_rows(self.get(ct=first.pk)).items():
            self.assertEqual(status, statuses[pk])

    def test_a_narrowed_indicator_comes_fifty_rows_a_page(self):
        indicator = self.indicator(1)  # 137 targets: 50, 50, 37
        expected = list(
            Target.objects.filter(indicator=indicator)
            .order_by("order")
            .values_list("pk", flat=True)
        )
        self.assertEqual(len(expected), 137)
        seen = []
        for number, size in ((1, 50), (2, 50), (3, 37)):
            html = self.get(ct=indicator.pk, trang=number)
            rows = list(target_rows(html))
            self.assertEqual(len(rows), size)
            seen += rows
            self.assertIn(f"Trang {number}/3", text(html))
            self.assertEqual("Trang trước" in html, number > 1)
            self.assertEqual("Trang sau" in html, number < 3)
            self.assertIn("Đang hiển thị 137/1500 chỉ tiêu theo bộ lọc.", text(html))
        self.assertEqual(seen, expected)
        # Page 1 is the page without a number, and its next link says 2.
        html = self.get(ct=indicator.pk)
        self.assertEqual(list(target_rows(html)), expected[:50])
        nav = re.search(r'<a href="([^"]*)" rel="next">', html).group(1)
        self.assertEqual(parse_qs(urlsplit(unescape(nav)).query)["trang"], ["2"])
        self.assertNotIn('rel="prev"', html)

    def test_a_page_outside_the_list_goes_to_the_nearest_and_a_non_number_is_404(self):
        indicator = self.indicator(1)
        base = {"nq": self.large.pk, "ky": self.q3.pk, "ct": indicator.pk}
        for asked, lands in (("4", "3"), ("999999", "3"), ("0", None)):
            with self.subTest(trang=asked):
                response = self.client.get(DASHBOARD, base | {"trang": asked})
                self.assertEqual(response.status_code, 302)
                query = parse_qs(urlsplit(response.url).query)
                self.assertEqual(query.get("trang", [None])[0], lands)
                self.assertEqual(query["ct"], [str(indicator.pk)])
                self.assertEqual(
                    self.follow(response.url).count("<tr id="),
                    50 if lands is None else 37,
                )
        for junk in ("abc", "-1", "2.0", "1e3", "٣", "9999999"):
            with self.subTest(trang=junk):
                response = self.client.get(DASHBOARD, base | {"trang": junk})
                self.assertEqual(response.status_code, 404)
        # A page past the end of the folded page's one page goes to it, too.
        response = self.client.get(DASHBOARD, base | {"ct": "", "trang": "2"})
        self.assertEqual(response.status_code, 302)
        self.assertNotIn("trang", parse_qs(urlsplit(response.url).query))

    def test_an_unknown_or_foreign_indicator_is_not_found(self):
        foreign = Indicator.objects.filter(resolution=self.small).first()
        for value in ("abc", "0", str(foreign.pk), "99999999"):
            with self.subTest(ct=value):
                response = self.client.get(
                    DASHBOARD, {"nq": self.large.pk, "ct": value}
                )
                self.assertEqual(response.status_code, 404)

    def test_filters_fold_too_and_the_lines_lead_to_the_matching_rows(self):
        progress = self.engine()
        behind = [i for i in progress.items if i.progress.status == Status.BEHIND]
        self.assertGreater(len(behind), folding.PAGE_ROWS)
        html = self.get(tt="behind")
        # The top counts stay the whole selection's.
        self.assertIn(progress.overall.summary, html)
        self.assertIn("Đang hiển thị 250/1500 chỉ tiêu theo bộ lọc.", text(html))
        lines = indicator_lines(html)
        reached = set()
        for pk, line in lines.items():
            matching = {i.target.pk for i in behind if i.target.indicator_id == pk}
            self.assertEqual(line["shows"], len(matching))
            self.assertIn("khớp bộ lọc", html)
            query = parse_qs(urlsplit(line["link"]).query)
            self.assertEqual(query["tt"], ["behind"])
            self.assertEqual(query["ct"], [str(pk)])
            rows = target_rows(self.follow(line["link"]))
            self.assertEqual(set(rows), matching)
            self.assertEqual({s for s, _ in rows.values()}, {"behind"})
            reached |= set(rows)
        self.assertEqual(reached, {i.target.pk for i in behind})

    def test_the_area_filter_folds_within_its_area(self):
        progress = self.engine()
        html = self.get(lv=Area.ECONOMY)
        economy = {i.pk for i in progress.by_indicator if i.area == Area.ECONOMY}
        self.assertEqual(set(indicator_lines(html)), economy)
        self.assertIn(progress.overall.summary, html)

    def test_a_filter_that_narrows_below_fifty_shows_the_rows_at_once(self):
        body = ResponsibleBody.objects.get(
            commune=self.large.commune, name="Đơn vị 007"
        )
        progress = self.engine()
        theirs = {i.target.pk for i in progress.items if body in i.responsible_bodies}
        self.assertLessEqual(len(theirs), folding.PAGE_ROWS)
        html = self.get(dv=body.pk)
        self.assertEqual(set(target_rows(html)), theirs)
        self.assertEqual(indicator_lines(html), {})
        # Narrowed to an indicator and a status, the filter form keeps the indicator.
        indicator = self.indicator(2)
        html = self.get(ct=indicator.pk, tt="on_track")
        self.assertIn(f'<input type="hidden" name="ct" value="{indicator.pk}">', html)
        rows = target_rows(html)
        self.assertTrue(rows)
        self.assertEqual({s for s, _ in rows.values()}, {"on_track"})
        self.assertEqual(
            set(Target.objects.filter(pk__in=rows).values_list("indicator", flat=True)),
            {indicator.pk},
        )
        # The status links at the top keep the indicator and drop the page.
        html = self.get(ct=indicator.pk, trang=2)
        self.assertIn(
            f"?nq={self.large.pk}&amp;ky={self.q3.pk}&amp;ct={indicator.pk}&amp;tt=on_track",
            html,
        )

    def test_two_indicators_or_two_pages_never_share_a_kept_body(self):
        first, second = self.indicator(1), self.indicator(2)
        with mock.patch.object(
            views, "_dashboard_drawing", wraps=views._dashboard_drawing
        ) as draw:
            a = set(target_rows(self.get(ct=first.pk)))
            b = set(target_rows(self.get(ct=second.pk)))
            a2 = set(target_rows(self.get(ct=first.pk, trang=2)))
            self.assertEqual(draw.call_count, 3)
            self.assertEqual(set(target_rows(self.get(ct=first.pk))), a)
            self.assertEqual(set(target_rows(self.get(ct=second.pk))), b)
            self.assertEqual(draw.call_count, 3)
        self.assertFalse(a & b)
        self.assertFalse(a & a2)
        self.assertIn("ct", views.DASHBOARD_QUERY)
        self.assertIn("trang", views.DASHBOARD_QUERY)

    def test_the_query_count_is_the_same_folded_narrowed_paged_and_small(self):
        indicator = self.indicator(1)
        asked = [
            {"nq": self.small.pk, "ky": self.small_q3.pk},
            {"nq": self.large.pk, "ky": self.q3.pk},
            {"nq": self.large.pk, "ky": self.q3.pk, "ct": indicator.pk},
            {"nq": self.large.pk, "ky": self.q3.pk, "ct": indicator.pk, "trang": 3},
            {"nq": self.large.pk, "ky": self.q3.pk, "tt": "behind"},
        ]
        for params in asked:
            with self.subTest(**params):
                caches["pages"].clear()
                with CaptureQueriesContext(connection) as queries:
                    response = self.client.get(DASHBOARD, params)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(len(queries), PAGES["reports:dashboard"])

    def test_the_lists_above_name_ten_and_count_the_rest(self):
        html = self.get()
        missing = re.search(r"closed-missing(.*?)</section>", html, re.S).group(1)
        count = len(
            [i for i in self.engine().items if self.q3.key in i.progress.missing]
        )
        self.assertGreater(count, folding.LIST_FIRST)
        self.assertEqual(missing.count("<li "), folding.LIST_FIRST)
        self.assertIn(f"còn {count} chỉ tiêu chưa có số liệu", text(missing))
        self.assertIn(f"… và {count - folding.LIST_FIRST} chỉ tiêu khác", text(missing))
        listed = re.search(
            r'<ul class="small mb-0 not-reported">(.*?)</ul>(.*?)</section>', html, re.S
        )
        self.assertEqual(listed.group(1).count("<li>"), folding.LIST_FIRST)
        self.assertRegex(text(listed.group(2)), r"… và \d+ đơn vị khác chưa báo cáo\.")

    def test_the_commune_size_dashboard_is_not_folded(self):
        html = self.get(nq=self.small.pk, ky=self.small_q3.pk)
        self.assertEqual(len(target_rows(html)), 30)
        self.assertEqual(indicator_lines(html), {})
        self.assertNotIn("Trang 1/", html)
        self.assertNotIn("… và", html)

    def test_the_folded_page_has_headings_in_order_and_clear_links(self):
        html = self.get()
        levels = headings(html[html.index("<main") :])
        self.assertEqual(levels[0], 1)
        for before, after in zip(levels, levels[1:], strict=False):
            self.assertLessEqual(after, before + 1, levels)
        names = re.findall(r'<a href="\?[^"]*ct=[^"]*">([^<]+)</a>', html)
        self.assertEqual(len(names), 11)
        self.assertEqual(len(set(names)), 11)
        self.assertTrue(all(n.startswith("Xem ") for n in names))


@FAST_PASSWORDS
class ManyIndicatorsTests(Reading, TestCase):
    """More indicator lines than a page holds: the areas first, then an area's
    lines a page at a time."""

    @classmethod
    def setUpTestData(cls):
        cls.resolution, cls.periods = build_commune("Nhiều Nhóm", number="7/NQ-HĐND")
        areas = [Area.ECONOMY] * 35 + [Area.SOCIETY] * 5
        indicators = Indicator.objects.bulk_create(
            Indicator(resolution=cls.resolution, number=n, area=a, text=f"Nhóm {n}")
            for n, a in enumerate(areas, 1)
        )
        Target.objects.bulk_create(
            Target(**target_fields(indicator, f"{indicator.number}.{k}", order=k))
            for indicator in indicators
            for k in range(2)
        )
        cls.targets = set(
            Target.objects.filter(indicator__resolution=cls.resolution).values_list(
                "pk", flat=True
            )
        )
        cls.delegate = user("dai-bieu", DELEGATE)

    def setUp(self):
        caches["pages"].clear()
        self.client.force_login(self.delegate)

    def test_the_areas_come_first_and_every_target_is_still_reached(self):
        response = self.client.get(DASHBOARD, {"nq": self.resolution.pk})
        html = response.content.decode()
        self.assertEqual(indicator_lines(html), {})
        self.assertIn("Xem 70 chỉ tiêu về kinh tế, theo nhóm chỉ tiêu", text(html))
        self.assertIn("Xem 10 chỉ tiêu về xã hội, theo nhóm chỉ tiêu", text(html))
        economy = self.client.get(
            DASHBOARD, {"nq": self.resolution.pk, "lv": Area.ECONOMY}
        ).content.decode()
        self.assertEqual(len(indicator_lines(economy)), folding.PAGE_LINES)
        self.assertIn("Trang 1/2", text(economy))
        found, pages = self.walk(f"?nq={self.resolution.pk}")
        self.assertEqual(found, self.targets)
        for html in pages:
            self.assertLessEqual(len(target_rows(html)), folding.PAGE_ROWS)
