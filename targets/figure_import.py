"""Figures imported from a spreadsheet, as one batch: the admin (preview and
confirm), `manage.py import_figures` and any caller of `import_data`.

The keys the file refers to are read in one query per model (targets.import_lookups),
the stored figures in one query, every row is validated in memory (the resource's own
widgets; `Figure.clean_fields` on the row's own fields; the one batch check,
targets.validation.check_figures with the stored rows handed in, for the target's
window, sign, bounds and decimals and the lock), and only then are the rows written
(targets.figure_writes): the new figures as multi-row INSERTs returning their ids,
the changed ones as one executemany UPDATE, and one history row per change with the
user, the date and the change reason. It is what makes a 10,000-row file take
seconds instead of minutes.

There is no per-row path for figures: the library's (get the row, full_clean, save,
one history row per save) is not wired here, and `find`, its entry, refuses.
"""

import copy
from collections import OrderedDict
from contextlib import nullcontext
from decimal import Decimal
from html import escape

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.base import ModelState
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from import_export.results import RowResult

from . import models
from .figure_writes import write_figures
from .import_base import KhoenOnResource, cycle_collection_paused
from .import_cells import (
    QUARTER,
    RESOLUTION,
    TARGET_CODE,
    YEAR,
    ChoiceWidget,
    Computed,
    IntegerWidget,
    KeyWidget,
    TextWidget,
    decimal_field,
    is_blank_row,
    model_field,
    read_integer,
    same,
    tidy,
)
from .import_lookups import Lookups
from .models import Figure, FigureKind, ReportingPeriod, Target
from .plausibility import flags_for
from .progress import TargetSpec
from .spreadsheet_limits import normalize_header
from .validation import Action, FigureCheck, check_figures

# The row's own fields; every other one is the batch's or the workflow's.
FIGURE_FIELDS = ("value", "kind", "note")


def importing_user(user):
    """The user an import is made by, or None (an anonymous caller)."""
    return user if getattr(user, "pk", None) else None


