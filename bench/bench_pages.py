"""Pages benchmark: the reader pages and files against the trivial page, in steady
state, after a figure change and at province size, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_pages.py [--db both|sqlite|postgres] [--runs 20]
                                          [--scale 50] [--bursts 5] [--threads 8]

For each database it writes, in a temporary folder, a settings module that only
moves STATIC_ROOT there, and runs under production settings (DEBUG off, a random
DJANGO_SECRET_KEY, the file cache "pages" in that folder: PAGES_CACHE_DIR):
collectstatic, migrate, the resolution and the demo data, then gunicorn with
gunicorn.conf.py (2 workers × 8 threads) on a free loopback port (its access log
also names the worker's pid). SQLite is a file in the folder; PostgreSQL is a
throwaway cluster: the script re-runs itself under `.ci/with-postgres` (with --db
both, after the SQLite run, and prints both tables at the end).

A browser-like client (one keep-alive connection, cookies, gzip accepted) logs in as
the demo delegate `daibieu`. The trivial page is the password-change form
(/accounts/password/): the same session, middleware, user and roles queries and base
template as a reader page, and no data. Every figure is a ratio of medians to the
trivial page measured in the same rounds: the trivial page, then the page, then the
trivial page again, … so both meet the same load on the shared machine.

1. Steady state (nothing changed since the last request; three warm-up rounds first):
   dashboard (/), target page, body scorecard, tasks report, report HTML, xlsx and
   PDF, each as a full 200 (the request carries no If-None-Match); then the same page
   again with the ETag it was given, the browser's repeat: a 304, printed apart. The
   clerk `kinhte` logs in (one redirect: its entry page) and its entry page is timed
   against the trivial page of its own session (the entry page is no-store: no 304;
   the server keeps it under the entry token, targets.entry_cache), then again right
   after each of --runs changes (drawn: informative).
2. After a figure change: an approved figure's value is moved by SQL on the
   database's own connection (+1, then back), as an administrator's hand would; the
   triggers move the data version (the script checks it moved), so every kept page
   is stale. Each round: the trivial page, the change, then the first request of one
   reader page (a redraw), for each page in turn. Then --bursts times: a change, and
   --threads concurrent PDF requests on their own connections (both workers answer:
   the access log's pids say so) while another client asks for the trivial page in a
   loop. The PDF's builds are counted from outside: inotify on PAGES_CACHE_DIR counts
   the cache files written (FileBasedCache writes a temporary file and renames it
   onto the entry: one rename per `set`, so a second build would show as a second
   rename), and each one is opened to check it holds a PDF; the responses' bodies are
   compared (a PDF built twice carries two creation times).
3. --scale 50: a second commune with one resolution of 30 × scale targets, figures,
   bodies and tasks (the query-count tests' builders); its dashboard and report HTML
   in steady state, the dashboard's HTML size uncompressed, the clerk's entry page
   again, a redraw after a change of each page, one xlsx build, and --threads PDF
   requests at once right after a change with the trivial page timed alongside.
4. One table per database, with goals and ✓/✗.

Goals (issue 17): steady state within 1,5× (entry page 2×), the first reader page
after a change within 3×, the PDF built once per version, at 1 500 targets the
dashboard and the report within 3× and the dashboard under 150 KB. A benchmark: it
prints figures and never fails.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import gzip
import hashlib
import http.client
import json
import os
import pickle
import platform
import re
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from support import (
    PASSWORD,
    ROOT,
    bench_env,
    free_port,
    prepare,
    start_gunicorn,
    wait_for_port,
)

TRIVIAL = "/accounts/password/"
PDF = "/bao-cao/pdf/"
STEADY_GOAL, ENTRY_GOAL, CHANGE_GOAL, SCALE_GOAL = 1.5, 2.0, 3.0, 3.0
SIZE_GOAL_KB = 150
# The worker's pid in the access log, to show which worker answered.
ACCESS_LOG = '%(p)s "%(r)s" %(s)s %(b)s %(M)sms'


# --- the client ----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes  # decompressed
    wire: int  # bytes received: status line, headers, body as sent
    ms: float


class Client:
    """A browser without its cache: one keep-alive connection, cookies, gzip."""

    def __init__(self, port: int, timeout: float = 180):
        self.port = port
        self.timeout = timeout
        self.conn = None
        self.last_used = 0.0
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None) -> Answer:
        # gunicorn closes a connection idle for `keepalive` (5 s): open a new one
        # rather than write into a closing socket (and time the retry).
        if self.conn is None or time.monotonic() - self.last_used > 4:
            self.close()
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout
            )
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Accept-Encoding": "gzip",
            "User-Agent": "bench_pages",
            **(headers or {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        ms = (time.perf_counter() - start) * 1000
        self.last_used = time.monotonic()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + sum(
            len(f"{k}: {v}\r\n") for k, v in response.headers.items()
        )
        if response.headers.get("Content-Encoding") == "gzip":
            raw_body = gzip.decompress(raw)
        else:
            raw_body = raw
        return Answer(response.status, response.headers, raw_body, head + len(raw), ms)

    def get(self, path: str, etag: str | None = None) -> Answer:
        return self.request(
            "GET", path, headers={"If-None-Match": etag} if etag else {}
        )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def login(self, username: str) -> str:
        """Logs in; returns where the login sent the user."""
        page = self.get("/accounts/login/").body
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urlencode(
            {
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.decode(),
            }
        )
        answer = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}/accounts/login/",
            },
        )
        assert answer.status == 302, f"login failed: {answer.status}"
        return answer.headers["Location"]


def ok(answer: Answer, path: str, status: int = 200) -> Answer:
    assert answer.status == status, (path, answer.status, answer.body[:300])
    return answer


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


# --- the database, written as another process would ----------------------------------


class Database:
    """A connection of the script's own (sqlite3 or psycopg2, autocommit): moves an
    approved figure's value and reads the data version, as an administrator's SQL."""

    def __init__(self, url: str):
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg2

            self.connection = psycopg2.connect(url)
            self.connection.autocommit = True
        else:
            path = url.removeprefix("sqlite:///")
            self.connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.figure = None
        self.sign = 1

    def execute(self, sql: str, params=()):
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", "%s") if self.postgres else sql, params)
        return cursor

    def one(self, sql: str, params=()):
        cursor = self.execute(sql, params)
        row = cursor.fetchone()
        cursor.close()
        return row

    def version(self) -> str:
        return "{}.{}".format(
            *self.one("SELECT epoch, version FROM targets_dataversion WHERE id = 1")
        )

    def choose(self, target_id: int, period_id: int) -> None:
        """The figure to change: the target page's own approved figure, if any."""
        row = self.one(
            "SELECT id FROM targets_figure WHERE target_id = ? AND period_id = ? "
            "AND state = 'approved'",
            (target_id, period_id),
        ) or self.one("SELECT min(id) FROM targets_figure WHERE state = 'approved'")
        self.figure = row[0]

    def change(self) -> None:
        """The figure's value +1, the next time -1: a real change each time, and the
        data back where it was every second time."""
        before = self.version()
        self.execute(
            "UPDATE targets_figure SET value = value + ? WHERE id = ?",
            (self.sign, self.figure),
        )
        self.sign = -self.sign
        assert self.version() != before, "the data version did not move"

    def close(self) -> None:
        self.connection.close()


