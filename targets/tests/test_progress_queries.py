"""The loaders fetch a page's data in a fixed number of queries, the same for one
resolution of about thirty targets and for fifty times as much."""

from django.db import connection
from django.db.models import F
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from targets import data_version
from targets.models import (
    Area,
    Assessment,
    Assignment,
    Figure,
    Indicator,
    ResponsibleBody,
    Role,
    Target,
    Verdict,
)
from targets.progress import Status
from targets.progress_load import load_resolution_progress, load_target_progress

from .builders import LEAD_QUERIES, SHAPE_QUERIES, D, Y, build_resolution


class LoadResolutionProgressTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.small, cls.small_periods = build_resolution("Khoen On", scale=1)
        cls.large, cls.large_periods = build_resolution("Bản Bo", scale=50)

    def load(self, resolution, period):
        with CaptureQueriesContext(connection) as queries:
            result = load_resolution_progress(resolution, period)
        return result, len(queries)

    def move_the_shape(self):
        """A write to a shape table (here a target's order, written back as it was):
        the structure token moves, as after any edit of the resolution."""
        Target.objects.filter(pk=Target.objects.first().pk).update(order=F("order"))

    def test_it_runs_the_same_queries_for_one_and_fifty_times_the_data(self):
        self.move_the_shape()
        small, small_queries = self.load(self.small, self.small_periods[3])
        large, large_queries = self.load(self.large, self.large_periods[3])
        self.assertEqual(small_queries, LEAD_QUERIES + SHAPE_QUERIES)
        self.assertEqual(large_queries, LEAD_QUERIES + SHAPE_QUERIES)
        self.assertEqual(len(small.items), 30)
        self.assertEqual(len(large.items), 1500)
        # The shape read, the next load reads the token, figures and assessments.
        with self.assertNumQueries(LEAD_QUERIES):
            load_resolution_progress(self.large, self.large_periods[4])

    def test_a_figure_changed_is_judged_without_reading_the_shape_again(self):
        before, _ = self.load(self.small, self.small_periods[4])
        jobs = before.items[0]
        figure = Figure.objects.get(target=jobs.target, period=self.small_periods[4])
        Figure.objects.filter(pk=figure.pk).update(value=figure.value + 1000)
        after, queries = self.load(self.small, self.small_periods[4])
        self.assertEqual(queries, LEAD_QUERIES)
        self.assertEqual(after.items[0].progress.value, jobs.progress.value + 1000)
        self.assertIs(after.items[0].target, jobs.target)  # the kept shape

    def test_a_target_renamed_shows_at_the_next_load(self):
        self.load(self.small, self.small_periods[4])
        target = Target.objects.filter(indicator__resolution=self.small).first()
        Target.objects.filter(pk=target.pk).update(name="Tên đổi giữa hai lần đọc")
        after, queries = self.load(self.small, self.small_periods[4])
        self.assertEqual(queries, LEAD_QUERIES + SHAPE_QUERIES)
        renamed = next(i.target for i in after.items if i.target.pk == target.pk)
        self.assertEqual(renamed.name, "Tên đổi giữa hai lần đọc")

    def test_a_body_moved_off_a_target_shows_at_the_next_load(self):
        self.load(self.small, self.small_periods[4])
        assignment = Assignment.objects.filter(
            target__indicator__resolution=self.small, role=Role.SUPPORTING
        ).first()
        assignment.delete()
        after, _ = self.load(self.small, self.small_periods[4])
        item = next(i for i in after.items if i.target.pk == assignment.target_id)
        self.assertNotIn(assignment.pk, [a.pk for a in item.assignments])

    def test_it_judges_each_target_at_the_selected_quarter(self):
        result, _ = self.load(self.small, self.small_periods[3])
        statuses = {item.target.code: item.progress.status for item in result.items}
        self.assertEqual(statuses["1-0"], Status.ON_TRACK)  # 180 jobs, 240 forecast
        self.assertEqual(statuses["2-1"], Status.ON_TRACK)  # forest cover trend
        self.assertEqual(statuses["3-2"], Status.AT_RISK)  # 65 of "above 70": 92,86%
        self.assertEqual(statuses["4-3"], Status.AT_RISK)  # malnutrition 16,4
        self.assertEqual(statuses["5-4"], Status.BEHIND)  # maintain broke in II
        self.assertEqual(statuses["6-5"], Status.NO_DATA)
        jobs = result.items[0].progress
        # The quarter IV figure exists but lies after the selected quarter.
        self.assertEqual((jobs.value, jobs.forecast), (D("180"), D("240")))

    def test_it_applies_the_approvers_verdict_at_the_selected_quarter(self):
        result, _ = self.load(self.small, self.small_periods[4])
        malnutrition = next(i for i in result.items if i.target.code == "4-3").progress
        self.assertEqual(malnutrition.status, Status.MET)
        self.assertEqual(malnutrition.computed_verdict, Verdict.NOT_MET)
        self.assertEqual(
            malnutrition.override_reason, "Số liệu điều tra của tỉnh là 15,9%."
        )
        jobs = next(i for i in result.items if i.target.code == "1-0").progress
        self.assertEqual((jobs.status, jobs.override), (Status.EXCEEDED, None))

    def test_it_rolls_up_by_resolution_area_indicator_and_body(self):
        result, _ = self.load(self.small, self.small_periods[4])
        # Per six targets: exceeded, met, already met (a quarter missing: no
        # year's result), met (override), not met, no data.
        self.assertEqual(
            result.overall.summary,
            "30 chỉ tiêu: 5 vượt, 10 đạt, 5 không đạt, 5 đã đạt, 5 chưa có số liệu",
        )
        self.assertEqual(
            list(result.by_area), [Area.ECONOMY, Area.SOCIETY, Area.ENVIRONMENT]
        )
        self.assertEqual(sum(c.total for c in result.by_area.values()), 30)
        self.assertEqual(len(result.by_indicator), 11)
        self.assertEqual(sum(c.total for c in result.by_indicator.values()), 30)
        # Each target counts for its lead and its supporting body, not the supervisor.
        self.assertEqual(len(result.by_body), 5)
        self.assertEqual(sum(c.total for c in result.by_body.values()), 60)
        self.assertNotIn("Thường trực HĐND xã", [b.name for b in result.by_body])

    def test_it_keeps_each_resolution_to_itself(self):
        result, _ = self.load(self.small, self.small_periods[4])
        self.assertEqual(
            {i.target.indicator.resolution_id for i in result.items}, {self.small.pk}
        )


