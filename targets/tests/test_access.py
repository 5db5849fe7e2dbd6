"""Who may do what: every role × every URL × objects of body A and body B.

An out-of-scope object answers 404, never 403, so ids leak nothing."""

from django.db import transaction
from django.test import Client

from targets.models import Figure

from .base import EntryTestCase, attach_pdf

ROLES = ["clerk_a", "clerk_b", "approver", "delegate", "admin", "anonymous"]
READERS = {"approver", "delegate", "admin"}


class AccessMatrixTests(EntryTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.fig_a = Figure.objects.get(target=cls.grain, period=cls.q3)
        cls.fig_b = Figure.objects.get(target=cls.jobs, period=cls.q3)
        cls.ev = {}
        for key, figure in (("A", cls.fig_a), ("B", cls.fig_b)):
            cls.ev[key] = attach_pdf(figure, cls.admin)
        cls.users = {
            "clerk_a": cls.clerk,
            "clerk_b": cls.other_clerk,
            "approver": cls.approver,
            "delegate": cls.delegate,
            "admin": cls.admin,
            "anonymous": None,
        }

    def requests(self, side):
        """(name, method, url, data, roles allowed) for the objects of one body."""
        target = self.grain if side == "A" else self.jobs
        figure = self.fig_a if side == "A" else self.fig_b
        clerk = "clerk_a" if side == "A" else "clerk_b"
        q4 = self.q4.pk
        row = {
            f"v-{target.pk}": "10",
            f"k-{target.pk}": "actual",
            f"n-{target.pk}": "x",
            f"ver-{target.pk}": "0",
        }
        return [
            ("entry page", "get", f"/nhap-so-lieu/{q4}/", None, {"clerk_a", "clerk_b"}),
            (
                "entry save",
                "post",
                f"/nhap-so-lieu/{q4}/",
                row | {"action": "save"},
                {clerk},
            ),
            ("review page", "get", f"/duyet/{q4}/", None, {"approver", "admin"}),
            (
                "approve",
                "post",
                f"/duyet/{self.q3.pk}/",
                {f"f-{figure.pk}": str(figure.version), "action": "approve"},
                {"approver", "admin"},
            ),
            (
                "return",
                "post",
                f"/duyet/{self.q3.pk}/",
                {
                    f"f-{figure.pk}": str(figure.version),
                    "action": "return",
                    "reason": "x",
                },
                {"approver", "admin"},
            ),
            (
                "close period",
                "post",
                f"/ky/{q4}/trang-thai/",
                {"state": "closed", "reason": "x"},
                {"approver", "admin"},
            ),
            (
                "reopen period",
                "post",
                f"/ky/{self.q3.pk}/trang-thai/",
                {"state": "open", "reason": "x"},
                {"admin"},
            ),
            (
                "reopen figure",
                "post",
                f"/so-lieu/{figure.pk}/mo-lai/",
                {"reason": "x"},
                {"admin"},
            ),
            (
                "override verdict",
                "post",
                f"/chi-tieu/{target.pk}/danh-gia/{q4}/",
                {"verdict": "met", "reason": "x"},
                {"approver", "admin"},
            ),
            (
                "evidence list",
                "get",
                f"/so-lieu/{figure.pk}/minh-chung/",
                None,
                READERS | {clerk},
            ),
            (
                "evidence file",
                "get",
                f"/minh-chung/{self.ev[side].pk}/",
                None,
                READERS | {clerk},
            ),
            (
                "history",
                "get",
                f"/chi-tieu/{target.pk}/lich-su/",
                None,
                READERS | {clerk},
            ),
            ("target page", "get", f"/chi-tieu/{target.pk}/", None, READERS | {clerk}),
        ]

    def outcome(self, response) -> str:
        if response.status_code == 302 and response["Location"].startswith(
            "/accounts/login/"
        ):
            return "login"
        # 400: the request reached the page and its validation answered.
        if response.status_code in (200, 302, 400):
            return "ok"
        return str(response.status_code)

    def test_every_role_gets_exactly_what_the_table_says(self):
        mismatches = []
        checked = 0
        for side in ("A", "B"):
            for name, method, url, data, allowed in self.requests(side):
                for role in ROLES:
                    client = Client()
                    if self.users[role]:
                        client.force_login(self.users[role])
                    with transaction.atomic():
                        response = getattr(client, method)(url, data or {})
                        got = self.outcome(response)
                        transaction.set_rollback(True)
                    if role == "anonymous":
                        expected = "login"
                    else:
                        expected = "ok" if role in allowed else "404"
                    checked += 1
                    if got != expected:
                        mismatches.append((side, name, role, expected, got))
        self.assertEqual(mismatches, [])
        self.assertEqual(checked, 2 * 13 * len(ROLES))

    def test_a_clerk_posting_another_bodys_target_changes_nothing(self):
        before = list(Figure.objects.values_list("pk", "value", "version"))
        self.client.force_login(self.clerk)
        data = {
            f"v-{self.jobs.pk}": "999",
            f"k-{self.jobs.pk}": "actual",
            f"n-{self.jobs.pk}": "",
            f"ver-{self.jobs.pk}": "0",
            **self.row(self.grain, "10"),
            "action": "save",
        }
        response = self.client.post(self.entry_url(), data)
        self.assertEqual(response.status_code, 404)
        self.assertEqual(
            list(Figure.objects.values_list("pk", "value", "version")), before
        )