# --- counting cache writes from outside: inotify ----------------------------------

IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100


class Renames:
    """The names renamed into a folder (Linux inotify through libc): FileBasedCache
    writes every entry to a temporary file and renames it onto its name."""

    def __init__(self, folder: Path):
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = self.libc.inotify_add_watch(self.fd, str(folder).encode(), IN_MOVED_TO)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def read(self) -> list[str]:
        names = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return names
            offset = 0
            while offset < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\0")
                if mask & IN_MOVED_TO:
                    names.append(name.decode())
                offset += 16 + length

    def close(self) -> None:
        os.close(self.fd)


def cached_value(path: Path):
    """A FileBasedCache entry's value: a pickled expiry, then the zlib'd pickle."""
    with open(path, "rb") as f:
        pickle.load(f)
        return pickle.loads(zlib.decompress(f.read()))


# --- measuring -----------------------------------------------------------------------


@dataclass
class Figures:
    """One database's figures: printed as they come, tabled at the end."""

    db: str
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, what, ms, ratio, goal=None, text=None):
        self.rows.append(
            {"what": what, "ms": ms, "ratio": ratio, "goal": goal, "text": text}
        )


def interleaved(client: Client, pages, runs: int, warmup: int = 3, repeat=True):
    """{label: {'trivial': [ms], 'full': [ms], 'repeat': [ms] (304s)}}. Each round
    takes every page in turn (from a different first page each round), each after a
    trivial page; the full request carries no If-None-Match, the repeat sends the ETag
    the full one got."""
    times = {label: {"trivial": [], "full": [], "repeat": []} for label, _ in pages}
    for round_ in range(warmup + runs):
        # Each round starts one page further, so no page is always first.
        shift = round_ % len(pages)
        for label, path in pages[shift:] + pages[:shift]:
            trivial = ok(client.get(TRIVIAL), TRIVIAL)
            full = ok(client.get(path), path)
            etag = full.headers.get("ETag")
            again = client.get(path, etag) if repeat and etag else None
            if again is not None:
                ok(again, path, 304)
            if round_ >= warmup:
                t = times[label]
                t["trivial"].append(trivial.ms)
                t["full"].append(full.ms)
                if again is not None:
                    t["repeat"].append(again.ms)
    return times


