"""The approver's review page (issue #14, item 5) and closing a quarter (item 7)."""

import re
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from targets.models import (
    Figure,
    PeriodState,
    ReportingPeriod,
    Target,
    WorkflowState,
)
from targets.periods import MissingFigures, period_set_state
from targets.reminders import missing_figures, outstanding

from .base import EntryTestCase

CHECKBOX = re.compile(r'<input[^>]*type="checkbox"[^>]*name="([fu]-\d+)"[^>]*>')


class ReviewTestCase(EntryTestCase):
    def setUp(self):
        super().setUp()
        self.approver_client = Client()
        self.approver_client.force_login(self.approver)

    def review_url(self, period=None):
        return f"/duyet/{(period or self.q4).pk}/"

    def page(self, data=None):
        if data is None:
            return self.approver_client.get(self.review_url())
        return self.approver_client.post(self.review_url(), data, follow=True)

    def boxes(self, response) -> dict[str, bool]:
        html = response.content.decode()
        return {m[1]: " checked" in m[0] for m in CHECKBOX.finditer(html)}

    def submitted(self):
        return list(Figure.objects.filter(period=self.q4, state="submitted"))

    def submit(self, target, value="1000", kind="actual"):
        """A figure the clerk sent, written directly: these tests are about the
        approver, not the entry page's submit steps."""
        Figure.objects.bulk_create(
            [
                Figure(
                    target=target,
                    period=self.q4,
                    value=Decimal(value),
                    kind=kind,
                    state=WorkflowState.SUBMITTED,
                    submitted_by=self.clerk,
                    submitted_at=timezone.now(),
                    updated_by=self.clerk,
                )
            ]
        )
        return Figure.objects.get(target=target, period=self.q4)


