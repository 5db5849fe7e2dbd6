"""The clerk's entry page kept in the "pages" cache (settings.CACHES, files shared by
every worker), the way reports.page_cache keeps the delegates' pages.

What is kept is the page below the navigation, drawn without `request`: no CSRF
token, no user name, no message; the shell (templates/targets/entry.html) draws those
per request. It is kept under everything it depends on:
- the entry token (targets.data_version.entry): database triggers move it on every
  write of what the page reads, drafts, evidence and structure included, whoever
  writes; so a save shows at the next GET;
- the code and templates that draw it (`release`), and the status thresholds;
- the period, the clerk's bodies (membership is not under the token) and today
  (whether the quarter is open, the deadlines of the notice).
Nothing else of the user enters the page: `rules.editable_targets`, `entry_scope` and
`clerk_notice` read the clerk role (asked on every request) and the bodies.

The key is read before the page is drawn, so what is kept under a token is at least
as new as the token: a write while drawing moves the token and the next GET draws.

Only the plain page is kept (a GET without `gui=1`); the page of a refused POST or of
a refused "send" shows what the clerk typed and is drawn each time."""

from __future__ import annotations

import hashlib

from django.core.cache import caches

from . import data_version
from .progress import thresholds


def key(period_id: int, body_ids, today) -> str:
    """'entry:<entry token>:<digest of the rest>'. One query: the token."""
    rest = repr(
        (
            data_version.release(),
            thresholds(),
            period_id,
            sorted(body_ids),
            today.isoformat(),
        )
    )
    digest = hashlib.sha256(rest.encode()).hexdigest()
    return f"entry:{data_version.entry()}:{digest}"


def found(page_key: str) -> dict | None:
    """The page kept under `page_key`, or None."""
    return caches["pages"].get(page_key)


def keep(page_key: str, drawing: dict) -> None:
    caches["pages"].set(page_key, drawing)