class FigureBatchResource(KhoenOnResource):
    """Figures, imported as one batch; exported one row per figure (the columns
    below). See the module docstring."""

    key_columns = (RESOLUTION, TARGET_CODE, YEAR, QUARTER)
    required_columns = ("Số liệu",)
    error_columns = {"target": TARGET_CODE, "period": QUARTER}
    export_related = ("target__indicator__resolution", "period")

    resolution = Computed(
        RESOLUTION, lambda f: f.target.indicator.resolution.number, KeyWidget()
    )
    target_code = Computed(TARGET_CODE, lambda f: f.target.code, KeyWidget())
    target_name = Computed("Tên chỉ tiêu", lambda f: f.target.name)
    unit = Computed("Đơn vị tính", lambda f: f.target.unit)
    year = Computed(YEAR, lambda f: f.period.year, IntegerWidget())
    quarter = Computed(QUARTER, lambda f: f.period.quarter, IntegerWidget(roman=True))
    # Parsed to the column's limits; the target's own (decimals, sign) are
    # Figure.clean()'s, with its messages.
    value = decimal_field("value", "Số liệu", required=True)
    kind = model_field(
        "kind", "Loại số liệu", ChoiceWidget(FigureKind, default=FigureKind.ACTUAL)
    )
    note = model_field("note", "Ghi chú", TextWidget())
    state = Computed("Trạng thái", lambda f: f.get_state_display())

    class Meta(KhoenOnResource.Meta):
        model = Figure
        fields = (
            "resolution",
            "target_code",
            "target_name",
            "unit",
            "year",
            "quarter",
            "value",
            "kind",
            "note",
            "state",
        )
        import_id_fields = ("resolution", "target_code", "year", "quarter")

    def dehydrate_value(self, figure: Figure) -> Decimal:
        # Exports show the target's decimals (85,00 for a 2-place target).
        return tidy(figure.value, figure.target.decimal_places)

    def keys(self, row: dict) -> tuple[Target, ReportingPeriod]:
        errors = {}
        lookups = self.lookups
        resolution = self.resolution_key(errors, row)
        target = resolution and self.read_key(
            errors, TARGET_CODE, lambda: lookups.target(resolution, row[TARGET_CODE])
        )
        year = self.required_key(errors, YEAR, lambda: read_integer(row[YEAR]))
        quarter = self.required_key(
            errors, QUARTER, lambda: read_integer(row[QUARTER], roman=True)
        )
        if quarter is not None and not 1 <= quarter <= 4:
            errors[QUARTER] = ["Quý phải từ 1 đến 4 (hoặc I, II, III, IV)."]
            quarter = None
        period = None
        if resolution and year is not None and quarter is not None:
            period = self.read_key(
                errors,
                QUARTER,
                lambda: lookups.period(resolution.commune, year, quarter),
            )
        if errors:
            raise ValidationError(errors)
        return target, period

    def find(self, row):
        """The library's per-row path reaches a row's figure here: figures have none
        (see the module docstring)."""
        raise NotImplementedError("Figures are imported as one batch: import_data.")

    def duplicate_message(self, first: int) -> str:
        return (
            f"Dòng này trùng với dòng {first + 1}: cùng chỉ tiêu và cùng kỳ báo cáo. "
            "Mỗi chỉ tiêu chỉ có một số liệu mỗi quý: hãy xóa một trong hai dòng."
        )

    def import_data(self, dataset, dry_run=False, **kwargs):
        """Check every row, then write all of them or none (always: the library's
        raise_errors, use_transactions… options do not apply). `with_diff=False` skips
        the preview's per-cell diff (the management command needs no HTML)."""
        user = importing_user(kwargs.get("user"))
        with_diff = kwargs.get("with_diff", True)
        with translation.override("vi"), cycle_collection_paused():
            dataset.headers = [normalize_header(h) for h in dataset.headers or []]
            problems = self.header_problems(dataset.headers)
            if problems:
                return self.rejected(problems)
            self.before_import(dataset)
            self.lookups = Lookups(
                lock_periods=not dry_run, targets=kwargs.get("known_targets")
            )
            result = self.get_result_class()()
            result.diff_headers = self.get_diff_headers()
            result.total_rows = len(dataset)
            # A preview reads only: no transaction, so it holds no lock (SQLite's
            # transactions take the write lock when they begin).
            writing = nullcontext() if dry_run else transaction.atomic()
            try:
                with writing:
                    new, changed = self._check(
                        dataset, result, user, dry_run, with_diff
                    )
                    if not dry_run and not result.has_validation_errors():
                        write_figures(new, changed, user, self.now)
            except IntegrityError:
                return self.rejected(
                    [
                        "Trong lúc nhập, có người vừa lưu số liệu của cùng chỉ tiêu và "
                        "kỳ báo cáo. Không có gì được ghi: hãy xem trước và nhập lại."
                    ]
                )
            for row_result in result.rows:
                if row_result.instance is not None and not dry_run:
                    row_result.add_instance_info(row_result.instance)
            return result

    def _check(self, dataset, result, user, dry_run, with_diff):
        """Fill `result` row by row; return the figures to create and to update."""
        parsed = self._parse(dataset)
        existing = self._stored(parsed, dry_run)
        self.now = timezone.now()
        prototype = _prototype(user, self.now)
        # Each row: its number, the row, and what became of it, (kind, figure,
        # cells before) or the ValidationError that refuses it.
        outcomes, changing, stored = [], [], {}
        for number, row, read in parsed:
            self.row_number = number
            outcome = read
            if isinstance(read, tuple):
                target, period, values = read
                figure = existing.get((target.pk, period.pk))
                before = self._cells(figure) if with_diff and figure else None
                kind, written = self._apply(figure, target, period, values, prototype)
                if kind != RowResult.IMPORT_TYPE_SKIP:
                    changing.append(len(outcomes))
                    if figure is not None:
                        stored[figure.pk] = figure
                outcome = (kind, written, before)
            outcomes.append((number, row, outcome))
        self._refuse(outcomes, changing, stored)
        return self._fill(result, outcomes, with_diff)

    def _parse(self, dataset) -> list:
        """(row number, row, read): the row's target, period and values, None for a
        blank row, or the ValidationError of a row that cannot be read."""
        parsed = []
        for number, values in enumerate(dataset, start=1):
            self.row_number = number
            row = OrderedDict(zip(self.headers, values, strict=True))
            if is_blank_row(row):
                parsed.append((number, row, None))
                continue
            try:
                parsed.append((number, row, self._read(row)))
            except ValidationError as error:
                parsed.append((number, row, error))
        return parsed

    def _stored(self, parsed: list, dry_run: bool) -> dict:
        """The stored figures the rows name, by (target id, period id), holding the
        looked-up target and period (locked when writing): one query."""
        keys = [p[2] for p in parsed if isinstance(p[2], tuple)]
        # By primary key: a related lookup normalises each of 10,000 ids.
        stored = Figure.objects.filter(
            target__pk__in={k[0].pk for k in keys},
            period__pk__in={k[1].pk for k in keys},
        ).order_by()
        if not dry_run:
            stored = stored.select_for_update()
        existing = {(f.target_id, f.period_id): f for f in stored}
        for target, period, _ in keys:
            figure = existing.get((target.pk, period.pk))
            if figure is not None:
                figure.target, figure.period = target, period
        return existing

    def _refuse(self, outcomes: list, changing: list, stored: dict) -> None:
        """The one batch check (targets.validation, DRAFT: the figure's own rules and
        the lock) over the rows that change a figure, in no query: the stored rows
        and every relation are loaded. A refused row's outcome becomes its error."""
        figures = [outcomes[i][2][1] for i in changing]
        checks = check_figures(figures, action=Action.DRAFT, stored=stored)
        for position, index in enumerate(changing):
            number, row, (kind, figure, before) = outcomes[index]
            error = _refusal(figure, checks.get(position))
            if error is not None:
                outcomes[index] = (number, row, error)

    def _fill(self, result, outcomes: list, with_diff: bool):
        """One RowResult per row, in the file's order; the figures to create and to
        update, and the plausibility warnings of those the file writes."""
        new, changed = [], []
        written = []  # (row number, row, figure) of the rows that change a figure
        for number, row, outcome in outcomes:
            self.row_number = number
            row_result = self.get_row_result_class()()
            if outcome is None:
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
                row_result.diff = []
            elif isinstance(outcome, ValidationError):
                self._invalid(result, row_result, number, row, outcome)
                continue
            else:
                kind, figure, before = outcome
                row_result.import_type = kind
                if kind == RowResult.IMPORT_TYPE_NEW:
                    new.append(figure)
                elif kind == RowResult.IMPORT_TYPE_UPDATE:
                    changed.append(figure)
                if kind != RowResult.IMPORT_TYPE_SKIP:
                    written.append((number, row, figure))
                row_result.instance = figure
                if with_diff:
                    row_result.diff = _diff(
                        before,
                        self._cells(figure),
                        new=kind == RowResult.IMPORT_TYPE_NEW,
                    )
            result.increment_row_result_total(row_result)
            result.append_row_result(row_result)
        result.plausibility_warnings = self._plausibility(written)
        return new, changed

    def _plausibility(self, written: list) -> list[str]:
        """The plausibility flags (targets/plausibility.py) of the figures the file
        writes, as warnings naming the cell: the preview shows them, nothing is
        refused. Each target's other quarters come from the database (one query)
        and from the file itself."""
        if not written:
            return []
        targets = {figure.target_id for _, _, figure in written}
        values: dict[int, dict] = {}
        for target_id, year, quarter, value in (
            Figure.objects.filter(target__pk__in=targets)
            .order_by()
            .values_list("target_id", "period__year", "period__quarter", "value")
        ):
            values.setdefault(target_id, {})[(year, quarter)] = value
        for _, _, figure in written:
            values.setdefault(figure.target_id, {})[figure.period.key] = figure.value
        warnings = []
        column = self.fields["value"].column_name
        specs: dict[int, TargetSpec] = {}  # a target's facts, once per target
        for number, row, figure in written:
            self.row_number = number
            target = figure.target
            spec = specs.get(target.pk)
            if spec is None:
                spec = specs[target.pk] = TargetSpec.from_model(target)
            for flag in flags_for(
                spec,
                values[figure.target_id],
                figure.period.key,
                unit=target.unit,
                allows_negative=target.allows_negative,
            ):
                warnings.append(
                    f"Dòng {number + 1}, chỉ tiêu {figure.target.code}, "
                    f"{figure.period}: {self.at(column, row, flag)}"
                )
        return warnings

    def _read(self, row: dict):
        """The row's target, period and cleaned values, or a ValidationError."""
        errors = {}
        try:
            target, period = self.keys(row)
        except ValidationError as error:
            errors = error.message_dict
            target = period = None
        values = {}
        for name in FIGURE_FIELDS:
            field = self.fields[name]
            if field.column_name in row:
                try:
                    values[name] = field.clean(row)
                except ValueError as error:
                    errors.setdefault(name, []).append(str(error))
        if not errors:
            identity = (target.pk, period.pk)
            first = self.seen.setdefault(identity, self.row_number)
            if first != self.row_number:
                errors[NON_FIELD_ERRORS] = [self.duplicate_message(first)]
        if errors:
            raise ValidationError(errors)
        return target, period, values

    def _apply(self, figure, target, period, values, prototype):
        """The row applied to the stored figure (None when there is none): the kind
        of change (new, update or skip) and the figure as it would be written, a
        new object (the stored one stays as read, for the lock). The fields every
        row shares (`prototype`: defaults, user, time) were checked once for the
        batch; each row's are checked by `_refuse`."""
        if figure is not None:
            if all(same(getattr(figure, k), v) for k, v in values.items()):
                return RowResult.IMPORT_TYPE_SKIP, figure
            changed = copy.copy(figure)
            for name, value in values.items():
                setattr(changed, name, value)
            changed.stamp(prototype.updated_by, models.VIA_IMPORT)  # version + 1
            changed.is_demo = False  # the administrator's figure now
            changed.updated_at = prototype.updated_at
            return RowResult.IMPORT_TYPE_UPDATE, changed
        candidate = _copy(prototype, target, period)
        for name, value in values.items():
            setattr(candidate, name, value)
        candidate.stamp(prototype.updated_by, models.VIA_IMPORT)
        return RowResult.IMPORT_TYPE_NEW, candidate

    def _invalid(self, result, row_result, number, row, error) -> None:
        row_result.import_type = RowResult.IMPORT_TYPE_INVALID
        row_result.validation_error = self.locate(error, row)
        result.increment_row_result_total(row_result)
        result.append_invalid_row(number, row, row_result.validation_error)
        result.append_row_result(row_result)

    def _cells(self, figure: Figure) -> list[str]:
        return [str(field.export(figure)) for field in self.get_import_fields()]