class ReviewPageTests(ReviewTestCase):
    def test_nothing_is_ticked_when_the_page_opens(self):
        self.submit(self.grain)
        boxes = self.boxes(self.page())
        self.assertGreaterEqual(len(boxes), 7)  # six demo figures, the grain
        self.assertFalse(any(boxes.values()), boxes)

    def test_select_all_brings_the_page_back_with_every_card_ticked_and_writes_nothing(
        self,
    ):
        self.submit(self.grain)
        before = {f.pk: f.version for f in self.submitted()}
        response = self.approver_client.post(
            self.review_url(), {"action": "select_all", "reason": "Chưa rõ nguồn."}
        )
        self.assertEqual(response.status_code, 200)
        boxes = self.boxes(response)
        self.assertTrue(boxes and all(boxes.values()), boxes)
        self.assertContains(response, "Chưa rõ nguồn.")  # what was typed stays
        self.assertEqual({f.pk: f.version for f in self.submitted()}, before)

    def test_a_card_shows_plan_year_to_date_status_if_approved_and_earlier_quarters(
        self,
    ):
        figure = self.submit(self.grain)
        html = self.page().content.decode()
        card = html[html.index(f'id="muc-f-{figure.pk}"') :]
        card = card[: card.index("</li>")]
        self.assertIn(f'href="/chi-tieu/{self.grain.pk}/?ky={self.q4.pk}"', card)
        self.assertIn("3.865,28 tấn", card)  # the plan
        # Q1–Q3 approved 900 + 1.050,5 + 1.000, plus the submitted 1.000.
        self.assertIn("Lũy kế đến Quý IV/2025", card)
        self.assertIn("3.950,5 tấn", card)
        # Every quarter of the window in, above the plan: the year's result, Vượt.
        self.assertIn("Vượt", card)
        self.assertIn("QI/2025: 900", card)
        self.assertIn("QIII/2025: 1.000", card)
        self.assertIn("Người gửi", card)
        self.assertIn("Phê duyệt mục này", card)
        self.assertIn("Trả lại mục này", card)

    def test_the_status_counts_only_approved_earlier_quarters(self):
        q3 = Figure.objects.get(target=self.grain, period=self.q3)
        Figure.objects.filter(pk=q3.pk).update(state=WorkflowState.SUBMITTED)
        figure = self.submit(self.grain)
        html = self.page().content.decode()
        card = html[html.index(f'id="muc-f-{figure.pk}"') :]
        card = card[: card.index("</li>")]
        # 900 + 1.050,5 + 1.000: Q3 is not approved, so it counts for nothing.
        self.assertIn("2.950,5 tấn", card)
        self.assertIn("QIII/2025: <span", card)  # "chưa có"
        self.assertNotIn("Vượt", card)

    def test_the_page_is_cards_with_no_table_and_is_never_cached(self):
        self.submit(self.grain)
        response = self.page()
        self.assertNotContains(response, "<table")
        self.assertContains(response, "review-card")
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_the_cards_cost_the_same_queries_for_one_submitted_figure_or_many(self):
        Figure.objects.filter(period=self.q4, state="submitted").exclude(
            target__code="7b"
        ).update(state=WorkflowState.DRAFT)
        with CaptureQueriesContext(connection) as one:
            self.page()
        Figure.objects.filter(period=self.q4, state="draft").update(
            state=WorkflowState.SUBMITTED
        )
        self.submit(self.grain)
        self.assertGreater(len(self.submitted()), 5)
        with CaptureQueriesContext(connection) as many:
            self.page()
        self.assertEqual(len(one), len(many))

    def test_the_approver_sees_the_plausibility_flag_of_a_far_value(self):
        tea = Target.objects.get(code="2b")  # 350 ha
        figure = self.submit(tea, "1000000")
        html = self.page().content.decode()
        card = html[html.index(f'id="muc-f-{figure.pk}"') :]
        card = card[: card.index("</li>")]
        self.assertIn("Cần xem kỹ", card)
        self.assertIn("1.000.000", card)
        grain = self.submit(self.grain)
        html = self.page().content.decode()
        card = html[html.index(f'id="muc-f-{grain.pk}"') :]
        self.assertNotIn("Cần xem kỹ", card[: card.index("</li>")])

    def test_the_approver_sees_what_waits_and_what_is_overdue(self):
        response = self.page()
        self.assertContains(response, "Việc còn phải làm")
        self.assertContains(response, "mục đã gửi, đang chờ phê duyệt")

    def test_the_list_of_quarters_counts_what_waits_in_each(self):
        self.submit(self.grain)
        response = self.approver_client.get("/duyet/")
        html = re.sub(r"\s+", " ", response.content.decode())
        q4 = re.search(
            rf'href="/duyet/{self.q4.pk}/">Quý IV/2025</a></td>'
            r'<td>(.*?)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>',
            html,
        )
        self.assertEqual(q4.groups(), ("Đang mở", str(len(self.submitted())), "0"))
        self.assertIn(f'href="/duyet/{self.q3.pk}/">Quý III/2025</a>', html)
        self.assertContains(response, "Việc còn phải làm")

    def test_only_approvers_have_a_review_page(self):
        for user in (self.clerk, self.delegate):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertEqual(self.client.get("/duyet/").status_code, 404)
                self.assertEqual(self.client.get(self.review_url()).status_code, 404)


