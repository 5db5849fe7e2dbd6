"""The seams the reports' views read through: which quarter a page opens on
(reports.selection), where each task stands at a period (reports.task_standing),
which rows link to a target's page (presentation.target_lines) and which body cards
the scorecard shows (views._chosen_cards)."""

from types import SimpleNamespace

from django.http import Http404
from django.test import RequestFactory, SimpleTestCase, TestCase

from reports.presentation import target_lines
from reports.selection import chosen, chosen_period, periods_marked
from reports.task_standing import in_report_order, task_counts, task_standings
from reports.views import _chosen_cards
from targets.models import (
    Assignment,
    BodyKind,
    Figure,
    Indicator,
    ResponsibleBody,
    Role,
    Task,
    TaskKind,
    TaskStatus,
    TaskUpdate,
    WorkflowState,
)
from targets.progress_load import load_resolution_progress
from targets.tests.builders import add_target, build_commune

from .builders import D, build_every_status


def GET(path):
    return RequestFactory().get(path).GET


def period(pk, year=2025):
    return SimpleNamespace(pk=pk, year=year)


class ChosenTests(SimpleTestCase):
    def test_without_a_choice_the_last_item_is_chosen(self):
        items = [period(1), period(2)]
        self.assertEqual(chosen(GET("/"), items, "ky", "x").pk, 2)

    def test_nothing_to_choose_from_is_none(self):
        self.assertIsNone(chosen(GET("/"), [], "ky", "x"))

    def test_a_choice_picks_the_item_with_that_pk(self):
        items = [period(1), period(2)]
        self.assertEqual(chosen(GET("/?ky=1"), items, "ky", "x").pk, 1)

    def test_an_unknown_choice_is_a_404_with_the_message(self):
        with self.assertRaisesMessage(Http404, "Kỳ này chưa được công bố."):
            chosen(GET("/?ky=9"), [period(1)], "ky", "Kỳ này chưa được công bố.")


class ChosenPeriodTests(SimpleTestCase):
    resolution = SimpleNamespace(plan_year=2025)

    def chosen(self, path, periods, approved=()):
        return chosen_period(GET(path), periods, self.resolution, frozenset(approved))

    def test_it_opens_on_the_latest_period_with_an_approved_figure(self):
        periods = [period(1), period(2), period(3)]
        self.assertEqual(self.chosen("/", periods, approved={1, 2}).pk, 2)

    def test_with_nothing_approved_it_opens_on_the_plan_years_first_quarter(self):
        periods = [period(1, year=2024), period(2), period(3)]
        self.assertEqual(self.chosen("/", periods).pk, 2)

    def test_with_no_quarter_in_the_plan_year_it_opens_on_the_first(self):
        periods = [period(1, year=2024), period(2, year=2024)]
        self.assertEqual(self.chosen("/", periods).pk, 1)

    def test_no_period_at_all_is_none(self):
        self.assertIsNone(self.chosen("/", []))

    def test_a_chosen_period_wins_and_an_unknown_one_is_a_404(self):
        periods = [period(1), period(2)]
        self.assertEqual(self.chosen("/?ky=1", periods, approved={2}).pk, 1)
        with self.assertRaisesMessage(Http404, "Không có kỳ báo cáo này."):
            self.chosen("/?ky=7", periods, approved={2})


class PeriodsMarkedTests(TestCase):
    def test_it_names_the_periods_holding_an_approved_figure(self):
        data = build_every_status()
        periods, approved = periods_marked(data["resolution"])
        self.assertEqual([p.quarter for p in periods], [1, 2, 3, 4])
        self.assertEqual(approved, {p.pk for p in periods})

    def test_a_new_approval_shows_at_once_and_the_periods_are_kept(self):
        resolution, quarters = build_commune("Chưa duyệt")
        indicator = Indicator.objects.create(
            resolution=resolution, number=1, area="economy", text="Chỉ tiêu (1)"
        )
        target = add_target(indicator, "1.1")
        Figure.objects.create(target=target, period=quarters[1], value=D("10"))
        periods, approved = periods_marked(resolution)
        self.assertEqual(approved, frozenset())  # a draft is not approved
        Figure.objects.create(
            target=target,
            period=quarters[2],
            value=D("10"),
            state=WorkflowState.APPROVED,
        )
        again, approved = periods_marked(resolution)
        self.assertEqual(approved, {quarters[2].pk})
        self.assertIs(again, periods)  # the shape did not move: kept


class TaskStandingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.resolution, cls.periods = build_commune("Thử")
        commune = cls.resolution.commune
        cls.a, cls.b, cls.c = (
            ResponsibleBody.objects.create(
                commune=commune, name=name, kind=BodyKind.OFFICE
            )
            for name in ("Phòng A", "Phòng B", "UBND xã")
        )
        cls.solution = Task.objects.create(
            resolution=cls.resolution,
            kind=TaskKind.SOLUTION,
            number=1,
            text="Giải pháp.",
        )
        cls.task2 = Task.objects.create(
            resolution=cls.resolution, kind=TaskKind.TASK, number=2, text="Nhiệm vụ 2."
        )
        cls.task1 = Task.objects.create(
            resolution=cls.resolution, kind=TaskKind.TASK, number=1, text="Nhiệm vụ 1."
        )
        Assignment.objects.create(task=cls.task1, body=cls.a, role=Role.LEAD)
        Assignment.objects.create(task=cls.task1, body=cls.b, role=Role.SUPPORTING)
        Assignment.objects.create(task=cls.task1, body=cls.c, role=Role.IMPLEMENTING)
        for quarter, status, state in (
            (1, TaskStatus.NOT_STARTED, WorkflowState.APPROVED),
            (2, TaskStatus.IN_PROGRESS, WorkflowState.APPROVED),
            (3, TaskStatus.DONE, WorkflowState.SUBMITTED),
            (4, TaskStatus.DONE, WorkflowState.APPROVED),
        ):
            TaskUpdate.objects.create(
                task=cls.task1, period=cls.periods[quarter], status=status, state=state
            )

    def test_tasks_come_first_then_solutions_each_by_number(self):
        order = in_report_order([self.solution, self.task2, self.task1])
        self.assertEqual(order, [self.task1, self.task2, self.solution])

    def test_each_task_has_its_bodies_by_role(self):
        rows = task_standings(self.resolution, self.periods[2])
        first = rows[0]
        self.assertEqual(first.task, self.task1)
        self.assertEqual(first.lead, self.a)
        self.assertEqual(first.supporting, [self.b])
        self.assertEqual(first.implementing, (self.c,))
        self.assertIsNone(rows[1].lead)

    def test_the_update_shown_is_the_latest_approved_up_to_the_period(self):
        at_q3 = task_standings(self.resolution, self.periods[3])[0]
        self.assertEqual(at_q3.update.status, TaskStatus.IN_PROGRESS)  # Q3 not approved
        at_q4 = task_standings(self.resolution, self.periods[4])[0]
        self.assertEqual(at_q4.update.status, TaskStatus.DONE)

    def test_two_queries_whatever_the_number_of_tasks_once_the_shape_is_read(self):
        task_standings(self.resolution, self.periods[3])
        # The structure token and the updates; the tasks and their bodies are kept.
        with self.assertNumQueries(2):
            task_standings(self.resolution, self.periods[4])

    def test_counts_follow_the_styles_order_and_skip_absent_ones(self):
        rows = task_standings(self.resolution, self.periods[4])
        self.assertEqual(
            task_counts(rows),
            [
                ("light", "–", "Chưa có cập nhật", 2),
                ("success", "✓", TaskStatus.DONE.label, 1),
            ],
        )


class TargetLinesTests(TestCase):
    def test_rows_link_to_the_targets_page_at_the_period_when_the_user_may_open_it(
        self,
    ):
        data = build_every_status()
        q3 = data["periods"][3]
        items = load_resolution_progress(data["resolution"], q3).items
        open_one = items[0].target.pk
        lines = target_lines(items, "reports:target", q3, {open_one})
        self.assertEqual(lines[open_one].url, f"/chi-tieu/{open_one}/?ky={q3.pk}")
        self.assertTrue(
            all(line.url is None for pk, line in lines.items() if pk != open_one)
        )
        public = target_lines(items, "public:target", q3)
        self.assertTrue(
            all(f"/{pk}/?ky={q3.pk}" in line.url for pk, line in public.items())
        )


class ChosenCardsTests(SimpleTestCase):
    cards = [{"body": SimpleNamespace(pk=1)}, {"body": SimpleNamespace(pk=2)}]

    def test_every_card_without_a_choice(self):
        self.assertEqual(_chosen_cards("", self.cards), self.cards)

    def test_the_chosen_bodys_card(self):
        self.assertEqual(_chosen_cards("2", self.cards), [self.cards[1]])

    def test_a_body_without_a_card_is_a_404(self):
        with self.assertRaisesMessage(Http404, "Không có đơn vị này."):
            _chosen_cards("3", self.cards)
