"""The loaded resolution equals the adopted text.

EXPECTED is written by hand from the seed text, not generated from the fixture: the test
would catch a wrong value, unit or reading in either."""

import re
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.test import TestCase

from targets.loaders import FIXTURES, RESOLUTION_FILE, resolution_load
from targets.models import (
    Assignment,
    Indicator,
    ResponsibleBody,
    Target,
    Task,
)

SEED = FIXTURES / "nghi-quyet-13-NQ-HDND-2025-khoen-on.txt"
SHARED_SEED = (
    Path(settings.BASE_DIR).parent
    / "shared/seed/nghi-quyet-13-NQ-HDND-2025-khoen-on.txt"
)

# code: (value, unit, comparison, combine, path)
EXPECTED = {
    "1": ("85", "triệu đồng", "at_least", "sum", "from_start"),
    "2a": ("3865.28", "tấn", "at_least", "sum", "from_start"),
    "2b": ("350", "ha", "at_least", "latest", "from_start"),
    "2c": ("10", "ha", "at_least", "sum", "from_start"),
    "2d": ("4.7", "%", "at_least", "latest", "from_start"),
    "3": ("550", "lượt người", "at_least", "sum", "from_start"),
    "4a": ("100", "%", "maintain", "latest", "hold"),
    "4b": ("100", "%", "maintain", "latest", "hold"),
    "5a": ("100", "%", "at_least", "latest", "hold"),
    "5b": ("100", "%", "at_least", "latest", "hold"),
    "5c": ("100", "%", "at_least", "latest", "hold"),
    "5d": ("97", "%", "at_least", "latest", "from_start"),
    "5e": ("70", "%", "at_least", "latest", "from_start"),
    "6a": ("70", "%", "above", "latest", "from_start"),
    "6b": ("8.8", "%/năm", "at_most", "latest", "from_start"),
    "6c": ("15.99", "%", "at_most", "latest", "from_start"),
    "6d": ("22.11", "%", "at_most", "latest", "from_start"),
    "6e": ("96.27", "%", "at_least", "latest", "from_start"),
    "7a": ("0.8", "%", "at_least", "latest", "from_start"),
    "7b": ("235", "người", "at_least", "sum", "from_start"),
    "7c": ("71", "%", "at_least", "latest", "from_start"),
    "8a": ("91", "%", "at_least", "latest", "from_start"),
    "8b": ("100", "%", "at_least", "latest", "hold"),
    "8c": ("88", "%", "above", "latest", "from_start"),
    "8d": ("78.3", "%", "at_least", "latest", "from_start"),
    "8e": ("87.5", "%", "at_least", "latest", "from_start"),
    "9a": ("100", "%", "maintain", "latest", "hold"),
    "9b": ("99.68", "%", "at_least", "latest", "from_start"),
    "9c": ("100", "%", "at_least", "latest", "hold"),
    "10a": ("40.64", "%", "at_least", "latest", "from_start"),
    "10b": ("32.0", "ha", "at_least", "sum", "from_start"),
    "11": ("100", "%", "at_least", "latest", "hold"),
}
# Only growth and reduction targets may hold negative figures.
NEGATIVE_ALLOWED = {"2d", "6b", "7a"}
# Counts of people are whole numbers.
WHOLE = {"3", "7b"}
# A share or coverage rate lies in 0–100; growth and reductions are unbounded; every
# other figure (money, tonnes, hectares, people) starts at 0.
UNBOUNDED = NEGATIVE_ALLOWED
AREAS = {
    "economy": [1, 2],
    "society": [3, 4, 5, 6, 7, 8, 9],
    "environment": [10, 11],
}


def joined_seed() -> str:
    """The seed, paragraphs split by a page break joined again, whitespace folded."""
    text = SEED.read_text(encoding="utf-8")
    text = re.sub(r"\n\n(?=[a-zà-ỹđ])", " ", text)
    return re.sub(r"\s+", " ", text)


class ResolutionFixtureTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.resolution = resolution_load(RESOLUTION_FILE)
        cls.seed = joined_seed()

    def test_the_fixture_copy_of_the_text_is_the_shared_seed(self):
        if not SHARED_SEED.exists():
            self.skipTest("shared/ is not beside the repository")
        self.assertEqual(SEED.read_bytes(), SHARED_SEED.read_bytes())

    def test_resolution_header_is_as_adopted(self):
        r = self.resolution
        self.assertEqual(r.number, "13/NQ-HĐND")
        self.assertEqual(r.adopted_on.isoformat(), "2025-07-30")
        self.assertEqual(r.effective_on.isoformat(), "2025-07-30")
        self.assertEqual(r.council, "Hội đồng nhân dân xã Khoen On")
        self.assertEqual(r.term, "XXI")
        self.assertEqual(r.session, "Kỳ họp thứ hai")
        self.assertEqual(r.plan_year, 2025)
        self.assertEqual(r.commune.name, "Khoen On")
        self.assertEqual(r.commune.province, "Lai Châu")
        self.assertIn(r.title, self.seed)
        self.assertIn("6 tháng cuối năm 2025", r.title)
        self.assertEqual(r.signed_by, "Trịnh Ngọc Hải")

    def test_legal_bases_and_considered_documents_are_verbatim(self):
        r = self.resolution
        bases = r.legal_bases.splitlines()
        self.assertEqual(len(bases), 2)
        self.assertIn("Luật Tổ chức chính quyền địa phương ngày 16/6/2025", bases[0])
        self.assertIn("Quyết định số 1930/QĐ-UBND ngày 11/7/2025", bases[1])
        self.assertIn("Tờ trình số 24/TTr-UBND", r.considered)
        self.assertIn("Báo cáo thẩm tra số 05/BC-HĐND", r.considered)
        for line in bases + r.considered.splitlines():
            self.assertIn(line, self.seed)

    def test_there_are_eleven_indicators_in_their_areas(self):
        indicators = Indicator.objects.filter(resolution=self.resolution)
        self.assertEqual(indicators.count(), 11)
        for area, numbers in AREAS.items():
            got = sorted(indicators.filter(area=area).values_list("number", flat=True))
            self.assertEqual(got, numbers, area)
        for indicator in indicators:
            self.assertIn(indicator.text, self.seed)

    def test_every_target_matches_the_hand_written_table(self):
        targets = {
            t.code: t
            for t in Target.objects.filter(indicator__resolution=self.resolution)
        }
        self.assertEqual(sorted(targets), sorted(EXPECTED))
        for code, (value, unit, comparison, combine, path) in EXPECTED.items():
            t = targets[code]
            with self.subTest(code=code):
                self.assertEqual(t.target_value, Decimal(value))
                self.assertEqual(t.unit, unit)
                self.assertEqual(t.comparison, comparison)
                self.assertEqual(t.combine, combine)
                self.assertEqual(t.path, path)
                self.assertEqual(t.allows_negative, code in NEGATIVE_ALLOWED)
                self.assertEqual(t.decimal_places, 0 if code in WHOLE else 2)
                if code in UNBOUNDED:
                    bounds = (None, None)
                elif unit == "%":
                    bounds = (Decimal(0), Decimal(100))
                else:
                    bounds = (Decimal(0), None)
                self.assertEqual((t.min_value, t.max_value), bounds)
                self.assertTrue(code.startswith(str(t.indicator.number)))

    def test_every_clause_is_verbatim_and_names_its_number(self):
        for t in Target.objects.filter(indicator__resolution=self.resolution):
            with self.subTest(code=t.code):
                self.assertIn(t.clause, self.seed)
                self.assertIn(t.clause, t.indicator.text)
                written = format(t.target_value.normalize(), "f").replace(".", ",")
                self.assertIn(written, t.clause.replace(".", ""))

    def test_the_typos_of_the_adopted_text_are_kept(self):
        texts = " ".join(Task.objects.values_list("text", flat=True))
        self.assertIn("đát đai", texts)
        self.assertIn("chỉ động", self.resolution.source_text)

    def test_budget_revenue_is_counted_from_the_third_quarter_in_millions(self):
        t = Target.objects.get(indicator__resolution=self.resolution, code="1")
        self.assertEqual(t.target_value, Decimal("85"))
        self.assertEqual(t.unit, "triệu đồng")
        self.assertEqual(t.window, ((2025, 3), (2025, 4)))

    def test_other_targets_are_judged_over_the_plan_year(self):
        windows = set(
            Target.objects.filter(indicator__resolution=self.resolution)
            .exclude(code="1")
            .values_list(
                "window_start_year",
                "window_start_quarter",
                "window_end_year",
                "window_end_quarter",
            )
        )
        self.assertEqual(windows, {(2025, 1, 2025, 4)})

    def test_tasks_and_solutions_are_the_verbatim_paragraphs(self):
        tasks = Task.objects.filter(resolution=self.resolution)
        self.assertEqual(tasks.filter(kind="task").count(), 1)
        # Fifteen blocks in the text, two of them halves of a paragraph split by a page
        # break: thirteen solution paragraphs.
        self.assertEqual(tasks.filter(kind="solution").count(), 13)
        for task in tasks:
            with self.subTest(task=str(task)):
                self.assertIn(task.text, self.seed)
        land = tasks.get(kind="solution", number=4).text
        self.assertIn("cấp giấy chứng nhận, xây dựng cơ sở dữ liệu đát đai", land)
        law = tasks.get(kind="solution", number=11).text
        self.assertIn("giáo dục pháp luật", law)

    def test_bodies_not_named_in_the_text_are_marked_as_assumptions(self):
        named = set(
            ResponsibleBody.objects.filter(named_in_text=True).values_list(
                "name", flat=True
            )
        )
        self.assertEqual(
            named,
            {
                "Ủy ban nhân dân xã Khoen On",
                "Thường trực Hội đồng nhân dân xã",
                "Ban Kinh tế - Ngân sách HĐND xã",
                "Các Tổ đại biểu HĐND xã",
                "Đại biểu HĐND xã",
                # Giải pháp 13: "phối hợp với Mặt trận Tổ quốc và các đoàn thể".
                "Ủy ban MTTQ Việt Nam xã và các đoàn thể",
            },
        )
        for body in ResponsibleBody.objects.filter(named_in_text=False):
            self.assertIn("Giả định", body.role_in_text)

    def test_every_target_and_task_has_one_lead_and_lead_assignments_are_assumptions(
        self,
    ):
        leads = Assignment.objects.filter(role="lead")
        self.assertEqual(leads.filter(target__isnull=False).count(), 32)
        self.assertEqual(leads.filter(task__isnull=False).count(), 14)
        self.assertFalse(leads.filter(is_assumption=False).exists())
        # Article 2.2 names the standing committee as supervisor: not an assumption.
        self.assertTrue(
            Assignment.objects.filter(
                body__name="Thường trực Hội đồng nhân dân xã",
                role="supervising",
                is_assumption=False,
            ).exists()
        )

    def test_target_names_are_worded_as_the_text(self):
        t = Target.objects.get(indicator__resolution=self.resolution, code="5b")
        self.assertIn("huy động học sinh", t.name)
        self.assertIn("huy động học sinh", t.clause)
        # "32,0 ha" keeps its decimal as written, in the clause and the indicator.
        forest = Target.objects.get(indicator__resolution=self.resolution, code="10b")
        self.assertEqual(forest.clause, "trồng mới 32,0 ha rừng sản xuất")
        self.assertIn("trồng mới 32,0 ha rừng sản xuất", forest.indicator.text)
        self.assertEqual(forest.target_value, Decimal("32.0"))