class ReviewActionTests(ReviewTestCase):
    def press(self, action, figure, reason=None, ticked=None):
        """A card's own button ("approve" or "return") for `figure`, with the
        reason typed on the card and the other cards' ticks."""
        data = {**(ticked or {}), "one": f"{action}:f:{figure.pk}:{figure.version}"}
        if reason is not None:
            data[f"reason-f-{figure.pk}"] = reason
        return self.page(data)

    def assertState(self, figure, state, reason=None):
        figure.refresh_from_db()
        self.assertEqual(figure.state, state)
        if reason is not None:
            self.assertEqual(figure.state_reason, reason)

    def test_one_card_is_returned_by_its_own_button_and_the_ticked_ones_stay(self):
        grain = self.submit(self.grain)
        others = [f for f in self.submitted() if f.pk != grain.pk]
        ticked = {f"f-{f.pk}": str(f.version) for f in others}
        response = self.press(
            "return", grain, "Sản lượng quý IV cao bất thường.", ticked
        )
        self.assertContains(response, "Đã trả lại 1 mục")
        self.assertState(
            grain, WorkflowState.RETURNED, "Sản lượng quý IV cao bất thường."
        )
        for other in others:
            self.assertState(other, WorkflowState.SUBMITTED)

    def test_returning_one_card_without_a_reason_is_refused(self):
        grain = self.submit(self.grain)
        self.assertContains(self.press("return", grain), "phải nêu lý do")
        self.assertState(grain, WorkflowState.SUBMITTED)

    def test_one_card_is_approved_by_its_own_button(self):
        grain = self.submit(self.grain)
        self.assertContains(self.press("approve", grain), "Đã phê duyệt 1 mục")
        self.assertState(grain, WorkflowState.APPROVED)
        self.assertEqual(len(self.submitted()), 6)

    def test_returning_one_then_approving_the_ticked_rest(self):
        grain = self.submit(self.grain)
        self.press("return", grain, "Thiếu minh chứng.")
        rest = {f"f-{f.pk}": str(f.version) for f in self.submitted()}
        response = self.page({**rest, "action": "approve"})
        self.assertContains(response, f"Đã phê duyệt {len(rest)} mục")
        self.assertEqual(self.submitted(), [])
        self.assertState(grain, WorkflowState.RETURNED)

    def test_approving_with_nothing_ticked_says_what_to_do(self):
        response = self.page({"action": "approve"})
        self.assertContains(response, "Chưa chọn mục nào")
        self.assertContains(response, "Chọn tất cả")
        self.assertEqual(len(self.submitted()), 6)

    def test_a_malformed_card_button_is_a_404(self):
        for value in ["approve:f:1", "delete:f:1:1", "approve:x:1:1", "approve:f:a:1"]:
            with self.subTest(value=value):
                response = self.approver_client.post(self.review_url(), {"one": value})
                self.assertEqual(response.status_code, 404)


class ClosingTests(ReviewTestCase):
    def close(self, **extra):
        return self.page_state(
            {"state": "closed", "reason": "Khóa sổ quý IV.", **extra}, self.approver
        )

    def page_state(self, data, user):
        client = Client()
        client.force_login(user)
        return client.post(f"/ky/{self.q4.pk}/trang-thai/", data, follow=True)

    def test_closing_with_missing_figures_is_refused_and_names_them(self):
        response = self.close()
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.OPEN)
        self.assertContains(response, "Chưa khóa sổ Quý IV/2025")
        self.assertContains(response, "2a – Phòng Kinh tế (chưa nhập)")
        self.assertContains(response, "7b – Phòng Văn hóa - Xã hội (đã gửi, chờ phê")
        self.assertContains(response, "Vẫn khóa sổ dù còn thiếu số liệu")

    def test_closing_or_reopening_without_a_reason_changes_nothing_and_says_why(self):
        for state, user in (("closed", self.approver), ("open", self.admin)):
            with self.subTest(state=state):
                response = self.page_state({"state": state, "reason": "  "}, user)
                self.assertContains(response, "Khóa sổ hoặc mở lại kỳ phải nêu lý do")
                self.q4.refresh_from_db()
                self.assertEqual(self.q4.state, PeriodState.OPEN)

    def test_only_the_administrator_reopens_and_no_clerk_closes(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(state=PeriodState.CLOSED)
        cases = [
            ({"state": "open", "reason": "Mở lại."}, self.approver),
            ({"state": "closed", "reason": "Khóa."}, self.clerk),
            ({"state": "archived", "reason": "Khác."}, self.admin),
        ]
        for data, user in cases:
            with self.subTest(state=data["state"], user=user.username):
                client = Client()
                client.force_login(user)
                response = client.post(f"/ky/{self.q4.pk}/trang-thai/", data)
                self.assertEqual(response.status_code, 404)
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.CLOSED)

    def test_the_close_message_names_the_new_state(self):
        response = self.close(confirm_missing="1")
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.CLOSED)
        self.assertContains(
            response, "Đã khóa sổ Quý IV/2025. Trạng thái kỳ bây giờ: đã khóa sổ."
        )
        self.assertNotContains(response, "đang mở.")
        response = self.page_state({"state": "open", "reason": "Bổ sung."}, self.admin)
        self.assertContains(
            response, "Đã mở lại Quý IV/2025. Trạng thái kỳ bây giờ: đang mở."
        )

    def test_closing_needs_no_confirmation_once_every_figure_is_approved(self):
        Figure.objects.filter(period=self.q4).update(state=WorkflowState.APPROVED)
        due = [t for t in Target.objects.all() if t.window[0] <= (2025, 4)]
        have = set(
            Figure.objects.filter(period=self.q4).values_list("target_id", flat=True)
        )
        Figure.objects.bulk_create(
            Figure(
                target=t,
                period=self.q4,
                value=t.target_value,
                state=WorkflowState.APPROVED,
            )
            for t in due
            if t.pk not in have
        )
        self.assertEqual(missing_figures(self.q4), [])
        response = self.close()
        self.assertContains(response, "Đã khóa sổ Quý IV/2025")
        self.assertNotContains(response, "Vẫn khóa sổ dù còn thiếu")

    def test_the_service_refuses_and_then_returns_the_closed_period(self):
        with self.assertRaises(MissingFigures) as refused:
            period_set_state(
                user=self.approver, period=self.q4, state=PeriodState.CLOSED, reason="x"
            )
        self.assertIn("2a", [m.code for m in refused.exception.missing])
        period = period_set_state(
            user=self.approver,
            period=self.q4,
            state=PeriodState.CLOSED,
            reason="x",
            confirm_missing=True,
        )
        self.assertEqual(period.state, PeriodState.CLOSED)
        self.assertEqual(period.get_state_display(), "Đã khóa sổ")


