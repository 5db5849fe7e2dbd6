"""Two more tokens in the data version's row, moved by the same triggers as its version
(0012 says why triggers):

- `structure`: the resolution's shape, what the progress loaders read besides the
  figures (communes, resolutions, indicators, targets, bodies, tasks, assignments,
  periods). A figure approved leaves it: the loaders keep the shape they read under
  it (targets.progress_load) and read only figures and assessments after a change.
- `entry`: everything the clerk's entry page reads, drafts included. Every write of
  the data version's tables moves it, whatever the state: the entry page is kept
  under it (targets.views_entry), and a draft saved must show at the next request.

On PostgreSQL the workflow tables move `entry` with a statement trigger (one update
of the row per statement, however many drafts it writes); the reader version keeps
its row triggers, which look at the states.
"""

import importlib

from django.db import migrations

# 0012's tables, states and PostgreSQL function, as it wrote them.
v12 = importlib.import_module("targets.migrations.0012_data_version")

SHAPE = [
    "targets_commune",
    "targets_resolution",
    "targets_indicator",
    "targets_target",
    "targets_responsiblebody",
    "targets_task",
    "targets_assignment",
    "targets_reportingperiod",
]
OTHER = [t for t in v12.STRUCTURE if t not in SHAPE]  # evidence, assessment
UNSEEN = v12.UNSEEN

COLUMNS = [
    "ALTER TABLE targets_dataversion ADD COLUMN structure bigint NOT NULL DEFAULT 0",
    "ALTER TABLE targets_dataversion ADD COLUMN entry bigint NOT NULL DEFAULT 0",
]


# --- SQLite: row triggers; random() is a 64-bit integer. ---------------------------

SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def _sqlite_drop() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_dataversion_{event.lower()}"
        for table in v12.STRUCTURE + v12.WORKFLOW
        for event in SQLITE_EVENTS
    ]


def _sqlite_trigger(table: str, event: str, sets: str) -> str:
    return (
        f"CREATE TRIGGER {table}_dataversion_{event.lower()} AFTER {event} ON {table} "
        f"BEGIN UPDATE targets_dataversion SET {sets}; END"
    )


def sqlite_statements() -> list[str]:
    statements = _sqlite_drop()
    for table in SHAPE:
        for event in SQLITE_EVENTS:
            sets = "version = random(), structure = random(), entry = random()"
            statements.append(_sqlite_trigger(table, event, sets))
    for table in OTHER:
        for event in SQLITE_EVENTS:
            statements.append(
                _sqlite_trigger(table, event, "version = random(), entry = random()")
            )
    seen = {
        "INSERT": f"NEW.state NOT IN {UNSEEN}",
        "UPDATE": f"OLD.state NOT IN {UNSEEN} OR NEW.state NOT IN {UNSEEN}",
        "DELETE": f"OLD.state NOT IN {UNSEEN}",
    }
    for table in v12.WORKFLOW:
        for event in SQLITE_EVENTS:
            sets = (
                f"version = CASE WHEN {seen[event]} THEN random() ELSE version END, "
                "entry = random()"
            )
            statements.append(_sqlite_trigger(table, event, sets))
    return statements


# --- PostgreSQL -------------------------------------------------------------------

PG_FUNCTIONS = [
    # 0012's function, now moving `entry` as well (its triggers stay as they are).
    """
CREATE OR REPLACE FUNCTION targets_dataversion_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE targets_dataversion
    SET version = floor(random() * 9223372036854775807)::bigint,
        entry = floor(random() * 9223372036854775807)::bigint;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION targets_dataversion_bump_structure() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE targets_dataversion
    SET version = floor(random() * 9223372036854775807)::bigint,
        structure = floor(random() * 9223372036854775807)::bigint,
        entry = floor(random() * 9223372036854775807)::bigint;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION targets_dataversion_bump_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE targets_dataversion
    SET entry = floor(random() * 9223372036854775807)::bigint;
    RETURN NULL;
END
$$
""",
]


def postgresql_statements() -> list[str]:
    statements = list(PG_FUNCTIONS)
    for table in SHAPE:
        statements += [
            f"DROP TRIGGER {table}_dataversion ON {table}",
            f"CREATE TRIGGER {table}_dataversion "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION targets_dataversion_bump_structure()",
        ]
    for table in v12.WORKFLOW:
        statements.append(
            f"CREATE TRIGGER {table}_dataversion_entry "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION targets_dataversion_bump_entry()"
        )
    return statements


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        statements = COLUMNS + sqlite_statements()
    elif vendor == "postgresql":
        statements = COLUMNS + postgresql_statements()
    else:
        raise RuntimeError(f"No data version triggers for {vendor}.")
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    """Back to 0012: its triggers, without the two columns."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION targets_dataversion_bump_entry() CASCADE")
        schema_editor.execute(
            "DROP FUNCTION targets_dataversion_bump_structure() CASCADE"
        )
        schema_editor.execute(v12.PG_FUNCTION.replace("CREATE", "CREATE OR REPLACE", 1))
        for table in SHAPE:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_dataversion "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT {v12.PG_BUMP}"
            )
    else:
        for statement in _sqlite_drop() + v12.sqlite_statements():
            schema_editor.execute(statement)
    for column in ("structure", "entry"):
        schema_editor.execute(f"ALTER TABLE targets_dataversion DROP COLUMN {column}")


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0012_data_version"),
    ]

    operations = [migrations.RunPython(create, drop)]
