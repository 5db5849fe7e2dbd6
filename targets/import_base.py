"""What every spreadsheet import shares: the resource base class, the cycle
collector paused during a batch, and the lines that report a result.

What every import guarantees, on every path (targets.resources for bodies,
indicators, targets, tasks and assignments through the library's per-row path;
targets.figure_import for figures, as one batch):
- model validation on (`clean_model_instances`): the rules on the models (and for
  figures the lock rule, `models.lock_reason`) decide, not the import;
- all or nothing: a file with any error writes nothing (the transaction is rolled back
  on validation errors too, even when a caller forgets to ask);
- the same file twice changes nothing: a row equal to what is stored is skipped before
  anything is saved (Decimal("85") equals Decimal("85.0000"); line endings do not
  count), so it writes no row and no history;
- messages name the row, the column, the cell and its value: "Ô G5 (giá trị “3.865”):
  …". Dataset row n is spreadsheet row n + 1 (row 1 holds the headers).

Rows are keyed by natural keys, never database ids, under Vietnamese column headers;
every number goes through `numbers.parse_decimal` and the import runs in "vi"
whatever the administrator's browser says. The library's bulk mode stays off: it
skips model validation and the history.
"""

import gc
import hashlib
import threading
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from import_export import resources
from import_export.results import Error, Result, RowResult

from .import_cells import (
    EMPTY_KEY,
    RESOLUTION,
    ImportRejected,
    is_blank_row,
    same,
    shown,
)
from .import_lookups import Lookups
from .numbers import format_decimal
from .spreadsheet_limits import cell_name, normalize_header

_pause_lock = threading.Lock()
_pause = {"holders": 0, "was_enabled": False}


@contextmanager
def cycle_collection_paused():
    """Python's cycle collector paused while a batch is read, checked and written.

    A 10,000-row import allocates hundreds of thousands of objects (rows, cells,
    model instances, results) that live until it ends; each time the survivors
    grow by a quarter, the collector walks every object of the process (Django
    included): 3 to 5 full passes, about a quarter of the import's time, to find
    no garbage. Reference counting still frees everything as usual; cycles made
    meanwhile wait for the next collection. Process-wide, so counted: concurrent
    imports (threads of one worker) resume it when the last one ends, and only if
    it was on."""
    with _pause_lock:
        if _pause["holders"] == 0:
            _pause["was_enabled"] = gc.isenabled()
            gc.disable()
        _pause["holders"] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pause["holders"] -= 1
            if _pause["holders"] == 0 and _pause["was_enabled"]:
                gc.enable()


