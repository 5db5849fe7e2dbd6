"""Issue 12: locks hold on every path, and no input can take the portal down.

Replayed as the administrator and the approver would: the admin change form, history
revert, delete (single and bulk), the period's change form, verdict overrides; numbers
that the database cannot return exactly; NUL and control characters; an approver
approving their own figure; non-numeric ids in autocomplete fields."""

import unicodedata
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.test import Client

from targets.models import (
    APPROVER,
    Assessment,
    Figure,
    PeriodState,
    ReportingPeriod,
    TaskUpdate,
    WorkflowState,
)

from .base import EntryTestCase

BEHIND = "Diện tích rừng giảm do cháy rừng tháng 3; đang trồng bù."


class LockedFigureTestCase(EntryTestCase):
    """Q4 grain entered and submitted by the clerk, approved by the approver."""

    def setUp(self):
        super().setUp()
        self.submit_grain("1000")
        self.review(self.figure(self.grain), "approve")
        self.approved = self.figure(self.grain)
        self.assertEqual(self.approved.state, WorkflowState.APPROVED)
        self.client.force_login(self.admin)

    def change_url(self, figure):
        return f"/admin/targets/figure/{figure.pk}/change/"

    def assertUnchanged(self, figure=None):
        figure = figure or self.approved
        stored = Figure.objects.get(pk=figure.pk)
        self.assertEqual(
            (stored.value, stored.period_id, stored.state, stored.is_demo),
            (figure.value, figure.period_id, figure.state, figure.is_demo),
        )


class AdminChangeTests(LockedFigureTestCase):
    def post_change(self, **changes):
        data = {
            "target": self.grain.pk,
            "period": self.q4.pk,
            "value": "1000",
            "kind": "actual",
            "note": "",
            **changes,
        }
        return self.client.post(self.change_url(self.approved), data)

    def test_the_admin_cannot_move_an_approved_figure_to_another_period(self):
        response = self.post_change(period=self.q3.pk)
        self.assertEqual(response.status_code, 403)
        self.assertUnchanged()

    def test_the_admin_cannot_flip_the_demo_flag_of_an_approved_figure(self):
        response = self.post_change(is_demo="on")
        self.assertEqual(response.status_code, 403)
        self.assertUnchanged()

    def test_the_change_form_of_a_locked_figure_is_read_only_and_points_to_reopen(self):
        response = self.client.get(self.change_url(self.approved))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "đã được phê duyệt")
        self.assertContains(response, "Lịch sử thay đổi")
        self.assertNotContains(response, 'name="value"')

    def test_the_model_refuses_any_change_of_a_locked_figure_on_any_path(self):
        changes = {
            "period": self.q3,
            "state": WorkflowState.DRAFT,
            "is_demo": True,
            "value": Decimal("2000"),
            "note": "sửa",
        }
        for name, value in changes.items():
            with self.subTest(field=name):
                figure = Figure.objects.get(pk=self.approved.pk)
                setattr(figure, name, value)
                with self.assertRaisesMessage(ValidationError, "đã được phê duyệt"):
                    figure.full_clean()

    def test_a_draft_cannot_be_made_approved_outside_the_review_page(self):
        self.save(self.row(self.forest, "40", note=BEHIND), user=self.clerk)
        draft = self.figure(self.forest)
        draft.state = WorkflowState.APPROVED
        with self.assertRaisesMessage(ValidationError, "trang duyệt số liệu"):
            draft.full_clean()

    def test_a_draft_cannot_be_moved_into_a_closed_quarter(self):
        self.save(self.row(self.forest, "40", note=BEHIND), user=self.clerk)
        draft = self.figure(self.forest)
        q2 = ReportingPeriod.objects.filter(year=2025, quarter=2)
        # Make room in Q2 (open it a moment: its figures cannot be deleted closed).
        q2.update(state=PeriodState.OPEN)
        Figure.objects.filter(target=self.forest, period__in=q2).update(state="draft")
        Figure.objects.filter(target=self.forest, period__in=q2).delete()
        q2.update(state=PeriodState.CLOSED)
        draft.period = q2.get()
        with self.assertRaisesMessage(ValidationError, "đã khóa sổ"):
            draft.full_clean()

    def test_the_admin_edits_a_draft_figure_and_its_workflow_stays_untouched(self):
        self.save(self.row(self.forest, "40", note=BEHIND), user=self.clerk)
        draft = self.figure(self.forest)
        self.client.force_login(self.admin)
        response = self.client.post(
            self.change_url(draft),
            {
                "target": self.forest.pk,
                "period": self.q4.pk,
                "value": "40,5",
                "kind": "actual",
                "note": "  Sửa theo biên bản  ",
                "state": "approved",  # not a field of the form: ignored
            },
        )
        self.assertEqual(response.status_code, 302)
        draft.refresh_from_db()
        self.assertEqual(draft.value, Decimal("40.5"))
        self.assertEqual(draft.state, WorkflowState.DRAFT)
        self.assertEqual(draft.note, "Sửa theo biên bản")