def steady_state(client: Client, pages, runs: int, figures: Figures) -> float:
    times = interleaved(client, pages, runs)
    trivial = median([ms for t in times.values() for ms in t["trivial"]])
    print(f"  {'trivial page (' + TRIVIAL + ')':34} {trivial:8.1f} ms")
    for label, _ in pages:
        t = times[label]
        full = median(t["full"])
        repeat = median(t["repeat"])
        print(
            f"  {label:34} {full:8.1f} ms  {full / trivial:5.2f}× trivial   "
            + (
                f"304 repeat {repeat:6.1f} ms  {repeat / trivial:5.2f}×"
                if t["repeat"]
                else "(no ETag: no 304)"
            )
        )
        figures.add(f"{label}, steady (200)", full, full / trivial, STEADY_GOAL)
    repeats = [
        median(times[label]["repeat"]) / trivial
        for label, _ in pages
        if times[label]["repeat"]
    ]
    figures.add(
        "reader pages, 304 repeat (range)",
        None,
        None,
        None,
        f"{min(repeats):.2f}–{max(repeats):.2f}×",
    )
    return trivial


def entry_page(
    port: int, runs: int, figures: Figures, label="", database: Database | None = None
) -> None:
    """The clerk's entry page against the trivial page of the clerk's session: as it
    is kept (steady state: the goal), and drawn again right after a change (any write
    moves the entry token: informative)."""
    clerk = Client(port)
    landed = clerk.login("kinhte")
    times = interleaved(clerk, [("entry page", landed)], runs, repeat=False)
    trivial = median(times["entry page"]["trivial"])
    full = median(times["entry page"]["full"])
    print(
        f"  clerk kinhte landed on {landed} in one redirect; its trivial page "
        f"{trivial:.1f} ms, entry page {full:.1f} ms: {full / trivial:.2f}×"
    )
    what = f"clerk's entry page (kinhte){label}"
    figures.add(what, full, full / trivial, ENTRY_GOAL)
    if database is not None:
        trivials, drawn = [], []
        for _ in range(runs):
            trivials.append(ok(clerk.get(TRIVIAL), TRIVIAL).ms)
            database.change()
            drawn.append(ok(clerk.get(landed), landed).ms)
        trivial, first = median(trivials), median(drawn)
        print(f"  entry page drawn after a change {first:.1f} ms")
        what = "clerk's entry page (kinhte), first after a change"
        figures.add(what, first, first / trivial, None)
    clerk.close()


