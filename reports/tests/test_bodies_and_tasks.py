import re

from django.urls import reverse

from targets.models import ReportingPeriod, ResponsibleBody
from targets.progress_load import load_resolution_progress

from .builders import (
    DemoTestCase,
    EveryStatusTestCase,
)
from .helpers import text

BODIES = reverse("reports:bodies")
TASKS = reverse("reports:tasks")


def card(html: str, body) -> str:
    found = re.search(
        rf'<section class="card mb-3 body-card" id="dv-{body.pk}".*?</section>',
        html,
        re.S,
    )
    return found.group(0) if found else ""


def card_targets(html: str) -> dict[int, str]:
    return {
        int(pk): status
        for status, pk in re.findall(
            r'<tr data-status="([a-z_]+)" data-target="(\d+)">', html
        )
    }


def report_state(html: str) -> str:
    return re.search(r'class="small mt-2 mb-2 report-state" data-state="(\w+)"', html)[
        1
    ]


class BodyScorecardTests(EveryStatusTestCase):
    def get(self, quarter, **params):
        query = {
            "nq": self.data["resolution"].pk,
            "ky": self.data["periods"][quarter].pk,
        }
        return self.client.get(BODIES, query | params)

    def test_each_body_lists_the_targets_it_leads_or_supports_with_the_engines_status(
        self,
    ):
        page = self.get(3).text
        progress = load_resolution_progress(
            self.data["resolution"], self.data["periods"][3]
        )
        status = {i.target.pk: i.progress.status for i in progress.items}
        targets = self.data["targets"]
        expected = {
            "A": ["1a", "1b"],
            "B": ["1b", "2a", "2b"],  # supports 1b
            "C": ["3a", "3b", "3c"],
        }
        for key, codes in expected.items():
            body = self.data["bodies"][key]
            html = card(page, body)
            self.assertEqual(
                card_targets(html),
                {targets[c].pk: status[targets[c].pk] for c in codes},
            )
            self.assertIn(progress.by_body[body].summary, html)
        self.assertEqual(card(page, self.data["council"]), "")  # supervises only
        self.assertIn("Vai trò: phối hợp", card(page, self.data["bodies"]["B"]))

    def test_it_says_whether_each_body_reported_on_time(self):
        page = self.get(3).text
        bodies = self.data["bodies"]
        self.assertEqual(report_state(card(page, bodies["A"])), "on_time")
        self.assertIn("Báo cáo đúng hạn", card(page, bodies["A"]))
        late = card(page, bodies["B"])
        self.assertEqual(report_state(late), "late")
        self.assertIn("Báo cáo trễ hạn", late)
        self.assertIn("Gửi sau hạn: 2a.", text(late))
        missing = card(page, bodies["C"])
        self.assertEqual(report_state(missing), "missing")
        self.assertIn("chưa gửi 1/3 chỉ tiêu (3a).", text(missing))

    def test_each_body_lists_its_tasks_with_their_latest_approved_update(self):
        page = self.get(3).text
        a = text(card(page, self.data["bodies"]["A"]))
        b = text(card(page, self.data["bodies"]["B"]))
        c = text(card(page, self.data["bodies"]["C"]))
        self.assertIn("✓ Hoàn thành Nhiệm vụ 1 (chủ trì): Nhiệm vụ thử.", a)
        self.assertIn("✓ Hoàn thành Nhiệm vụ 1 (phối hợp)", b)
        self.assertIn("– Chưa có cập nhật Giải pháp 1 (chủ trì): Giải pháp thử", c)

    def test_one_body_can_be_chosen_and_an_unknown_one_is_not_found(self):
        body = self.data["bodies"]["B"]
        page = self.get(3, dv=body.pk).text
        self.assertEqual(re.findall(r'id="dv-(\d+)"', page), [str(body.pk)])
        self.assertEqual(self.get(3, dv="999999").status_code, 404)