class HistoryRevertTests(LockedFigureTestCase):
    def revert_to(self, record):
        """POST the admin's history form of `record`, as its "revert" button does."""
        return self.client.post(
            f"/admin/targets/figure/{self.approved.pk}/history/{record.history_id}/",
            {
                "target": self.grain.pk,
                "period": self.q4.pk,
                "value": "1000",
                "kind": "actual",
                "note": "",
            },
        )

    def stored_state(self):
        return Figure.objects.get(pk=self.approved.pk).state

    def test_reverting_an_approved_figure_from_its_history_is_refused(self):
        first = self.approved.history.order_by("history_id").first()
        self.assertEqual(first.state, WorkflowState.DRAFT)
        self.assertContains(self.revert_to(first), "đã được phê duyệt")
        self.assertUnchanged()
        self.assertEqual(self.stored_state(), WorkflowState.APPROVED)

    def test_reverting_a_draft_to_an_approved_record_is_refused(self):
        # Approved, reopened with a reason: the history holds an approved record.
        self.client.post(
            f"/so-lieu/{self.approved.pk}/mo-lai/", {"reason": "Sai đơn vị tính."}
        )
        self.assertEqual(self.stored_state(), WorkflowState.RETURNED)
        approved = self.approved.history.filter(state=WorkflowState.APPROVED).first()
        self.assertContains(self.revert_to(approved), "trang duyệt số liệu")
        self.assertEqual(self.stored_state(), WorkflowState.RETURNED)


