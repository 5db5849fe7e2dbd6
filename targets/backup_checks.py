"""What a backup is checked with: the row count and checksum of every table, the
sequences, the tables a restore would overwrite, the checksum of a file. A restore
that reports success has matched the manifest's checksums row for row."""

import hashlib
from pathlib import Path

# Tables that `migrate` fills by itself: a database holding rows only here is still
# empty. Any other row (a user, a figure, a session, a login attempt) makes it not.
FILLED_BY_MIGRATE = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "targets_dataversion",  # its one row (targets/migrations/0012_data_version.py)
}


class BackupError(Exception):
    """A backup or restore refused or failed; the message is for the operator, in
    Vietnamese, and says what to do."""


def unsupported(vendor: str) -> str:
    return f"Chưa hỗ trợ sao lưu cơ sở dữ liệu loại {vendor}: chỉ PostgreSQL và SQLite."


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def database_digests(cursor, vendor: str) -> dict[str, dict]:
    """{table: {"rows": n, "checksum": "..."}} for every table of the database.

    The checksum covers every row, in an order that does not depend on how the rows
    were stored, as the database itself prints them, so two databases compare equal
    exactly when they hold the same rows."""
    digests = {}
    if vendor == "postgresql":
        # Row text depends on the session's time zone and date style: fix both.
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute("SET datestyle = 'ISO, YMD'")
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "ORDER BY tablename"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' "
                f"ORDER BY t::text COLLATE \"C\"), '')) FROM {_quote(table)} AS t"
            )
            rows, checksum = cursor.fetchone()
            digests[table] = {"rows": rows, "checksum": f"md5:{checksum}"}
    elif vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"PRAGMA table_info({_quote(table)})")
            columns = [row[1] for row in cursor.fetchall()]
            # quote() gives each value's SQL text whatever converters the connection
            # has registered, so Django's connection and a plain one agree.
            expression = " || ',' || ".join(f"quote({_quote(c)})" for c in columns)
            cursor.execute(f"SELECT {expression} FROM {_quote(table)}")
            rows = sorted(row[0] for row in cursor.fetchall())
            checksum = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            digests[table] = {"rows": len(rows), "checksum": f"sha256:{checksum}"}
    else:
        raise BackupError(unsupported(vendor))
    return digests


def sequence_values(cursor) -> dict[str, int | None]:
    """PostgreSQL sequences and their last values. Sequences live outside
    transactions, so they are compared only when nobody writes (the drill test)."""
    cursor.execute(
        "SELECT sequencename, last_value FROM pg_sequences "
        "WHERE schemaname = current_schema() ORDER BY sequencename"
    )
    return dict(cursor.fetchall())


def digest_differences(expected: dict, actual: dict) -> list[str]:
    """Vietnamese lines naming each table whose rows differ."""
    lines = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if got is None:
            lines.append(f"thiếu bảng {table}")
        elif want is None:
            lines.append(f"thừa bảng {table}")
        elif want != got:
            lines.append(
                f"bảng {table}: {want['rows']} dòng khi sao lưu, {got['rows']} dòng "
                "sau khi khôi phục"
                if want["rows"] != got["rows"]
                else f"bảng {table}: cùng {got['rows']} dòng nhưng nội dung khác"
            )
    return lines


def tables_with_rows(cursor, vendor: str) -> dict[str, int]:
    """The tables holding rows that `migrate` did not put there, with their counts."""
    if vendor == "postgresql":
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%'"
        )
    found = {}
    for (table,) in sorted(cursor.fetchall()):
        if table in FILLED_BY_MIGRATE:
            continue
        cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
        (count,) = cursor.fetchone()
        if count:
            found[table] = count
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