def after_change(
    client: Client, database: Database, pages, runs: int, figures, goal=CHANGE_GOAL
) -> dict:
    """Rounds of: the trivial page, a figure change, the first request of a page."""
    times = {name: {"trivial": [], "first": [], "next": []} for name, _ in pages}
    for _ in range(runs):
        for name, path in pages:
            trivial = ok(client.get(TRIVIAL), TRIVIAL)
            database.change()
            first = ok(client.get(path), path)
            again = ok(client.get(path), path)
            t = times[name]
            t["trivial"].append(trivial.ms)
            t["first"].append(first.ms)
            t["next"].append(again.ms)
    trivial = median([ms for t in times.values() for ms in t["trivial"]])
    print(f"  {'trivial page':34} {trivial:8.1f} ms")
    for name, _ in pages:
        first, following = median(times[name]["first"]), median(times[name]["next"])
        print(
            f"  {name:34} {first:8.1f} ms  {first / trivial:5.2f}× trivial   "
            f"(the request after it {following:.1f} ms, {following / trivial:.2f}×)"
        )
        files = name.startswith(("report xlsx", "report PDF"))
        what = f"{name}, first after a change"
        figures.add(what, first, first / trivial, None if files else goal)
    return times


def burst(port: int, cookies: dict, threads: int, path=PDF) -> tuple[list, list]:
    """`threads` PDF requests at once, each on its own connection, and a trivial
    page in a loop alongside: ([(status, ms, body digest)], [trivial ms])."""
    barrier = threading.Barrier(threads + 1)
    results = [None] * threads
    probe_times = []
    done = threading.Event()

    def fetch(i):
        c = Client(port)
        c.cookies = dict(cookies)
        barrier.wait()
        a = c.get(path)
        results[i] = (a.status, a.ms, hashlib.sha256(a.body).hexdigest())
        c.close()

    def probe():
        c = Client(port)
        c.cookies = dict(cookies)
        barrier.wait()
        while not done.is_set():
            probe_times.append(c.get(TRIVIAL).ms)
            time.sleep(0.02)
        c.close()

    fetchers = [threading.Thread(target=fetch, args=(i,)) for i in range(threads)]
    prober = threading.Thread(target=probe)
    for t in (*fetchers, prober):
        t.start()
    for t in fetchers:
        t.join()
    done.set()
    prober.join()
    return results, probe_times


