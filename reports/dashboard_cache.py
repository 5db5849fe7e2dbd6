"""Keys under which the dashboard's drawings are kept (reports.views.dashboard).

The dashboard is the page delegates open most, and drawing it costs several times
what reading its rows does. Drawings are kept in the "pages" cache (one per process,
see settings.CACHES) under keys that change whenever what they show could have: a
kept drawing is never stale, whoever changed the data and however (the portal, the
admin, an import, a restore, SQL by hand). Moved here unchanged from reports/views.py;
issue #17 replaces this design."""

from __future__ import annotations

import hashlib

from django.db import connections, router

from targets.models import Figure
from targets.progress import thresholds


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def snapshot_key(request, linkable) -> str | None:
    """On PostgreSQL: a key from the database's current snapshot, the list of the
    transactions in progress and the first transaction id not yet given out. Every
    commit changes it (the transaction leaves the list, or the bound moves), so two
    requests with the same snapshot read the same data, and a drawing kept under it
    can be served without reading anything else. Reads take no transaction id, so the
    snapshot holds until someone writes.

    None elsewhere, and when this connection has written in a transaction not yet
    committed: the snapshot does not show one's own writes."""
    # The database the rows are read from (a router may send reads to a standby).
    database = connections[router.db_for_read(Figure)]
    if database.vendor != "postgresql":
        return None
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()"
        )
        snapshot, own = cursor.fetchone()
    if own is not None:
        return None
    return "dashboard:snapshot:" + _digest(
        snapshot, sorted(request.GET.lists()), linkable, thresholds()
    )


def _loaded(instance) -> tuple:
    """The field values an instance holds; deferred ones read as None (reading them
    would be a query)."""
    values = instance.__dict__
    return tuple(values.get(f.attname) for f in instance._meta.concrete_fields)


def content_key(request, selection, rows, linkable) -> str:
    """A digest of everything the drawing is made of: the progress rows (with the
    sent figures), the query string, the resolutions and periods offered (with their
    state: a closed quarter names its missing figures) and the links this user may
    follow. The same digest can only come from the same data."""
    return "dashboard:content:" + _digest(
        rows.digest,
        sorted(request.GET.lists()),
        [(_loaded(r), _loaded(r.commune)) for r in selection.resolutions],
        [(_loaded(p), p.has_approved) for p in selection.periods],
        selection.resolution.pk,
        selection.period.pk,
        None if linkable is None else sorted(linkable),
    )
