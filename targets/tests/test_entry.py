"""Quarterly data entry: draft, submit, return, approve, lock, reopen, conflicts."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from targets.models import (
    CLERK,
    Figure,
    PeriodState,
    ReportingPeriod,
    TaskUpdate,
    WorkflowState,
)

from .base import EntryTestCase


class DraftAndSubmitTests(EntryTestCase):
    def test_the_entry_page_lists_only_the_clerks_targets(self):
        self.client.force_login(self.clerk)
        response = self.client.get(self.entry_url())
        self.assertContains(response, f'name="v-{self.grain.pk}"')
        self.assertNotContains(response, f'name="v-{self.jobs.pk}"')
        self.assertContains(response, "Tổng sản lượng lương thực có hạt")
        self.assertNotContains(response, "Số lao động được giải quyết việc làm")

    def test_a_clerk_saves_a_vietnamese_decimal_as_an_exact_draft(self):
        response = self.save(self.row(self.grain, "1.000,55"), user=self.clerk)
        self.assertRedirects(response, self.entry_url())
        figure = self.figure(self.grain)
        self.assertEqual(figure.value, Decimal("1000.55"))
        self.assertEqual(figure.state, WorkflowState.DRAFT)
        self.assertEqual(figure.version, 1)
        self.assertEqual(figure.updated_by, self.clerk)
        record = figure.history.get()
        self.assertEqual(record.history_user, self.clerk)
        self.assertEqual(record.history_change_reason, "Trang nhập số liệu – lưu nháp")

    def test_a_clerks_value_over_a_demo_figure_is_no_longer_marked_demo(self):
        figure = self.figure(self.forest) or Figure(target=self.forest, period=self.q4)
        figure.value, figure.state, figure.is_demo = Decimal("40.6"), "draft", True
        figure.save()
        self.client.force_login(self.clerk)
        self.assertContains(self.client.get(self.entry_url()), "dữ liệu minh họa")
        response = self.save(
            self.row(self.forest, "40,7", version=figure.version), user=self.clerk
        )
        self.assertRedirects(response, self.entry_url())
        figure.refresh_from_db()
        self.assertEqual((figure.value, figure.is_demo), (Decimal("40.7"), False))

    def test_the_sum_target_shows_the_year_to_date_total_beside_the_input(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        response = self.client.get(self.entry_url())
        # Q1–Q3 demo: 900 + 1.050,5 + 1.000, plus this quarter's 1.000.
        self.assertContains(response, "Lũy kế: <strong>3.950,5</strong>")

    def test_an_ambiguous_number_is_refused_with_a_message_and_nothing_changes(self):
        response = self.save(self.row(self.grain, "3.865"), user=self.clerk)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "3.865")
        self.assertContains(response, "Chưa lưu")
        self.assertIsNone(self.figure(self.grain))

    def test_more_decimals_than_allowed_is_an_error_never_rounding(self):
        response = self.save(self.row(self.grain, "1000,555"), user=self.clerk)
        self.assertContains(response, "chữ số thập phân")
        self.assertIsNone(self.figure(self.grain))

    def test_a_behind_figure_saves_as_a_draft_and_needs_an_explanation_to_submit(self):
        # Forest cover 40,5 in Q3; 39 at year end misses 40,64: Không đạt.
        response = self.save(self.row(self.forest, "39"), user=self.clerk)
        self.assertRedirects(response, self.entry_url())
        figure = self.figure(self.forest)
        self.assertEqual((figure.value, figure.state), (Decimal("39"), "draft"))
        page = self.client.get(self.entry_url())
        self.assertContains(page, "khi gửi duyệt phải ghi nguyên nhân và giải pháp")
        # Submit refuses, and the mark is on the explanation box, not the number.
        response = self.save(
            self.row(self.forest, "39", version=figure.version), action="submit"
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "phải ghi rõ nguyên nhân và giải pháp")
        html = response.content.decode()
        self.assertIn(
            f'name="n-{self.forest.pk}" id="n-{self.forest.pk}" aria-describedby', html
        )
        self.assertNotIn(f'id="v-{self.forest.pk}-err"', html)
        self.assertIn('id="can-sua"', html)
        self.assertIn(f'href="#row-{self.forest.pk}"', html)
        self.assertEqual(self.figure(self.forest).state, WorkflowState.DRAFT)
        response = self.save(
            {
                **self.row(
                    self.forest,
                    "39",
                    note="Cháy rừng tháng 10.",
                    version=figure.version,
                ),
                # 39 is below quý III's 40,5: a flag the clerk confirms.
                f"c-{self.forest.pk}": "1",
            },
            action="submit",
        )
        self.assertEqual(response.status_code, 302)
        figure = self.figure(self.forest)
        self.assertEqual((figure.value, figure.state), (Decimal("39"), "submitted"))

    def test_one_bad_row_saves_nothing_and_keeps_what_was_typed(self):
        data = {**self.row(self.grain, "1000"), **self.row(self.forest, "abc")}
        response = self.save(data, user=self.clerk)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'value="abc"')
        self.assertContains(response, 'value="1000"')
        self.assertFalse(
            Figure.objects.filter(period=self.q4)
            .exclude(target__code__in=["7b", "6c", "3", "8c", "4a", "4b"])
            .exists()
        )

    def test_submit_sends_every_draft_of_the_clerks_targets_and_tasks(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        data = {
            **self.row(self.forest, "40,7", version=0),
            **self.task_row(
                self.task_a, "in_progress", "Đang triển khai giống lúa mới."
            ),
        }
        response = self.save(data, action="submit")
        self.assertEqual(response.status_code, 302)
        states = set(
            Figure.objects.filter(
                period=self.q4, target__in=[self.grain, self.forest]
            ).values_list("state", flat=True)
        )
        self.assertEqual(states, {WorkflowState.SUBMITTED})
        update = TaskUpdate.objects.get(task=self.task_a, period=self.q4)
        self.assertEqual(update.state, WorkflowState.SUBMITTED)
        grain = self.figure(self.grain)
        self.assertEqual(grain.submitted_by, self.clerk)
        reasons = list(
            grain.history.order_by("history_id").values_list(
                "history_change_reason", flat=True
            )
        )
        self.assertEqual(
            reasons, ["Trang nhập số liệu – lưu nháp", "Trang nhập số liệu – gửi duyệt"]
        )

    def test_a_sent_figure_cannot_be_changed_nor_a_saved_one_emptied(self):
        cases = [
            (
                self.grain,
                "submit",
                "1000",
                "2000",
                "Số liệu đã gửi duyệt; chờ phê duyệt hoặc trả lại rồi mới sửa được.",
            ),
            (
                self.forest,
                "save",
                "40,7",
                "",
                "Không được để trống số liệu đã nhập. Nếu số liệu sai, hãy nhập số "
                "đúng.",
            ),
        ]
        for target, action, saved, typed, refusal in cases:
            with self.subTest(action=action, typed=typed):
                self.save(self.row(target, saved), action=action, user=self.clerk)
                figure = self.figure(target)
                response = self.save(self.row(target, typed, version=figure.version))
                self.assertContains(response, refusal)
                self.assertEqual(self.figure(target).value, figure.value)

    def test_a_task_update_cannot_be_emptied_nor_changed_once_sent(self):
        def task(status, version, action="save"):
            data = self.task_row(self.task_a, status, version=version)
            return self.save(data, action=action, user=self.clerk)

        task("in_progress", 0)
        update = TaskUpdate.objects.get(task=self.task_a, period=self.q4)
        self.assertContains(task("", update.version), "Chọn tình hình thực hiện.")
        task("in_progress", update.version, action="submit")
        update.refresh_from_db()
        self.assertEqual(update.state, WorkflowState.SUBMITTED)
        self.assertContains(
            task("done", update.version),
            "Đã gửi duyệt; chờ phê duyệt hoặc trả lại rồi mới sửa được.",
        )
        update.refresh_from_db()
        self.assertEqual(update.status, "in_progress")

    def test_a_delayed_task_needs_a_narrative(self):
        response = self.save(self.task_row(self.task_a, "delayed"), user=self.clerk)
        self.assertContains(response, "phải nêu nguyên nhân")
        self.assertFalse(TaskUpdate.objects.filter(task=self.task_a).exists())


class ReviewTests(EntryTestCase):
    def test_the_approver_sees_what_was_submitted(self):
        self.submit_grain()
        self.client.force_login(self.approver)
        response = self.client.get(f"/duyet/{self.q4.pk}/")
        self.assertContains(response, "Tổng sản lượng lương thực có hạt")
        self.assertContains(response, "1.000")

    def test_approval_locks_the_figure_against_the_form_and_a_raw_post(self):
        figure = self.submit_grain()
        self.review(figure, "approve")
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.APPROVED)
        self.assertEqual(figure.approved_by, self.approver)
        response = self.save(
            self.row(self.grain, "5000", version=figure.version), user=self.clerk
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "phê duyệt")
        self.assertEqual(self.figure(self.grain).value, Decimal("1000"))

    def test_approval_locks_the_figure_in_the_admin(self):
        figure = self.submit_grain()
        self.review(figure, "approve")
        figure.refresh_from_db()
        url = f"/admin/targets/figure/{figure.pk}/change/"
        response = self.admin_change(figure, "5000", WorkflowState.APPROVED)
        # The change form of a locked figure is read-only: a POST is refused.
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.figure(self.grain).value, Decimal("1000"))
        self.assertContains(self.client.get(url), "đã được phê duyệt")

    def test_returning_needs_a_reason_and_lets_the_clerk_edit_again(self):
        figure = self.submit_grain()
        self.review(figure, "return", reason="")
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.review(figure, "return", reason="Số liệu chưa khớp với báo cáo thống kê.")
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.RETURNED)
        self.assertEqual(figure.state_reason, "Số liệu chưa khớp với báo cáo thống kê.")
        self.client.force_login(self.clerk)
        page = self.client.get(self.entry_url())
        self.assertContains(page, "Số liệu chưa khớp với báo cáo thống kê.")
        self.save(self.row(self.grain, "1100", version=figure.version))
        figure.refresh_from_db()
        self.assertEqual((figure.value, figure.state), (Decimal("1100"), "draft"))
        last = figure.history.order_by("-history_id").first()
        self.assertEqual(last.history_change_reason, "Trang nhập số liệu – lưu nháp")

    def test_each_step_writes_one_audit_row(self):
        figure = self.submit_grain()
        self.review(figure, "approve")
        reasons = list(
            figure.history.order_by("history_id").values_list(
                "history_change_reason", "state"
            )
        )
        self.assertEqual(
            reasons,
            [
                ("Trang nhập số liệu – lưu nháp", "draft"),
                ("Trang nhập số liệu – gửi duyệt", "submitted"),
                ("Trang duyệt số liệu – phê duyệt", "approved"),
            ],
        )

    def test_an_administrator_reopens_an_approved_figure_with_a_reason(self):
        figure = self.submit_grain()
        self.review(figure, "approve")
        self.client.force_login(self.admin)
        self.client.post(f"/so-lieu/{figure.pk}/mo-lai/", {"reason": ""})
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.APPROVED)
        self.client.post(
            f"/so-lieu/{figure.pk}/mo-lai/", {"reason": "Tỉnh điều chỉnh số liệu."}
        )
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.RETURNED)
        last = figure.history.order_by("-history_id").first()
        self.assertEqual(
            last.history_change_reason,
            "Trang quản trị – mở lại: Tỉnh điều chỉnh số liệu.",
        )
        self.assertEqual(last.history_user, self.admin)

    def test_the_approver_cannot_reopen_a_figure(self):
        figure = self.submit_grain()
        self.review(figure, "approve")
        self.client.force_login(self.approver)
        response = self.client.post(f"/so-lieu/{figure.pk}/mo-lai/", {"reason": "x"})
        self.assertEqual(response.status_code, 404)

    def test_a_stale_approval_is_refused(self):
        figure = self.submit_grain()
        stale = figure.version - 1
        client = Client()
        client.force_login(self.approver)
        client.post(
            f"/duyet/{self.q4.pk}/", {f"f-{figure.pk}": str(stale), "action": "approve"}
        )
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)


class PeriodLockTests(EntryTestCase):
    def close_q4(self):
        self.client.force_login(self.approver)
        self.client.post(
            f"/ky/{self.q4.pk}/trang-thai/",
            {"state": "closed", "reason": "Khóa sổ quý IV.", "confirm_missing": "1"},
        )
        self.q4.refresh_from_db()

    def test_closing_a_period_blocks_the_entry_form(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        self.close_q4()
        self.assertEqual(self.q4.state, PeriodState.CLOSED)
        version = self.figure(self.grain).version
        response = self.save(
            self.row(self.grain, "2000", version=version), user=self.clerk
        )
        self.assertContains(response, "không còn mở")
        self.assertEqual(self.figure(self.grain).value, Decimal("1000"))

    def test_closing_a_period_blocks_the_admin(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        self.close_q4()
        figure = self.figure(self.grain)
        response = self.admin_change(figure, "2000", WorkflowState.DRAFT)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.figure(self.grain).value, Decimal("1000"))
        page = self.client.get(f"/admin/targets/figure/{figure.pk}/change/")
        self.assertContains(page, "đã khóa sổ")

    def test_a_closed_period_takes_no_new_figure_even_through_the_model(self):
        self.close_q4()
        figure = Figure(target=self.grain, period=self.q4, value=Decimal("1"))
        with self.assertRaisesMessage(Exception, "đã khóa sổ"):
            figure.full_clean()

    def test_only_the_administrator_reopens_a_period_and_it_is_audited(self):
        self.close_q4()
        self.client.force_login(self.approver)
        response = self.client.post(
            f"/ky/{self.q4.pk}/trang-thai/", {"state": "open", "reason": "x"}
        )
        self.assertEqual(response.status_code, 404)
        self.client.force_login(self.admin)
        self.client.post(
            f"/ky/{self.q4.pk}/trang-thai/",
            {"state": "open", "reason": "Bổ sung số liệu ước."},
        )
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.OPEN)
        last = self.q4.history.order_by("-history_id").first()
        self.assertEqual(last.history_change_reason, "Bổ sung số liệu ước.")
        self.assertEqual(last.history_user, self.admin)

    def test_entry_closes_after_the_deadline(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(
            deadline=timezone.localdate() - datetime.timedelta(days=1)
        )
        response = self.save(self.row(self.grain, "1000"), user=self.clerk)
        self.assertContains(response, "quá hạn")
        self.assertIsNone(self.figure(self.grain))
        page = self.client.get(self.entry_url())
        self.assertNotContains(page, f'name="v-{self.grain.pk}"')


class ConcurrencyTests(EntryTestCase):
    def test_the_second_of_two_saves_from_the_same_version_gets_a_conflict(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        version = self.figure(self.grain).version
        first, second = Client(), Client()
        first.force_login(self.clerk)
        second.force_login(self.clerk)
        first.get(self.entry_url())
        second.get(self.entry_url())
        ok = first.post(
            self.entry_url(),
            {**self.row(self.grain, "1200", version=version), "action": "save"},
        )
        self.assertEqual(ok.status_code, 302)
        clash = second.post(
            self.entry_url(),
            {**self.row(self.grain, "1300", version=version), "action": "save"},
        )
        self.assertContains(clash, "Xung đột")
        self.assertContains(clash, "Giá trị hiện đang lưu là 1.200")
        figure = self.figure(self.grain)
        self.assertEqual(figure.value, Decimal("1200"))
        self.assertEqual(figure.history.count(), 2)  # the first save and the edit


class CsrfTests(EntryTestCase):
    def test_every_unsafe_endpoint_refuses_a_post_without_a_token(self):
        figure = Figure.objects.filter(period=self.q3).first()
        urls = [
            (self.clerk, self.entry_url()),
            (self.approver, f"/duyet/{self.q4.pk}/"),
            (self.approver, f"/ky/{self.q4.pk}/trang-thai/"),
            (self.admin, f"/so-lieu/{figure.pk}/mo-lai/"),
            (self.clerk, f"/so-lieu/{figure.pk}/minh-chung/"),
            (self.approver, f"/chi-tieu/{self.grain.pk}/danh-gia/{self.q4.pk}/"),
            (self.clerk, "/accounts/logout/"),
            (self.clerk, "/accounts/password/"),
        ]
        for user, url in urls:
            client = Client(enforce_csrf_checks=True)
            client.force_login(user)
            with self.subTest(url=url):
                self.assertEqual(client.post(url, {"action": "save"}).status_code, 403)


class EntryLandingTests(EntryTestCase):
    """Where /nhap-so-lieu/ and a clerk's login lead: the latest quarter open for
    entry, else the latest quarter; a clerk with nothing to enter is told whom to
    ask."""

    def landing(self, username):
        response = Client().post(
            "/accounts/login/",
            {"username": username, "password": "khoenon-demo-2025"},
        )
        self.assertEqual(response.status_code, 302)
        return response["Location"]

    def test_an_open_quarter_wins_over_a_later_closed_one(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(state=PeriodState.CLOSED)
        ReportingPeriod.objects.filter(pk=self.q3.pk).update(
            state=PeriodState.OPEN, deadline=timezone.localdate()
        )
        self.client.force_login(self.clerk)
        self.assertRedirects(self.client.get("/nhap-so-lieu/"), self.entry_url(self.q3))
        self.assertEqual(self.landing("kinhte"), self.entry_url(self.q3))

    def test_with_no_quarter_open_the_clerk_is_sent_to_the_latest(self):
        ReportingPeriod.objects.update(state=PeriodState.CLOSED)
        self.client.force_login(self.clerk)
        self.assertRedirects(self.client.get("/nhap-so-lieu/"), self.entry_url())
        self.assertEqual(self.landing("kinhte"), self.entry_url())

    def test_a_clerk_leading_nothing_is_told_whom_to_ask(self):
        newcomer = User.objects.create_user("moi", password="khoenon-demo-2025")
        newcomer.groups.add(Group.objects.get(name=CLERK))
        self.client.force_login(newcomer)
        response = self.client.get("/nhap-so-lieu/")
        self.assertContains(response, "chưa được giao chủ trì chỉ tiêu nào")
        self.assertContains(response, "Liên hệ quản trị hệ thống")
        self.assertEqual(self.landing("moi"), "/nhap-so-lieu/")
        self.assertEqual(self.client.get(self.entry_url()).status_code, 404)