def pdf_bursts(port, cookies, database, cache_dir, log_path, args, figures):
    """--bursts times: a change, then a burst of PDF requests. Counts the PDF's
    cache writes (renames onto an entry holding a PDF) and the workers that
    answered (the access log's pids)."""
    renames = Renames(cache_dir)
    writes, slowest, stalls, workers, distinct = [], [], [], set(), []
    try:
        for n in range(args.bursts):
            database.change()
            renames.read()  # nothing before the burst counts
            log_start = log_path.stat().st_size
            results, probe_times = burst(port, cookies, args.threads)
            names = [n for n in renames.read() if n.endswith(".djcache")]
            pdfs = 0
            for name in set(names):
                value = cached_value(cache_dir / name)
                if isinstance(value, dict) and value.get("data", b"")[:4] == b"%PDF":
                    pdfs += names.count(name)
            if len(names) > 1:
                print(f"  entries written: {Counter(names)}")
            statuses = Counter(r[0] for r in results)
            bodies = {r[2] for r in results}
            log = log_path.read_bytes()[log_start:].decode(errors="replace")
            pids = {
                line.split()[0].strip("<>")
                for line in log.splitlines()
                if f"GET {PDF}" in line
            }
            workers |= pids
            writes.append(pdfs)
            slowest.append(max(r[1] for r in results))
            stalls.append(max(probe_times) if probe_times else float("nan"))
            distinct.append(len(bodies))
            print(
                f"  burst {n + 1}: {args.threads} PDF requests {dict(statuses)}, "
                f"slowest {slowest[-1]:.0f} ms; PDF cache entries written: {pdfs} "
                f"(all cache renames: {len(names)}); distinct bodies: "
                f"{len(bodies)}; workers answering: {len(pids)}; trivial page "
                f"alongside: {len(probe_times)} requests, median "
                f"{median(probe_times):.0f} ms, max {stalls[-1]:.0f} ms"
            )
    finally:
        renames.close()
    once = all(w == 1 for w in writes) and all(d == 1 for d in distinct)
    figures.add(
        f"PDF after a change: builds per version ({args.bursts} bursts × "
        f"{args.threads} requests, {len(workers)} workers)",
        None,
        None,
        None,
        f"{'/'.join(map(str, writes))} {'✓' if once else '✗'} (goal 1 each)",
    )
    figures.add(
        "PDF build: slowest request of a burst (informative)", median(slowest), None
    )
    figures.add(
        "trivial page during a PDF burst: the bursts' worst, median / max",
        None,
        None,
        None,
        f"{median(stalls):.0f} / {max(stalls):.0f} ms",
    )


