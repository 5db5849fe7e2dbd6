"""On PostgreSQL the dashboard serves a kept drawing while the database snapshot is
unchanged (reports.dashboard_cache.snapshot_key). These tests commit for real
(TransactionTestCase): a change committed by this connection, by another connection,
or pending in this connection's own transaction must show on the next page."""

import threading
import unittest
from decimal import Decimal
from unittest import mock

from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import views
from targets.models import Figure, ReportingPeriod, Target, WorkflowState
from targets.numbers import format_decimal
from targets.progress_load import load_resolution_progress

from .builders import FAST_PASSWORDS, load_demo
from .helpers import target_rows

DASHBOARD = reverse("reports:dashboard")


@unittest.skipUnless(connection.vendor == "postgresql", "PostgreSQL snapshots")
@FAST_PASSWORDS
class SnapshotTests(TransactionTestCase):
    def setUp(self):
        caches["pages"].clear()
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

    def test_an_unchanged_snapshot_serves_the_drawing_with_one_query(self):
        self.grain_shown()
        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch.object(
                views, "reader_selection", wraps=views.reader_selection
            ) as read,
        ):
            self.grain_shown()
        self.assertEqual(read.call_count, 0)
        # session, user, roles, the snapshot
        self.assertEqual(len(queries), 4, [q["sql"][:60] for q in queries])
        self.assertIn("pg_current_snapshot", queries[-1]["sql"])

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

    def test_a_write_pending_in_this_transaction_is_not_hidden_by_the_snapshot(self):
        before = self.grain_shown()
        with transaction.atomic():
            self.set_grain_q3(Decimal("1"))
            pending = self.grain_shown()
            self.assertIn(self.grain_computed(), pending)
            self.assertNotEqual(pending, before)
            transaction.set_rollback(True)
        self.assertEqual(self.grain_shown(), before)

    def test_a_write_that_changes_nothing_shown_keeps_the_drawing(self):
        self.grain_shown()
        with mock.patch.object(
            views, "_dashboard_body", wraps=views._dashboard_body
        ) as draw:
            # A login writes (session, last login): a new snapshot, the same rows.
            User.objects.filter(username="pheduyet").update(first_name="Phê duyệt")
            self.grain_shown()
            self.assertEqual(draw.call_count, 0)
            Figure.objects.filter(target=self.grain, period=self.q3).update(
                state=WorkflowState.RETURNED
            )
            self.grain_shown()
            self.assertEqual(draw.call_count, 1)
