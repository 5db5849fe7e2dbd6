"""Corners of the workflow no journey passes: an approval of a row that is gone or
not sent, a quarter set to the state it has, a withdrawal of what was never
published, an upload with no row, what "Gửi duyệt" lists as already waiting,
estimates on submit, the server's error pages, and the text helpers' edges."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import RequestFactory, SimpleTestCase

from khoenon.views import server_error
from targets.evidence import EvidenceError, detect
from targets.fields import clean_text
from targets.models import (
    Assessment,
    Evidence,
    Figure,
    FigureKind,
    PeriodState,
    ReportingPeriod,
    TaskUpdate,
    WorkflowState,
)
from targets.numbers import unit_suffix
from targets.overview import text_paragraphs
from targets.reading import TargetSpec

from .base import PDF, EntryTestCase, attach_pdf, said


class ReviewCornerTests(EntryTestCase):
    def test_approving_a_row_that_no_longer_exists_asks_to_reload(self):
        response = self.review(Figure(pk=987654, version=1), "approve")
        self.assertEqual(
            said(response), ["Có mục không còn tồn tại; tải lại trang rồi làm lại."]
        )

    def test_approving_a_draft_says_what_state_it_is_in(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        draft = self.figure(self.grain)
        response = self.review(draft, "approve")
        (message,) = said(response)
        self.assertIn("“Bản nháp”", message)
        draft.refresh_from_db()
        self.assertEqual(draft.state, WorkflowState.DRAFT)

    def test_opening_a_quarter_that_is_open_says_so(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            f"/ky/{self.q4.pk}/trang-thai/", {"state": "open", "reason": "Thử."}
        )
        self.assertEqual(said(response), ["Quý IV/2025 đã ở trạng thái “Đang mở”."])

    def test_withdrawing_a_quarter_never_published_says_so(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            f"/cong-bo/{self.q4.pk}/", {"action": "unpublish", "reason": "Thử."}
        )
        self.assertEqual(said(response), ["Quý IV/2025 chưa được công bố."])

    def test_a_closed_quarters_override_cannot_be_deleted(self):
        assessment = Assessment.objects.create(
            target=self.grain, period=self.q4, verdict="met", reason="Điều tra."
        )
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(state=PeriodState.CLOSED)
        assessment.refresh_from_db()
        with self.assertRaisesMessage(
            ValidationError, "Quý IV/2025 đã khóa sổ: không thể xóa đánh giá"
        ):
            assessment.delete()
        self.assertTrue(Assessment.objects.filter(pk=assessment.pk).exists())
        self.assertEqual(str(assessment), f"{self.grain.code} – Quý IV/2025: Đạt")


class EntryCornerTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)

    def test_a_file_sent_without_its_row_is_refused_and_nothing_is_stored(self):
        response = self.client.post(
            self.entry_url(),
            {
                "action": "save",
                f"e-{self.grain.pk}": SimpleUploadedFile("bien-ban.pdf", PDF),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response, "Tệp minh chứng gửi kèm một chỉ tiêu không có trên trang."
        )
        self.assertFalse(Evidence.objects.exists())

    def test_removing_evidence_of_a_sent_figure_is_refused(self):
        self.save(self.row(self.grain, "1000"))
        figure = self.figure(self.grain)
        self.save(self.row(self.grain, "1000", version=figure.version), action="submit")
        figure.refresh_from_db()
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        item = attach_pdf(figure, self.clerk)
        response = self.client.post(
            self.entry_url(), {"action": "save", f"rm-{item.pk}": "1"}
        )
        self.assertContains(
            response,
            "Minh chứng “bien-ban.pdf” thuộc số liệu đã gửi duyệt hoặc đã phê "
            "duyệt: không xóa được.",
        )
        self.assertTrue(Evidence.objects.filter(pk=item.pk).exists())
        self.assertEqual(str(item), "bien-ban.pdf")

    def test_a_refused_estimate_comes_back_still_marked_as_an_estimate(self):
        rows = self.row(self.grain, "1000", kind="estimate") | self.row(
            self.forest, "abc"
        )
        response = self.save(rows)
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(self.figure(self.grain))
        (grain,) = [r for r in response.context["rows"] if r["target"] == self.grain]
        self.assertEqual(grain["kind"], FigureKind.ESTIMATE)

    def test_gui_duyet_lists_what_already_waits_and_keeps_the_confirmations(self):
        self.save(self.row(self.grain, "1000"), action="submit")
        self.assertEqual(self.figure(self.grain).state, WorkflowState.SUBMITTED)
        pk = self.task_a.pk
        TaskUpdate.objects.create(
            task=self.task_a,
            period=self.q4,
            status="in_progress",
            narrative="Đang làm.",
            state=WorkflowState.SUBMITTED,
        )
        self.save(self.row(self.forest, "40,5", note="Rừng trồng mới chưa khép tán."))
        response = self.client.get(
            self.entry_url(), {"gui": "1", "c": [str(self.forest.pk), "x", "9" * 13]}
        )
        plan = response.context["plan"]
        waiting = {type(o).__name__ for o in plan.waiting}
        self.assertEqual(waiting, {"Figure", "TaskUpdate"})
        self.assertIn(self.figure(self.grain), plan.waiting)
        self.assertNotIn(pk, [u.task_id for u in plan.send_updates])
        self.assertTemplateUsed(response, "targets/entry_confirm.html")
        self.assertEqual(response.context["confirmed"], [self.forest.pk])
        self.assertIn(self.figure(self.forest), plan.send_figures)

    def test_an_estimate_is_sent_beside_an_earlier_estimate(self):
        Figure.objects.filter(target=self.forest, period=self.q3).update(
            kind=FigureKind.ESTIMATE
        )
        response = self.save(
            self.row(self.forest, "40,6", kind="estimate", note="Ước tính cuối năm."),
            action="submit",
        )
        self.assertRedirects(response, self.entry_url())
        figure = self.figure(self.forest)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.assertEqual(figure.kind, FigureKind.ESTIMATE)

    def test_a_clerk_at_home_goes_to_the_entry_page_and_a_reader_has_none(self):
        self.assertRedirects(
            self.client.get("/"), "/nhap-so-lieu/", fetch_redirect_response=False
        )
        self.client.force_login(self.delegate)
        self.assertEqual(self.client.get("/nhap-so-lieu/").status_code, 404)

    def test_the_overview_reads_a_chosen_resolution_and_refuses_a_non_number(self):
        resolution = self.grain.indicator.resolution
        response = self.client.get("/tong-quan-nghi-quyet/", {"nq": resolution.pk})
        self.assertContains(response, "Nghị quyết số 13/NQ-HĐND")
        for bad in ("abc", "999999"):
            page = self.client.get("/tong-quan-nghi-quyet/", {"nq": bad})
            self.assertEqual(page.status_code, 404, bad)


class ServerErrorTests(SimpleTestCase):
    def test_a_database_outage_is_a_503_to_wait_out(self):
        request = RequestFactory().get("/")
        try:
            raise OperationalError("connection refused")
        except OperationalError:
            with self.assertLogs("khoenon", "ERROR") as logs:
                response = server_error(request)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "30")
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertIn("database_unavailable connection refused", logs.output[0])
        self.assertNotIn(b"connection refused", response.content)

    def test_any_other_error_is_a_500_without_a_trace(self):
        request = RequestFactory().get("/")
        try:
            raise KeyError("secret-detail")
        except KeyError:
            response = server_error(request)
        self.assertEqual(response.status_code, 500)
        self.assertNotIn(b"secret-detail", response.content)
        self.assertNotIn(b"Traceback", response.content)


class TextEdgeTests(SimpleTestCase):
    def test_no_value_is_empty_text(self):
        self.assertEqual(clean_text(None, multiline=False), "")

    def test_a_tab_in_one_line_text_is_named_with_its_position(self):
        with self.assertRaisesMessage(
            ValidationError, "Nội dung có dấu xuống dòng hoặc dấu tab ở vị trí 4"
        ):
            clean_text("Tấn\tgạo", multiline=False)
        self.assertEqual(clean_text("Tấn\tgạo", multiline=True), "Tấn\tgạo")

    def test_a_bidi_override_is_refused_by_its_code_point(self):
        with self.assertRaisesMessage(ValidationError, "ký tự điều khiển U+202E"):
            clean_text("abc\u202edef", multiline=True)

    def test_a_unit_suffix_follows_a_number(self):
        self.assertEqual(unit_suffix(""), "")
        self.assertEqual(unit_suffix("%"), "%")
        self.assertEqual(unit_suffix("tấn"), " tấn")

    def test_paragraphs_skip_blank_blocks_and_join_a_broken_sentence(self):
        text = "Mục tiêu chung.\n\n   \n\nTăng trưởng\n\nkinh tế bền vững."
        paragraphs = text_paragraphs(text)
        self.assertEqual(paragraphs[0], "Mục tiêu chung.")
        self.assertNotIn("", paragraphs)

    def test_a_target_with_no_quarter_to_judge_is_refused(self):
        with self.assertRaisesMessage(ValueError, "Target 1a: empty window."):
            TargetSpec(
                code="1a",
                comparison="at_least",
                combine="sum",
                path="from_start",
                target_value=Decimal(100),
                window=(),
            )

    def test_a_value_below_the_range_is_brought_up_to_it(self):
        spec = TargetSpec(
            code="3b",
            comparison="at_most",
            combine="latest",
            path="from_start",
            target_value=Decimal("15.99"),
            window=((2025, 1),),
            min_value=Decimal(0),
            max_value=Decimal(100),
        )
        self.assertEqual(spec.bounded(Decimal("-3")), 0)
        self.assertEqual(spec.bounded(Decimal("140")), 100)
        self.assertEqual(spec.bounded(Decimal("12.5")), Decimal("12.5"))

    def test_a_zip_that_is_broken_is_no_workbook(self):
        broken = SimpleUploadedFile("a.xlsx", b"PK\x03\x04" + b"\x00" * 40)
        with self.assertRaisesMessage(EvidenceError, "Chỉ nhận tệp PDF"):
            detect(broken)
