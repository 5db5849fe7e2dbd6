"""Each page runs a fixed number of queries: the same for one resolution of thirty
targets and for one of fifty times as many targets, figures, assignments and tasks.
The counts include the request's own (session, user, roles) and the data version
(reports.page_cache). They are of a page drawn after a figure changed, the
resolution's shape kept in the process (targets.data_version.by_structure), and of
one drawn after the shape changed (RESHAPE more); a page served from the cache runs
the request's own and the version only."""

from unittest import mock

from django.core.cache import caches
from django.db import connection
from django.db.models import F
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from targets.models import (
    APPROVER,
    CLERK,
    DELEGATE,
    PeriodState,
    ResponsibleBody,
    Target,
)
from targets.tests.builders import build_resolution

from .builders import FAST_PASSWORDS, add_tasks, user

# session, user, roles; the data version, read with the structure token
# (targets.data_version.one_token). A page drawn then reads the periods with an
# approved figure.
REQUEST = 3
VERSION = 1
SELECTION = 1
# The progress loader: figures (they carry the sent ones and the last update),
# assessments. The task standings: the updates.
LOADER = 2
TASKS = 1
PAGES = {
    "reports:dashboard": REQUEST + VERSION + SELECTION + LOADER,
    "reports:bodies": REQUEST + VERSION + SELECTION + LOADER + TASKS,
    "reports:tasks": REQUEST + VERSION + SELECTION + TASKS,
    "reports:report": REQUEST + VERSION + SELECTION + LOADER,
    "reports:report_xlsx": REQUEST + VERSION + SELECTION + LOADER,
    "reports:report_pdf": REQUEST + VERSION + SELECTION + LOADER,
}
# After the shape changed: the resolutions, the periods, and the shape once
# (targets, their assignments, tasks, their assignments), whichever of the loaders
# reads it first.
RESHAPE = 1 + 1 + 4
# A clerk's links need its bodies and the targets they lead.
CLERK_LINKS = 2
LINKING = {"reports:dashboard", "reports:bodies"}
# session, user, roles; the version (with the structure token), the target, the
# periods with an approved figure (the periods themselves and the target's
# assignments are kept with the shape), the target's figures and assessments,
# evidence
TARGET_PAGE = REQUEST + VERSION + 1 + 1 + 2 + 1


@FAST_PASSWORDS
class PageQueryCountTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.small, small_periods = build_resolution("Khoen On", scale=1)
        cls.large, large_periods = build_resolution("Bản Bo", scale=50)
        add_tasks(cls.small, small_periods, scale=1)
        add_tasks(cls.large, large_periods, scale=50)
        cls.periods = {cls.small: small_periods, cls.large: large_periods}
        cls.delegate = user("dai-bieu", DELEGATE)
        cls.approver = user("phe-duyet", APPROVER)
        body = ResponsibleBody.objects.get(commune__name="Bản Bo", name="Đơn vị 000")
        cls.clerk = user("can-bo", CLERK, bodies=[body])
        # Quarter III is closed in both communes, quarter IV open.
        for periods in (small_periods, large_periods):
            periods[3].state = PeriodState.CLOSED
            periods[3].save(update_fields=["state"])

    def count(self, url, params, who=None, kept=False, reshaped=False, warm=True):
        """The queries of one request: of a page drawn after a figure changed (the
        shape kept: read by a first request unless `warm` is False, when the request
        before read it), after the shape changed (`reshaped`), or of one kept."""
        self.client.force_login(who or self.delegate)
        if reshaped:
            # A write to a shape table, as any edit of the resolution.
            Target.objects.filter(pk=Target.objects.first().pk).update(order=F("order"))
        elif not kept and warm:
            self.client.get(url, params)  # the shape read and kept
        if not kept:
            caches["pages"].clear()
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url, params)
        self.assertEqual(response.status_code, 200, url)
        return len(queries)

    def params(self, resolution, quarter=3):
        return {"nq": resolution.pk, "ky": self.periods[resolution][quarter].pk}

    def test_every_report_page_has_the_same_count_at_one_and_fifty_times(self):
        with mock.patch("reports.exports.html_to_pdf", return_value=b"%PDF-1.7"):
            for name, expected in PAGES.items():
                url = reverse(name)
                for resolution in (self.small, self.large):
                    # A closed quarter names its missing figures from the rows
                    # already read: no query more than an open one.
                    for quarter in (3, 4):
                        with self.subTest(
                            name, resolution=resolution.commune.name, quarter=quarter
                        ):
                            params = self.params(resolution, quarter)
                            self.assertEqual(
                                self.count(url, params, reshaped=True),
                                expected + RESHAPE,
                            )
                            # That request read the shape: the next drawing keeps it.
                            self.assertEqual(
                                self.count(url, params, warm=False), expected
                            )

    def test_the_count_does_not_depend_on_the_size_or_the_default_period(self):
        url = reverse("reports:dashboard")
        for who, extra in ((self.approver, 0), (self.clerk, CLERK_LINKS)):
            for resolution in (self.small, self.large):
                self.assertEqual(
                    self.count(url, {"nq": resolution.pk}, who),
                    PAGES["reports:dashboard"] + extra,
                )

    def test_the_target_page_has_the_same_count_in_both(self):
        for resolution in (self.small, self.large):
            for code_end in ("-0", "-3", "-5"):
                target = Target.objects.filter(
                    indicator__resolution=resolution, code__endswith=code_end
                ).first()
                url = reverse("reports:target", args=[target.pk])
                for who in (self.delegate, self.approver):
                    with self.subTest(resolution=resolution.pk, code=target.code):
                        self.assertEqual(
                            self.count(
                                url, {"ky": self.periods[resolution][4].pk}, who
                            ),
                            TARGET_PAGE,
                        )

    def test_the_home_page_is_the_dashboard_with_the_same_count(self):
        self.assertEqual(
            self.count("/", {"nq": self.large.pk}), PAGES["reports:dashboard"]
        )

    def test_a_kept_page_costs_the_request_and_the_version_only(self):
        with mock.patch("reports.exports.html_to_pdf", return_value=b"%PDF-1.7"):
            for name in PAGES:
                # The dashboard and the scorecard link targets: a clerk's links.
                links = CLERK_LINKS if name in LINKING else 0
                for who, extra in ((self.delegate, 0), (self.clerk, links)):
                    with self.subTest(name, who=who.username):
                        url, params = reverse(name), self.params(self.large)
                        self.count(url, params, who)
                        self.assertEqual(
                            self.count(url, params, who, kept=True),
                            REQUEST + VERSION + extra,
                        )
        target = Target.objects.filter(indicator__resolution=self.large).first()
        url = reverse("reports:target", args=[target.pk])
        self.count(url, {})
        self.assertEqual(self.count(url, {}, kept=True), REQUEST + VERSION)
