"""What the approver's and administrator's action pages, the evidence page and the
project's pages say when a request cannot be done: the message a person reads, and
that nothing is stored."""

import logging

from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory, override_settings

from khoenon.middleware import client_ip
from targets.models import (
    APPROVER,
    CLERK,
    Assessment,
    Evidence,
    Figure,
    PeriodState,
    ReportingPeriod,
    WorkflowState,
)

from .base import PDF, EntryTestCase, said


class FigureReopenTests(EntryTestCase):
    """/so-lieu/<id>/mo-lai/: the administrator unlocks an approved figure."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.approved = Figure.objects.get(target=cls.grain, period=cls.q3)

    def reopen(self, figure, reason, user=None):
        self.client.force_login(user or self.admin)
        return self.client.post(f"/so-lieu/{figure.pk}/mo-lai/", {"reason": reason})

    def test_reopening_without_a_reason_is_refused_and_the_figure_stays_approved(self):
        response = self.reopen(self.approved, "   ")
        self.assertRedirects(response, f"/chi-tieu/{self.grain.pk}/lich-su/")
        self.assertEqual(said(response), ["Mở lại số liệu phải nêu lý do."])
        self.approved.refresh_from_db()
        self.assertEqual(self.approved.state, WorkflowState.APPROVED)

    def test_an_approved_figure_is_returned_with_the_reason_in_its_history(self):
        if self.approved.period.state == PeriodState.CLOSED:
            ReportingPeriod.objects.filter(pk=self.q3.pk).update(state=PeriodState.OPEN)
        response = self.reopen(self.approved, "Sai đơn vị tính, cần sửa lại.")
        self.assertEqual(
            said(response), ["Đã mở lại số liệu; cán bộ có thể sửa và gửi lại."]
        )
        self.approved.refresh_from_db()
        self.assertEqual(self.approved.state, WorkflowState.RETURNED)
        self.assertEqual(self.approved.state_reason, "Sai đơn vị tính, cần sửa lại.")
        self.assertIn(
            "mở lại: Sai đơn vị tính, cần sửa lại.",
            self.approved.history.first().history_change_reason,
        )

    def test_a_figure_of_a_closed_quarter_must_wait_for_the_quarter(self):
        ReportingPeriod.objects.filter(pk=self.q3.pk).update(state=PeriodState.CLOSED)
        response = self.reopen(self.approved, "Sửa số liệu.")
        (message,) = said(response)
        self.assertIn("đã khóa sổ: mở lại kỳ trước khi mở lại số liệu.", message)
        self.approved.refresh_from_db()
        self.assertEqual(self.approved.state, WorkflowState.APPROVED)

    def test_a_draft_cannot_be_reopened(self):
        draft = self.submit_grain()
        Figure.objects.filter(pk=draft.pk).update(state=WorkflowState.DRAFT)
        response = self.reopen(draft, "Thử mở lại bản nháp.")
        self.assertEqual(said(response)[-1], "Chỉ mở lại được số liệu đã phê duyệt.")
        draft.refresh_from_db()
        self.assertEqual(draft.state, WorkflowState.DRAFT)

    def test_only_the_administrator_reopens_and_a_get_is_not_an_action(self):
        for user in (self.approver, self.clerk, self.delegate):
            self.assertEqual(self.reopen(self.approved, "x", user).status_code, 404)
        self.client.force_login(self.admin)
        response = self.client.get(f"/so-lieu/{self.approved.pk}/mo-lai/")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(self.reopen(Figure(pk=10**9), "x").status_code, 404)
        self.approved.refresh_from_db()
        self.assertEqual(self.approved.state, WorkflowState.APPROVED)


class PeriodStateTests(EntryTestCase):
    """/ky/<id>/trang-thai/: closing and reopening a quarter."""

    def post(self, data, user=None, period=None):
        self.client.force_login(user or self.admin)
        return self.client.post(f"/ky/{(period or self.q4).pk}/trang-thai/", data)

    def test_a_state_that_is_neither_open_nor_closed_is_not_found(self):
        for state in ("", "published", "draft", "CLOSED"):
            response = self.post({"state": state, "reason": "Lý do."})
            self.assertEqual(response.status_code, 404, state)
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.OPEN)

    def test_an_unknown_period_is_not_found(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            "/ky/999999/trang-thai/", {"state": "closed", "reason": "x"}
        )
        self.assertEqual(response.status_code, 404)

    def test_closing_with_missing_figures_confirmed_closes_and_says_so(self):
        response = self.post(
            {"state": "closed", "reason": "Hết hạn báo cáo.", "confirm_missing": "1"},
            user=self.approver,
        )
        self.assertRedirects(response, f"/duyet/{self.q4.pk}/")
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.CLOSED)
        (message,) = said(response)
        self.assertTrue(message.startswith("Đã khóa sổ "), message)
        self.assertIn("Trạng thái kỳ bây giờ: ", message)

    def test_the_administrator_reopens_a_closed_quarter(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(state=PeriodState.CLOSED)
        response = self.post({"state": "open", "reason": "Bổ sung số liệu."})
        self.q4.refresh_from_db()
        self.assertEqual(self.q4.state, PeriodState.OPEN)
        (message,) = said(response)
        self.assertTrue(message.startswith("Đã mở lại "), message)


class AssessmentPageTests(EntryTestCase):
    """/chi-tieu/<id>/danh-gia/<ky>/: the approver's verdict over the computed one."""

    def post(self, data, target=None, period=None, user=None):
        self.client.force_login(user or self.approver)
        target, period = target or self.grain, period or self.q4
        return self.client.post(f"/chi-tieu/{target.pk}/danh-gia/{period.pk}/", data)

    def test_a_verdict_without_a_choice_or_reason_is_not_stored(self):
        for data in ({"verdict": "met"}, {"reason": "Lý do."}, {}):
            response = self.post(data)
            self.assertRedirects(
                response,
                f"/chi-tieu/{self.grain.pk}/?ky={self.q4.pk}",
                fetch_redirect_response=False,
            )
            self.assertEqual(
                said(response)[-1], "Chưa ghi: chọn đánh giá và nêu lý do."
            )
        self.assertFalse(Assessment.objects.filter(target=self.grain).exists())

    def test_a_stored_verdict_is_announced(self):
        response = self.post({"verdict": "not_met", "reason": "Điều tra của huyện."})
        self.assertEqual(said(response), ["Đã ghi đánh giá của người phê duyệt."])
        stored = Assessment.objects.get(target=self.grain, period=self.q4)
        self.assertEqual(stored.verdict, "not_met")
        self.assertEqual(stored.assessed_by, self.approver)

    def test_a_quarter_of_another_commune_is_not_found(self):
        from .builders import build_commune

        _, periods = build_commune("Xã Khác")
        response = self.post({"verdict": "met", "reason": "x"}, period=periods[4])
        self.assertEqual(response.status_code, 404)
        self.assertFalse(Assessment.objects.filter(target=self.grain).exists())


