"""The clerk's entry page shows what the review page and the dashboard show: the
reminder of what is still to send, and an approver's override with its reason."""

import datetime
from decimal import Decimal

from django.utils import timezone

from targets.models import Assessment, Figure, ReportingPeriod, WorkflowState

from .base import EntryTestCase


class EntryNoticeTests(EntryTestCase):
    def test_a_deadline_within_the_reminder_days_shows_what_is_still_to_send(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(
            deadline=timezone.localdate() + datetime.timedelta(days=3)
        )
        self.client.force_login(self.clerk)
        response = self.client.get(self.entry_url())
        self.assertContains(response, "Việc còn phải làm")
        self.assertContains(response, "chưa gửi duyệt")
        self.assertContains(response, self.grain.code)

    def test_an_override_of_the_years_result_shows_with_its_reason(self):
        Figure.objects.create(
            target=self.grain,
            period=self.q4,
            value=Decimal("500"),
            state=WorkflowState.APPROVED,
        )
        reason = "Vụ đông thu hoạch sau ngày chốt số liệu."
        Assessment.objects.create(
            target=self.grain, period=self.q4, verdict="met", reason=reason
        )
        self.client.force_login(self.clerk)
        response = self.client.get(self.entry_url())
        self.assertContains(response, "(*)")
        self.assertContains(response, reason)
