"""The approver's verdict overrides the computed one; both are kept."""

from decimal import Decimal

from targets.models import Assessment, Figure, Verdict, WorkflowState
from targets.progress import Status
from targets.progress_load import load_target_progress

from .base import EntryTestCase


class AssessmentTests(EntryTestCase):
    def url(self, target=None):
        return f"/chi-tieu/{(target or self.jobs).pk}/danh-gia/{self.q4.pk}/"

    def test_the_approver_overrides_a_verdict_with_a_reason_and_both_are_kept(self):
        # Jobs: 20 + 25 + 30 approved by Q3, nothing approved for Q4: no year's
        # result yet, only the run-rate (100 of 235: behind).
        computed = load_target_progress(self.jobs, self.q4)
        self.assertEqual(computed.progress.computed_verdict, None)
        self.assertEqual(computed.progress.status, Status.BEHIND)
        self.client.force_login(self.approver)
        reason = "Số liệu điều tra lao động của tỉnh: 240 người có việc làm mới."
        self.client.post(self.url(), {"verdict": "exceeded", "reason": reason})
        assessment = Assessment.objects.get(target=self.jobs, period=self.q4)
        self.assertEqual(assessment.verdict, Verdict.EXCEEDED)
        self.assertEqual(assessment.assessed_by, self.approver)
        after = load_target_progress(self.jobs, self.q4).progress
        # Kept, and shown in the working; it becomes the year's verdict once every
        # quarter is in (the portal never states a result it does not have).
        self.assertEqual(after.override, Verdict.EXCEEDED)
        self.assertEqual(after.override_reason, reason)
        self.assertEqual((after.verdict, after.status), (None, Status.BEHIND))
        self.assertTrue(any("Vượt" in line for line in after.working))
        record = assessment.history.get()
        self.assertEqual(record.history_user, self.approver)
        # Quarter IV approved (75 + 100 = 175 of 235): the year's result is known,
        # the computed Không đạt is kept and the approver's Vượt is the verdict.
        Figure.objects.update_or_create(
            target=self.jobs,
            period=self.q4,
            defaults={"value": Decimal("100"), "state": WorkflowState.APPROVED},
        )
        final = load_target_progress(self.jobs, self.q4).progress
        self.assertTrue(final.is_final)
        self.assertEqual(final.computed_verdict, Verdict.NOT_MET)
        self.assertEqual((final.verdict, final.status), (Verdict.EXCEEDED,) * 2)
        self.assertEqual(final.override_reason, reason)

    def test_an_override_without_a_reason_is_refused(self):
        self.client.force_login(self.approver)
        response = self.client.post(self.url(), {"verdict": "met", "reason": "  "})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Assessment.objects.exists())

    def test_an_unknown_verdict_is_refused(self):
        self.client.force_login(self.approver)
        self.client.post(self.url(), {"verdict": "great", "reason": "x"})
        self.assertFalse(Assessment.objects.exists())

    def test_changing_an_override_keeps_its_history(self):
        self.client.force_login(self.approver)
        self.client.post(self.url(), {"verdict": "met", "reason": "Lần một."})
        self.client.post(self.url(), {"verdict": "not_met", "reason": "Lần hai."})
        assessment = Assessment.objects.get()
        self.assertEqual(assessment.verdict, Verdict.NOT_MET)
        self.assertEqual(
            list(
                assessment.history.order_by("history_id").values_list(
                    "verdict", "reason"
                )
            ),
            [("met", "Lần một."), ("not_met", "Lần hai.")],
        )
