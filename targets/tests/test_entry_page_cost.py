"""What the clerk's entry page costs does not depend on what else the database
holds: another commune at province size, more targets or tasks for the clerk. And
the notice it shows, read with the page's own rows, is the notice read alone."""

import datetime
from decimal import Decimal

from django.core.cache import caches
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports.tests.builders import add_tasks
from targets.models import (
    Assignment,
    Figure,
    ReportingPeriod,
    ResponsibleBody,
    Role,
    Target,
    Task,
    TaskKind,
    TaskStatus,
    TaskUpdate,
    WorkflowState,
)
from targets.reminders import clerk_notice

from .base import EntryTestCase
from .builders import build_resolution, target_fields


class EntryPageCostTests(EntryTestCase):
    def page(self, user=None, period=None):
        """The entry page as `user` (the clerk) sees it, with its query count."""
        response, queries, _ = self.page_reading(user, period)
        return response, queries

    def page_reading(self, user=None, period=None):
        """The entry page drawn, its query count and how many rows of each model
        it made into instances. The kept pages are emptied first: what is counted
        is the drawing (a miss: the entry token, the page's own queries), never a
        page served from the cache (test_entry_cache)."""
        self.client.force_login(user or self.clerk)
        caches["pages"].clear()
        made: dict = {}

        def count(sender, **kwargs):
            made[sender.__name__] = made.get(sender.__name__, 0) + 1

        post_init.connect(count)
        try:
            with CaptureQueriesContext(connection) as queries:
                response = self.client.get(self.entry_url(period))
        finally:
            post_init.disconnect(count)
        self.assertEqual(response.status_code, 200)
        return response, len(queries), made

    def open_big_commune(self):
        """A second commune of 50× the data (1 500 targets, 700 tasks), its quarters
        open for entry today like the clerk's."""
        resolution, periods = build_resolution("Bản Bo", scale=50)
        add_tasks(resolution, periods, scale=50)
        ReportingPeriod.objects.filter(commune=resolution.commune).update(
            deadline=timezone.localdate() + datetime.timedelta(days=10)
        )
        return resolution

    def mixed_states(self):
        """Figures and task updates of the clerk's bodies in every workflow state."""
        states = [
            WorkflowState.DRAFT,
            WorkflowState.SUBMITTED,
            WorkflowState.RETURNED,
            WorkflowState.APPROVED,
        ]
        led = Target.objects.filter(
            assignments__role=Role.LEAD,
            assignments__body__members__in=[self.clerk, self.other_clerk],
        ).exclude(figures__period=self.q4)
        for i, target in enumerate(led.order_by("pk")[:8]):
            Figure.objects.create(
                target=target,
                period=self.q4,
                value=Decimal(i + 1),
                state=states[i % 4],
                state_reason="Số chưa khớp." if states[i % 4] == "returned" else "",
            )
        tasks = Task.objects.filter(
            assignments__role=Role.LEAD,
            assignments__body__members__in=[self.clerk, self.other_clerk],
        ).exclude(updates__period=self.q4)
        for i, task in enumerate(tasks.order_by("pk")[:4]):
            TaskUpdate.objects.create(
                task=task,
                period=self.q4,
                status=TaskStatus.IN_PROGRESS,
                state=states[i % 4],
            )

    def test_another_commune_at_province_size_adds_no_query_and_no_row(self):
        _, alone, read_alone = self.page_reading()
        self.open_big_commune()
        _, beside, read_beside = self.page_reading()
        self.assertEqual(beside, alone)
        self.assertEqual(read_beside, read_alone)

    def test_the_notice_is_the_same_when_another_commune_exists(self):
        today = timezone.localdate()
        before = clerk_notice(self.clerk, today)
        with CaptureQueriesContext(connection) as alone:
            clerk_notice(self.clerk, today)
        self.open_big_commune()
        self.clerk.refresh_from_db()
        self.assertEqual(clerk_notice(self.clerk, today), before)
        with CaptureQueriesContext(connection) as beside:
            clerk_notice(self.clerk, today)
        self.assertEqual(len(beside), len(alone))
        self.assertTrue(before, "the demo's open quarter has something to send")

    def test_the_pages_notice_is_the_notice_read_alone(self):
        self.mixed_states()
        today = timezone.localdate()
        for user in (self.clerk, self.other_clerk):
            with self.subTest(user=user.username):
                response, _ = self.page(user)
                self.assertEqual(
                    response.context["reminders"], clerk_notice(user, today)
                )
                self.assertTrue(response.context["reminders"])

    def test_with_two_quarters_open_the_notice_reads_both(self):
        self.mixed_states()
        today = timezone.localdate()
        ReportingPeriod.objects.filter(pk=self.q3.pk).update(
            state="open", deadline=today + datetime.timedelta(days=5)
        )
        for period in (self.q3, self.q4):
            with self.subTest(period=str(period)):
                response, _ = self.page(period=period)
                notice = response.context["reminders"]
                self.assertEqual(notice, clerk_notice(self.clerk, today))
                self.assertEqual(
                    [r.period.pk for r in notice], [self.q3.pk, self.q4.pk]
                )

    def test_no_query_count_grows_with_the_clerks_targets_and_tasks(self):
        _, before = self.page()
        body = ResponsibleBody.objects.get(members=self.clerk)
        indicator = self.grain.indicator
        targets = Target.objects.bulk_create(
            Target(**target_fields(indicator, f"x{i}", order=100 + i))
            for i in range(40)
        )
        tasks = Task.objects.bulk_create(
            Task(
                resolution=self.task_a.resolution,
                kind=TaskKind.SOLUTION,
                number=100 + i,
                text=f"Giải pháp thêm {i}.",
            )
            for i in range(20)
        )
        Assignment.objects.bulk_create(
            [Assignment(target=t, body=body, role=Role.LEAD) for t in targets]
            + [Assignment(task=t, body=body, role=Role.LEAD) for t in tasks]
        )
        Figure.objects.bulk_create(
            Figure(target=t, period=p, value=Decimal(i), state=WorkflowState.DRAFT)
            for i, t in enumerate(targets)
            for p in (self.q3, self.q4)
        )
        response, after = self.page()
        self.assertContains(response, "Chỉ tiêu x39")
        self.assertEqual(after, before)

    def test_the_quarters_are_read_once_for_the_links_and_the_notice(self):
        """A commune where the clerk's body leads only a task: its quarters are not
        among the page's (the "Kỳ khác" links), the notice is the notice read
        alone, and the page reads the quarters in one query."""
        self.mixed_states()
        resolution = self.open_big_commune()
        body = ResponsibleBody.objects.get(members=self.clerk)
        task = Task.objects.filter(resolution=resolution).order_by("pk").first()
        Assignment.objects.filter(task=task, role=Role.LEAD).update(body=body)
        self.client.force_login(self.clerk)
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(self.entry_url())
        periods = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith("SELECT")
            and 'FROM "targets_reportingperiod"' in q["sql"]
        ]
        self.assertEqual(len(periods), 1, periods)
        communes = {p.commune_id for p in response.context["periods"]}
        self.assertNotIn(resolution.commune_id, communes)
        notice = response.context["reminders"]
        self.assertEqual(notice, clerk_notice(self.clerk, timezone.localdate()))