ARTICLE_2_SUPERVISORS = {
    "Thường trực Hội đồng nhân dân xã": False,
    "Ban Kinh tế - Ngân sách HĐND xã": False,
    # The text says "các Ban của HĐND" and names only Ban Kinh tế - Ngân sách.
    "Ban Văn hóa - Xã hội HĐND xã": True,
    "Các Tổ đại biểu HĐND xã": False,
    "Đại biểu HĐND xã": False,
}


class ArticleTwoTests(TestCase):
    """Điều 2: UBND xã implements the whole resolution; Thường trực HĐND, các Ban,
    các Tổ đại biểu and đại biểu supervise it, targets as well as tasks."""

    @classmethod
    def setUpTestData(cls):
        cls.resolution = resolution_load(RESOLUTION_FILE)
        cls.targets = list(Target.objects.filter(indicator__resolution=cls.resolution))
        cls.tasks = list(Task.objects.filter(resolution=cls.resolution))

    def holders(self, role, **subject):
        return {
            a.body.name: a
            for a in Assignment.objects.filter(role=role, **subject).select_related(
                "body"
            )
        }

    def test_the_committee_implements_every_target_and_task_as_the_text_says(self):
        for subject in [{"target": t} for t in self.targets] + [
            {"task": t} for t in self.tasks
        ]:
            with self.subTest(subject=str(subject)):
                implementing = self.holders("implementing", **subject)
                self.assertEqual(list(implementing), ["Ủy ban nhân dân xã Khoen On"])
                a = implementing["Ủy ban nhân dân xã Khoen On"]
                self.assertFalse(a.is_assumption)
                self.assertIn("Điều 2, khoản 1", a.note)
                # The office's lead stays, marked as our assumption.
                leads = self.holders("lead", **subject)
                self.assertEqual(len(leads), 1)
                self.assertTrue(all(a.is_assumption for a in leads.values()))

    def test_the_council_supervises_every_target_and_task_as_the_text_says(self):
        for subject in [{"target": t} for t in self.targets] + [
            {"task": t} for t in self.tasks
        ]:
            with self.subTest(subject=str(subject)):
                supervising = self.holders("supervising", **subject)
                self.assertEqual(
                    {name: a.is_assumption for name, a in supervising.items()},
                    ARTICLE_2_SUPERVISORS,
                )
                for a in supervising.values():
                    if not a.is_assumption:
                        self.assertIn("Điều 2, khoản 2", a.note)

    def test_the_front_is_named_in_the_last_solution_and_assumed_elsewhere(self):
        front = "Ủy ban MTTQ Việt Nam xã và các đoàn thể"
        last = Task.objects.get(resolution=self.resolution, kind="solution", number=13)
        self.assertIn("phối hợp với Mặt trận Tổ quốc", last.text)
        a = Assignment.objects.get(body__name=front, task=last)
        self.assertEqual((a.role, a.is_assumption), ("supporting", False))
        others = Assignment.objects.filter(body__name=front).exclude(task=last)
        self.assertTrue(others.exists())
        self.assertFalse(others.filter(is_assumption=False).exists())

    def test_the_text_names_every_body_it_charges(self):
        seed = joined_seed()
        self.assertIn("1. Ủy ban nhân dân xã tổ chức triển khai thực hiện.", seed)
        self.assertIn(
            "2. Thường trực HĐND xã, các Ban của HĐND, các Tổ đại biểu của HĐND xã "
            "và đại biểu HĐND xã giám sát việc thực hiện Nghị quyết.",
            seed,
        )

    def test_a_share_refuses_a_figure_outside_0_to_100(self):
        from django.core.exceptions import ValidationError

        from targets.models import Figure, ReportingPeriod

        target = Target.objects.get(indicator__resolution=self.resolution, code="9c")
        period = ReportingPeriod.objects.get(
            commune=self.resolution.commune, year=2025, quarter=1
        )
        for value in ("150", "100.5", "-1"):
            figure = Figure(target=target, period=period, value=Decimal(value))
            with self.subTest(value=value), self.assertRaises(ValidationError) as e:
                figure.full_clean()
            if value != "-1":  # a negative gets the "không nhận số âm" message
                self.assertIn("từ 0 đến 100", str(e.exception))
        Figure(target=target, period=period, value=Decimal("100")).full_clean()
        self.assertFalse(Figure.objects.filter(target=target).exists())


