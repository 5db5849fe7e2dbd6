"""Corrections to an approved quarter in one step from the admin (issue 13, item 6):
the reporting period list's action "Mở lại để sửa số liệu (nêu lý do)" asks one
reason on an intermediate page and reopens every approved figure of the quarter
(audited on each); a closed quarter must be reopened first, or in the same step."""

from decimal import Decimal

from django.contrib.auth.models import User

from targets.models import VIA_ADMIN, Figure, PeriodState, WorkflowState

from .base import ImportTestCase, office_xlsx

LIST = "/admin/targets/reportingperiod/"


class PeriodCorrectionsAdminTests(ImportTestCase):
    def setUp(self):
        super().setUp()
        self.q3 = self.periods[3]
        for code, value in (("2a", "1000.5"), ("7b", "60")):
            self.figure(code, 3, value, note="Đã kiểm tra.", state="approved")
        self.url = f"{LIST}{self.q3.pk}/mo-lai-de-sua/"

    def close_q3(self):
        type(self.q3).objects.filter(pk=self.q3.pk).update(state=PeriodState.CLOSED)

    def states(self):
        return set(Figure.objects.values_list("state", flat=True))

    def test_the_list_action_leads_to_the_page_asking_one_reason(self):
        response = self.client.post(
            LIST,
            {"action": "reopen_for_corrections", "_selected_action": [self.q3.pk]},
        )
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        page = self.client.get(self.url)
        self.assertContains(page, "Lý do mở lại để sửa số liệu")
        self.assertContains(page, "(2 số liệu)")
        self.assertEqual(self.states(), {WorkflowState.APPROVED})

    def test_choosing_two_periods_is_refused(self):
        response = self.client.post(
            LIST,
            {
                "action": "reopen_for_corrections",
                "_selected_action": [self.q3.pk, self.periods[2].pk],
            },
            follow=True,
        )
        self.assertContains(response, "Hãy chọn đúng một kỳ báo cáo")

    def test_a_reason_is_required(self):
        response = self.client.post(self.url, {"reason": "  "})
        self.assertContains(response, "Hãy ghi lý do mở lại để sửa số liệu.")
        self.assertEqual(self.states(), {WorkflowState.APPROVED})

    def test_one_reason_reopens_every_approved_figure_audited_on_each(self):
        response = self.client.post(self.url, {"reason": "Sai số liệu thôn Nà Ản"})
        self.assertRedirects(
            response,
            f"/admin/targets/figure/?period__id__exact={self.q3.pk}",
            fetch_redirect_response=False,
        )
        for figure in Figure.objects.all():
            self.assertEqual(figure.state, WorkflowState.RETURNED)
            latest = figure.history.first()
            self.assertEqual(
                latest.history_change_reason,
                f"{VIA_ADMIN} – mở lại: Sai số liệu thôn Nà Ản",
            )
            self.assertEqual(latest.history_user, self.admin)

    def test_a_closed_quarter_must_be_reopened_first_or_in_the_same_step(self):
        self.close_q3()
        page = self.client.get(self.url)
        self.assertContains(page, "phải mở lại kỳ trước")
        refused = self.client.post(self.url, {"reason": "Sai số liệu"})
        self.assertContains(refused, "đã khóa sổ: phải mở lại kỳ trước")
        self.assertEqual(self.states(), {WorkflowState.APPROVED})
        self.q3.refresh_from_db()
        self.assertEqual(self.q3.state, PeriodState.CLOSED)

        self.client.post(self.url, {"reason": "Sai số liệu", "reopen_period": "on"})
        self.q3.refresh_from_db()
        self.assertEqual(self.q3.state, PeriodState.OPEN)
        self.assertEqual(
            self.q3.history.first().history_change_reason,
            f"{VIA_ADMIN} – Sai số liệu",
        )
        self.assertEqual(self.states(), {WorkflowState.RETURNED})

    def test_only_an_administrator_may_reopen(self):
        staff = User.objects.create_user("nhanvien", is_staff=True)
        self.client.force_login(staff)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        response = self.client.post(self.url, {"reason": "Thử"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.states(), {WorkflowState.APPROVED})

    def test_the_corrected_sheet_then_imports_and_goes_back_to_the_approver(self):
        self.client.post(self.url, {"reason": "Sai số liệu"})
        from django.core.files.uploadedfile import SimpleUploadedFile

        rows = [["1", "Tổng sản lượng lương thực có hạt", "tấn", None, 1200, "Sửa."]]
        preview = self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": "0",
                "import_file": SimpleUploadedFile("sua.xlsx", office_xlsx(rows)),
                "submit": "1",
            },
        )
        self.assertIn("confirm_form", preview.context.keys())
        self.confirm(preview)
        grain = Figure.objects.get(target__code="2a")
        self.assertEqual(
            (grain.value, grain.state), (Decimal(1200), WorkflowState.SUBMITTED)
        )
