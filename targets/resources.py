"""Spreadsheet import and export of the resolution's data (django-import-export).

One resource per kind of row: responsible bodies, indicators, targets, tasks,
assignments and figures. Rows are keyed by natural keys, never database ids
(a figure by resolution number + target code + year + quarter, a body by commune +
province + name), under Vietnamese column headers; choice columns take the Vietnamese
labels. Every number goes through `numbers.parse_decimal` (never the library's
language-dependent parsing), and the import runs with the same language ("vi")
whatever the administrator's browser says, so a file gives the same rows and the same
messages for everyone.

What every import guarantees, on every path:
- model validation on (`clean_model_instances`): the rules on the models (and for
  figures the lock rule, `models.lock_reason`) decide, not this module;
- all or nothing: a file with any error writes nothing (the transaction is rolled back
  on validation errors too, even when a caller forgets to ask);
- the same file twice changes nothing: a row equal to what is stored is skipped before
  anything is saved (Decimal("85") equals Decimal("85.0000"); line endings do not
  count), so it writes no row and no history;
- messages name the row, the column, the cell and its value: "Ô G5 (giá trị “3.865”):
  …". Dataset row n is spreadsheet row n + 1 (row 1 holds the headers).

Figures have two paths with one set of columns and one set of rules:
- `FigureResource` is the library's per-row path (get the row, set the fields,
  full_clean, save, one history row per save). The library's own `import` command and
  any other caller of `import_data` get it.
- `FigureBatchResource` backs the admin (preview and confirm) and `manage.py
  import_figures`: the keys the file refers to are read in one query per model, the
  stored figures in one query, every row is validated in memory (the resource's own
  widgets; `Figure.clean_fields` and `Figure.clean` on an unsaved copy, so windows,
  decimals and negatives are the model's rules; `models.lock_reason` for a stored
  figure), and only then are the rows written (`_write`): the new figures as
  multi-row INSERTs returning their ids, the changed ones as one executemany UPDATE,
  and one history row per change with the user, the date and the change reason, as
  django-simple-history's bulk helpers write them but without the ORM compiling
  every value of every row. It is what makes a 10,000-row file take seconds instead
  of minutes; tests run the same rule cases through both paths.

The library's bulk mode stays off: it skips model validation and the history.
"""

import gc
import hashlib
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from functools import cached_property
from html import escape

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models.base import ModelState
from django.db.models.fields import Field as ModelField
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from import_export import resources
from import_export.fields import Field
from import_export.results import Error, Result, RowResult
from import_export.widgets import Widget

from . import models
from .models import (
    QUARTER_NAMES,
    Area,
    Assignment,
    BodyKind,
    Combine,
    Comparison,
    ExpectedPath,
    Figure,
    FigureKind,
    Indicator,
    ReportingPeriod,
    Resolution,
    ResponsibleBody,
    Role,
    Target,
    Task,
    TaskKind,
    lock_reason,
)
from .numbers import StrictDecimalWidget, format_decimal
from .plausibility import flags_for
from .progress import TargetSpec
from .spreadsheets import cell_name, normalize_header

RESOLUTION = "Số nghị quyết"
TARGET_CODE = "Mã chỉ tiêu"
YEAR = "Năm"
QUARTER = "Quý"
BODY_NAME = "Tên cơ quan, đơn vị"
TASK_NUMBER = "Thứ tự nhiệm vụ"
EMPTY_KEY = "Ô này không được để trống: hệ thống dùng nó để xác định dòng."
BATCH_SIZE = 500


class ImportRejected(Exception):
    """A problem with the whole file (its headers, a concurrent write), shown as is."""


def key_text(value: object) -> str:
    """A key typed in a cell, compared leniently: case, spacing, Unicode form and the
    look-alike letter Ð (U+00D0, often typed for Đ) do not matter."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFC", str(value))
    text = text.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    return " ".join(text.split()).casefold()


def clean_key(value: object) -> str:
    """A key as it is stored for a new row: trimmed, single spaces, NFC."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    return " ".join(text.split())


