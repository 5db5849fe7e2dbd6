"""Daily reminders (issue #14, item 8): each clerk hears what their bodies have not
sent before the deadline, the approver what waits or is overdue, once a day."""

import datetime
from decimal import Decimal
from io import StringIO
from unittest import mock

from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from targets.models import Figure, Reminder, ReportingPeriod, WorkflowState
from targets.reminders import approver_notice, clerk_notice, send_reminders

from .base import EntryTestCase


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    PORTAL_URL="https://khoenon.example",
    REMINDER_DAYS_BEFORE=14,
)
class ReminderTests(EntryTestCase):
    def setUp(self):
        super().setUp()
        for user in User.objects.all():
            user.email = f"{user.username}@khoenon.example"
            user.save(update_fields=["email"])
        self.deadline = self.q4.deadline

    def run_command(self, day: datetime.date) -> str:
        out = StringIO()
        call_command("send_reminders", "--date", day.strftime("%d/%m/%Y"), stdout=out)
        return out.getvalue()

    def to(self, username):
        return [m for m in mail.outbox if m.to == [f"{username}@khoenon.example"]]

    def test_each_message_goes_once_a_day_however_often_the_command_runs(self):
        day = self.deadline - datetime.timedelta(days=3)
        self.run_command(day)
        first = len(mail.outbox)
        # Both clerks (something missing) and the approver (items waiting).
        self.assertEqual(first, 3)
        output = self.run_command(day)
        self.assertEqual(len(mail.outbox), first)
        self.assertIn("đã gửi 0", output)
        self.assertIn("3 thư đã gửi trước đó trong ngày", output)
        self.run_command(day + datetime.timedelta(days=1))
        self.assertEqual(len(mail.outbox), 2 * first)
        self.assertEqual(Reminder.objects.count(), 2 * first)

    def test_a_clerk_hears_what_their_body_has_not_sent_with_the_deadline(self):
        self.run_command(self.deadline - datetime.timedelta(days=3))
        (message,) = self.to("kinhte")
        self.assertIn("còn 3 ngày", message.subject)
        self.assertIn("2a. Tổng sản lượng lương thực có hạt", message.body)
        self.assertIn("chưa nhập", message.body)
        self.assertNotIn("7b.", message.body)  # the other body's target
        self.assertIn(
            f"https://khoenon.example/nhap-so-lieu/{self.q4.pk}/", message.body
        )
        (other,) = self.to("vanhoa")
        self.assertNotIn("2a.", other.body)

    def test_a_clerk_is_not_reminded_too_early_nor_after_the_deadline(self):
        self.run_command(self.deadline - datetime.timedelta(days=15))
        self.assertEqual(self.to("kinhte"), [])
        self.run_command(self.deadline + datetime.timedelta(days=1))
        self.assertEqual(self.to("kinhte"), [])

    def test_what_was_sent_or_approved_is_not_asked_of_the_clerk(self):
        Figure.objects.filter(period=self.q4).delete()
        grain = Figure(target=self.grain, period=self.q4, value=1, version=1)
        grain.state = WorkflowState.SUBMITTED
        Figure.objects.bulk_create([grain])
        self.run_command(self.deadline - datetime.timedelta(days=1))
        (message,) = self.to("kinhte")
        self.assertNotIn("2a.", message.body)
        self.assertIn("10a.", message.body)

    def test_the_approver_hears_what_waits_and_after_the_deadline_what_is_overdue(self):
        self.run_command(self.deadline - datetime.timedelta(days=3))
        (before,) = self.to("pheduyet")
        self.assertIn("chờ phê duyệt", before.subject)
        self.assertIn("7b.", before.body)
        self.assertNotIn("Quá hạn", before.body)
        self.run_command(self.deadline + datetime.timedelta(days=2))
        after = self.to("pheduyet")[-1]
        self.assertIn("quá hạn", after.subject)
        self.assertIn("Quá hạn mà đơn vị chưa gửi duyệt", after.body)
        self.assertIn(
            "2a. Tổng sản lượng lương thực có hạt (Phòng Kinh tế)", after.body
        )
        self.assertIn(f"https://khoenon.example/duyet/{self.q4.pk}/", after.body)

    def test_a_user_without_an_email_address_is_named_not_mailed(self):
        User.objects.filter(username="vanhoa").update(email="")
        output = self.run_command(self.deadline - datetime.timedelta(days=3))
        self.assertIn("chưa có địa chỉ email", output)
        self.assertIn("vanhoa", output)
        self.assertEqual(self.to("vanhoa"), [])

    def test_a_failed_send_records_nothing_so_the_next_run_tries_again(self):
        day = self.deadline - datetime.timedelta(days=3)
        with mock.patch(
            "targets.reminders.send_mail", side_effect=ConnectionRefusedError
        ):
            report = send_reminders(day)
        self.assertEqual(report.sent, 0)
        self.assertEqual(len(report.failed), 3)
        self.assertFalse(Reminder.objects.exists())
        self.assertEqual(send_reminders(day).sent, 3)

    def test_nothing_to_say_once_everything_is_approved_and_the_quarter_closed(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(state="closed")
        report = send_reminders(self.deadline)
        self.assertEqual(report.sent, 0)
        self.assertEqual(mail.outbox, [])

    def test_the_clerk_notice_lists_the_same_items_as_the_email(self):
        day = self.deadline - datetime.timedelta(days=3)
        (notice,) = clerk_notice(self.clerk, day)
        self.run_command(day)
        (message,) = self.to("kinhte")
        for item in notice.not_sent:
            self.assertIn(item.label, message.body)
        self.assertEqual(clerk_notice(self.approver, day), [])

    def test_the_review_page_shows_the_approvers_list(self):
        client = Client()
        client.force_login(self.approver)
        response = client.get(f"/duyet/{self.q4.pk}/")
        self.assertContains(response, "Việc còn phải làm")
        self.assertContains(response, "7b. Số lao động được giải quyết việc làm")

    def day(self, days_before_deadline: int) -> datetime.date:
        return self.deadline - datetime.timedelta(days=days_before_deadline)

    def test_the_subject_counts_down_to_the_deadline_day(self):
        deadline = self.deadline.strftime("%d/%m/%Y")
        cases = {
            3: f"hạn nhập {deadline} (còn 3 ngày)",
            1: f"hạn nhập {deadline} (còn 1 ngày, hết hạn ngày mai)",
            0: f"hạn nhập {deadline} (hết hạn hôm nay)",
        }
        for before, words in cases.items():
            with self.subTest(days_before=before):
                self.run_command(self.day(before))
                self.assertIn(words, self.to("kinhte")[-1].subject)

    def test_after_the_deadline_the_approver_reads_how_many_days_it_is_overdue(self):
        self.run_command(self.day(-2))
        deadline = self.deadline.strftime("%d/%m/%Y")
        (message,) = self.to("pheduyet")
        overdue = f"Quý IV/2025, đã quá hạn nhập {deadline} (2 ngày)."
        self.assertIn(overdue, message.body)
        self.assertIn("mục chờ phê duyệt, ", message.subject)

    def test_a_returned_figure_is_asked_for_again_with_its_value_and_the_reason(self):
        Figure.objects.bulk_create(
            [
                Figure(
                    target=self.grain,
                    period=self.q4,
                    value=Decimal("1234.5"),
                    state=WorkflowState.RETURNED,
                    state_reason="Thiếu biên bản nghiệm thu.",
                )
            ]
        )
        self.run_command(self.day(3))
        (message,) = self.to("kinhte")
        self.assertIn(
            "  - 2a. Tổng sản lượng lương thực có hạt (Phòng Kinh tế): bị trả lại, "
            "chưa gửi lại, số liệu 1.234,5. Lý do trả lại: Thiếu biên bản nghiệm "
            "thu.",
            message.body,
        )

    def test_a_draft_is_asked_for_as_saved_but_not_sent(self):
        Figure.objects.bulk_create(
            [Figure(target=self.grain, period=self.q4, value=Decimal("900"))]
        )
        self.run_command(self.day(3))
        (message,) = self.to("kinhte")
        self.assertIn(
            "(Phòng Kinh tế): mới lưu nháp, chưa gửi duyệt, số liệu 900", message.body
        )

    def test_the_clerk_is_asked_for_the_solutions_their_body_leads(self):
        self.run_command(self.day(3))
        (message,) = self.to("kinhte")
        self.assertIn(f"Giải pháp 1: {self.task_a.summary}", message.body)
        self.assertNotIn("Nhiệm vụ 1:", message.body)  # led by the office
        self.assertTrue(message.body.startswith("Kính gửi Cán bộ Phòng Kinh tế,\n"))
        self.assertIn("Xin đừng trả lời thư này", message.body)

    def test_an_inactive_clerk_and_a_delegate_hear_nothing(self):
        User.objects.filter(username="vanhoa").update(is_active=False)
        self.run_command(self.day(3))
        self.assertEqual(self.to("vanhoa"), [])
        self.assertEqual(self.to("daibieu"), [])
        self.assertEqual(
            {m.to[0].split("@")[0] for m in mail.outbox}, {"kinhte", "pheduyet"}
        )

    def test_a_quarter_closed_before_its_deadline_is_no_longer_asked_for(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(state="closed")
        self.assertEqual(clerk_notice(self.clerk, self.day(3)), [])
        self.assertEqual(approver_notice(self.day(3)), [])

    def test_the_command_takes_the_iso_date_and_refuses_another_form(self):
        out = StringIO()
        call_command("send_reminders", "--date", self.day(3).isoformat(), stdout=out)
        self.assertIn(f"Thư nhắc ngày {self.day(3):%d/%m/%Y}: đã gửi 3", out.getvalue())
        with self.assertRaisesMessage(
            CommandError, "Ngày “31-12-2025” không đúng dạng dd/mm/yyyy"
        ):
            call_command("send_reminders", "--date", "31-12-2025", stdout=StringIO())

    def test_the_command_fails_naming_whom_the_mail_server_refused(self):
        with (
            mock.patch(
                "targets.reminders.send_mail", side_effect=ConnectionRefusedError
            ),
            self.assertRaisesMessage(
                CommandError,
                "Máy chủ thư từ chối hoặc không kết nối được khi gửi cho: kinhte, "
                "pheduyet, vanhoa.",
            ),
        ):
            self.run_command(self.day(3))
