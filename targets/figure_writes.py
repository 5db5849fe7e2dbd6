"""Writing a batch of imported figures (targets.figure_import) and their history rows.

As django-simple-history's bulk helpers write them (the figure's values, the batch's
time as the history date, the user, the change reason, "+" for a new figure and "~"
for a change), but without the ORM compiling every value of every row: the new
figures as multi-row INSERTs returning their ids, the changed ones as one
executemany UPDATE, each column converted by its own field, once when the batch
shares it."""

from django.conf import settings
from django.db import connections, router
from django.db.models.fields import Field as ModelField

from . import models
from .models import Figure

BATCH_SIZE = 500

UPDATED_FIELDS = (
    "value",
    "kind",
    "note",
    "version",
    "is_demo",
    "updated_by",
    "updated_at",
)


def write_figures(new: list[Figure], changed: list[Figure], user, now) -> None:
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