def shown(value: object) -> str:
    """A cell's value as a message quotes it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "để trống"
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        try:
            text = format_decimal(Decimal(repr(value)))
        except (ValueError, ArithmeticError):
            text = repr(value)
    elif isinstance(value, int | Decimal):
        text = format_decimal(value) if Decimal(value).is_finite() else str(value)
    elif hasattr(value, "strftime"):
        text = value.strftime("%d/%m/%Y")
    else:
        text = str(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"giá trị “{text}”"


def same(stored: object, new: object) -> bool:
    """Equal for the import: Decimals by value, text whatever its line endings (xlsx
    cannot keep a CR, and browsers send textareas with CRLF)."""
    if isinstance(stored, str) and isinstance(new, str):
        return _lines(stored) == _lines(new)
    return stored == new


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def is_blank_row(row: dict) -> bool:
    return all(
        v is None or (isinstance(v, str) and not v.strip()) for v in row.values()
    )


# -- widgets ---------------------------------------------------------------------------


def _native(kwargs: dict) -> bool:
    return bool(kwargs.get("force_native_type"))


class TextWidget(Widget):
    """Free text, kept as written; an empty cell is ""."""

    def clean(self, value, row=None, **kwargs) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if hasattr(value, "strftime"):
            return value.strftime("%d/%m/%Y")
        return str(value)

    def render(self, value, obj=None, **kwargs) -> str:
        return "" if value is None else str(value)


class KeyWidget(TextWidget):
    """A name or code: trimmed, single spaces, NFC."""

    def clean(self, value, row=None, **kwargs) -> str:
        return clean_key(value)


ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}


def read_integer(value: object, *, roman: bool = False) -> int | None:
    """A whole number from a cell: 2025, "2025", 2025.0; with `roman`, also I–IV."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("Ô này phải là một số nguyên, không phải TRUE/FALSE.")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and value == int(value):
        return int(value)
    text = str(value).strip()
    if roman and text.upper() in ROMAN:
        return ROMAN[text.upper()]
    if text.isascii() and text.isdigit():
        return int(text)
    hint = " (hoặc I, II, III, IV)" if roman else ""
    raise ValueError(
        f"“{text[:40]}” không phải là số nguyên. Hãy ghi một số nguyên không có "
        f"dấu chấm hay dấu phẩy, ví dụ 2025 hoặc 3{hint}."
    )


class IntegerWidget(Widget):
    """Whole numbers, read the same in every language (the library's widget is not)."""

    def __init__(self, *, roman: bool = False, default: int | None = None) -> None:
        self.roman = roman
        self.default = default
        super().__init__(coerce_to_string=True)

    def clean(self, value, row=None, **kwargs) -> int | None:
        number = read_integer(value, roman=self.roman)
        return self.default if number is None else number

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if _native(kwargs) else str(value)


class ChoiceWidget(Widget):
    """A choice written with its Vietnamese label ("Ước thực hiện"); the label's head
    before a bracket ("Đạt" for "Đạt (≥)") and the stored code are accepted too."""

    def __init__(self, choices, *, default: str | None = None) -> None:
        self.choices = choices
        self.default = default
        self.accepted = {}
        for value, label in choices.choices:
            for name in (value, label, label.split(" (")[0]):
                self.accepted.setdefault(key_text(name), value)
        super().__init__(coerce_to_string=True)

    def clean(self, value, row=None, **kwargs) -> str | None:
        text = key_text(value)
        if not text:
            return self.default
        if text in self.accepted:
            return self.accepted[text]
        labels = ", ".join(f"“{label}”" for label in self.choices.labels)
        raise ValueError(f"“{clean_key(value)[:40]}” không hợp lệ. Hãy ghi: {labels}.")

    def render(self, value, obj=None, **kwargs) -> str:
        if value in self.choices.values:
            return str(self.choices(value).label)
        return "" if value is None else str(value)


