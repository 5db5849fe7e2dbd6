"""“Gửi duyệt” chosen in the import preview (issue 13, item 6): imported figures are
drafts of their body unless the administrator chooses to send them, in which case
the entry page's submit rules apply to every row (an explanation for a figure that
leaves its target behind, a confirmation of a flagged value), refusals name the
cell, nothing is written unless every row may go, and the rows reach the approver
with a history row naming the import."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from targets.models import VIA_IMPORT, Figure, WorkflowState
from targets.services import import_submit

from .base import OFFICE_HEADERS as HEADERS
from .base import ImportTestCase, office_xlsx

Q4_TITLE = "BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CHỈ TIÊU QUÝ IV/2025"
Q4_HEADERS = [*HEADERS[:4], "Thực hiện quý IV", "Ghi chú"]
GRAIN = [
    "1",
    "Tổng sản lượng lương thực có hạt",
    "tấn",
    None,
    "1.000,5",
    "Mùa vụ chậm.",
]
JOBS = [
    "2",
    "Số lao động được giải quyết việc làm",
    "người",
    None,
    60,
    "Theo báo cáo thôn.",
]
FOREST_LOW = ["3", "Tỷ lệ che phủ rừng", "%", None, 39, None]


class ImportSubmitTests(ImportTestCase):
    def preview_sheet(self, rows, headers=HEADERS, title=None, **choices):
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = office_xlsx(rows, headers, **({"title": title} if title else {}))
        return self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": "0",
                "import_file": SimpleUploadedFile("bieu.xlsx", data),
                **choices,
            },
        )

    def assertConfirmable(self, preview):
        if "confirm_form" not in preview.context:
            self.fail(f"no confirm form: {self.problems(preview)}")

    def problems(self, response) -> list[str]:
        return response.context["proposal"]["p"].problems

    def test_rows_land_as_drafts_of_their_body_unless_submit_is_chosen(self):
        preview = self.preview_sheet([GRAIN, JOBS])
        self.assertContains(preview, "là <strong>bản nháp</strong>")
        self.confirm(preview)
        states = set(Figure.objects.values_list("state", flat=True))
        self.assertEqual(states, {WorkflowState.DRAFT})

    def test_submit_chosen_in_the_preview_sends_every_row_to_the_approver(self):
        first = self.preview_sheet([GRAIN, JOBS])
        # The administrator changes one choice in the preview and previews again.
        preview = self.client.post(
            "/admin/targets/figure/import/", {**first.context["remap"], "submit": "1"}
        )
        self.assertConfirmable(preview)
        self.assertContains(preview, "2 số liệu được gửi cho người phê duyệt")
        self.assertEqual(Figure.objects.count(), 0)
        response = self.confirm(preview)
        self.assertEqual(response.status_code, 302)
        for figure in Figure.objects.all():
            self.assertEqual(figure.state, WorkflowState.SUBMITTED)
            self.assertEqual(figure.submitted_by, self.admin)
            self.assertIsNotNone(figure.submitted_at)
            reasons = [h.history_change_reason for h in figure.history.all()]
            self.assertEqual(reasons, [f"{VIA_IMPORT} – gửi duyệt", VIA_IMPORT])
            self.assertEqual(figure.history.first().history_user, self.admin)

    def test_a_figure_that_leaves_its_target_behind_needs_an_explanation(self):
        # Forest cover 40,5 in Q3; 39 at year end misses 40,64: Không đạt.
        self.figure("10a", 3, "40.5", state=WorkflowState.APPROVED)
        preview = self.preview_sheet(
            [GRAIN, FOREST_LOW], Q4_HEADERS, Q4_TITLE, submit="1"
        )
        self.assertFalse("confirm_form" in preview.context)
        self.assertIn(
            "Ô E5 (chỉ tiêu 10a, gửi duyệt): Với số liệu này, chỉ tiêu ở mức",
            "\n".join(self.problems(preview)),
        )
        self.assertContains(preview, "Ghi giải trình vào cột “Ghi chú”")
        self.assertEqual(Figure.objects.count(), 1)
        # As a draft it imports; with an explanation it is sent.
        self.assertIn(
            "confirm_form",
            self.preview_sheet([GRAIN, FOREST_LOW], Q4_HEADERS, Q4_TITLE).context,
        )
        explained = [*FOREST_LOW[:5], "Cháy rừng tháng 10."]
        # (39 after 40,5 is also a falling level: confirmed as checked.)
        preview = self.preview_sheet(
            [GRAIN, explained], Q4_HEADERS, Q4_TITLE, submit="1", confirm="1"
        )
        self.assertConfirmable(preview)
        self.confirm(preview)
        forest = Figure.objects.get(target__code="10a", period__quarter=4)
        self.assertEqual(forest.state, WorkflowState.SUBMITTED)

    def test_a_flagged_value_is_sent_only_once_confirmed(self):
        tea = ["2", "Diện tích chè trồng mới", "ha", None, 100, None]
        preview = self.preview_sheet([GRAIN, tea], submit="1")
        self.assertFalse("confirm_form" in preview.context)
        problems = "\n".join(self.problems(preview))
        self.assertIn("Ô E5 (chỉ tiêu 2c, gửi duyệt): Số này khác thường", problems)
        self.assertNotIn("Ô E4", problems)
        preview = self.preview_sheet([GRAIN, tea], submit="1", confirm="1")
        self.assertConfirmable(preview)
        self.confirm(preview)
        figure = Figure.objects.get(target__code="2c")
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.assertEqual(
            figure.history.first().history_change_reason,
            f"{VIA_IMPORT} – gửi duyệt (đã xác nhận số khác thường)",
        )

    def test_refused_rows_write_nothing_even_with_good_rows_beside_them(self):
        self.figure("10a", 3, "40.5", state=WorkflowState.APPROVED)
        preview = self.preview_sheet(
            [GRAIN, JOBS, FOREST_LOW], Q4_HEADERS, Q4_TITLE, submit="1"
        )
        self.assertFalse("confirm_form" in preview.context)
        self.assertEqual(Figure.objects.count(), 1)

    def test_figures_already_sent_or_approved_are_left_as_they_are(self):
        self.figure(
            "2a", 3, "1000.5", note="Mùa vụ chậm.", state=WorkflowState.APPROVED
        )
        self.figure(
            "7b", 3, "60", note="Theo báo cáo thôn.", state=WorkflowState.SUBMITTED
        )
        tea = ["3", "Diện tích chè trồng mới", "ha", None, 2, "Thiếu giống."]
        preview = self.preview_sheet([GRAIN, JOBS, tea], submit="1")
        self.assertConfirmable(preview)
        self.assertContains(preview, "1 số liệu được gửi cho người phê duyệt")
        self.confirm(preview)
        states = dict(Figure.objects.values_list("target__code", "state"))
        self.assertEqual(
            states,
            {
                "2a": WorkflowState.APPROVED,
                "7b": WorkflowState.SUBMITTED,
                "2c": WorkflowState.SUBMITTED,
            },
        )

    def test_sending_takes_a_fixed_number_of_queries(self):
        def sent(codes):
            figures = [self.figure(code, 3, "1", note="Ghi chú.") for code in codes]
            for figure in figures:
                figure.target = self.targets[figure.target.code]
            with CaptureQueriesContext(connection) as queries:
                import_submit(user=self.admin, figures=figures, confirmed=True)
            Figure.objects.all().delete()
            return len(queries)

        self.assertEqual(sent(["2a", "7b"]), sent(["2a", "7b", "2c", "10a", "1"]))
