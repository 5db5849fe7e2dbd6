import datetime
import re
from decimal import Decimal
from html import escape

from django.urls import reverse

from reports.comparison import build_report
from targets.models import APPROVER, Evidence, Figure, Target
from targets.progress_load import load_resolution_progress, load_target_progress

from .builders import (
    OVERRIDE_REASON,
    DemoTestCase,
    EveryStatusTestCase,
    build_every_status,
    user,
)
from .helpers import json_script, scripts, text

D = Decimal
TODAY = datetime.date(2025, 12, 5)


def url(target, period=None):
    link = reverse("reports:target", args=[target.pk])
    return f"{link}?ky={period.pk}" if period else link


class DemoTargetPageTests(DemoTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.grain = Target.objects.get(code="2a")

    def test_it_shows_the_clause_the_figures_and_the_working_of_the_engine(self):
        response = self.client.get(url(self.grain))
        self.assertEqual(response.context["period"], self.periods[3])
        history = load_target_progress(self.grain, self.periods[3])
        page = response.text
        self.assertIn(escape(self.grain.clause), page)
        self.assertIn(escape(self.grain.indicator.text), page)
        for line in history.progress.working:
            self.assertIn(escape(line), page)
        cells = text(page)
        for shown in ["900", "1.050,5", "1.000", "1.950,5", "2.950,5", "3.934 tấn"]:
            self.assertIn(shown, cells)
        self.assertIn("So với kế hoạch 76,33%", cells)
        self.assertIn("✓ Đúng tiến độ tại quý III/2025", cells)
        self.assertIn("Chủ trì: Phòng Kinh tế giả định", cells)
        self.assertIn("Giám sát: Ban Kinh tế - Ngân sách HĐND xã", cells)
        # Each quarter's own status, as the engine had it then.
        for row in history.rows:
            self.assertIn(f"{row.label[0].upper()}{row.label[1:]}", cells)
        self.assertIn("⚠ Có nguy cơ", cells)  # quarter I

    def test_the_chart_gets_exact_figures_through_json_script_and_a_static_file(self):
        page = self.client.get(url(self.grain)).text
        data = json_script(page, "chart-data")
        self.assertEqual(
            data["labels"], ["Quý I/2025", "Quý II/2025", "Quý III/2025", "Quý IV/2025"]
        )
        self.assertEqual(data["values"], ["900.0000", "1950.5000", "2950.5000", None])
        self.assertEqual(
            data["quarterly"], ["900.0000", "1050.5000", "1000.0000", None]
        )
        self.assertEqual(data["target"], "3865.2800")
        self.assertEqual(data["forecast"], "3934.0000")
        self.assertEqual(data["unit"], "tấn")
        tags = scripts(page)
        self.assertEqual(len(tags), 3)
        self.assertIn('type="application/json"', tags[0])
        self.assertIn("vendor/chartjs-4.6.1/chart.umd.min.js", tags[1])
        self.assertIn("js/target-chart.js", tags[2])
        self.assertNotIn(" style=", page)

    def test_a_level_target_charts_its_levels_without_quarterly_bars(self):
        forest = Target.objects.get(code="10a")
        data = json_script(self.client.get(url(forest)).text, "chart-data")
        self.assertIsNone(data["quarterly"])
        self.assertEqual(data["values"][:3], ["40.1000", "40.3000", "40.5000"])

    def test_a_submitted_figure_shows_but_does_not_count(self):
        jobs = Target.objects.get(code="7b")
        response = self.client.get(url(jobs, self.periods[4]))
        cells = text(response.text)
        self.assertIn("165 Ước thực hiện Đã gửi duyệt (chưa tính)", cells)
        engine = load_target_progress(jobs, self.periods[4]).progress
        self.assertEqual(response.context["progress"], engine)
        self.assertEqual(engine.value, 75)  # quarters I–III only
        self.assertIn("Lũy kế thực hiện 75 người", cells)

    def test_evidence_is_counted_and_linked(self):
        figure = Figure.objects.get(target=self.grain, period=self.periods[2])
        for name in ("bien-ban.pdf", "anh.jpg"):
            Evidence.objects.create(
                figure=figure,
                file=f"evidence/{figure.pk}/{name}",
                original_name=name,
                content_type="application/pdf",
                size=10,
            )
        page = self.client.get(url(self.grain)).text
        link = reverse("targets:evidence", args=[figure.pk])
        self.assertIn(f'<a href="{link}">2 tệp</a>', page)
        self.assertEqual(text(page).count("Không có"), 2)  # quarters I and III

    def test_it_lists_the_bodies_of_article_2_above_the_assumed_lead(self):
        cells = text(self.client.get(url(self.grain)).text)
        listed = cells[cells.index("Đơn vị chịu trách nhiệm") :]
        self.assertTrue(
            listed.startswith(
                "Đơn vị chịu trách nhiệm Tổ chức thực hiện: Ủy ban nhân dân xã "
                "Khoen On – Điều 2, khoản 1: Ủy ban nhân dân xã tổ chức triển khai "
                "thực hiện. Chủ trì: Phòng Kinh tế giả định"
            ),
            listed[:300],
        )
        for supervisor in (
            "Giám sát: Ban Kinh tế - Ngân sách HĐND xã – Điều 2, khoản 2",
            "Giám sát: Ban Văn hóa - Xã hội HĐND xã giả định",
            "Giám sát: Các Tổ đại biểu HĐND xã – Điều 2",
            "Giám sát: Thường trực Hội đồng nhân dân xã – Điều 2",
            "Giám sát: Đại biểu HĐND xã – Điều 2",
        ):
            self.assertIn(supervisor, listed)

    def test_readers_who_may_see_the_history_get_a_link_to_it(self):
        page = self.client.get(url(self.grain)).text
        self.assertIn(reverse("targets:history", args=[self.grain.pk]), page)

    def test_a_delegate_gets_no_override_form(self):
        page = self.client.get(url(self.grain)).text
        self.assertNotIn("Ghi đánh giá", page)
        # Logging out only (the header repeats it in the phone menu).
        actions = re.findall(r'<form method="post" action="([^"]*)"', page)
        self.assertEqual(page.count('method="post"'), len(actions))
        self.assertEqual(set(actions), {reverse("logout")})

    def test_unknown_targets_and_periods_are_not_found(self):
        self.assertEqual(self.client.get("/chi-tieu/999999/").status_code, 404)
        self.assertEqual(
            self.client.get(url(self.grain) + "?ky=999999").status_code, 404
        )
        other = build_every_status()["periods"][3]
        # A period of another commune is not one of this target's periods.
        self.assertEqual(self.client.get(url(self.grain, other)).status_code, 404)


class OverrideOnTargetPageTests(EveryStatusTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.approver = user("phe-duyet", APPROVER)
        cls.q4 = cls.data["periods"][4]
        cls.behind = cls.data["targets"]["2b"]

    def test_everyone_sees_the_computed_and_the_overriding_verdict(self):
        self.client.force_login(self.delegate)
        cells = text(self.client.get(url(self.behind, self.q4)).text)
        # Every quarter is in: the year's result is the approver's, the computed
        # one beside it.
        self.assertIn(
            "Kết quả cả kỳ đánh giá ✓ Đạt Đánh giá của người phê duyệt; kết quả "
            f"tính toán: ✗ Không đạt . Lý do: {OVERRIDE_REASON}",
            cells,
        )
        self.assertIn("40 < 100 → Không đạt.", cells)

    def test_the_approver_gets_the_form_that_posts_to_the_assessment_view(self):
        self.client.force_login(self.approver)
        page = self.client.get(url(self.behind, self.q4)).text
        action = reverse("targets:assessment", args=[self.behind.pk, self.q4.pk])
        self.assertIn(f'<form method="post" action="{action}"', page)
        self.assertIn('<option value="met" selected>Đạt</option>', page)
        self.assertIn(f">{OVERRIDE_REASON}</textarea>", page)

    def test_a_verdict_posted_by_the_approver_shows_on_the_page(self):
        self.client.force_login(self.approver)
        target = self.data["targets"]["3c"]
        response = self.client.post(
            reverse("targets:assessment", args=[target.pk, self.q4.pk]),
            {"verdict": "met", "reason": "Đoạn đường hỏng đã sửa xong trong quý."},
            follow=True,
        )
        self.assertEqual(response.redirect_chain[-1][0], url(target, self.q4))
        cells = text(response.text)
        self.assertIn(
            "Kết quả cả kỳ đánh giá ✓ Đạt Đánh giá của người phê duyệt; kết quả "
            "tính toán: ✗ Không đạt . Lý do: Đoạn đường hỏng đã sửa xong trong quý.",
            cells,
        )

    def test_during_the_year_it_shows_the_status_and_estimate_the_report_prints(
        self,
    ):
        self.client.force_login(self.delegate)
        q3 = self.data["periods"][3]
        target = self.data["targets"]["2a"]
        cells = text(self.client.get(url(target, q3)).text)
        # 20 + 20 + 20 → an estimate of 80 against 100: at risk, no year's result.
        self.assertIn("2a. Chỉ tiêu 2a thử nghiệm ⚠ Có nguy cơ tại quý III/2025", cells)
        self.assertIn("Ước thực hiện cả kỳ đánh giá 80 tấn", cells)
        self.assertIn(
            "Kết quả cả kỳ đánh giá Chưa có: cần số liệu đã phê duyệt của mọi quý "
            "đến hết quý IV/2025",
            cells,
        )
        for final in ("Vượt", "✓ Đạt", "Không đạt"):
            self.assertNotIn(final, cells)
        report = build_report(
            load_resolution_progress(self.data["resolution"], q3), TODAY
        )
        row = next(r for r in report.target_rows if r.code == "2a")
        self.assertEqual((row.verdict_label, row.estimate), ("Có nguy cơ", D("80")))
