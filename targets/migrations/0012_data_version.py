"""The data version: one row that every write of what readers see moves, kept by the
database itself (targets.data_version says how it is read and why triggers).

Triggers rather than code in the writers: the portal, the admin, the imports, a
restore, a management command and SQL typed by hand all write these tables, and only
the database sees every one of them. The same tables on SQLite and PostgreSQL.

Scope: what a reader page, file or API answer can show. Every change of the
structure tables moves it. A figure or task update moves it unless the row was and
stays a draft or returned: the reader pages judge approved figures only and the
scorecard shows submitted ones, so a clerk's drafts (the most frequent write) leave
every cached page valid.

The version is a random number rather than a counter: a transaction rolled back
after moving it must never hand its number to different data later (a counter
would come back to the same value). The epoch is a random text, written here and
again by every restore (targets.backups), so a restored older database never
matches an entry kept for a later state.
"""

import secrets

from django.db import migrations

STRUCTURE = [
    "targets_commune",
    "targets_resolution",
    "targets_indicator",
    "targets_target",
    "targets_responsiblebody",
    "targets_task",
    "targets_assignment",
    "targets_reportingperiod",
    "targets_evidence",
    "targets_assessment",
]
WORKFLOW = ["targets_figure", "targets_taskupdate"]
UNSEEN = "('draft', 'returned')"  # WorkflowState.DRAFT, WorkflowState.RETURNED

TABLE = (
    "CREATE TABLE targets_dataversion ("
    "id integer PRIMARY KEY CHECK (id = 1), "
    "epoch varchar(32) NOT NULL, "
    "version bigint NOT NULL)"
)

# SQLite: row triggers only; random() is a 64-bit integer.
SQLITE_BUMP = "UPDATE targets_dataversion SET version = random();"


def _sqlite(table: str, event: str, when: str = "") -> list[str]:
    when = f" WHEN {when}" if when else ""
    name = f"{table}_dataversion_{event.lower()}"
    return [
        f"CREATE TRIGGER {name} AFTER {event} ON {table}{when} "
        f"BEGIN {SQLITE_BUMP} END"
    ]


def sqlite_statements() -> list[str]:
    statements = []
    for table in STRUCTURE:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements += _sqlite(table, event)
    for table in WORKFLOW:
        statements += _sqlite(table, "INSERT", f"NEW.state NOT IN {UNSEEN}")
        statements += _sqlite(
            table, "UPDATE", f"OLD.state NOT IN {UNSEEN} OR NEW.state NOT IN {UNSEEN}"
        )
        statements += _sqlite(table, "DELETE", f"OLD.state NOT IN {UNSEEN}")
    return statements


# PostgreSQL: one statement trigger per structure table (a bulk import moves the
# version once per statement, TRUNCATE too); row triggers with a WHEN for the
# workflow tables (a statement trigger cannot look at the rows).
PG_FUNCTION = """
CREATE FUNCTION targets_dataversion_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE targets_dataversion
    SET version = floor(random() * 9223372036854775807)::bigint;
    RETURN NULL;
END
$$
"""
PG_BUMP = "EXECUTE FUNCTION targets_dataversion_bump()"


def postgresql_statements() -> list[str]:
    statements = [PG_FUNCTION]
    for table in STRUCTURE:
        statements.append(
            f"CREATE TRIGGER {table}_dataversion "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT {PG_BUMP}"
        )
    for table in WORKFLOW:
        for event, when in (
            ("INSERT", f"NEW.state NOT IN {UNSEEN}"),
            ("UPDATE", f"OLD.state NOT IN {UNSEEN} OR NEW.state NOT IN {UNSEEN}"),
            ("DELETE", f"OLD.state NOT IN {UNSEEN}"),
        ):
            statements.append(
                f"CREATE TRIGGER {table}_dataversion_{event.lower()} "
                f"AFTER {event} ON {table} FOR EACH ROW WHEN ({when}) {PG_BUMP}"
            )
        statements.append(
            f"CREATE TRIGGER {table}_dataversion_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT {PG_BUMP}"
        )
    return statements


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        statements = sqlite_statements()
    elif vendor == "postgresql":
        statements = postgresql_statements()
    else:
        raise RuntimeError(f"No data version triggers for {vendor}.")
    schema_editor.execute(TABLE)
    schema_editor.execute(
        "INSERT INTO targets_dataversion (id, epoch, version) VALUES (1, %s, 0)",
        [secrets.token_hex(8)],
    )
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    tables = STRUCTURE + WORKFLOW
    if vendor == "postgresql":
        # The triggers go with the function.
        schema_editor.execute("DROP FUNCTION targets_dataversion_bump() CASCADE")
    else:
        for table in tables:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS {table}_dataversion_{event}"
                )
    schema_editor.execute("DROP TABLE targets_dataversion")


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0011_target_plan_decimal_places"),
    ]

    operations = [migrations.RunPython(create, drop)]
