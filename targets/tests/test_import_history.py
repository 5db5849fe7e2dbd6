"""The batched import writes its figures and their history rows itself (multi-row
INSERTs, figure_writes.write_figures): exactly one history row per figure written,
with the importing user, the date, the change reason and the figure's values, as
django-simple-history's own helpers would write them; the new figures know their
ids afterwards. Runs on SQLite and on PostgreSQL (.ci/with-postgres)."""

import gc
import unicodedata

from targets import models
from targets.figure_import import FigureBatchResource
from targets.import_base import cycle_collection_paused
from targets.import_cells import tidy
from targets.models import Figure
from targets.sheets import CommuneFigureResource, CommuneXLSX

from .base import HEADERS_NOTE, ImportTestCase, office_xlsx, row, run, xlsx

NFD_NOTE = unicodedata.normalize("NFD", "ghi chú")
TRACKED = (
    "id",
    "target_id",
    "period_id",
    "value",
    "kind",
    "note",
    "state",
    "state_reason",
    "version",
    "is_demo",
    "updated_at",
    "updated_by_id",
    "submitted_at",
    "submitted_by_id",
    "approved_at",
    "approved_by_id",
)


class BatchHistoryTests(ImportTestCase):
    def pairs(self):
        """Every (target, quarter) of 2025 inside the target's window, with a value
        its bounds accept: the resolution's whole year, about a hundred rows."""
        found = []
        for code, target in sorted(self.targets.items()):
            for quarter in range(1, 5):
                if not target.window[0] <= (2025, quarter) <= target.window[1]:
                    continue
                low = target.min_value if target.min_value is not None else 0
                high = target.max_value if target.max_value is not None else low + 90
                found.append((code, quarter, tidy(low), tidy(high)))
        return found

    def assert_history_matches(self, kind: str, count: int) -> None:
        history = Figure.history.filter(history_type=kind)
        self.assertEqual(history.count(), count)
        figures = {f.pk: f for f in Figure.objects.all()}
        for entry in history:
            figure = figures[entry.id]
            self.assertEqual(
                [getattr(entry, name) for name in TRACKED],
                [getattr(figure, name) for name in TRACKED],
            )
            self.assertEqual(entry.history_user, self.admin)
            self.assertEqual(entry.history_change_reason, models.VIA_IMPORT)
            self.assertEqual(entry.history_date, figure.updated_at)

    def test_n_new_rows_write_n_figures_and_n_history_rows_with_user_and_reason(self):
        pairs = self.pairs()
        self.assertGreater(len(pairs), 50)
        rows = [
            row(c, q, low, "Ước thực hiện", f"  {NFD_NOTE} {c}  ")
            for c, q, low, _ in pairs
        ]
        result = run(FigureBatchResource, xlsx(rows, HEADERS_NOTE), self.admin)

        self.assertFalse(result.has_validation_errors(), result.invalid_rows[:1])
        self.assertEqual(Figure.objects.count(), len(pairs))
        self.assert_history_matches("+", len(pairs))
        self.assertEqual(Figure.history.count(), len(pairs))
        # Text as every save stores it (clean_text: NFC, trimmed), in the figure
        # and in its history.
        self.assertEqual(
            set(Figure.history.values_list("note", flat=True)),
            {f"ghi chú {c}" for c, *_ in pairs},
        )
        # The ids the result names (the admin's log) are the stored figures'.
        stored = {
            pk: (code, quarter)
            for pk, code, quarter in Figure.objects.values_list(
                "pk", "target__code", "period__quarter"
            )
        }
        for result_row, (code, quarter, *_) in zip(result.rows, pairs, strict=True):
            self.assertEqual(stored[result_row.object_id], (code, quarter))
        for figure in Figure.objects.all():
            self.assertEqual(
                (figure.version, figure.state, figure.updated_by, figure.kind),
                (1, "draft", self.admin, "estimate"),
            )

    def test_n_changed_rows_write_n_history_rows_and_the_same_file_again_none(self):
        pairs = self.pairs()
        first = xlsx([row(c, q, low) for c, q, low, _ in pairs])
        run(FigureBatchResource, first, self.admin)
        second = xlsx([row(c, q, high) for c, q, _, high in pairs])

        result = run(FigureBatchResource, second, self.admin)

        changed = sum(1 for *_, low, high in pairs if low != high)
        self.assertEqual(result.totals["update"], changed)
        self.assert_history_matches("~", changed)
        self.assertEqual(Figure.history.count(), len(pairs) + changed)
        self.assertEqual(
            Figure.objects.filter(version=2).count(), changed, "one bump per change"
        )
        run(FigureBatchResource, second, self.admin)
        self.assertEqual(Figure.history.count(), len(pairs) + changed)

    def test_the_commune_layout_writes_one_history_row_per_figure(self):
        names = {t.code: t.name for t in self.targets.values()}
        sheet = [
            [str(i), names[c], self.targets[c].unit, None, low, "ghi chú"]
            for i, (c, q, low, _) in enumerate(self.pairs(), start=1)
            if q == 3 and list(names.values()).count(names[c]) == 1
        ]
        dataset = CommuneXLSX().create_dataset(office_xlsx(sheet))

        result = CommuneFigureResource().import_data(dataset, user=self.admin)

        self.assertEqual(result.proposal.problems, [])
        self.assertEqual(Figure.objects.count(), len(sheet))
        self.assert_history_matches("+", len(sheet))


class CyclePauseTests(ImportTestCase):
    def test_the_collector_is_on_after_an_import_that_failed(self):
        self.assertTrue(gc.isenabled())
        with self.assertRaises(ZeroDivisionError):
            with cycle_collection_paused():
                self.assertFalse(gc.isenabled())
                with cycle_collection_paused():  # nested: resumes only at the end
                    pass
                self.assertFalse(gc.isenabled())
                1 / 0  # noqa: B018
        self.assertTrue(gc.isenabled())

    def test_a_collector_turned_off_elsewhere_stays_off(self):
        gc.disable()
        try:
            run(FigureBatchResource, xlsx([row("2a", 3, "1")]), self.admin)
            self.assertFalse(gc.isenabled())
        finally:
            gc.enable()