class MissingFiguresTests(ReviewTestCase):
    def test_it_lists_the_due_targets_without_an_approved_figure_with_the_lead(self):
        missing = {m.code: m for m in missing_figures(self.q4)}
        self.assertEqual(missing["2a"].lead_name, "Phòng Kinh tế")
        self.assertIsNone(missing["2a"].state)
        self.assertEqual(missing["7b"].state, WorkflowState.SUBMITTED)
        self.assertEqual(missing["7b"].value, "165")
        approved = set(
            Figure.objects.filter(period=self.q4, state="approved").values_list(
                "target__code", flat=True
            )
        )
        self.assertFalse(approved & set(missing))
        self.assertTrue(all(m.target_id for m in missing.values()))

    def test_a_target_whose_window_starts_later_is_not_missing_before_it(self):
        narrowed = Target.objects.exclude(window_start_quarter=1).first()
        self.assertIsNotNone(narrowed, "the fixture narrows budget revenue to Q3")
        q1 = self.q3.__class__.objects.get(year=2025, quarter=1)
        Figure.objects.filter(period=q1, target=narrowed).delete()
        codes = [m.code for m in missing_figures(q1)]
        self.assertNotIn(narrowed.code, codes)

    def test_it_reads_any_number_of_quarters_in_six_queries(self):
        periods = list(self.q3.__class__.objects.all())
        with CaptureQueriesContext(connection) as one:
            outstanding([self.q4])
        with CaptureQueriesContext(connection) as all_of_them:
            found = outstanding(periods)
        self.assertEqual(len(one), 6)
        self.assertEqual(len(all_of_them), 6)
        self.assertEqual(len(found), len(periods))
        self.assertGreater(len(found[self.q4.pk]), 20)

    def test_value_shown_is_vietnamese(self):
        figure = self.submit(self.grain, "1000.5")
        item = next(
            m for m in missing_figures(self.q4) if m.target_id == figure.target_id
        )
        self.assertEqual(item.value, "1.000,5")
        self.assertEqual(Decimal("1000.5"), figure.value)