class OverviewPageTests(TestCase):
    """The overview page shows the resolution as adopted."""

    @classmethod
    def setUpTestData(cls):
        from django.contrib.auth.models import Group, User

        from targets.models import DELEGATE

        cls.resolution = resolution_load(RESOLUTION_FILE)
        cls.reader = User.objects.create_user("dai-bieu")
        cls.reader.groups.add(Group.objects.get_or_create(name=DELEGATE)[0])

    def page(self) -> str:
        import re
        from html import unescape

        self.client.force_login(self.reader)
        response = self.client.get("/tong-quan-nghi-quyet/")
        self.assertEqual(response.status_code, 200)
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())

    def test_it_shows_the_legal_bases_the_general_objective_and_articles_2_3(self):
        page = self.page()
        for shown in [
            "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16/6/2025;",
            "Căn cứ Quyết định số 1930/QĐ-UBND ngày 11/7/2025",
            "Xét Tờ trình số 24/TTr-UBND ngày 24/7/2025",
            "Mục tiêu chung Tập trung ổn định bộ máy hành chính",
            # The paragraph a page break split, joined.
            "chỉ động ứng phó với thiên tai, biến đổi khí hậu.",
            "Điều 2. Hội đồng nhân dân xã giao",
            "1. Ủy ban nhân dân xã tổ chức triển khai thực hiện.",
            "giám sát việc thực hiện Nghị quyết.",
            "Điều 3. Hiệu lực thi hành",
            "có hiệu lực kể từ ngày 30 tháng 7 năm 2025/.",
            "Giám sát mọi chỉ tiêu, nhiệm vụ: Ban Kinh tế - Ngân sách HĐND xã;",
            "Ban Văn hóa - Xã hội HĐND xã giả định",
        ]:
            self.assertIn(shown, page)
        self.assertNotIn("Nơi nhận", page)

    def test_every_target_and_task_shows_the_committee_above_the_assumed_lead(self):
        page = self.page()
        implementing = "Tổ chức thực hiện: Ủy ban nhân dân xã Khoen On"
        self.assertEqual(page.count(implementing), 32 + 14)
        self.assertIn(
            "Tổ chức thực hiện: Ủy ban nhân dân xã Khoen On Chủ trì: Phòng Kinh tế "
            "giả định",
            page,
        )
        last = page.index("Giải pháp 13.")
        self.assertIn("Phối hợp: Ủy ban MTTQ Việt Nam xã và các đoàn thể", page[last:])
        self.assertNotIn(
            "Phối hợp: Ủy ban MTTQ Việt Nam xã và các đoàn thể giả định",
            page[last : page.index("Tổ chức thực hiện (Điều 2)")],
        )

    def test_section_3_is_in_the_texts_order(self):
        page = self.page()
        self.assertLess(page.index("Nhiệm vụ 1."), page.index("Giải pháp 1."))
        numbers = [int(n) for n in re.findall(r"Giải pháp (\d+)\.", page)]
        self.assertEqual(numbers, list(range(1, 14)))