class TasksReportTests(EveryStatusTestCase):
    def row(self, quarter, task):
        page = self.client.get(
            TASKS,
            {"nq": self.data["resolution"].pk, "ky": self.data["periods"][quarter].pk},
        ).text
        found = re.search(
            rf'<tr id="nv-{task.pk}" data-status="(\w+)">(.*?)</tr>', page, re.S
        )
        return found[1], text(found[2])

    def test_it_shows_the_latest_approved_update_up_to_the_period(self):
        task = self.data["task"]
        self.assertEqual(self.row(1, task)[0], "none")
        status, cells = self.row(2, task)
        self.assertEqual(status, "in_progress")
        self.assertIn("► Đang triển khai (Quý II/2025) Đang triển khai quý II.", cells)
        self.assertEqual(self.row(3, task)[0], "done")
        # Quarter IV's update is a draft: quarter III's still stands.
        status, cells = self.row(4, task)
        self.assertEqual(status, "done")
        self.assertIn("(Quý III/2025) Hoàn thành trong quý III.", cells)

    def test_it_names_the_lead_and_supporting_bodies(self):
        _, cells = self.row(3, self.data["task"])
        self.assertIn("Chủ trì Phòng A", cells)
        self.assertIn("Phối hợp Phòng B", cells)
        _, cells = self.row(3, self.data["solution"])
        self.assertIn("Chủ trì Phòng C", cells)
        self.assertIn("Phối hợp –", cells)
        self.assertIn("– Chưa có cập nhật", cells)

    def test_it_counts_the_tasks_by_their_latest_status(self):
        page = self.client.get(
            TASKS,
            {"nq": self.data["resolution"].pk, "ky": self.data["periods"][3].pk},
        ).text
        self.assertIn(
            "2 nhiệm vụ, giải pháp: – Chưa có cập nhật 1, ✓ Hoàn thành 1", text(page)
        )


class DemoScorecardAndTasksTests(DemoTestCase):
    """Resolution 13 with the demo figures."""

    def test_figures_loaded_without_a_submission_time_read_as_reported_undated(self):
        q3 = ReportingPeriod.objects.get(commune__name="Khoen On", quarter=3)
        page = self.client.get(BODIES, {"ky": q3.pk}).text
        economy = ResponsibleBody.objects.get(name="Phòng Kinh tế")
        self.assertEqual(report_state(card(page, economy)), "undated")
        self.assertIn("Đã báo cáo (không ghi thời điểm gửi)", card(page, economy))

    def test_the_resolution_13_tasks_are_all_listed_with_their_full_text(self):
        page = self.client.get(TASKS).text
        self.assertEqual(page.count('<tr id="nv-'), 14)
        self.assertIn("Nhiệm vụ (1)", page)
        self.assertIn("Giải pháp (13)", page)

    def test_every_task_shows_the_implementing_committee_above_the_assumed_lead(self):
        page = self.client.get(TASKS).text
        rows = re.findall(r'<tr id="nv-\d+".*?</tr>', page, re.S)
        self.assertEqual(len(rows), 14)
        for row in rows:
            self.assertIn(
                "Chủ trì Tổ chức thực hiện: Ủy ban nhân dân xã Khoen On", text(row)
            )
        first = text(rows[0])
        self.assertIn("Văn phòng HĐND và UBND xã giả định", first)
        # Section 3 in the text's order: the Nhiệm vụ, then the thirteen Giải pháp.
        self.assertLess(page.index("Nhiệm vụ (1)"), page.index("Giải pháp (13)"))

    def test_the_scorecards_count_only_lead_and_supporting_bodies(self):
        # UBND xã implements all and the council supervises all: no card of theirs
        # would say more than the dashboard.
        page = self.client.get(BODIES).text
        names = re.findall(r'<h2 class="h5 mb-1" id="dv-\d+-ten">([^<]*)', page)
        self.assertIn("Phòng Kinh tế", [n.strip() for n in names])
        self.assertNotIn("Ủy ban nhân dân xã Khoen On", [n.strip() for n in names])
        self.assertNotIn("Thường trực Hội đồng nhân dân xã", [n.strip() for n in names])