class DeleteTests(LockedFigureTestCase):
    def test_the_delete_page_of_an_approved_figure_is_refused(self):
        url = f"/admin/targets/figure/{self.approved.pk}/delete/"
        self.assertEqual(self.client.post(url, {"post": "yes"}).status_code, 403)
        self.assertTrue(Figure.objects.filter(pk=self.approved.pk).exists())

    def test_the_bulk_delete_of_locked_figures_is_refused_and_names_them(self):
        closed = Figure.objects.filter(period__state=PeriodState.CLOSED)
        chosen = [self.approved.pk, *closed.values_list("pk", flat=True)[:3]]
        before = Figure.objects.count()
        response = self.client.post(
            "/admin/targets/figure/",
            {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "đã được phê duyệt")
        self.assertContains(response, "đã khóa sổ")
        self.assertEqual(Figure.objects.count(), before)

    def test_no_code_path_deletes_a_locked_figure(self):
        with self.assertRaisesMessage(ValidationError, "Không xóa được"):
            Figure.objects.filter(pk=self.approved.pk).delete()
        with self.assertRaisesMessage(ValidationError, "Không xóa được"):
            Figure.objects.get(pk=self.approved.pk).delete()
        in_closed = Figure.objects.filter(period=self.q3).first()
        Figure.objects.filter(pk=in_closed.pk).update(state=WorkflowState.DRAFT)
        with self.assertRaisesMessage(ValidationError, "đã khóa sổ"):
            Figure.objects.get(pk=in_closed.pk).delete()
        self.assertEqual(Figure.objects.filter(pk=in_closed.pk).count(), 1)

    def test_a_draft_in_an_open_quarter_can_still_be_deleted(self):
        self.save(self.row(self.forest, "40", note=BEHIND), user=self.clerk)
        draft = self.figure(self.forest)
        self.client.force_login(self.admin)
        url = f"/admin/targets/figure/{draft.pk}/delete/"
        self.assertEqual(self.client.post(url, {"post": "yes"}).status_code, 302)
        self.assertFalse(Figure.objects.filter(pk=draft.pk).exists())


class PeriodAdminTests(EntryTestCase):
    def period_data(self, period, **changes):
        return {
            "commune": period.commune_id,
            "year": period.year,
            "quarter": period.quarter,
            "data_from": period.data_from.strftime("%d/%m/%Y"),
            "data_to": period.data_to.strftime("%d/%m/%Y"),
            "deadline": period.deadline.strftime("%d/%m/%Y"),
            "state": period.state,
            **changes,
        }

    def test_reopening_a_closed_quarter_in_the_admin_asks_for_a_reason(self):
        self.client.force_login(self.admin)
        url = f"/admin/targets/reportingperiod/{self.q3.pk}/change/"
        response = self.client.post(url, self.period_data(self.q3, state="open"))
        self.assertContains(response, "Phải nêu lý do")
        self.q3.refresh_from_db()
        self.assertEqual(self.q3.state, PeriodState.CLOSED)

        response = self.client.post(
            url,
            self.period_data(self.q3, state="open", reason="Sửa số liệu quý III."),
        )
        self.assertEqual(response.status_code, 302)
        self.q3.refresh_from_db()
        self.assertEqual(self.q3.state, PeriodState.OPEN)
        record = self.q3.history.latest("history_id")
        self.assertIn("Sửa số liệu quý III.", record.history_change_reason)
        self.assertEqual(record.history_user, self.admin)

    def test_a_change_that_keeps_the_state_needs_no_reason(self):
        self.client.force_login(self.admin)
        url = f"/admin/targets/reportingperiod/{self.q4.pk}/change/"
        data = self.period_data(self.q4, deadline="31/12/2099")
        self.assertEqual(self.client.post(url, data).status_code, 302)


class VerdictOverrideTests(EntryTestCase):
    def test_the_approver_cannot_override_a_verdict_of_a_closed_quarter(self):
        self.client.force_login(self.approver)
        response = self.client.post(
            f"/chi-tieu/{self.grain.pk}/danh-gia/{self.q3.pk}/",
            {"verdict": "met", "reason": "Theo báo cáo của phòng."},
            follow=True,
        )
        self.assertContains(response, "đã khóa sổ")
        self.assertFalse(Assessment.objects.filter(period=self.q3).exists())

    def test_the_admin_cannot_add_an_override_to_a_closed_quarter(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            "/admin/targets/assessment/add/",
            {
                "target": self.grain.pk,
                "period": self.q3.pk,
                "verdict": "met",
                "reason": "Theo báo cáo.",
            },
        )
        self.assertContains(response, "đã khóa sổ")
        self.assertFalse(Assessment.objects.exists())

    def test_an_override_in_an_open_quarter_still_works(self):
        self.client.force_login(self.approver)
        self.client.post(
            f"/chi-tieu/{self.grain.pk}/danh-gia/{self.q4.pk}/",
            {"verdict": "met", "reason": "Vụ mùa thu hoạch muộn."},
        )
        self.assertTrue(Assessment.objects.filter(period=self.q4).exists())


class SegregationOfDutiesTests(EntryTestCase):
    def setUp(self):
        super().setUp()
        # The clerk of Phòng Kinh tế is also made an approver.
        self.clerk.groups.add(Group.objects.get(name=APPROVER))

    def test_a_user_with_both_roles_cannot_approve_their_own_figure(self):
        figure = self.submit_grain("1000")
        response = self.client.post(
            f"/duyet/{self.q4.pk}/",
            {f"f-{figure.pk}": str(figure.version), "action": "approve"},
            follow=True,
        )
        self.assertContains(response, "không được tự phê duyệt")
        self.assertEqual(self.figure(self.grain).state, WorkflowState.SUBMITTED)

        self.review(self.figure(self.grain), "approve", user=self.approver)
        self.assertEqual(self.figure(self.grain).state, WorkflowState.APPROVED)

    def test_an_approver_who_only_returned_an_item_may_approve_it_later(self):
        figure = self.submit_grain("1000")
        self.review(figure, "return", reason="Thiếu minh chứng.")
        figure = self.figure(self.grain)
        self.save(
            self.row(self.grain, "1000", note="Đã bổ sung", version=figure.version),
            action="submit",
            user=self.other_clerk_of_a(),
        )
        figure = self.figure(self.grain)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.review(figure, "approve", user=self.approver)
        self.assertEqual(self.figure(self.grain).state, WorkflowState.APPROVED)

    def other_clerk_of_a(self):
        colleague = User.objects.create_user("kinhte2")
        colleague.groups.set(self.clerk.groups.exclude(name=APPROVER))
        for body in self.clerk.bodies.all():
            body.members.add(colleague)
        return colleague


class NumbersThatFitTests(EntryTestCase):
    HUGE = ["99999999999999,99", "12345678901234,56", "123456789012", "1e15"]

    def test_the_entry_page_refuses_what_the_database_cannot_return_exactly(self):
        for typed in self.HUGE:
            with self.subTest(typed=typed):
                response = self.save(self.row(self.grain, typed), user=self.clerk)
                self.assertEqual(response.status_code, 200)
                self.assertIsNone(self.figure(self.grain))
        response = self.save(self.row(self.grain, self.HUGE[0]), user=self.clerk)
        self.assertContains(response, "11 chữ số")

    def test_the_admin_refuses_it_and_the_model_refuses_it_on_every_database(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            "/admin/targets/figure/add/",
            {
                "target": self.grain.pk,
                "period": self.q4.pk,
                "value": "99.999.999.999.999,99",
                "kind": "actual",
            },
        )
        self.assertContains(response, "11 chữ số")
        self.assertIsNone(self.figure(self.grain))
        figure = Figure(
            target=self.grain, period=self.q4, value=Decimal("99999999999999.99")
        )
        with self.assertRaisesMessage(ValidationError, "11 chữ số"):
            figure.full_clean()
        # Bypassing validation, the database refuses it: SQLite by the check
        # constraint, PostgreSQL already by the column's precision.
        with self.assertRaises((IntegrityError, DataError)), transaction.atomic():
            figure.save()

    def test_the_largest_value_that_fits_comes_back_exactly(self):
        self.clerk_saves("99.999.999.999,99")
        self.assertEqual(self.figure(self.grain).value, Decimal("99999999999.99"))
        self.clerk_saves("12345678901,23", version=1)
        self.assertEqual(self.figure(self.grain).value, Decimal("12345678901.23"))

    def clerk_saves(self, typed, version=0):
        note = "Số liệu thử: sản lượng rất lớn, đã kiểm tra."
        response = self.save(
            self.row(self.grain, typed, note=note, version=version), user=self.clerk
        )
        self.assertEqual(response.status_code, 302, response.content[:2000])

    def test_every_page_reading_figures_answers_after_the_refusals(self):
        for typed in self.HUGE:
            self.save(self.row(self.grain, typed), user=self.clerk)
        pages = {
            self.clerk: [self.entry_url(), f"/chi-tieu/{self.grain.pk}/lich-su/"],
            self.admin: [
                "/admin/targets/figure/",
                f"/admin/targets/figure/{Figure.objects.first().pk}/change/",
                f"/admin/targets/figure/{Figure.objects.first().pk}/history/",
            ],
            self.delegate: [
                "/",
                f"/chi-tieu/{self.grain.pk}/",
                "/bao-cao/",
                "/bao-cao/excel/",
            ],
        }
        for user, urls in pages.items():
            client = Client()
            client.force_login(user)
            for url in urls:
                with self.subTest(url=url):
                    self.assertLess(client.get(url).status_code, 400)


class CleanTextTests(EntryTestCase):
    def test_a_nul_in_a_note_is_refused_with_a_message_and_nothing_is_stored(self):
        response = self.save(
            self.row(self.grain, "1000", note="Mất mùa\x00 do lũ"), user=self.clerk
        )
        self.assertContains(response, "ký tự rỗng (NUL)")
        self.assertIsNone(self.figure(self.grain))

    def test_a_control_character_in_a_task_narrative_is_refused(self):
        response = self.save(
            self.task_row(self.task_a, "delayed", "Chậm do\x1b[31m mưa lũ"),
            user=self.clerk,
        )
        self.assertContains(response, "ký tự điều khiển U+001B")
        self.assertFalse(TaskUpdate.objects.filter(task=self.task_a).exists())

    def test_a_note_is_stored_nfc_and_trimmed(self):
        nfd = unicodedata.normalize("NFD", "  Sản lượng vụ mùa ước tính  \r\n")
        self.save(self.row(self.grain, "1000", note=nfd), user=self.clerk)
        note = self.figure(self.grain).note
        self.assertEqual(note, "Sản lượng vụ mùa ước tính")
        self.assertTrue(unicodedata.is_normalized("NFC", note))

    def test_the_admin_refuses_a_nul_and_a_line_break_in_a_name(self):
        self.client.force_login(self.admin)
        body = self.clerk.bodies.first()
        response = self.client.post(
            f"/admin/targets/responsiblebody/{body.pk}/change/",
            {
                "commune": body.commune_id,
                "name": "Phòng\x00 Kinh tế",
                "short_name": "",
                "kind": body.kind,
                "role_in_text": "",
            },
        )
        self.assertContains(response, "ký tự rỗng (NUL)")
        body.refresh_from_db()
        self.assertNotIn("\x00", body.name)

    def test_a_raw_save_cannot_store_a_nul_either(self):
        figure = Figure(target=self.grain, period=self.q4, value=Decimal("1"))
        figure.note = "a\x00b"
        with self.assertRaises(ValidationError), transaction.atomic():
            figure.save()
        self.assertIsNone(self.figure(self.grain))


class AutocompleteIdTests(EntryTestCase):
    FORMS = {
        "figure": {"period": "{q4}", "value": "1", "kind": "actual"},
        "assignment": {"role": "lead", "body": "abc", "task": "1x"},
        "assessment": {"period": "{q4}", "verdict": "met", "reason": "Lý do."},
    }

    def test_a_non_numeric_id_in_an_autocomplete_field_is_a_form_error(self):
        self.client.force_login(self.admin)
        for model, data in self.FORMS.items():
            for junk in ("abc", "1 OR 1=1", "1.5", "-1", "99999999999999999999"):
                with self.subTest(model=model, junk=junk):
                    posted = {k: v.format(q4=self.q4.pk) for k, v in data.items()} | {
                        "target": junk
                    }
                    response = self.client.post(f"/admin/targets/{model}/add/", posted)
                    self.assertEqual(response.status_code, 200)
                    self.assertContains(response, "errorlist")