class EvidencePageTests(EntryTestCase):
    """The evidence page of a draft figure of body A."""

    def setUp(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        self.figure_q4 = self.figure(self.grain)
        self.url = f"/so-lieu/{self.figure_q4.pk}/minh-chung/"

    def test_a_post_without_a_file_says_so_and_stores_nothing(self):
        response = self.client.post(self.url, {})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Chưa chọn tệp.", status_code=400)
        self.assertFalse(Evidence.objects.exists())

    def test_an_empty_file_is_refused(self):
        response = self.client.post(
            self.url, {"file": SimpleUploadedFile("trong.pdf", b"")}
        )
        self.assertContains(response, "Tệp rỗng.", status_code=400)
        self.assertFalse(Evidence.objects.exists())

    def test_a_macro_workbook_is_refused_by_its_content(self):
        from .test_evidence import xlsx_bytes

        response = self.client.post(
            self.url, {"file": SimpleUploadedFile("so-lieu.xlsx", xlsx_bytes(True))}
        )
        self.assertContains(response, "tệp .xlsm có macro", status_code=400)
        self.assertFalse(Evidence.objects.exists())

    def test_a_remove_button_that_is_no_id_is_not_found(self):
        self.client.post(self.url, {"file": SimpleUploadedFile("a.pdf", PDF)})
        for removing in ("abc", "1" * 13, "-1", str(10**9)):
            response = self.client.post(self.url, {"remove": removing})
            self.assertEqual(response.status_code, 404, removing)
        self.assertEqual(Evidence.objects.filter(figure=self.figure_q4).count(), 1)

    def test_readers_see_the_list_but_cannot_upload(self):
        for user in (self.approver, self.delegate):
            self.client.force_login(user)
            page = self.client.get(self.url)
            self.assertEqual(page.status_code, 200)
            self.assertFalse(page.context["can_upload"])
            response = self.client.post(
                self.url, {"file": SimpleUploadedFile("a.pdf", PDF)}
            )
            self.assertEqual(response.status_code, 404)
        self.assertFalse(Evidence.objects.exists())

    def test_a_submitted_figure_offers_no_upload_to_its_own_clerk(self):
        self.save(
            self.row(self.grain, "1000", version=self.figure_q4.version),
            action="submit",
        )
        self.assertEqual(self.figure(self.grain).state, WorkflowState.SUBMITTED)
        page = self.client.get(self.url)
        self.assertFalse(page.context["can_upload"])
        self.assertEqual(page.context["max_mb"], 10)


class ProjectPageTests(EntryTestCase):
    """The home page, login landing, CSRF failure and the private-page middleware."""

    def test_a_user_with_no_role_reads_the_resolution_itself(self):
        plain = User.objects.create_user("khach")
        self.client.force_login(plain)
        response = self.client.get("/")
        self.assertTemplateUsed(response, "targets/home.html")
        self.assertContains(response, "Nghị quyết số 13/NQ-HĐND")
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_a_clerk_of_no_body_lands_on_the_page_that_says_so(self):
        lonely = User.objects.create_user("canbo-moi", password="mat-khau-dai-2025")
        lonely.groups.add(Group.objects.get(name=CLERK))
        response = self.client.post(
            "/accounts/login/",
            {"username": "canbo-moi", "password": "mat-khau-dai-2025"},
        )
        self.assertRedirects(response, "/nhap-so-lieu/")
        page = self.client.get("/nhap-so-lieu/")
        self.assertContains(page, "chưa được giao chủ trì chỉ tiêu nào")

    def test_a_clerk_who_also_approves_lands_on_the_dashboard(self):
        both = User.objects.create_user("kiemnhiem")
        both.groups.add(Group.objects.get(name=CLERK), Group.objects.get(name=APPROVER))
        self.client.force_login(both)
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateNotUsed(response, "targets/home.html")

    def test_a_form_without_its_csrf_token_gets_the_vietnamese_page(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post(
            "/accounts/login/", {"username": "kinhte", "password": "x"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertContains(response, "Không được phép (lỗi 403)", status_code=403)
        self.assertContains(response, "hãy tải lại trang rồi gửi lại", status_code=403)
        self.assertNotContains(response, "CSRF", status_code=403)

    def test_a_refused_page_of_a_logged_in_user_is_audited(self):
        self.client.force_login(self.other_clerk)
        with self.assertLogs("khoenon.audit", logging.INFO) as logs:
            response = self.client.get(f"/chi-tieu/{self.grain.pk}/lich-su/")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertIn(
            f"access_refused user=vanhoa path=/chi-tieu/{self.grain.pk}/lich-su/ "
            "status=404",
            logs.output[-1],
        )

    def test_an_anonymous_refusal_is_not_audited(self):
        with self.assertNoLogs("khoenon.audit", logging.INFO):
            response = self.client.get("/cong-khai/chi-tieu/999999/")
        self.assertEqual(response.status_code, 404)


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
class ClientAddressTests(EntryTestCase):
    def address(self, remote, real=None):
        extra = {"REMOTE_ADDR": remote}
        if real is not None:
            extra["HTTP_X_REAL_IP"] = real
        return client_ip(RequestFactory().get("/", **extra))

    def test_the_address_nginx_saw_counts_only_behind_the_proxy(self):
        self.assertEqual(self.address("127.0.0.1", " 203.0.113.7 "), "203.0.113.7")
        self.assertEqual(self.address("198.51.100.2", "203.0.113.7"), "198.51.100.2")

    def test_the_proxy_without_the_header_is_itself(self):
        self.assertEqual(self.address("127.0.0.1"), "127.0.0.1")
        self.assertEqual(self.address("127.0.0.1", "  "), "127.0.0.1")


class ErrorPageTests(EntryTestCase):
    def test_a_page_not_found_is_vietnamese_and_names_nothing_it_hides(self):
        self.client.force_login(self.delegate)
        response = self.client.get("/tien-do/", {"dv": "999999"})
        self.assertContains(response, "Không tìm thấy trang (lỗi 404)", status_code=404)
        self.assertContains(
            response, "tài khoản của bạn không được xem nội dung này", status_code=404
        )
        self.assertNotContains(response, "Không có đơn vị này.", status_code=404)
        self.assertNotContains(response, "Traceback", status_code=404)

    def test_another_bodys_figure_reads_exactly_like_one_that_does_not_exist(self):
        figure = Figure.objects.get(target=self.jobs, period=self.q3)
        self.client.force_login(self.clerk)
        hidden = self.client.get(f"/so-lieu/{figure.pk}/minh-chung/")
        missing = self.client.get("/so-lieu/999999/minh-chung/")
        self.assertEqual(hidden.status_code, missing.status_code)
        self.assertEqual(hidden.content, missing.content)
