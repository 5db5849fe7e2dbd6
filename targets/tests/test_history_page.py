"""The history page of a target (/chi-tieu/<id>/lich-su/): every change of its
figures, newest first, each beside the one before it (old → new value, state and
note), who made it and through what; the administrator's reopen forms."""

import re
from html import unescape

from targets.models import Figure, WorkflowState

from .base import EntryTestCase


def rows(response) -> list[str]:
    """The visible text of each row of the history table, top to bottom."""
    body = re.search(r"<tbody>(.*?)</tbody>", response.content.decode(), re.S)
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


class HistoryPageTests(EntryTestCase):
    def url(self, target=None):
        return f"/chi-tieu/{(target or self.grain).pk}/lich-su/"

    def test_a_new_figure_then_a_change_read_newest_first_old_to_new(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        version = self.figure(self.grain).version
        self.save(
            self.row(self.grain, "1250,5", note="Bổ sung vụ mùa.", version=version)
        )
        self.client.force_login(self.approver)
        shown = [r for r in rows(self.client.get(self.url())) if "Quý IV/2025" in r]
        self.assertEqual(len(shown), 2, shown)
        newest, first = shown
        self.assertIn("1.000 → 1.250,5 tấn", newest)
        self.assertIn("Ghi chú: Bổ sung vụ mùa.", newest)
        self.assertNotIn("(nhập mới)", newest)
        self.assertIn("1.000 tấn (nhập mới)", first)
        self.assertNotIn("→", first)

    def test_a_sent_and_approved_figure_shows_each_state_change(self):
        figure = self.submit_grain("1000")
        self.review(figure, "approve")
        self.client.force_login(self.delegate)
        shown = [r for r in rows(self.client.get(self.url())) if "Quý IV/2025" in r]
        states = [r for r in shown if "→" in r]
        self.assertTrue(any("Đã gửi duyệt → Đã phê duyệt" in r for r in states), shown)

    def test_a_target_without_a_change_says_so(self):
        Figure.history.filter(target_id=self.forest.pk).delete()
        self.client.force_login(self.delegate)
        response = self.client.get(self.url(self.forest))
        self.assertContains(response, "Chưa có thay đổi nào.")
        self.assertContains(
            response, f"Lịch sử thay đổi: {self.forest.code}. {self.forest.name}"
        )

    def test_only_the_administrator_gets_a_reopen_form_per_approved_quarter(self):
        approved = Figure.objects.filter(
            target=self.grain, state=WorkflowState.APPROVED
        ).select_related("period")
        self.assertTrue(approved)
        self.client.force_login(self.admin)
        page = self.client.get(self.url())
        self.assertContains(page, "Mở lại số liệu đã phê duyệt")
        for figure in approved:
            self.assertContains(page, f'action="/so-lieu/{figure.pk}/mo-lai/"')
            self.assertContains(page, f"Mở lại số liệu {figure.period}")
        for user in (self.approver, self.delegate, self.clerk):
            self.client.force_login(user)
            page = self.client.get(self.url())
            self.assertEqual(page.status_code, 200)
            self.assertNotContains(page, "Mở lại số liệu đã phê duyệt")
            self.assertNotContains(page, "/mo-lai/")

    def test_the_clerk_of_the_lead_body_reads_it_and_the_other_clerk_does_not(self):
        self.client.force_login(self.clerk)
        self.assertEqual(self.client.get(self.url()).status_code, 200)
        self.assertEqual(self.client.get(self.url(self.jobs)).status_code, 404)
        self.client.force_login(self.other_clerk)
        self.assertEqual(self.client.get(self.url(self.jobs)).status_code, 200)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.assertEqual(self.client.get("/chi-tieu/999999/lich-su/").status_code, 404)

    def test_a_reopen_shows_the_reason_and_who_did_it(self):
        figure = self.submit_grain("1000")
        self.review(figure, "approve")
        self.client.force_login(self.admin)
        self.client.post(
            f"/so-lieu/{figure.pk}/mo-lai/", {"reason": "Tỉnh điều chỉnh số liệu."}
        )
        newest = rows(self.client.get(self.url()))[0]
        self.assertIn("Đã phê duyệt → Bị trả lại", newest)
        self.assertIn("mở lại: Tỉnh điều chỉnh số liệu.", newest)