class ResolutionLoaderTests(TestCase):
    """The loader's instances are what the ORM loads; pages keep what they drew under
    the data version (targets.data_version), which every change of what the loader
    reads moves."""

    @classmethod
    def setUpTestData(cls):
        cls.resolution, cls.periods = build_resolution("Khoen On", scale=1)

    def test_the_built_instances_equal_what_the_orm_loads(self):
        def values(instance):
            fields = instance._meta.concrete_fields
            return {f.attname: getattr(instance, f.attname) for f in fields}

        def with_body(assignment):
            return (assignment.pk, values(assignment), values(assignment.body))

        items = load_resolution_progress(self.resolution, self.periods[3]).items
        targets = Target.objects.filter(indicator__resolution=self.resolution)
        loaded = {}
        for assignment in Assignment.objects.filter(target__in=targets).select_related(
            "body"
        ):
            loaded.setdefault(assignment.target_id, []).append(with_body(assignment))
        orm = list(targets.select_related("indicator"))
        self.assertEqual([i.target.pk for i in items], [t.pk for t in orm])
        for item, target in zip(items, orm, strict=True):
            self.assertEqual(values(item.target), values(target))
            self.assertEqual(values(item.target.indicator), values(target.indicator))
            self.assertEqual(
                sorted(with_body(a) for a in item.assignments),
                sorted(loaded[target.pk]),
            )

    def test_any_change_to_what_the_progress_reads_moves_the_data_version(self):
        target = Target.objects.filter(indicator__resolution=self.resolution).first()
        figure = Figure.objects.filter(target=target, period=self.periods[2])
        changes = {
            "a target's unit": lambda: Target.objects.filter(pk=target.pk).update(
                unit="tấn"
            ),
            "an indicator's text": lambda: Indicator.objects.filter(
                pk=target.indicator_id
            ).update(text="Nội dung mới"),
            "a figure's value": lambda: figure.update(value=D("51")),
            "a figure sent, not approved": lambda: figure.update(state="submitted"),
            "an assessment": lambda: Assessment.objects.create(
                target=target,
                period=self.periods[3],
                verdict=Verdict.NOT_MET,
                reason="Chưa đạt theo số liệu của huyện.",
            ),
            "a body's name": lambda: ResponsibleBody.objects.filter(
                assignments__target=target, assignments__role=Role.LEAD
            ).update(name="Đơn vị mới"),
            "an assignment's role": lambda: Assignment.objects.filter(
                target=target, role=Role.SUPPORTING
            ).update(note="Phối hợp kiểm tra số liệu"),
        }
        for what, change in changes.items():
            with self.subTest(what):
                before = data_version.current()
                change()
                self.assertNotEqual(data_version.current(), before)

    def test_a_draft_leaves_the_data_version_as_it_was(self):
        # Drafts neither count nor show as sent: pages keep what they drew.
        before = data_version.current()
        # Approved figures cannot be deleted (the lock rule): draft them first.
        Figure.objects.filter(period=self.periods[3]).update(state="draft")
        Figure.objects.filter(period=self.periods[3]).delete()
        emptied = data_version.current()
        self.assertNotEqual(emptied, before)
        Figure.objects.create(
            target=Target.objects.filter(indicator__resolution=self.resolution)[5],
            period=self.periods[3],
            value=D("1"),
            state="draft",
        )
        self.assertEqual(data_version.current(), emptied)


class LoadTargetProgressTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.resolution, cls.periods = build_resolution("Khoen On", scale=1)
        cls.jobs = Target.objects.get(indicator__resolution=cls.resolution, code="1-0")
        cls.malnutrition = Target.objects.get(
            indicator__resolution=cls.resolution, code="4-3"
        )

    def test_it_gives_one_row_per_window_quarter_up_to_the_selected_one(self):
        load_target_progress(self.jobs, self.periods[2])  # the shape read, kept
        # The structure token, the figures, the assessments.
        with self.assertNumQueries(3):
            history = load_target_progress(self.jobs, self.periods[3])
        self.assertEqual([r.quarter for r in history.rows], [(Y, 1), (Y, 2), (Y, 3)])
        self.assertEqual(
            [(r.figure.value, r.progress.status) for r in history.rows],
            [
                (D("50"), Status.AT_RISK),
                (D("60"), Status.AT_RISK),
                (D("70"), Status.ON_TRACK),
            ],
        )
        self.assertEqual(history.progress.forecast, D("240"))
        self.assertEqual(history.rows[0].label, "quý I/2025")
        self.assertEqual(
            [a.role for a in history.assignments],
            [Role.LEAD, Role.SUPPORTING, Role.SUPERVISING],
        )

    def test_it_applies_each_quarters_assessment(self):
        history = load_target_progress(self.malnutrition, self.periods[4])
        final = history.rows[-1].progress
        self.assertEqual(
            (final.status, final.computed_verdict), (Status.MET, Verdict.NOT_MET)
        )
        self.assertEqual(history.progress, final)
        self.assertEqual(history.rows[2].progress.override, None)

    def test_its_query_count_does_not_grow_with_a_longer_window(self):
        Target.objects.filter(pk=self.jobs.pk).update(
            window_start_year=Y - 5, window_start_quarter=1
        )
        jobs = Target.objects.select_related("indicator").get(pk=self.jobs.pk)
        # The window is the shape's: the first load reads it again (4 queries).
        with self.assertNumQueries(3 + 4):
            load_target_progress(jobs, self.periods[4])
        with self.assertNumQueries(3):
            history = load_target_progress(jobs, self.periods[4])
        self.assertEqual(len(history.rows), 24)
        # Only 2025 has figures: 240 jobs over the six-year window, twenty quarters
        # missing, so no result for the window: already met, not Vượt.
        self.assertEqual(history.progress.status, Status.ALREADY_MET)
        self.assertFalse(history.progress.is_final)
        self.assertEqual(len(history.progress.missing), 20)


class ReportedFiguresTests(TestCase):
    """Delegates and reports judge approved figures only; drafts stay the clerk's."""

    def test_only_approved_figures_count_unless_asked_for_all(self):
        resolution, periods = build_resolution("Thử", 1)
        target = Target.objects.filter(indicator__resolution=resolution).first()
        Figure.objects.filter(target=target).update(state="draft")
        q4 = periods[4]
        reported = {
            i.target.pk: i.progress.status
            for i in load_resolution_progress(resolution, q4).items
        }
        everything = {
            i.target.pk: i.progress.status
            for i in load_resolution_progress(resolution, q4, states=None).items
        }
        self.assertEqual(reported[target.pk], Status.NO_DATA)
        self.assertNotEqual(everything[target.pk], Status.NO_DATA)
        history = load_target_progress(target, q4)
        self.assertEqual(history.progress.status, Status.NO_DATA)
        self.assertNotEqual(
            load_target_progress(target, q4, states=None).progress.status,
            Status.NO_DATA,
        )
