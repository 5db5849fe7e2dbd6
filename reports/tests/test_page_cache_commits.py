"""The page cache against committed writes (TransactionTestCase, both databases): a
change committed by this connection or by another, or pending in this connection's
own transaction, shows on the next page; a write nothing shown depends on keeps the
drawing; two requests for the same report file build it once."""

import threading
import time
from decimal import Decimal
from unittest import mock

from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.test import Client, TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import views
from targets.models import Figure, ReportingPeriod, Target, WorkflowState
from targets.numbers import format_decimal
from targets.progress_load import load_resolution_progress

from .builders import FAST_PASSWORDS, load_demo
from .helpers import target_rows

DASHBOARD = reverse("reports:dashboard")


@FAST_PASSWORDS
class CommittedWritesTests(TransactionTestCase):
    def setUp(self):
        self.resolution = load_demo()
        self.q3 = ReportingPeriod.objects.get(year=2025, quarter=3)
        self.grain = Target.objects.get(code="2a")
        self.client.force_login(User.objects.get(username="daibieu"))

    def grain_shown(self) -> str:
        page = self.client.get(DASHBOARD, {"ky": self.q3.pk}).text
        return target_rows(page)[self.grain.pk][1]

    def grain_computed(self) -> str:
        progress = load_resolution_progress(self.resolution, self.q3)
        item = next(i for i in progress.items if i.target == self.grain)
        return f"Thực hiện</span>{format_decimal(item.progress.value)}</td>"

    def set_grain_q3(self, value):
        Figure.objects.filter(target=self.grain, period=self.q3).update(value=value)

    def test_an_unchanged_version_serves_the_drawing_with_one_query(self):
        self.grain_shown()
        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch.object(
                views, "reader_selection", wraps=views.reader_selection
            ) as read,
        ):
            self.grain_shown()
        self.assertEqual(read.call_count, 0)
        # session, user, roles, the version
        self.assertEqual(len(queries), 4, [q["sql"][:60] for q in queries])
        self.assertIn("targets_dataversion", queries[-1]["sql"])

    def test_a_change_committed_here_or_elsewhere_shows_at_once(self):
        self.assertIn(self.grain_computed(), self.grain_shown())
        self.set_grain_q3(Decimal("1000.25"))  # autocommit: committed here
        before = self.grain_shown()
        self.assertIn(self.grain_computed(), before)

        def elsewhere():
            try:
                self.set_grain_q3(Decimal("777.5"))
            finally:
                connections.close_all()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        shown = self.grain_shown()
        self.assertNotEqual(shown, before)
        self.assertIn(self.grain_computed(), shown)

    def test_a_write_pending_in_this_transaction_shows_and_its_rollback_too(self):
        before = self.grain_shown()
        with transaction.atomic():
            self.set_grain_q3(Decimal("1"))
            pending = self.grain_shown()
            self.assertIn(self.grain_computed(), pending)
            self.assertNotEqual(pending, before)
            transaction.set_rollback(True)
        self.assertEqual(self.grain_shown(), before)
        # The version the rolled back write drew under never comes back.
        self.set_grain_q3(Decimal("2"))
        self.assertIn(self.grain_computed(), self.grain_shown())

    def test_a_write_that_changes_nothing_shown_keeps_the_drawing(self):
        self.grain_shown()
        draft = Figure.objects.filter(target=self.grain, period__quarter=4)
        draft.update(state=WorkflowState.DRAFT)
        self.grain_shown()
        with mock.patch.object(
            views, "_dashboard_drawing", wraps=views._dashboard_drawing
        ) as draw:
            # A login, a user's name, a clerk's draft: no reader sees them.
            User.objects.filter(username="pheduyet").update(first_name="Phê duyệt")
            draft.update(value=Decimal("5"), note="nháp")
            self.grain_shown()
            self.assertEqual(draw.call_count, 0)
            Figure.objects.filter(target=self.grain, period=self.q3).update(
                state=WorkflowState.RETURNED
            )
            self.grain_shown()
            self.assertEqual(draw.call_count, 1)


@FAST_PASSWORDS
class FileBuiltOnceTests(TransactionTestCase):
    def setUp(self):
        load_demo()
        self.q3 = ReportingPeriod.objects.get(year=2025, quarter=3)

    def test_two_requests_at_once_build_the_pdf_once(self):
        built = []

        def slow_pdf(html):
            built.append(html)
            time.sleep(0.5)  # long enough for the second request to arrive
            return b"%PDF-1.7 built"

        answers = []
        delegate = User.objects.get(username="daibieu")

        def client():
            # Logged in here: the threads only read.
            logged_in = Client()
            logged_in.force_login(delegate)
            return logged_in

        def download(client):
            try:
                response = client.get(reverse("reports:report_pdf"), {"ky": self.q3.pk})
                answers.append((response.status_code, response.content))
            except Exception as exc:  # shown in the assertion below
                answers.append(exc)
            finally:
                connections.close_all()

        with mock.patch("reports.exports.html_to_pdf", side_effect=slow_pdf):
            threads = [
                threading.Thread(target=download, args=(client(),)) for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(answers, [(200, b"%PDF-1.7 built")] * 2)
            self.assertEqual(len(built), 1)
            # Later requests are served the kept file; a change builds it anew.
            download(client())
            self.assertEqual(len(built), 1)
            Figure.objects.filter(period=self.q3).update(value=Decimal("1"))
            download(client())
            self.assertEqual(len(built), 2)