class YesNoWidget(Widget):
    """Có / Không; an empty cell takes the default."""

    YES = {"có", "co", "x", "true", "1", "đúng"}
    NO = {"không", "khong", "false", "0", "sai"}

    def __init__(self, *, default: bool) -> None:
        self.default = default
        super().__init__(coerce_to_string=True)

    def clean(self, value, row=None, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        text = key_text(value)
        if not text:
            return self.default
        if text in self.YES:
            return True
        if text in self.NO:
            return False
        raise ValueError(
            f"“{clean_key(value)[:40]}” không hợp lệ. Hãy ghi Có hoặc Không."
        )

    def render(self, value, obj=None, **kwargs) -> str:
        return "" if value is None else ("Có" if value else "Không")


class NumberWidget(StrictDecimalWidget):
    """`numbers.StrictDecimalWidget`, optionally required; native exports carry no
    exponent and no zeros beyond the significant ones."""

    def __init__(self, *, required: bool = False, **kwargs) -> None:
        self.required = required
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> Decimal | None:
        number = super().clean(value, row, **kwargs)
        if number is None and self.required:
            raise ValueError("Chưa nhập số liệu: ô này không được để trống.")
        return number

    def render(self, value, obj=None, **kwargs):
        if value is not None and _native(kwargs):
            return tidy(value)
        return super().render(value, obj, **kwargs)


def tidy(value: Decimal, places: int | None = None) -> Decimal:
    """The value with its significant decimals only, or exactly `places` of them when
    that loses nothing; never an exponent."""
    value = Decimal(value)
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if places is not None and -exponent <= places:
        return value.quantize(Decimal(1).scaleb(-places))
    if exponent > 0:
        return value.quantize(Decimal(1))
    return normal


class Computed(Field):
    """A read-only column computed from the row's objects: the natural keys a row is
    found by, or context such as a target's name. Exported and previewed; on import a
    key column identifies the row and any other is ignored."""

    def __init__(self, column_name: str, getter, widget: Widget | None = None) -> None:
        super().__init__(
            column_name=column_name, widget=widget or TextWidget(), readonly=True
        )
        self.getter = getter

    def get_value(self, instance):
        try:
            return self.getter(instance)
        except (ObjectDoesNotExist, AttributeError):
            return None


# -- lookups ---------------------------------------------------------------------------


class Lookups:
    """The objects a file's keys refer to, each table read at most once per import
    (they are small: a commune has a few resolutions, ~30 targets, ~20 bodies), so no
    row costs a query. With `lock_periods` (an import that writes, inside its
    transaction) the periods are read FOR UPDATE: no period closes under the import.
    """

    def __init__(self, *, lock_periods: bool = False, targets=None) -> None:
        self.lock_periods = lock_periods
        self.found: dict = {}
        if targets is not None:
            # Already read by the caller (targets.sheets), with their indicator,
            # resolution and commune: not read a second time.
            self.__dict__["targets"] = {
                (t.indicator.resolution_id, key_text(t.code)): t for t in targets
            }

    @cached_property
    def resolutions(self) -> dict[str, list[Resolution]]:
        found = defaultdict(list)
        for resolution in Resolution.objects.select_related("commune").order_by("pk"):
            found[key_text(resolution.number)].append(resolution)
        return found

    def resolution(self, value: object) -> Resolution:
        memo = (type(value), value)
        if memo in self.found:  # a file names the same resolution on every row
            return self.found[memo]
        text = key_text(value)
        if not text:
            raise ValueError(EMPTY_KEY)
        found = self.resolutions.get(text, [])
        if len(found) > 1:
            raise ValueError(
                f"Có {len(found)} nghị quyết số “{clean_key(value)}” ở các xã khác "
                "nhau, không xác định được nghị quyết nào."
            )
        if not found:
            known = ", ".join(
                sorted({r.number for rs in self.resolutions.values() for r in rs})
            )
            raise ValueError(
                f"Không có nghị quyết số “{clean_key(value)[:40]}”. Hãy ghi đúng số "
                f"nghị quyết như trên văn bản ({known or 'chưa có nghị quyết nào'})."
            )
        self.found[memo] = found[0]
        return found[0]

    @cached_property
    def targets(self) -> dict[tuple[int, str], Target]:
        return {
            (t.indicator.resolution_id, key_text(t.code)): t
            for t in Target.objects.select_related("indicator__resolution__commune")
        }

    def target(self, resolution: Resolution, value: object) -> Target:
        text = key_text(value)
        if not text:
            raise ValueError(EMPTY_KEY)
        target = self.targets.get((resolution.pk, text))
        if target is None:
            codes = [t.code for (r, _), t in self.targets.items() if r == resolution.pk]
            listed = ", ".join(codes[:12]) + ("…" if len(codes) > 12 else "")
            raise ValueError(
                f"Nghị quyết {resolution.number} không có chỉ tiêu mã "
                f"“{clean_key(value)[:20]}”. Các mã có: {listed or 'chưa có'}."
            )
        return target

    @cached_property
    def indicators(self) -> dict[tuple[int, int], Indicator]:
        return {(i.resolution_id, i.number): i for i in Indicator.objects.all()}

    def indicator(self, resolution: Resolution, value: object) -> Indicator:
        number = read_integer(value)
        if number is None:
            raise ValueError(EMPTY_KEY)
        indicator = self.indicators.get((resolution.pk, number))
        if indicator is None:
            raise ValueError(
                f"Nghị quyết {resolution.number} chưa có chỉ tiêu ({number}). Hãy "
                "nhập danh sách chỉ tiêu trước."
            )
        return indicator

    @cached_property
    def tasks(self) -> dict[tuple[int, str, int], Task]:
        return {(t.resolution_id, t.kind, t.number): t for t in Task.objects.all()}

    def task(self, resolution: Resolution, kind: str, number: int) -> Task:
        task = self.tasks.get((resolution.pk, kind, number))
        if task is None:
            raise ValueError(
                f"Nghị quyết {resolution.number} không có "
                f"{TaskKind(kind).label.lower()} thứ {number}."
            )
        return task

    @cached_property
    def communes(self) -> dict[tuple[str, str], models.Commune]:
        return {
            (key_text(c.province), key_text(c.name)): c
            for c in models.Commune.objects.all()
        }

    def commune(self, province: object, name: object) -> models.Commune:
        commune = self.communes.get((key_text(province), key_text(name)))
        if commune is None:
            raise ValueError(
                f"Không có xã “{clean_key(name)[:40]}” thuộc tỉnh "
                f"“{clean_key(province)[:40]}”."
            )
        return commune

    @cached_property
    def bodies(self) -> dict[tuple[int, str], ResponsibleBody]:
        return {
            (b.commune_id, key_text(b.name)): b
            for b in ResponsibleBody.objects.select_related("commune")
        }

    def body(self, commune: models.Commune, value: object) -> ResponsibleBody:
        text = key_text(value)
        if not text:
            raise ValueError(EMPTY_KEY)
        body = self.bodies.get((commune.pk, text))
        if body is None:
            raise ValueError(
                f"Xã {commune.name} chưa có cơ quan, đơn vị “{clean_key(value)[:60]}”. "
                "Hãy nhập danh sách cơ quan, đơn vị trước."
            )
        return body

    @cached_property
    def periods(self) -> dict[tuple[int, int, int], ReportingPeriod]:
        periods = ReportingPeriod.objects.select_related("commune")
        if self.lock_periods:
            periods = periods.select_for_update(of=("self",))
        return {(p.commune_id, p.year, p.quarter): p for p in periods}

    def period(self, commune: models.Commune, year: int, quarter: int):
        period = self.periods.get((commune.pk, year, quarter))
        if period is None:
            name = QUARTER_NAMES.get(quarter, str(quarter))
            raise ValueError(
                f"Xã {commune.name} chưa có kỳ báo cáo Quý {name}/{year}. Hãy tạo kỳ "
                "báo cáo trong trang quản trị trước khi nhập số liệu của kỳ này."
            )
        return period

    @cached_property
    def assignments(self) -> dict[tuple, Assignment]:
        return {
            (a.body_id, a.target_id, a.task_id): a for a in Assignment.objects.all()
        }


# -- the shared behaviour --------------------------------------------------------------


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


def _field(attribute: str, column: str, widget: Widget) -> Field:
    return Field(attribute=attribute, column_name=column, widget=widget)


# -- responsible bodies, indicators, targets, tasks, assignments -----------------------


class ResponsibleBodyResource(KhoenOnResource):
    key_columns = ("Xã", "Tỉnh", BODY_NAME)
    error_columns = {"commune": "Xã", "name": BODY_NAME}
    export_related = ("commune",)

    commune = Computed("Xã", lambda b: b.commune.name, KeyWidget())
    province = Computed("Tỉnh", lambda b: b.commune.province, KeyWidget())
    name = Computed(BODY_NAME, lambda b: b.name, KeyWidget())
    short_name = _field("short_name", "Tên viết tắt", KeyWidget())
    kind = _field("kind", "Loại", ChoiceWidget(BodyKind))
    named_in_text = _field(
        "named_in_text", "Có tên trong nghị quyết", YesNoWidget(default=False)
    )
    role_in_text = _field("role_in_text", "Vai trò theo nghị quyết", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = ResponsibleBody
        fields = (
            "commune",
            "province",
            "name",
            "short_name",
            "kind",
            "named_in_text",
            "role_in_text",
        )
        import_id_fields = ("commune", "province", "name")

    def find(self, row):
        errors = {}
        commune = self.read_key(
            errors, "Xã", lambda: self.lookups.commune(row["Tỉnh"], row["Xã"])
        )
        name = clean_key(row[BODY_NAME])
        if not name:
            errors.setdefault(BODY_NAME, []).append(EMPTY_KEY)
        if errors:
            raise ValidationError(errors)
        body = self.lookups.bodies.get((commune.pk, key_text(name)))
        return body, {"commune": commune, "name": name}, (commune.pk, key_text(name))


class IndicatorResource(KhoenOnResource):
    key_columns = (RESOLUTION, "Số chỉ tiêu")
    error_columns = {"resolution": RESOLUTION, "number": "Số chỉ tiêu"}
    export_related = ("resolution",)

    resolution = Computed(RESOLUTION, lambda i: i.resolution.number, KeyWidget())
    number = Computed("Số chỉ tiêu", lambda i: i.number, IntegerWidget())
    area = _field("area", "Lĩnh vực", ChoiceWidget(Area))
    text = _field("text", "Nội dung nguyên văn", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Indicator
        fields = ("resolution", "number", "area", "text")
        import_id_fields = ("resolution", "number")

    def find(self, row):
        errors = {}
        resolution = self.read_key(
            errors, RESOLUTION, lambda: self.lookups.resolution(row[RESOLUTION])
        )
        number = self.read_key(
            errors, "Số chỉ tiêu", lambda: read_integer(row["Số chỉ tiêu"])
        )
        if number is None and "Số chỉ tiêu" not in errors:
            errors["Số chỉ tiêu"] = [EMPTY_KEY]
        if errors:
            raise ValidationError(errors)
        indicator = self.lookups.indicators.get((resolution.pk, number))
        attrs = {"resolution": resolution, "number": number}
        return indicator, attrs, (resolution.pk, number)


class IndicatorWidget(Widget):
    """The indicator number of a target, found in the row's resolution."""

    resource = None

    def bind(self, resource: KhoenOnResource) -> None:
        self.resource = resource

    def clean(self, value, row=None, **kwargs) -> Indicator | None:
        if read_integer(value) is None:
            return None
        resolution = self.resource.lookups.resolution(row[RESOLUTION])
        return self.resource.lookups.indicator(resolution, value)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value.number if _native(kwargs) else str(value.number)


def _decimal(attribute, column, places=4, negative=True, required=False) -> Field:
    widget = NumberWidget(
        decimal_places=places, allow_negative=negative, required=required
    )
    return _field(attribute, column, widget)


class TargetResource(KhoenOnResource):
    key_columns = (RESOLUTION, TARGET_CODE)
    error_columns = {"indicator": "Số chỉ tiêu", "code": TARGET_CODE}
    export_related = ("indicator__resolution",)

    resolution = Computed(
        RESOLUTION, lambda t: t.indicator.resolution.number, KeyWidget()
    )
    code = Computed(TARGET_CODE, lambda t: t.code, KeyWidget())
    indicator = _field("indicator", "Số chỉ tiêu", IndicatorWidget())
    # An empty cell takes the model's default (the path: "Tiến dần từ điểm xuất phát").
    order = _field("order", "Thứ tự", IntegerWidget(default=0))
    name = _field("name", "Tên chỉ tiêu cụ thể", TextWidget())
    unit = _field("unit", "Đơn vị tính", KeyWidget())
    target_value = _decimal("target_value", "Kế hoạch")
    comparison = _field("comparison", "Cách so sánh", ChoiceWidget(Comparison))
    combine = _field("combine", "Cách cộng các quý", ChoiceWidget(Combine))
    path = _field(
        "path",
        "Lộ trình kỳ vọng",
        ChoiceWidget(ExpectedPath, default=ExpectedPath.FROM_START),
    )
    baseline = _decimal("baseline", "Điểm xuất phát")
    min_value = _decimal("min_value", "Giới hạn nhỏ nhất")
    max_value = _decimal("max_value", "Giới hạn lớn nhất")
    decimal_places = _field(
        "decimal_places", "Số chữ số thập phân tối đa", IntegerWidget(default=2)
    )
    allows_negative = _field(
        "allows_negative", "Cho phép số âm", YesNoWidget(default=False)
    )
    window_start_year = _field("window_start_year", "Tính từ năm", IntegerWidget())
    window_start_quarter = _field(
        "window_start_quarter", "Tính từ quý", IntegerWidget(roman=True, default=1)
    )
    window_end_year = _field("window_end_year", "Đến năm", IntegerWidget())
    window_end_quarter = _field(
        "window_end_quarter", "Đến quý", IntegerWidget(roman=True, default=4)
    )
    profile_q1 = _decimal("profile_q1", "Tỷ trọng quý I (%)", 2, False)
    profile_q2 = _decimal("profile_q2", "Tỷ trọng quý II (%)", 2, False)
    profile_q3 = _decimal("profile_q3", "Tỷ trọng quý III (%)", 2, False)
    profile_q4 = _decimal("profile_q4", "Tỷ trọng quý IV (%)", 2, False)
    clause = _field("clause", "Trích nguyên văn nghị quyết", TextWidget())
    reading_note = _field("reading_note", "Ghi chú cách hiểu", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Target
        fields = (
            "resolution",
            "code",
            "indicator",
            "order",
            "name",
            "unit",
            "target_value",
            "comparison",
            "combine",
            "path",
            "baseline",
            "min_value",
            "max_value",
            "decimal_places",
            "allows_negative",
            "window_start_year",
            "window_start_quarter",
            "window_end_year",
            "window_end_quarter",
            "profile_q1",
            "profile_q2",
            "profile_q3",
            "profile_q4",
            "clause",
            "reading_note",
        )
        import_id_fields = ("resolution", "code")

    def find(self, row):
        errors = {}
        resolution = self.read_key(
            errors, RESOLUTION, lambda: self.lookups.resolution(row[RESOLUTION])
        )
        code = clean_key(row[TARGET_CODE])
        if not code:
            errors.setdefault(TARGET_CODE, []).append(EMPTY_KEY)
        if errors:
            raise ValidationError(errors)
        target = self.lookups.targets.get((resolution.pk, key_text(code)))
        return target, {"code": code}, (resolution.pk, key_text(code))


class TaskResource(KhoenOnResource):
    key_columns = (RESOLUTION, "Loại", "Thứ tự")
    error_columns = {"resolution": RESOLUTION, "kind": "Loại", "number": "Thứ tự"}
    export_related = ("resolution",)

    resolution = Computed(RESOLUTION, lambda t: t.resolution.number, KeyWidget())
    kind = Computed("Loại", lambda t: t.kind, ChoiceWidget(TaskKind))
    number = Computed("Thứ tự", lambda t: t.number, IntegerWidget())
    text = _field("text", "Nội dung nguyên văn", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Task
        fields = ("resolution", "kind", "number", "text")
        import_id_fields = ("resolution", "kind", "number")

    def find(self, row):
        errors = {}
        resolution = self.read_key(
            errors, RESOLUTION, lambda: self.lookups.resolution(row[RESOLUTION])
        )
        kind = self.read_key(
            errors, "Loại", lambda: self.fields["kind"].widget.clean(row["Loại"])
        )
        number = self.read_key(errors, "Thứ tự", lambda: read_integer(row["Thứ tự"]))
        for column, value in (("Loại", kind), ("Thứ tự", number)):
            if value is None and column not in errors:
                errors[column] = [EMPTY_KEY]
        if errors:
            raise ValidationError(errors)
        task = self.lookups.tasks.get((resolution.pk, kind, number))
        attrs = {"resolution": resolution, "kind": kind, "number": number}
        return task, attrs, (resolution.pk, kind, number)


def _assignment_resolution(assignment: Assignment) -> str:
    if assignment.target_id:
        return assignment.target.indicator.resolution.number
    return assignment.task.resolution.number


class AssignmentResource(KhoenOnResource):
    key_columns = (RESOLUTION, BODY_NAME, TARGET_CODE, "Loại nhiệm vụ", TASK_NUMBER)
    error_columns = {"body": BODY_NAME, "target": TARGET_CODE, "task": TASK_NUMBER}
    export_related = ("body", "target__indicator__resolution", "task__resolution")

    resolution = Computed(RESOLUTION, _assignment_resolution, KeyWidget())
    body = Computed(BODY_NAME, lambda a: a.body.name, KeyWidget())
    target = Computed(TARGET_CODE, lambda a: a.target.code, KeyWidget())
    task_kind = Computed("Loại nhiệm vụ", lambda a: a.task.kind, ChoiceWidget(TaskKind))
    task_number = Computed(TASK_NUMBER, lambda a: a.task.number, IntegerWidget())
    role = _field("role", "Vai trò", ChoiceWidget(Role))
    is_assumption = _field("is_assumption", "Giả định", YesNoWidget(default=True))
    note = _field("note", "Ghi chú", TextWidget())

    class Meta(KhoenOnResource.Meta):
        model = Assignment
        fields = (
            "resolution",
            "body",
            "target",
            "task_kind",
            "task_number",
            "role",
            "is_assumption",
            "note",
        )
        import_id_fields = ("resolution", "body", "target", "task_kind", "task_number")

    def find(self, row):
        errors = {}
        lookups = self.lookups
        resolution = self.read_key(
            errors, RESOLUTION, lambda: lookups.resolution(row[RESOLUTION])
        )
        body = resolution and self.read_key(
            errors, BODY_NAME, lambda: lookups.body(resolution.commune, row[BODY_NAME])
        )
        kind = self.read_key(
            errors,
            "Loại nhiệm vụ",
            lambda: self.fields["task_kind"].widget.clean(row["Loại nhiệm vụ"]),
        )
        number = self.read_key(
            errors, TASK_NUMBER, lambda: read_integer(row[TASK_NUMBER])
        )
        has_code = bool(key_text(row[TARGET_CODE]))
        if has_code == (kind is not None or number is not None):
            errors.setdefault(TARGET_CODE, []).append(
                "Mỗi dòng phân công ghi đúng một trong hai: mã chỉ tiêu, hoặc loại "
                "và thứ tự nhiệm vụ."
            )
        elif not has_code and (kind is None or number is None):
            column = "Loại nhiệm vụ" if kind is None else TASK_NUMBER
            errors.setdefault(column, []).append(
                "Ghi cả loại (Nhiệm vụ hoặc Giải pháp) và thứ tự của nhiệm vụ."
            )
        target = task = None
        if resolution and not errors:
            if has_code:
                target = self.read_key(
                    errors,
                    TARGET_CODE,
                    lambda: lookups.target(resolution, row[TARGET_CODE]),
                )
            else:
                task = self.read_key(
                    errors, TASK_NUMBER, lambda: lookups.task(resolution, kind, number)
                )
        if errors:
            raise ValidationError(errors)
        identity = (body.pk, getattr(target, "pk", None), getattr(task, "pk", None))
        attrs = {"body": body, "target": target, "task": task}
        return lookups.assignments.get(identity), attrs, identity


# -- figures ---------------------------------------------------------------------------

FIGURE_FIELDS = ("value", "kind", "note")


class FigureResource(KhoenOnResource):
    """Figures, by the library's per-row path. See the module docstring."""

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
    value = _decimal("value", "Số liệu", required=True)
    kind = _field(
        "kind", "Loại số liệu", ChoiceWidget(FigureKind, default=FigureKind.ACTUAL)
    )
    note = _field("note", "Ghi chú", TextWidget())
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
        resolution = self.read_key(
            errors, RESOLUTION, lambda: lookups.resolution(row[RESOLUTION])
        )
        target = resolution and self.read_key(
            errors, TARGET_CODE, lambda: lookups.target(resolution, row[TARGET_CODE])
        )
        year = self.read_key(errors, YEAR, lambda: read_integer(row[YEAR]))
        quarter = self.read_key(
            errors, QUARTER, lambda: read_integer(row[QUARTER], roman=True)
        )
        for column, value in ((YEAR, year), (QUARTER, quarter)):
            if value is None and column not in errors:
                errors[column] = [EMPTY_KEY]
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
        target, period = self.keys(row)
        figure = (
            Figure.objects.select_related("period")
            .filter(target=target, period=period)
            .first()
        )
        attrs = {"target": target, "period": period}
        return figure, attrs, (target.pk, period.pk)

    def duplicate_message(self, first: int) -> str:
        return (
            f"Dòng này trùng với dòng {first + 1}: cùng chỉ tiêu và cùng kỳ báo cáo. "
            "Mỗi chỉ tiêu chỉ có một số liệu mỗi quý: hãy xóa một trong hai dòng."
        )

    def before_save_instance(self, instance, row, **kwargs) -> None:
        user = importing_user(kwargs.get("user"))
        if instance.pk is not None:
            instance.version += 1
        instance.is_demo = False
        instance.updated_by = user
        instance._change_reason = models.VIA_IMPORT
        instance._history_user = user


def importing_user(user):
    return user if getattr(user, "pk", None) else None


class FigureBatchResource(FigureResource):
    """Figures with the same columns and rules, imported as one batch."""

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
        """Check every row, then write all of them or none. `with_diff=False` skips
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
                        _write(new, changed, user, self.now)
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
        keys = [p[2] for p in parsed if isinstance(p[2], tuple)]
        # By primary key: a related lookup normalises each of 10,000 ids.
        stored = Figure.objects.filter(
            target__pk__in={k[0].pk for k in keys},
            period__pk__in={k[1].pk for k in keys},
        ).order_by()
        if not dry_run:
            stored = stored.select_for_update()
        existing = {(f.target_id, f.period_id): f for f in stored}

        self.now = timezone.now()
        prototype = _prototype(user, self.now)
        new, changed = [], []
        written = []  # (row number, row, figure) of the rows that change a figure
        for number, row, read in parsed:
            self.row_number = number
            row_result = self.get_row_result_class()()
            if read is None:
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
                row_result.diff = []
            elif isinstance(read, ValidationError):
                self._invalid(result, row_result, number, row, read)
                continue
            else:
                target, period, values = read
                figure = existing.get((target.pk, period.pk))
                if figure is not None:
                    # The looked-up objects (periods locked when writing): no query.
                    figure.target, figure.period = target, period
                before = self._cells(figure) if with_diff and figure else None
                try:
                    kind, figure = self._apply(
                        figure, target, period, values, prototype
                    )
                except ValidationError as error:
                    self._invalid(result, row_result, number, row, error)
                    continue
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
        """Validate the row against the stored figure (None when there is none) and
        apply it. Returns the kind of change (new, update or skip) and the figure.
        The rules are the model's: Figure.clean_fields and Figure.clean on an unsaved
        figure holding the new values, and models.lock_reason for a stored one. The
        fields every row shares (`prototype`: defaults, user, time) were checked once
        for the batch; each row checks its own value, kind and note."""
        if figure is not None:
            if all(same(getattr(figure, k), v) for k, v in values.items()):
                return RowResult.IMPORT_TYPE_SKIP, figure
            reason = lock_reason(figure.state, figure.period)
            if reason:
                raise ValidationError(reason)
        candidate = _copy(prototype, target, period)
        if figure is not None:
            for name in FIGURE_FIELDS:
                setattr(candidate, name, getattr(figure, name))
        for name, value in values.items():
            setattr(candidate, name, value)
        candidate.clean_fields(exclude=CHECKED_ONCE)
        candidate.clean()
        if figure is None:
            candidate._change_reason = models.VIA_IMPORT
            return RowResult.IMPORT_TYPE_NEW, candidate
        for name in FIGURE_FIELDS:
            setattr(figure, name, getattr(candidate, name))
        figure.version += 1
        figure.is_demo = False  # the administrator's figure now
        figure.updated_by = prototype.updated_by
        figure.updated_at = prototype.updated_at
        figure._change_reason = models.VIA_IMPORT
        return RowResult.IMPORT_TYPE_UPDATE, figure

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


UPDATED_FIELDS = (
    "value",
    "kind",
    "note",
    "version",
    "is_demo",
    "updated_by",
    "updated_at",
)


def _write(new: list[Figure], changed: list[Figure], user, now) -> None:
    """The batch's rows and one history row per figure, as django-simple-history's
    bulk helpers would write them (the figure's values, `now` as the history date,
    the user, the change reason, "+" for a new figure and "~" for a change), sent
    as a few multi-row INSERTs per table. Django's bulk_create compiles every value
    of every row through the ORM (about half the import's time for 10,000 rows);
    here each column is converted by its own field, once when the batch shares it.
    """
    connection = connections[router.db_for_write(Figure)]
    if new:
        prepared = _insert_figures(new, now, connection)
        _insert_history(new, "+", user, now, connection, prepared)
    if changed:
        _update(changed)
        _insert_history(changed, "~", user, now, connection)


def _column(field, values: list, connection) -> list:
    """`values` as the driver takes them (the field's get_db_prep_save), converted
    once per distinct value: an import's rows share most columns (state, version,
    user, time, kind, period) and many values."""
    first = values[0]
    if values.count(first) == len(values):  # state, version, user, time…
        return [field.get_db_prep_save(first, connection)] * len(values)
    done: dict = {}
    column = []
    for value in values:
        key = (type(value), value)
        prepared = done.get(key, done)
        if prepared is done:
            prepared = done[key] = field.get_db_prep_save(value, connection)
        column.append(prepared)
    return column


def _insert(connection, model, fields, columns, returning=()) -> list[tuple]:
    """INSERT the rows given column by column; the `returning` columns of the new
    rows, in no particular order. The columns every row shares (state, version,
    user, time…) are sent once per statement, the others as a VALUES list:

        INSERT INTO t (a, b, c) SELECT column1, column2, %s
        FROM (VALUES (%s, %s), …) AS batch

    a third of the parameters, which on PostgreSQL are each quoted by the driver
    (half the INSERTs' time when every row carried its 16 values)."""
    count = len(columns[0])
    shared = [count > 1 and column.count(column[0]) == count for column in columns]
    if all(shared):
        shared = [False] * len(columns)
    varying = [i for i, same in enumerate(shared) if not same]
    constant = [i for i, same in enumerate(shared) if same]
    quote = connection.ops.quote_name
    names = ", ".join(quote(fields[i].column) for i in varying + constant)
    # PostgreSQL types a VALUES column from its rows: one that is NULL on every row
    # of a batch would be text. SQLite needs no cast (and would parse a date cast
    # to its "datetime" affinity as the number 2026).
    picked = [
        f"CAST(column{n} AS {fields[i].db_type(connection)})"
        if connection.vendor == "postgresql"
        else f"column{n}"
        for n, i in enumerate(varying, start=1)
    ]
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT "
        + ", ".join(picked + ["%s"] * len(constant))
        + " FROM (VALUES "
    )
    row = "(" + ", ".join(["%s"] * len(varying)) + ")"
    tail = ") AS batch"
    if returning:
        tail += " RETURNING " + ", ".join(quote(f.column) for f in returning)
    constants = [columns[i][0] for i in constant]
    limit = connection.features.max_query_params  # SQLite: 999; PostgreSQL: none
    size = (limit - len(constant)) // len(varying) if limit else count
    size = max(1, min(BATCH_SIZE, size))
    rows = list(zip(*(columns[i] for i in varying), strict=True))
    found = []
    with connection.cursor() as cursor:
        for start in range(0, count, size):
            batch = rows[start : start + size]
            cursor.execute(
                head + ", ".join([row] * len(batch)) + tail,
                constants + [value for values in batch for value in values],
            )
            if returning:
                found.extend(cursor.fetchall())
    return found


def _insert_figures(figures: list[Figure], now, connection) -> dict[str, list]:
    """The new figures, their ids set from the database. `updated_at` is the
    batch's `now` (auto_now); every other column is what the figure holds, through
    its field's pre_save (clean text) as any save would. Returns the columns as
    sent, by attribute name, for the history rows."""
    meta = Figure._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    columns = []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for figure in figures:
                setattr(figure, field.attname, now)
            values = [now] * len(figures)
        elif type(field).pre_save is not ModelField.pre_save:
            values = _pre_saved(field, figures)
        else:
            values = [getattr(figure, field.attname) for figure in figures]
        columns.append(_column(field, values, connection))
    target, period = meta.get_field("target"), meta.get_field("period")
    by_key = {(f.target_id, f.period_id): f for f in figures}
    if connection.features.can_return_rows_from_bulk_insert:
        ids = _insert(connection, Figure, fields, columns, (meta.pk, target, period))
    else:
        _insert(connection, Figure, fields, columns)
        ids = Figure.objects.filter(
            target__in={f.target_id for f in figures},
            period__in={f.period_id for f in figures},
        ).values_list("pk", "target_id", "period_id")
    for pk, target_id, period_id in ids:
        figure = by_key.get((target_id, period_id))
        if figure is not None:
            figure.pk = pk
    for figure in figures:
        figure._state.adding = False
        figure._state.db = connection.alias
    return {f.attname: column for f, column in zip(fields, columns, strict=True)}


def _pre_saved(field, figures: list[Figure]) -> list:
    """The field's pre_save for every figure (CleanTextField cleans the text), once
    per distinct value: the rows share defaults such as an empty reason."""
    done: dict = {}
    values = []
    for figure in figures:
        value = getattr(figure, field.attname)
        key = (type(value), value)
        if key not in done:
            done[key] = field.pre_save(figure, True)
        setattr(figure, field.attname, done[key])
        values.append(done[key])
    return values


def _insert_history(figures, kind: str, user, now, connection, prepared=None):
    """One history row per figure, as HistoryManager.bulk_history_create writes
    it: the tracked fields' values, the date, the user, the change reason.
    `prepared`: columns already converted for the figures' own INSERT."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    history = Figure.history.model
    if user is None:
        user = history.get_default_history_user(figures[0])
    tracked = {field.attname for field in history.tracked_fields}
    special = {
        "history_date": now,
        "history_type": kind,
        "history_user_id": getattr(user, "pk", None),
    }
    prepared = prepared or {}
    fields, columns = [], []
    for field in history._meta.concrete_fields:
        if field is history._meta.pk:
            continue
        if field.attname in prepared and field.attname in tracked:
            fields.append(field)
            columns.append(prepared[field.attname])
            continue
        if field.attname in tracked:
            values = [getattr(figure, field.attname) for figure in figures]
        elif field.attname == "history_change_reason":
            values = [
                getattr(figure, "_change_reason", None) or models.VIA_IMPORT
                for figure in figures
            ]
        elif field.attname in special:
            values = [special[field.attname]] * len(figures)
        else:
            continue  # a column with a default of its own
        fields.append(field)
        columns.append(_column(field, values, connection))
    _insert(connection, history, fields, columns)


def _update(figures: list[Figure]) -> None:
    """One parameterised UPDATE per figure, sent as a single executemany. Django's
    bulk_update builds a CASE expression per row and field: 15 s for 10,000 figures
    here, against a fraction of a second for this."""
    fields = [Figure._meta.get_field(name) for name in UPDATED_FIELDS]
    connection = connections[router.db_for_write(Figure)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(Figure._meta.db_table)} SET {assignments} "
        f"WHERE {quote(Figure._meta.pk.column)} = %s"
    )
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
        + [obj.pk]
        for obj in figures
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


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