def build_large(env: dict, scale: int) -> int:
    """A second commune with one resolution of 30 × scale targets, figures, bodies
    and tasks (the builders of the query-count tests). Returns its id."""
    code = (
        "import django; django.setup();"
        "from targets.tests.builders import build_resolution;"
        "from reports.tests.builders import add_tasks;"
        f"r, p = build_resolution('Bản Bo', scale={scale});"
        f"add_tasks(r, p, scale={scale});"
        "print(r.pk)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def province(client, database, env, args, figures) -> None:
    big = 30 * args.scale
    print(
        f"\nAdding {args.scale}× data: a second commune, one resolution of {big} "
        "targets with figures, bodies and tasks…",
        flush=True,
    )
    start = time.perf_counter()
    large = build_large(env, args.scale)
    print(f"  built in {time.perf_counter() - start:.0f} s")
    pages = [
        (f"dashboard ({big} targets)", f"/?nq={large}"),
        (f"report HTML ({big} targets)", f"/bao-cao/?nq={large}"),
    ]
    runs = max(5, args.runs // 2)
    print(f"Steady state at {big} targets, median of {runs} rounds:")
    times = interleaved(client, pages, runs, warmup=1)
    trivial = median([ms for t in times.values() for ms in t["trivial"]])
    print(f"  {'trivial page':34} {trivial:8.1f} ms")
    for label, _ in pages:
        full, repeat = median(times[label]["full"]), median(times[label]["repeat"])
        print(
            f"  {label:34} {full:8.1f} ms  {full / trivial:5.2f}× trivial   "
            f"304 repeat {repeat:.1f} ms"
        )
        figures.add(f"{label}, steady", full, full / trivial, SCALE_GOAL)
    dashboard = ok(client.get(pages[0][1]), pages[0][1])
    size = len(dashboard.body)
    report = ok(client.get(pages[1][1]), pages[1][1])
    print(
        f"  dashboard HTML: {size / 1024:.1f} KB uncompressed, "
        f"{dashboard.wire / 1024:.1f} KB gzip on the wire; report HTML: "
        f"{len(report.body) / 1024:.1f} KB, {report.wire / 1024:.1f} KB"
    )
    figures.add(
        f"dashboard ({big} targets) HTML, uncompressed",
        None,
        None,
        None,
        f"{size / 1024:.1f} KB {'✓' if size < SIZE_GOAL_KB * 1024 else '✗'} "
        f"(goal < {SIZE_GOAL_KB} KB)",
    )
    entry_page(client.port, runs, figures, f", {args.scale}× data in the database")
    rounds = max(3, args.runs // 5)
    print(f"After a figure change at {big} targets, median of {rounds} rounds:")
    after_change(client, database, pages, rounds, figures, goal=None)
    trivial = ok(client.get(TRIVIAL), TRIVIAL).ms
    database.change()
    try:
        built = client.get(f"/bao-cao/excel/?nq={large}")
        size = len(built.body) / 1024
        text = f"{built.ms / 1000:.1f} s, {built.status}, {size:.0f} KB"
        what = f"report xlsx ({big} targets), one build (informative)"
        figures.add(what, built.ms, built.ms / trivial)
    except (OSError, http.client.HTTPException) as error:
        client.close()
        text = f"no answer ({error!r})"
        what = f"report xlsx ({big} targets), one build"
        figures.add(what, None, None, None, text)
    print(f"  report xlsx, built once after a change: {text}")
    # The PDF: a burst right after a change, as for the small one.
    database.change()
    results, probe = burst(
        client.port, client.cookies, args.threads, f"{PDF}?nq={large}"
    )
    statuses = Counter(r[0] for r in results)
    slowest = max(r[1] for r in results)
    print(
        f"  report PDF, {args.threads} requests at once after a change: "
        f"{dict(statuses)}, slowest {slowest / 1000:.1f} s; trivial page alongside: "
        f"{len(probe)} requests, median {median(probe):.0f} ms, max "
        f"{max(probe or [0]):.0f} ms"
    )
    figures.add(
        f"report PDF ({big} targets), {args.threads} at once after a change",
        None,
        None,
        None,
        f"slowest {slowest / 1000:.1f} s, {dict(statuses)}",
    )
    figures.add(
        f"trivial page during that burst ({big} targets), median / max",
        None,
        None,
        None,
        f"{median(probe):.0f} / {max(probe or [0]):.0f} ms",
    )
    return large


def profile(env: dict, args, large: int | None) -> None:
    """bench/profile_pages.py on this database: where the slow pages' time goes."""
    print("\nWhere the time goes (bench/profile_pages.py):", flush=True)
    command = [sys.executable, str(ROOT / "bench" / "profile_pages.py")]
    command += ["--runs", str(max(5, args.runs // 2))]
    if large is not None:
        command += ["--nq", str(large)]
    subprocess.run(command, env=env, cwd=ROOT, check=False)


def release(env: dict) -> str:
    """The digest of code and templates the page keys carry (data_version.release):
    if another hand edits the working tree during a run, two workers may key the
    same page apart, which a build count would show as two builds."""
    code = "import django; django.setup(); from targets import data_version as p;"
    out = subprocess.run(
        [sys.executable, "-c", code + "print(p.release())"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def run(args, db: str) -> Figures:
    figures = Figures(db)
    folder = Path(tempfile.mkdtemp(prefix="khoenon-bench-pages-"))
    server = None
    database = None
    try:
        extra = {
            "PAGES_CACHE_DIR": str(folder / "pages"),
            "DJANGO_MEDIA_ROOT": str(folder / "media"),
            "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG}'",
        }
        if db == "sqlite":
            extra["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
        env = bench_env(folder, **extra)
        started = datetime.datetime.now(datetime.UTC)
        load = os.getloadavg()
        print(f"\n=== {db}: {started:%Y-%m-%d %H:%M} UTC, load {load[0]:.2f} ===")
        prepare(env)
        port = free_port()
        log_path = folder / "gunicorn.log"
        log = open(log_path, "w")
        code_before = release(env)
        server = start_gunicorn(env, port, log)
        wait_for_port(port)
        database = Database(env["DATABASE_URL"])

        client = Client(port)
        client.login("daibieu")
        home = ok(client.get("/"), "/").body.decode()
        target_url = re.search(r'href="(/chi-tieu/(\d+)/\?ky=(\d+))"', home)
        database.choose(int(target_url[2]), int(target_url[3]))
        pages = [
            ("dashboard (/)", "/"),
            (f"target page ({target_url[1]})", target_url[1]),
            ("body scorecard (/don-vi/)", "/don-vi/"),
            ("tasks report (/nhiem-vu/)", "/nhiem-vu/"),
            ("report HTML (/bao-cao/)", "/bao-cao/"),
            ("report xlsx", "/bao-cao/excel/"),
            ("report PDF", "/bao-cao/pdf/"),
        ]

        print(f"\nSteady state, median of {args.runs} rounds (after 3 warm-up rounds):")
        steady_state(client, pages, args.runs, figures)
        entry_page(port, args.runs, figures, database=database)

        print(
            f"\nAfter a figure change (SQL on an approved figure; the triggers move "
            f"the data version), median of {args.runs} rounds:"
        )
        after_change(client, database, pages, args.runs, figures)

        print(f"\nThe PDF right after a change, {args.threads} requests at once:")
        pdf_bursts(
            port, client.cookies, database, folder / "pages", log_path, args, figures
        )

        large = province(client, database, env, args, figures) if args.scale else None
        if args.profile:
            profile(env, args, large)
        end_load = os.getloadavg()
        if release(env) != code_before:
            figures.notes.append(
                "the working tree's code or templates changed during the run"
            )
        figures.notes.append(
            f"{started:%Y-%m-%d %H:%M} UTC, load average {load[0]:.2f} → "
            f"{end_load[0]:.2f}, --runs {args.runs}"
        )
    finally:
        if database is not None:
            database.close()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def table(figures: Figures) -> str:
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[figures.db]
    lines = [
        f"{name} — {'; '.join(figures.notes)}",
        "",
        "| measure | ms | × trivial | goal | |",
        "|---|---:|---:|---:|:-:|",
    ]
    for row in figures.rows:
        ms = "" if row["ms"] is None else f"{row['ms']:.1f}"
        if row["text"] is not None:
            lines.append(f"| {row['what']} | {ms} | {row['text']} | | |")
            continue
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        goal = "–" if row["goal"] is None else f"{row['goal']:g}×"
        mark = ""
        if row["goal"] is not None:
            mark = "✓" if row["ratio"] <= row["goal"] else "✗"
        lines.append(f"| {row['what']} | {ms} | {ratio} | {goal} | {mark} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scale", type=int, default=50, help="0: no province part")
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--profile", action="store_true", help="also bench/profile_pages.py"
    )
    parser.add_argument("--summary", help=argparse.SUPPRESS)
    args = parser.parse_args()
    under_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")

    if args.db == "postgres":
        if not under_postgres:
            wrapper = ROOT / ".ci" / "with-postgres"
            os.execv(str(wrapper), [str(wrapper), sys.executable, *sys.argv])
        figures = run(args, "postgres")
        if args.summary:
            Path(args.summary).write_text(json.dumps(figures.__dict__))
            return
        print("\n" + table(figures))
        return

    tables = [run(args, "sqlite")]
    if args.db == "both":
        with tempfile.NamedTemporaryFile(suffix=".json") as summary:
            command = [sys.executable, __file__, "--db", "postgres"]
            for name in ("runs", "scale", "bursts", "threads"):
                command += [f"--{name}", str(getattr(args, name))]
            if args.profile:
                command.append("--profile")
            command += ["--summary", summary.name]
            if not under_postgres:
                command = [str(ROOT / ".ci" / "with-postgres"), *command]
            subprocess.run(command, check=False)
            text = Path(summary.name).read_text()
            if text:
                tables.append(Figures(**json.loads(text)))
    print(f"\n\nPages benchmark, {machine()}")
    for figures in tables:
        print("\n" + table(figures))


if __name__ == "__main__":
    main()
