"""The data version: a token that changes whenever anything a reader can see changes,
whoever wrote it and however (the portal, the admin, an import, a restore, SQL by
hand). Database triggers keep it (targets/migrations/0012_data_version.py says why
triggers and which changes count), so a page or file kept under one version is true
for as long as `current()` returns it.

The same row holds two narrower and wider tokens (0013): `structure()`, the
resolution's shape that the progress loaders keep, which a figure leaves alone, and
`entry()`, everything the clerk's entry page reads, drafts included."""

from __future__ import annotations

import hashlib
import secrets
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection


def _read(*columns: str) -> list[str]:
    """'<epoch>.<column>' of each column, one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT epoch, {', '.join(columns)} FROM targets_dataversion WHERE id = 1"
        )
        row = cursor.fetchone()
    if row is None:  # the row deleted by hand: a new one, a new epoch
        return [new_epoch()] * len(columns)
    epoch, *values = row
    return [f"{epoch}.{value}" for value in values]


def current() -> str:
    """What readers see: '<epoch>.<version>', one query. Within `one_token`, the
    same query reads the structure token for the drawing that may follow."""
    if getattr(_drawing, "active", False) and _drawing.token is None:
        version, _drawing.token = _read("version", "structure")
        return version
    return _read("version")[0]


def structure() -> str:
    """The resolutions' shape (no figure, assessment or evidence), one query."""
    return _read("structure")[0]


def entry() -> str:
    """Everything, drafts included: what the entry page reads. One query."""
    return _read("entry")[0]


@cache
def release() -> str:
    """The code's own version beside the data's: a digest of the code and templates
    that draw the kept pages (the reader pages, the entry page), so that an entry drawn
    by the previous release is never served by this one (the file cache outlives a
    restart). Read once per process."""
    base = Path(settings.BASE_DIR)
    digest = hashlib.sha256()
    for folder, pattern in (
        ("templates", "**/*.html"),
        ("reports", "**/*.py"),
        ("targets", "**/*.py"),
    ):
        for path in sorted((base / folder).glob(pattern)):
            if "tests" not in path.parts and "migrations" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# key -> (structure token, value): what `by_structure` keeps in this process.
_kept: dict = {}
# The structure token of the drawing under way in this thread (`one_token`).
_drawing = threading.local()


@contextmanager
def one_token():
    """Within the block, the structure token is read once: a page drawn asks for
    the shape three times (the selection, the loader, the task standings), and on
    PostgreSQL each read is a round trip; a reader page's key (`current()`) reads it
    with the version. Blocks nest (the inner one is the outer's); nothing outlives
    the outermost."""
    if getattr(_drawing, "active", False):
        yield
        return
    _drawing.token = None
    _drawing.active = True
    try:
        yield
    finally:
        _drawing.active = False
        _drawing.token = None


def _structure_token() -> str:
    if not getattr(_drawing, "active", False):
        return structure()
    if _drawing.token is None:
        _drawing.token = structure()
    return _drawing.token


def by_structure(key, read):
    """`read()`'s value, kept in this process while the structure token holds: the
    token is read first (one query, once per drawing within `one_token`), `read()`
    runs only when it moved. For what is
    made of the shape tables alone (targets.progress_load.resolution_shape, the list of
    resolutions). The value is shared by every request of the process, so nothing may
    change it. Plain dict operations: safe across a worker's threads. A value read in
    a transaction that then rolls back is kept under a token that never comes back
    (the tokens are random)."""
    token = _structure_token()
    entry = _kept.get(key)
    if entry is not None and entry[0] == token:
        return entry[1]
    value = read()
    _kept[key] = (token, value)
    return value


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