class KhoenOnResource(resources.ModelResource):
    """Vietnamese columns, natural keys, model validation, all or nothing."""

    #: Columns that identify a row: the file must have them.
    key_columns: tuple[str, ...] = ()
    #: Other columns the file must have.
    required_columns: tuple[str, ...] = ()
    #: Columns for model errors on fields that no resource field writes.
    error_columns: dict[str, str] = {}
    #: Relations to fetch with the rows of an export.
    export_related: tuple[str, ...] = ()

    class Meta:
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_bulk = False
        use_transactions = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lookups = Lookups()
        self.headers: list[str] = []
        self.row_number = 0
        self.seen: dict[tuple, int] = {}
        for field in self.fields.values():
            if hasattr(field.widget, "bind"):
                field.widget.bind(self)

    @classmethod
    def get_display_name(cls) -> str:
        return cls._meta.model._meta.verbose_name_plural.capitalize()

    # -- finding the row's object ---------------------------------------------------

    def find(self, row: dict) -> tuple[object | None, dict, tuple]:
        """The stored object the row is about (or None), the attributes of a new one,
        and the identity used to refuse a second row for the same object. Raises a
        ValidationError keyed by column when a key cannot be resolved."""
        raise NotImplementedError

    def read_key(self, errors: dict, column: str, read):
        try:
            return read()
        except ValueError as error:
            errors.setdefault(column, []).append(str(error))
            return None

    def resolution_key(self, errors: dict, row: dict):
        """The resolution the row's "Số nghị quyết" names (`read_key`)."""
        return self.read_key(
            errors, RESOLUTION, lambda: self.lookups.resolution(row[RESOLUTION])
        )

    def required_key(self, errors: dict, column: str, read):
        """`read_key`, and the empty cell's message when the key reads as nothing:
        the row could not be identified."""
        value = self.read_key(errors, column, read)
        if value in (None, "") and column not in errors:
            errors[column] = [EMPTY_KEY]
        return value

    def get_or_init_instance(self, instance_loader, row):
        instance, attrs, identity = self.find(row)
        first = self.seen.setdefault(identity, self.row_number)
        if first != self.row_number:
            raise ValidationError(self.duplicate_message(first))
        if instance is not None:
            return instance, False
        return self._meta.model(**attrs), True

    def duplicate_message(self, first: int) -> str:
        return (
            f"Dòng này trùng với dòng {first + 1} (cùng "
            f"{', '.join(self.key_columns)}). Mỗi đối tượng chỉ được có một dòng "
            "trong tệp: hãy xóa một trong hai dòng."
        )

    # -- headers, rows and messages -------------------------------------------------

    def header_problems(self, headers) -> list[str]:
        headers = [normalize_header(h) for h in headers or []]
        known = [f.column_name for f in self.fields.values()]
        problems = []
        blank = [cell_name(i, 1) for i, h in enumerate(headers, start=1) if not h]
        if blank:
            problems.append(
                f"Ô tiêu đề {', '.join(blank)} để trống: dòng 1 phải ghi tên cột cho "
                "mọi cột có số liệu."
            )
        unknown = [h for h in headers if h and h not in known]
        if unknown:
            problems.append(
                "Tệp có cột không thuộc mẫu "
                f"“{self.get_display_name()}”: "
                + ", ".join(f"“{h[:40]}”" for h in unknown)
                + ". Các cột của mẫu: "
                + ", ".join(known)
                + ". Hãy tải tệp mẫu và giữ nguyên dòng tiêu đề."
            )
        repeated = sorted({h for h in headers if h and headers.count(h) > 1})
        if repeated:
            problems.append(
                "Cột "
                + ", ".join(f"“{h}”" for h in repeated)
                + " xuất hiện nhiều lần; mỗi cột chỉ được có một."
            )
        missing = [
            c for c in self.key_columns + self.required_columns if c not in headers
        ]
        if missing:
            problems.append(
                "Thiếu cột bắt buộc: " + ", ".join(f"“{c}”" for c in missing) + "."
            )
        return problems

    def rejected(self, messages: list[str]) -> Result:
        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        for message in messages:
            result.append_base_error(Error(ImportRejected(message)))
        return result

    def at(self, column: str, row: dict, message: str) -> str:
        """The message, prefixed with the cell and the value it is about."""
        if column not in self.headers:
            return f"(tệp không có cột “{column}”) {message}"
        cell = cell_name(self.headers.index(column) + 1, self.row_number + 1)
        return f"Ô {cell} ({shown(row.get(column))}): {message}"

    def locate(self, error: ValidationError, row: dict) -> ValidationError:
        """Key every message by its column and say which cell it is about."""
        by_attribute = {
            f.attribute: f.column_name for f in self.fields.values() if f.attribute
        }
        if hasattr(error, "error_dict"):
            items = error.message_dict.items()
        else:
            items = [(NON_FIELD_ERRORS, error.messages)]
        located: dict[str, list[str]] = {}
        for key, messages in items:
            if key in self.headers or key == NON_FIELD_ERRORS:
                column = key
            else:
                column = by_attribute.get(key) or self.error_columns.get(key)
            for message in messages:
                if column is None:
                    text, target = message, NON_FIELD_ERRORS
                elif column == NON_FIELD_ERRORS:
                    text, target = message, column
                else:
                    text, target = self.at(column, row, message), column
                if text not in located.get(target, []):
                    located.setdefault(target, []).append(text)
        return ValidationError(located)

    # -- the library's hooks ----------------------------------------------------------

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        """The library's import, always in a transaction that a validation error rolls
        back, and always in Vietnamese."""
        with translation.override("vi"):
            dataset.headers = [normalize_header(h) for h in dataset.headers or []]
            problems = self.header_problems(dataset.headers)
            if problems:
                return self.rejected(problems)
            return super().import_data(
                dataset,
                dry_run=dry_run,
                raise_errors=raise_errors,
                use_transactions=True,
                collect_failed_rows=collect_failed_rows,
                rollback_on_validation_errors=True,
                **kwargs,
            )

    def before_import(self, dataset, **kwargs) -> None:
        self.lookups = Lookups()
        self.headers = list(dataset.headers or [])
        self.seen = {}

    def import_row(self, row, instance_loader, **kwargs):
        self.row_number = kwargs.get("row_number", 0)
        if is_blank_row(row):
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            row_result.diff = []
            return row_result
        row_result = super().import_row(row, instance_loader, **kwargs)
        if row_result.validation_error is not None:
            row_result.validation_error = self.locate(row_result.validation_error, row)
        return row_result

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or original is None or original.pk is None:
            return False
        return all(
            same(field.get_value(original), field.get_value(instance))
            for field in self.get_import_fields()
        )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related(*self.export_related)


# -- reporting -------------------------------------------------------------------------


def plan_digest(result: Result) -> str:
    """A fingerprint of what an import will do, row by row (its kind and its cells
    before and after): the admin compares the preview's with the confirm's."""
    digest = hashlib.sha256()
    for row in result.rows:
        cells = [str(cell) for cell in (row.diff or [])]
        digest.update(repr((row.import_type, cells)).encode("utf-8"))
    return digest.hexdigest()


def totals_line(result: Result) -> str:
    t = result.totals
    return (
        f"Thêm mới: {format_decimal(t[RowResult.IMPORT_TYPE_NEW])} · "
        f"Cập nhật: {format_decimal(t[RowResult.IMPORT_TYPE_UPDATE])} · "
        f"Không đổi: {format_decimal(t[RowResult.IMPORT_TYPE_SKIP])} · "
        f"Lỗi: {format_decimal(error_count(result))}"
    )


def error_count(result: Result) -> int:
    return len(result.base_errors) + len(result.invalid_rows) + len(result.error_rows)


def error_lines(result: Result) -> list[str]:
    """Every problem of an import, one line each, naming the row and the column."""
    lines = [str(error.error) for error in result.base_errors]
    for row in result.invalid_rows:
        for column, messages in row.error_dict.items():
            place = f"Dòng {row.number + 1}"
            if column != NON_FIELD_ERRORS:
                place += f", cột “{column}”"
            lines.extend(f"{place}: {message}" for message in messages)
    for row in result.error_rows:
        for error in row.errors:
            lines.append(f"Dòng {row.number + 1}: {error.error}")
    return lines
