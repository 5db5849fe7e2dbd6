"""Bad input never reaches the database: valid entry payloads, mutated, posted as a
logged-in clerk with a valid CSRF token. No 500; an invalid payload changes nothing."""

from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from targets.models import Figure, TaskUpdate

from .base import EntryTestCase

SECRET = "k" * 32
NUMBERS = st.one_of(
    st.sampled_from(
        [
            "1.000,5",
            "3865.28",
            "3.865",
            "1,500",
            "-4,7",
            "1e3",
            "NaN",
            "",
            " ",
            "0",
            "99999999999999999",
            "1,2345",
            "١٢",
            "=1+1",
            "12%",
            "−5",
            "0x10",
            "1_000",
        ]
    ),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
)


class EntryFuzzTests(EntryTestCase, HypothesisTestCase):
    def csrf_client(self):
        """A clerk's client holding a CSRF cookie, and the token that matches it (the
        unmasked secret, which Django accepts like a masked one)."""
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.clerk)
        client.cookies["csrftoken"] = SECRET
        return client, SECRET

    def snapshot(self):
        return (
            sorted(
                Figure.objects.values_list("pk", "value", "state", "version", "note")
            ),
            sorted(TaskUpdate.objects.values_list("pk", "status", "state", "version")),
            Figure.history.count(),
        )

    @settings(
        max_examples=500,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def test_mutated_entry_posts_never_fail_and_invalid_ones_change_nothing(self, data):
        client, token = self.csrf_client()
        own = [self.grain, self.forest]
        foreign = [self.jobs]
        payload = {"csrfmiddlewaretoken": token, "action": "save"}
        for target in own:
            payload.update(self.row(target, data.draw(NUMBERS), note="ghi chú"))
        mutation = data.draw(
            st.sampled_from(
                [
                    "number",
                    "foreign",
                    "version",
                    "state",
                    "missing",
                    "extra",
                    "kind",
                    "task",
                    "action",
                    "none",
                ]
            )
        )
        target = data.draw(st.sampled_from(own))
        if mutation == "foreign":
            payload.update(self.row(data.draw(st.sampled_from(foreign)), "10"))
        elif mutation == "version":
            payload[f"ver-{target.pk}"] = data.draw(
                st.sampled_from(["-1", "abc", "", "99", "1e9", "0"])
            )
        elif mutation == "state":
            payload[f"state-{target.pk}"] = "approved"
        elif mutation == "missing":
            del payload[data.draw(st.sampled_from(sorted(payload)))]
        elif mutation == "extra":
            payload[data.draw(st.text(min_size=1, max_size=8))] = "x"
        elif mutation == "kind":
            payload[f"k-{target.pk}"] = data.draw(st.text(max_size=10))
        elif mutation == "task":
            payload[f"ts-{self.task_a.pk}"] = data.draw(
                st.sampled_from(["done", "delayed", "bogus", ""])
            )
            payload[f"tver-{self.task_a.pk}"] = data.draw(st.sampled_from(["0", "x"]))
        elif mutation == "action":
            payload["action"] = data.draw(st.sampled_from(["submit", "approve", ""]))
        before = self.snapshot()
        response = client.post(self.entry_url(), payload)
        if "csrfmiddlewaretoken" in payload:
            self.assertIn(response.status_code, (200, 302, 404))
        else:
            self.assertEqual(response.status_code, 403)
        if response.status_code != 302:
            self.assertEqual(self.snapshot(), before)
        Figure.objects.filter(period=self.q4, target__in=own).delete()
        TaskUpdate.objects.filter(period=self.q4).delete()
