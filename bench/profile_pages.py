"""Where a page's time goes: the pages bench_pages.py finds slow, requested in one
Django process (no gunicorn, no network) on the database of DATABASE_URL, with the
time split into phases.

    DATABASE_URL=… .venv/bin/python bench/profile_pages.py [--runs 15] [--nq ID]

bench_pages.py runs it with `--profile`, against the database it has just measured
(production settings, its own PAGES_CACHE_DIR). Each round takes, in turn, the
trivial page, then for each page an approved figure's change (an ORM update: the
triggers move the data version) and the first request of the page, timed; then the
clerk's trivial page, the clerk's entry page (drawn: the round's changes moved the
entry token) and the same entry page again (kept, targets.entry_cache).
Each phase's time is its own (what it calls that is a phase itself is not counted
twice): SQL (the database driver's execute of every query, through a connection
execute wrapper), the page cache's file I/O (FileBasedCache get/set: pickle, zlib,
the file), the judgement (rows read and judged: the progress loader, the task
standings, the report's figures, the entry page's rows and reminders; with the
ORM's own Python — building queries, making instances — but not the execute), the
templates (Django's top-level template renders: the kept body, the shell, minus
their SQL), gzip, and the rest (middleware, session, view code). Medians over
--runs rounds. It prints figures and never fails.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from functools import wraps

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache.backends.filebased import FileBasedCache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.middleware import gzip as gzip_middleware  # noqa: E402
from django.template.backends import django as template_backend  # noqa: E402
from django.test import Client  # noqa: E402

import reports.views as views  # noqa: E402
import targets.views_entry as entry_views  # noqa: E402
from targets.models import Figure  # noqa: E402
from targets.views_entry import entry_period_for  # noqa: E402


class Phases:
    """Exclusive time per phase: a phase's time minus that of the phases inside."""

    def __init__(self):
        self.stack: list[list] = []
        self.own: dict[str, float] = defaultdict(float)
        self.queries = 0

    def enter(self, name):
        self.stack.append([name, time.perf_counter(), 0.0])

    def leave(self):
        name, start, inner = self.stack.pop()
        spent = time.perf_counter() - start
        self.own[name] += spent - inner
        if self.stack:
            self.stack[-1][2] += spent

    def reset(self):
        self.stack.clear()
        self.own = defaultdict(float)
        self.queries = 0


PHASES = Phases()


def timed(name, function):
    @wraps(function)
    def wrapper(*args, **kwargs):
        PHASES.enter(name)
        try:
            return function(*args, **kwargs)
        finally:
            PHASES.leave()

    return wrapper


def patch(owner, attribute, name):
    """Times `owner.attribute` as the phase `name`, if the code still has it."""
    if hasattr(owner, attribute):
        setattr(owner, attribute, timed(name, getattr(owner, attribute)))


def sql(execute, query, params, many, context):
    PHASES.queries += 1
    PHASES.enter("SQL")
    try:
        return execute(query, params, many, context)
    finally:
        PHASES.leave()


JUDGING = [
    (views, "load_resolution_progress"),
    (views, "load_target_progress"),
    (views, "task_standings"),
    (views, "build_report"),
    (views, "body_reports"),
    (views, "target_lines"),
    (entry_views, "entry_scope"),
    (entry_views, "figure_entries"),
    (entry_views, "task_entries"),
    (entry_views, "clerk_notice"),
]
patch(FileBasedCache, "get", "cache I/O")
patch(FileBasedCache, "set", "cache I/O")
for owner, attribute in JUDGING:
    patch(owner, attribute, "judgement")
patch(template_backend.Template, "render", "templates")
patch(gzip_middleware, "compress_string", "gzip")
COLUMNS = ["SQL", "cache I/O", "judgement", "templates", "gzip", "rest"]


def request(client, path) -> tuple[float, dict, int]:
    PHASES.reset()
    start = time.perf_counter()
    with connection.execute_wrapper(sql):
        response = client.get(path)
    total = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code)
    own = dict(PHASES.own)
    own["rest"] = total - sum(own.values())
    return total * 1000, {k: v * 1000 for k, v in own.items()}, PHASES.queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--nq", type=int, help="also the dashboard and report of it")
    args = parser.parse_args()

    users = get_user_model().objects
    reader = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
    reader.force_login(users.get(username="daibieu"))
    clerk = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
    clerk.force_login(users.get(username="kinhte"))
    period = entry_period_for(users.get(username="kinhte"))
    entry = f"/nhap-so-lieu/{period.pk}/"  # where the clerk lands after login
    figure = Figure.objects.filter(state="approved").order_by("pk").first()
    sign = [1]

    def change():
        Figure.objects.filter(pk=figure.pk).update(value=F("value") + sign[0])
        sign[0] = -sign[0]

    cases = [
        ("trivial page (delegate)", reader, "/accounts/password/", False),
        ("dashboard, first after a change", reader, "/", True),
        ("dashboard, steady", reader, "/", False),
        ("body scorecard, first after a change", reader, "/don-vi/", True),
        ("report HTML, first after a change", reader, "/bao-cao/", True),
        ("trivial page (clerk)", clerk, "/accounts/password/", False),
        (f"entry page ({entry}), drawn", clerk, entry, False),
        (f"entry page ({entry}), kept", clerk, entry, False),
    ]
    if args.nq:
        nq = args.nq
        cases += [
            (f"dashboard nq={nq}, first after a change", reader, f"/?nq={nq}", True),
            (
                f"report nq={nq}, first after a change",
                reader,
                f"/bao-cao/?nq={nq}",
                True,
            ),
            (f"report nq={nq}, steady", reader, f"/bao-cao/?nq={nq}", False),
        ]
    for _, client, path, _ in cases:  # warm-up: imports, release(), first queries
        request(client, path)
    totals = defaultdict(list)
    phases = defaultdict(lambda: defaultdict(list))
    queries = {}
    for _ in range(args.runs):
        for label, client, path, changed in cases:
            if changed:
                change()
            ms, own, n = request(client, path)
            totals[label].append(ms)
            queries[label] = n
            for column in COLUMNS:
                phases[label][column].append(own.get(column, 0.0))

    trivial = statistics.median(totals[cases[0][0]])
    print(
        f"In one process, median of {args.runs} rounds, ms (× the delegate's trivial "
        f"page, {trivial:.1f} ms):"
    )
    print(
        f"  {'':44} {'total':>14} {'queries':>7} "
        + " ".join(f"{c:>10}" for c in COLUMNS)
    )
    for label, *_ in cases:
        total = statistics.median(totals[label])
        parts = " ".join(
            f"{statistics.median(phases[label][c]):10.1f}" for c in COLUMNS
        )
        ratio = total / trivial
        print(f"  {label:44} {total:7.1f} {ratio:5.2f}× {queries[label]:7} {parts}")


if __name__ == "__main__":
    main()
