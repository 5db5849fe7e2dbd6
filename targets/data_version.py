"""The data version: a token that changes whenever anything a reader can see changes,
whoever wrote it and however (the portal, the admin, an import, a restore, SQL by
hand). Database triggers keep it (targets/migrations/0012_data_version.py says why
triggers and which changes count), so a page or file kept under one version is true
for as long as `current()` returns it."""

from __future__ import annotations

import secrets

from django.db import connection


def current() -> str:
    """'<epoch>.<version>', one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT epoch, version FROM targets_dataversion WHERE id = 1")
        row = cursor.fetchone()
    if row is None:  # the row deleted by hand: a new one, a new epoch
        return new_epoch()
    epoch, version = row
    return f"{epoch}.{version}"


def new_epoch() -> str:
    """A new epoch, so nothing kept before matches: after a restore, whose rows carry
    the version of the day the backup was taken."""
    epoch = secrets.token_hex(8)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM targets_dataversion")
        cursor.execute(
            "INSERT INTO targets_dataversion (id, epoch, version) VALUES (1, %s, 0)",
            [epoch],
        )
    return f"{epoch}.0"
