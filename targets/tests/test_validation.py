"""The one validation path for figures (issue #15): targets.validation.check_figures
over a batch, and the entry page's save, each at a fixed number of queries."""

from decimal import Decimal
from unittest import mock

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from targets import rules
from targets.entry import RowErrors, entry_save, entry_scope
from targets.forms import read_entry
from targets.models import Figure, ReportingPeriod, Target, WorkflowState
from targets.numbers import format_decimal_input
from targets.progress import Status
from targets.validation import Action, FigureCheck, check_figures

from .base import EntryTestCase


def queries(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


class CheckFiguresTests(EntryTestCase):
    def draft(self, target, value, period=None, **fields):
        return Figure(
            target=target, period=period or self.q4, value=Decimal(value), **fields
        )

    def test_a_value_past_the_targets_bound_is_refused_on_the_value(self):
        share = Target.objects.filter(max_value__isnull=False).first()
        figure = self.draft(share, share.max_value + 1)
        checks = check_figures([figure], action=Action.DRAFT)
        self.assertIn("value", checks[0].errors)
        self.assertTrue(checks[0].refused)

    def test_a_value_inside_its_bounds_says_nothing(self):
        self.assertEqual(
            check_figures([self.draft(self.grain, "4000")], action=Action.DRAFT), {}
        )

    def test_changing_an_approved_figure_is_refused_by_the_lock(self):
        stored = self.draft(self.grain, "4000", state=WorkflowState.APPROVED)
        stored.save()
        changed = Figure.objects.get(pk=stored.pk)
        changed.value = Decimal("4100")
        checks = check_figures([changed], action=Action.DRAFT)
        self.assertIn("đã được phê duyệt", checks[0].errors[NON_FIELD_ERRORS][0])

    def test_a_new_figure_in_a_closed_period_is_refused_by_the_lock(self):
        ReportingPeriod.objects.filter(pk=self.q3.pk).update(state="closed")
        q3 = ReportingPeriod.objects.get(pk=self.q3.pk)
        figure = self.draft(self.forest, "40", period=q3)
        checks = check_figures([figure], action=Action.DRAFT, stored={})
        self.assertIn("đã khóa sổ", checks[0].errors[NON_FIELD_ERRORS][0])

    def test_sending_a_behind_figure_without_a_note_asks_for_an_explanation(self):
        figure = self.draft(self.grain, "1")
        check = check_figures([figure], action=Action.SUBMIT)[0]
        self.assertIn(check.explain, {Status.AT_RISK, Status.BEHIND, Status.NOT_MET})
        self.assertIn("nguyên nhân và giải pháp", check.error_dict()["note"][0])
        figure.note = "Mất mùa do hạn."
        again = check_figures([figure], action=Action.SUBMIT).get(0, FigureCheck())
        self.assertIsNone(again.explain)

    def test_a_flagged_value_is_sent_only_once_confirmed(self):
        tea = Target.objects.get(code="2b")  # 350 ha
        figure = self.draft(tea, "1000000", note="Đã kiểm tra.")
        check = check_figures([figure], action=Action.SUBMIT)[0]
        self.assertTrue(check.flags)
        self.assertTrue(check.unconfirmed)
        self.assertIn("confirm", check.error_dict())
        for confirmed in (True, {tea.pk}):
            check = check_figures([figure], action=Action.SUBMIT, confirmed=confirmed)
            self.assertFalse(check[0].unconfirmed)
            self.assertTrue(check[0].flags)

    def test_sending_judges_with_the_batchs_own_values_over_the_stored_ones(self):
        # Stored at the plan, the batch brings it down: the batch's value is judged.
        Figure.objects.filter(target=self.forest, period=self.q4).delete()
        self.draft(self.forest, self.forest.target_value, note="").save()
        stored = Figure.objects.get(target=self.forest, period=self.q4)
        self.assertEqual(check_figures([stored], action=Action.SUBMIT), {})
        stored.value = Decimal("1")
        checks = check_figures([stored], action=Action.SUBMIT, confirmed=True)
        self.assertIsNotNone(checks[0].explain)

    def test_figures_already_sent_are_not_judged_again(self):
        figure = self.draft(self.grain, "1", state=WorkflowState.SUBMITTED)
        self.assertEqual(check_figures([figure], action=Action.SUBMIT), {})

    def test_one_figure_or_fifty_cost_the_same_queries(self):
        targets = list(Target.objects.order_by("pk"))
        periods = list(ReportingPeriod.objects.filter(year=2025).order_by("quarter"))
        many = [
            self.draft(target, target.target_value, period=period)
            for period in periods
            for target in targets
            if target.window[0] <= period.key <= target.window[1]
        ][:50]
        self.assertEqual(len(many), 50)
        stored = list(Figure.objects.select_related("target", "period")[:50])
        for action in Action:

            def cost(figures, action=action):
                return queries(lambda: check_figures(figures, action=action))

            self.assertEqual(cost(stored[:1]), cost(stored))
            self.assertEqual(cost(many[:1]), cost(many))


class EntrySaveQueriesTests(EntryTestCase):
    def rows(self, count: int) -> tuple[dict, int]:
        """New rows for the clerk's first `count` targets of the quarter with no
        figure yet, each at its plan (inside its bounds)."""
        taken = Figure.objects.filter(period=self.q4).values("target")
        targets = [
            t
            for t in rules.editable_targets(self.clerk)
            .exclude(pk__in=taken)
            .distinct()
            .order_by("pk")
            if t.window[0] <= self.q4.key <= t.window[1]
        ][:count]
        data = {}
        for target in targets:
            data |= self.row(
                target, format_decimal_input(target.target_value), note="Ghi chú."
            )
        return data, len(targets)

    def test_saving_one_row_or_twenty_costs_the_same_queries(self):
        Figure.objects.filter(period=self.q4, state=WorkflowState.DRAFT).delete()
        self.client.force_login(self.clerk)
        one, _ = self.rows(1)
        with CaptureQueriesContext(connection) as first:
            response = self.save(one)
        self.assertEqual(response.status_code, 302)
        Figure.objects.filter(period=self.q4, updated_by=self.clerk).delete()
        many, count = self.rows(20)
        self.assertGreater(count, 10)
        with self.assertNumQueries(len(first)):
            response = self.save(many)
        self.assertEqual(response.status_code, 302)
        saved = Figure.objects.filter(period=self.q4, updated_by=self.clerk)
        self.assertEqual(saved.count(), count)
        reasons = Figure.history.filter(
            id__in=saved.values("pk"), history_user=self.clerk
        ).values_list("history_change_reason", flat=True)
        self.assertEqual(list(reasons), ["Trang nhập số liệu – lưu nháp"] * count)


class CreatedMeanwhileTests(EntryTestCase):
    def test_a_figure_created_between_the_read_and_the_insert_is_a_conflict(self):
        # Someone saved the quarter's grain figure after this save read the rows:
        # the database's unique constraint refuses the insert, the row says so.
        Figure.objects.filter(target=self.grain, period=self.q4).delete()
        self.save(self.row(self.grain, "1000"), user=self.clerk)  # another tab
        targets, tasks = entry_scope(self.clerk, self.q4)
        rows, _ = read_entry(self.row(self.grain, "2000"), targets, tasks)
        with mock.patch("targets.entry._stored", return_value=({}, {})):
            with self.assertRaises(RowErrors):
                entry_save(
                    user=self.clerk,
                    period=self.q4,
                    figure_rows=rows,
                    task_rows=[],
                    targets=targets,
                    tasks=tasks,
                    submit=False,
                    today=timezone.localdate(),
                )
        self.assertIn("Xung đột", rows[0].errors[0])
        self.assertIn("1.000", rows[0].errors[0])
        self.assertEqual(self.figure(self.grain).value, Decimal("1000"))
