"""Every write path moves the data version (targets.data_version, kept by database
triggers), and the next reader page shows the change: the entry page's submit, the
approver's review, the admin's change form, the spreadsheet import, SQL by hand. A
clerk's draft moves nothing: no reader sees it. The restore's new epoch is checked by
the backup drill (targets/tests/test_backup.py)."""

from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from reports import views
from targets import data_version
from targets.models import Figure, WorkflowState
from targets.tests.base import EntryTestCase, ImportTestCase, office_xlsx
from targets.tests.test_import_submit import GRAIN, JOBS

from .helpers import target_rows, text

DASHBOARD = reverse("reports:dashboard")


class Moves:
    def assertMoves(self, write, moves=True):
        before = data_version.current()
        write()
        after = data_version.current()
        if moves:
            self.assertNotEqual(after, before)
        else:
            self.assertEqual(after, before)


class EntryAndReviewTests(Moves, EntryTestCase):
    def dashboard(self, user=None):
        reader = Client()
        reader.force_login(user or self.delegate)
        response = reader.get(DASHBOARD, {"ky": self.q4.pk})
        self.assertEqual(response.status_code, 200)
        return response.text

    def grain_row(self):
        return target_rows(self.dashboard())[self.grain.pk][1]

    def test_a_draft_saved_moves_nothing_and_keeps_the_drawing(self):
        self.dashboard()
        self.assertMoves(
            lambda: self.save(self.row(self.grain, "1000"), user=self.clerk),
            moves=False,
        )
        self.assertEqual(self.figure(self.grain).state, WorkflowState.DRAFT)
        with mock.patch.object(
            views, "_dashboard_drawing", wraps=views._dashboard_drawing
        ) as draw:
            self.dashboard()
            self.assertEqual(draw.call_count, 0)

    def test_a_submit_moves_it_and_the_body_counts_as_reported(self):
        before = self.dashboard()
        self.assertMoves(self.submit_grain)
        self.assertEqual(self.figure(self.grain).state, WorkflowState.SUBMITTED)
        self.assertNotEqual(text(self.dashboard()), text(before))

    def test_an_approval_moves_it_and_the_figure_counts_at_once(self):
        figure = self.submit_grain("1000")
        before = self.grain_row()
        self.assertMoves(lambda: self.review(figure, "approve"))
        self.assertEqual(self.figure(self.grain).state, WorkflowState.APPROVED)
        after = self.grain_row()
        self.assertNotEqual(after, before)

    def test_the_admin_change_form_moves_it(self):
        body = self.grain.assignments.get(role="lead").body
        self.dashboard()
        admin = Client()
        admin.force_login(self.admin)
        self.assertMoves(
            lambda: self.assertEqual(
                admin.post(
                    f"/admin/targets/responsiblebody/{body.pk}/change/",
                    {
                        "commune": body.commune_id,
                        "name": "Phòng Kinh tế (đổi tên)",
                        "short_name": "",
                        "kind": body.kind,
                        "role_in_text": "",
                    },
                ).status_code,
                302,
            )
        )
        self.assertIn("Chủ trì: Phòng Kinh tế (đổi tên)", text(self.dashboard()))

    def test_sql_by_hand_moves_it_and_the_page_shows_it(self):
        self.dashboard()
        with connection.cursor() as cursor:
            before = data_version.current()
            cursor.execute(
                "UPDATE targets_target SET name = %s WHERE id = %s",
                ["Tên sửa bằng SQL", self.grain.pk],
            )
        self.assertNotEqual(data_version.current(), before)
        self.assertIn("Tên sửa bằng SQL", self.dashboard())

    def test_a_draft_deleted_or_edited_by_hand_moves_nothing(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        drafts = Figure.objects.filter(state=WorkflowState.DRAFT)
        self.assertMoves(lambda: drafts.update(note="nháp sửa"), moves=False)
        self.assertMoves(lambda: drafts.update(state=WorkflowState.RETURNED), False)
        self.assertMoves(lambda: drafts.delete(), moves=False)


class ImportTests(Moves, ImportTestCase):
    def preview_sheet(self, **choices):
        data = office_xlsx([GRAIN, JOBS])
        return self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": "0",
                "import_file": SimpleUploadedFile("bieu.xlsx", data),
                **choices,
            },
        )

    def test_a_preview_moves_nothing_and_a_confirmed_submit_moves_it(self):
        first = self.preview_sheet()
        previews = []
        self.assertMoves(
            lambda: previews.append(
                self.client.post(
                    "/admin/targets/figure/import/",
                    {**first.context["remap"], "submit": "1"},
                )
            ),
            moves=False,
        )
        self.assertMoves(lambda: self.confirm(previews[0]))
        self.assertEqual(
            set(Figure.objects.values_list("state", flat=True)),
            {WorkflowState.SUBMITTED},
        )

    def test_drafts_imported_move_nothing(self):
        preview = self.preview_sheet()
        self.assertMoves(lambda: self.confirm(preview), moves=False)
        self.assertEqual(Figure.objects.count(), 2)