# Foreign keys come from the lookups (checking them would cost a query each); the
# other fields but the row's own are the prototype's, checked once per batch.
CHECKED_ONCE = frozenset(f.name for f in Figure._meta.fields) - set(FIGURE_FIELDS)
RELATIONS = ("target", "period", "updated_by", "submitted_by", "approved_by")


def _refusal(figure: Figure, check: FigureCheck | None) -> ValidationError | None:
    """What refuses a row that changes a figure, as the import shows it: a stored
    figure's lock alone (its other problems do not matter while it is locked), then
    the columns' limits (`clean_fields` on the row's own fields), then what the batch
    check says (the figure's own rules; a new figure's closed period)."""
    errors = check.errors if check is not None else {}
    if figure.pk is not None and NON_FIELD_ERRORS in errors:
        return ValidationError(errors[NON_FIELD_ERRORS])
    try:
        figure.clean_fields(exclude=CHECKED_ONCE)
    except ValidationError as error:
        return error
    return ValidationError(errors) if errors else None


def _prototype(user, now) -> Figure:
    """What every figure of a batch shares before its row's values: the model's
    defaults, the importing user, the time; checked once with the model's rules."""
    figure = Figure(updated_by=user, updated_at=now, is_demo=False)
    figure.clean_fields(exclude=[*RELATIONS, *FIGURE_FIELDS])
    return figure


def _copy(prototype: Figure, target: Target, period: ReportingPeriod) -> Figure:
    """A new unsaved figure like `prototype`, for `target` and `period`. A copy of
    its attributes: Model.__init__ (signals, every field's default) cost more than
    the row's own checks."""
    figure = Figure.__new__(Figure)
    figure.__dict__.update(prototype.__dict__)
    figure.__dict__["target_id"], figure.__dict__["period_id"] = target.pk, period.pk
    figure._state = ModelState()
    # After the ids: assigning an id through its descriptor drops the cached object.
    figure._state.fields_cache = {
        **prototype._state.fields_cache,
        "target": target,
        "period": period,
    }
    return figure


def _diff(before: list[str] | None, after: list[str], *, new: bool) -> list[str]:
    """The preview's cells: the value, or what it was and what it becomes."""
    cells = []
    for index, value in enumerate(after):
        old = before[index] if before is not None else value
        if new:
            cells.append(mark_safe(f"<ins>{escape(value)}</ins>"))
        elif same(old, value):
            cells.append(mark_safe(f"<span>{escape(value)}</span>"))
        else:
            cells.append(
                mark_safe(f"<del>{escape(old)}</del> <ins>{escape(value)}</ins>")
            )
    return cells
