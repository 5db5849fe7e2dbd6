"""The three tokens of the data version's row (migrations 0012, 0013), moved by the
database itself whoever writes: `current()` what readers see, `structure()` the
resolutions' shape the progress loaders keep, `entry()` everything the clerk's entry
page reads, drafts included. Written here through the ORM and SQL by hand; the pages'
write paths are reports/tests/test_data_version.py's."""

from decimal import Decimal

from django.db import connection
from django.test import TestCase

from targets import data_version
from targets.models import (
    Assessment,
    Figure,
    Indicator,
    Verdict,
    WorkflowState,
)

from .builders import add_target, build_commune

TOKENS = ("current", "structure", "entry")


class TokenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        resolution, cls.periods = build_commune("Tham Thử")
        cls.indicator = Indicator.objects.create(
            resolution=resolution, number=1, area="economy", text="Chỉ tiêu (1)"
        )
        cls.target = add_target(cls.indicator, "1.1")

    def tokens(self) -> dict:
        return {name: getattr(data_version, name)() for name in TOKENS}

    def assertMoves(self, write, *moved):
        before = self.tokens()
        write()
        after = self.tokens()
        for name in TOKENS:
            if name in moved:
                self.assertNotEqual(after[name], before[name], name)
            else:
                self.assertEqual(after[name], before[name], name)

    def draft(self, **fields) -> Figure:
        return Figure.objects.create(
            target=self.target, period=self.periods[1], value=Decimal("12"), **fields
        )

    def test_a_draft_moves_the_entry_token_only(self):
        self.assertMoves(self.draft, "entry")
        drafts = Figure.objects.filter(state=WorkflowState.DRAFT)
        self.assertMoves(lambda: drafts.update(note="sửa nháp"), "entry")
        # By hand: the ORM's delete also runs an (empty) delete of the evidence,
        # whose statement trigger on PostgreSQL moves every token, harmlessly.
        with connection.cursor() as cursor:
            self.assertMoves(
                lambda: cursor.execute(
                    "DELETE FROM targets_figure WHERE state = %s", [WorkflowState.DRAFT]
                ),
                "entry",
            )

    def test_a_draft_written_by_hand_moves_the_entry_token(self):
        figure = self.draft()
        with connection.cursor() as cursor:
            self.assertMoves(
                lambda: cursor.execute(
                    "UPDATE targets_figure SET value = 13 WHERE id = %s", [figure.pk]
                ),
                "entry",
            )

    def test_an_approval_moves_what_readers_see_but_not_the_shape(self):
        figure = self.draft()
        self.assertMoves(
            lambda: Figure.objects.filter(pk=figure.pk).update(
                state=WorkflowState.APPROVED
            ),
            "current",
            "entry",
        )

    def test_an_assessment_moves_what_readers_see_but_not_the_shape(self):
        self.assertMoves(
            lambda: Assessment.objects.create(
                target=self.target,
                period=self.periods[1],
                verdict=Verdict.MET,
                reason="Đã kiểm tra tại thực địa.",
            ),
            "current",
            "entry",
        )

    def test_a_target_renamed_moves_all_three(self):
        self.assertMoves(
            lambda: (
                type(self.target)
                .objects.filter(pk=self.target.pk)
                .update(name="Tên mới")
            ),
            *TOKENS,
        )

    def test_a_target_renamed_by_hand_moves_all_three(self):
        with connection.cursor() as cursor:
            self.assertMoves(
                lambda: cursor.execute(
                    "UPDATE targets_target SET name = 'Tên sửa tay' WHERE id = %s",
                    [self.target.pk],
                ),
                *TOKENS,
            )

    def test_a_new_period_moves_the_shape(self):
        period = self.periods[4]
        self.assertMoves(
            lambda: (
                type(period)
                .objects.filter(pk=period.pk)
                .update(deadline=period.deadline)
            ),
            *TOKENS,
        )

    def test_a_new_epoch_changes_every_token(self):
        before = self.tokens()
        data_version.new_epoch()
        after = self.tokens()
        for name in TOKENS:
            self.assertNotEqual(after[name], before[name], name)


class ByStructureTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        resolution, _ = build_commune("Tham Thử")
        cls.indicator = Indicator.objects.create(
            resolution=resolution, number=1, area="economy", text="Chỉ tiêu (1)"
        )

    def names(self):
        return data_version.by_structure(
            ("test-names", self.indicator.pk),
            lambda: list(
                Indicator.objects.filter(pk=self.indicator.pk).values_list(
                    "text", flat=True
                )
            ),
        )

    def test_kept_until_the_shape_changes_whoever_writes(self):
        self.assertEqual(self.names(), ["Chỉ tiêu (1)"])
        with self.assertNumQueries(1):  # the token alone
            self.assertEqual(self.names(), ["Chỉ tiêu (1)"])
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE targets_indicator SET text = 'Sửa tay' WHERE id = %s",
                [self.indicator.pk],
            )
        self.assertEqual(self.names(), ["Sửa tay"])

    def test_a_drawing_reads_the_token_once(self):
        self.names()
        with self.assertNumQueries(1), data_version.one_token():
            self.names()
            self.names()
            self.names()
        with self.assertNumQueries(2):  # outside a drawing, a read each time
            self.names()
            self.names()

    def test_a_reader_pages_key_reads_the_token_with_the_version(self):
        self.names()
        with self.assertNumQueries(1), data_version.one_token():
            version = data_version.current()
            self.names()
            with data_version.one_token():  # nested: the same token
                self.names()
        self.assertEqual(version, data_version.current())
