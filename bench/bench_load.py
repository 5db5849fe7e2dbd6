"""Load benchmark: N users on the portal at once, under gunicorn, on SQLite and on
PostgreSQL: readers, report downloads, clerks saving drafts and an approval a minute.

    .venv/bin/python bench/bench_load.py [--db sqlite|postgres|both] [--users 50]
        [--clerks 10] [--duration 180] [--ramp 20] [--downloads 0.13]
        [--approve-every 60] [--seed 1]

--db both (the default) runs the load on SQLite, then again on PostgreSQL: for that
run the script re-runs itself under `.ci/with-postgres`, which creates a throwaway
cluster on loopback and removes it afterwards. Each run, in a temporary folder
removed afterwards, writes a settings module that only moves STATIC_ROOT there (the
SQLite database and the pages cache, PAGES_CACHE_DIR, live there too), runs
`collectstatic`, migrates, loads the resolution and the demo data, and starts
gunicorn with gunicorn.conf.py (2 workers × 8 threads) on a free loopback port, with
production settings (DEBUG off, HTTPS on, as behind nginx: each request carries
X-Forwarded-Proto: https).

Then --users virtual users, Python threads starting one by one over --ramp seconds,
each log in and loop until the end, pausing 1–3 s (uniform) between requests:
- delegates (`daibieu`) read the dashboard "/" and then a target page
  "/chi-tieu/<id>/" picked at random; with probability --downloads a step is a
  download of the comparison report instead, as the dashboard's link "Báo cáo so
  sánh" selects it (`?nq=<resolution>&ky=<quarter>`, read from the dashboard): its
  HTML `/bao-cao/`, its Excel `/bao-cao/excel/` or its PDF `/bao-cao/pdf/` (one in
  three each). 0.13 of the delegates' steps is about one request in ten of the mix.
  Like a browser's download, no conditional request: every answer is a full 200.
  Like a browser, a user whose kept-alive connection closes before any answer (a
  gunicorn worker recycled by max_requests closes its idle connections) sends the
  request once more on a new connection; such requests are counted and printed;
- clerks (`kinhte` and `vanhoa`, --clerks of the users) open their entry page, type
  for 1–3 s, and save one figure of their own: a new value, with a note. Each clerk
  user has its own figure, so saves do not collide while there are no more clerks
  than figures; a collision is a conflict (the Vietnamese "Xung đột" message),
  counted apart from errors. A browser posts the whole page; these clerks post their
  own row only, as if each figure had its own clerk;
- the approval cycle, every --approve-every seconds from 15 s after the ramp: a clerk
  of a body no load clerk belongs to (`thutai`, created for the run, member of a body
  that led nothing; the lead of one target of `vanhoa`'s without a figure for the
  open quarter moves to that body, so "Gửi duyệt", which sends every draft of the
  clerk's targets, never sends a load clerk's draft) saves a new value for that
  target with "Gửi duyệt cả quý…" (saved, then the confirmation), and sends it
  ("Gửi duyệt"); the approver (`pheduyet`) opens the quarter's review page and
  approves that card ("Phê duyệt mục này"). The data version moves at the send and at
  the approval, so every cached reader page and file is drawn again at its next
  request. From the second cycle on, the administrator (`quantri`) first reopens the
  approved figure from the target's history page ("Mở lại số liệu", with a reason)
  so that the clerk can change and send it again: three moves of the version within
  a few seconds, then none until the next cycle (clerks' drafts do not move it).

It prints the date, machine and database; p50/p95/p99 latency, requests per second,
errors (HTTP status 4xx/5xx or no answer) and conflicts, for the steady part of the
run (after the ramp), overall and for each kind of request, with the goal (issue 17:
p95 < 300 ms, 0 errors, 0 saves lost) marked ✓ or ✗; the share of downloads; the
approvals and what the first reader requests after each cost; the requests within
10 s after a version move against the rest; how many report files were built and
how many were served from the pages cache (counted from outside, by watching the
cache's files on disk: FileBasedCache writes each entry to a new file that replaces
the old one, so every build shows as a new inode; a build replaced by another within
the 0.1 s poll would be missed); and it checks every acknowledged save against the
database (a save is acknowledged when the server answered 302 and the page it led to
said "Đã lưu nháp") and every acknowledged approval against the figure's history.
A benchmark: it prints figures and never fails.
"""

import argparse
import datetime
import html
import http.client
import math
import os
import pickle
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from support import (
    PASSWORD,
    ROOT,
    Browser,
    bench_env,
    csrf,
    free_port,
    manage,
    prepare,
    start_gunicorn,
)

CLERKS = ["kinhte", "vanhoa"]
CYCLE_CLERK = "thutai"
APPROVER = "pheduyet"
ADMIN = "quantri"
SAVED = "Đã lưu nháp 1 mục thay đổi."
SENT = "Đã gửi duyệt 1 mục"
APPROVED = "Đã phê duyệt 1 mục"
REOPENED = "Đã mở lại số liệu"
DOWNLOADS = {
    "report": "/bao-cao/",
    "report xlsx": "/bao-cao/excel/",
    "report pdf": "/bao-cao/pdf/",
}
# The approval cycle's requests, apart from the load's own kinds.
CYCLE_KINDS = ("cycle page", "cycle save", "send", "approve", "reopen")
CLOSED_UNANSWERED = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
)
GOAL_P95 = 300  # ms, issue 17
AFTER_MOVE = 10  # seconds after a version move that count as "right after"


# --- the server --------------------------------------------------------------------


class Portal:
    """The portal under gunicorn over SQLite (a file in the temporary folder) or
    over the throwaway PostgreSQL (DATABASE_URL), in a temporary folder that is
    removed afterwards, with the pages cache there too. Django is also set up in this
    process, to prepare the approval cycle and read the database before and after
    the run."""

    def __init__(self, db: str = "postgres"):
        self.db = db
        self.folder = Path(tempfile.mkdtemp(prefix="khoenon-bench-load-"))
        self.server = None
        self.log = None
        self.port = None
        self.pages = self.folder / "pages"
        extra = {
            "DJANGO_MEDIA_ROOT": str(self.folder / "media"),
            "PAGES_CACHE_DIR": str(self.pages),
        }
        if db == "sqlite":
            extra["DATABASE_URL"] = f"sqlite:///{self.folder / 'db.sqlite3'}"
        self.env = bench_env(self.folder, https=True, **extra)

    def manage(self, *args: str) -> None:
        manage(self.env, *args)

    def prepare(self) -> None:
        prepare(self.env)
        os.environ.update(self.env)
        sys.path[:0] = [str(self.folder), str(ROOT)]
        import django

        django.setup()

    def start(self) -> None:
        self.port = free_port()
        self.log = open(self.folder / "gunicorn.log", "w")
        self.server = start_gunicorn(self.env, self.port, self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = Browser(self.port).request("GET", "/accounts/login/")
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if self.server.poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = (self.folder / "gunicorn.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def error_lines(self, limit: int = 12) -> list[str]:
        """The distinct error lines the server logged (exceptions, ERROR records)."""
        text = (self.folder / "gunicorn.log").read_text(errors="replace")
        seen = []
        for line in text.splitlines():
            if " ERROR " in line or re.match(r"^[\w.]+(Error|Exception)\b", line):
                line = re.sub(r"^\S+ \S+ ", "", line)  # drop the timestamp
                if line not in seen:
                    seen.append(line)
        return seen[:limit]

    def worker_events(self) -> list[tuple[float, str]]:
        """(epoch seconds, what) for each worker gunicorn recycled (max_requests),
        booted, timed out or lost, from its log."""
        text = (self.folder / "gunicorn.log").read_text(errors="replace")
        events = []
        for stamp, what in re.findall(
            r"^\[([\d-]+ [\d:]+ [+-]\d{4})\] \[\d+\] \[\w+\] "
            r"(Autorestarting worker|Booting worker|WORKER TIMEOUT|Worker exiting"
            r"|Worker \(pid:\d+\) was sent)",
            text,
            re.M,
        ):
            when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z")
            events.append((when.timestamp(), what))
        return events

    def request_times(self) -> list[float]:
        """gunicorn's own time for each request (from accepting it to the last byte
        written), in ms, from the access log: the server's share of the latency."""
        text = (self.folder / "gunicorn.log").read_text(errors="replace")
        return sorted(
            float(ms) for ms in re.findall(r'" \d{3} \S+ (\d+)ms$', text, re.M)
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if self.log is not None:
            self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the users ---------------------------------------------------------------------


@dataclass
class Sample:
    at: float  # seconds since the start of the run
    kind: str
    status: int  # 0: no answer
    ms: float
    outcome: str  # ok, conflict, error
    error: str = ""  # the exception's name when the server did not answer


@dataclass
class Ack:
    """A save the server acknowledged: what the clerk believes is stored."""

    target_id: int
    version: int
    value: Decimal
    confirmed: bool  # the page after the redirect said so
    at: float


@dataclass
class Move:
    """A write that moved the data version (send, approve, reopen), acknowledged."""

    at: float  # when the answer came, seconds since the start
    what: str
    confirmed: bool  # the page after the redirect said so
    figure_id: int = 0
    version: int = 0  # the figure's version after the write


@dataclass
class Plan:
    """What the users need, read (and for the cycle, arranged) before the run."""

    target_ids: list[int]
    entry_url: str
    period_id: int
    ranges: dict[int, tuple[int, int]]  # target id → whole numbers a clerk may type
    cycle_target: int | None = None
    cycle_values: list[Decimal] = field(default_factory=list)
    cycle_places: int = 0


@dataclass
class Run:
    started: float
    ramp_end: float
    stop_at: float
    wall: float = field(default_factory=time.time)  # time.time() at `started`
    samples: list[Sample] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    cpu: list[dict] = field(default_factory=list)  # at the ramp's end, at the stop
    cache: list[tuple[float, str, str]] = field(default_factory=list)  # writes
    resent: list[float] = field(default_factory=list)  # see timed()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, browser: Browser, kind: str, method: str, path: str, form=None):
        """Send one request and record it; (status, location, text), status 0 and
        the error's name as text when the server did not answer."""
        began = time.monotonic()
        error = ""
        reused = browser.connection is not None
        try:
            try:
                status, location, text = browser.request(method, path, form)
            except CLOSED_UNANSWERED:
                if not reused:
                    raise
                # A kept-alive connection closed before any answer (a worker
                # recycled by max_requests closes them): a browser sends the
                # request again on a new connection, and so do we, once.
                with self.lock:
                    self.resent.append(began - self.started)
                status, location, text = browser.request(method, path, form)
        except (OSError, http.client.HTTPException) as exc:
            status, location, text = 0, "", type(exc).__name__
            error = text
        ms = (time.monotonic() - began) * 1000
        outcome = "ok" if 200 <= status < 400 else "error"
        if kind in ("save", "cycle save", "send", "approve", "reopen"):
            # A form that is not saved answers 200 with the page and the reason.
            if status == 200:
                outcome = "conflict" if "Xung đột" in text else "error"
        if kind == "login" and status != 302:
            outcome = "error"
        with self.lock:
            self.samples.append(
                Sample(began - self.started, kind, status, ms, outcome, error)
            )
        return status, location, text

    def pause(self, rng: random.Random) -> bool:
        """1–3 s of reading or typing; False when the run is over."""
        time.sleep(rng.uniform(1, 3))
        return time.monotonic() < self.stop_at

    def moved(self, what: str, confirmed: bool, figure_id=0, version=0) -> None:
        with self.lock:
            at = time.monotonic() - self.started
            self.moves.append(Move(at, what, confirmed, figure_id, version))


def log_in(run: Run, browser: Browser, username: str) -> bool:
    status, _, page = run.timed(browser, "login page", "GET", "/accounts/login/")
    token = csrf(page) if status == 200 else None
    if token is None:
        return False
    form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
    status, _, _ = run.timed(browser, "login", "POST", "/accounts/login/", form)
    return status == 302


def report_query(dashboard: str) -> str | None:
    """The dashboard's link to the comparison report: '?nq=…&ky=…'."""
    found = re.search(r'href="/bao-cao/(\?[^"]*)"', dashboard)
    return html.unescape(found[1]) if found else None


def delegate(
    run: Run, port: int, target_ids: list[int], share: float, rng: random.Random
) -> None:
    """The dashboard and a target page in turn; a report download now and then."""
    browser = Browser(port)
    while time.monotonic() < run.stop_at and not log_in(run, browser, "daibieu"):
        time.sleep(rng.uniform(1, 3))
    selection = None
    step = 0
    while run.pause(rng):
        if selection is not None and rng.random() < share:
            kind = rng.choice(list(DOWNLOADS))
            run.timed(browser, kind, "GET", DOWNLOADS[kind] + selection)
            continue
        if step % 2 == 0:
            status, _, page = run.timed(browser, "dashboard", "GET", "/")
            if status == 200:
                selection = report_query(page) or selection
        else:
            path = f"/chi-tieu/{rng.choice(target_ids)}/"
            run.timed(browser, "target page", "GET", path)
        step += 1


def stored_value(page: str, target_id: int) -> Decimal | None:
    """The value the entry page's input shows for the target (3865,28), if any."""
    found = re.search(rf'id="v-{target_id}" value="([^"]*)"', page)
    if not found or not found[1]:
        return None
    return Decimal(found[1].replace(",", "."))


def clerk(
    run: Run,
    port: int,
    username: str,
    slot: int,
    plan_: Plan,
    rng: random.Random,
) -> None:
    """Saves the `slot`-th figure of the user's entry page, over and over: a whole
    number within the target's range (a value outside it is refused)."""
    url = plan_.entry_url
    browser = Browser(port)
    while time.monotonic() < run.stop_at and not log_in(run, browser, username):
        time.sleep(rng.uniform(1, 3))
    target_id = None
    while target_id is None and time.monotonic() < run.stop_at:
        status, _, page = run.timed(browser, "entry page", "GET", url)
        editable = sorted({int(pk) for pk in re.findall(r'name="v-(\d+)"', page)})
        if editable:
            target_id = editable[slot % len(editable)]
        else:
            time.sleep(rng.uniform(1, 3))
    while run.pause(rng):
        status, _, page = run.timed(browser, "entry page", "GET", url)
        version = re.search(rf'name="ver-{target_id}" value="(\d+)"', page)
        token = csrf(page)
        if status != 200 or not version or not token:
            continue
        if not run.pause(rng):  # typing
            break
        low, high = plan_.ranges.get(target_id, (1, 99999))
        value = Decimal(rng.randint(low, high))
        # A clerk types a new number: the one stored again changes nothing, and the
        # server says "0 mục thay đổi" (no version to check afterwards).
        while value == stored_value(page, target_id):
            value = Decimal(rng.randint(low, high))
        form = {
            "csrfmiddlewaretoken": token,
            "action": "save",
            f"v-{target_id}": str(value),
            f"k-{target_id}": "actual",
            f"n-{target_id}": f"Số liệu thử tải, {username}.",
            f"ver-{target_id}": version[1],
        }
        status, location, _ = run.timed(browser, "save", "POST", url, form)
        if status != 302:
            continue
        shown, _, text = run.timed(browser, "after save", "GET", location)
        ack = Ack(
            target_id,
            int(version[1]) + 1,
            value,
            confirmed=shown == 200 and SAVED in text,
            at=time.monotonic() - run.started,
        )
        with run.lock:
            run.acks.append(ack)


# --- the approval cycle ------------------------------------------------------------


def vn_number(value: Decimal, places: int) -> str:
    """As a clerk types it: a decimal comma."""
    return f"{value:.{places}f}".replace(".", ",")


def cycle_send(run: Run, browser: Browser, plan: Plan, value: Decimal) -> bool:
    """The cycle clerk saves `value` with "Lưu và xem trước khi gửi", then sends the
    quarter from the confirmation page. True once sent."""
    url, pk = plan.entry_url, plan.cycle_target
    status, _, page = run.timed(browser, "cycle page", "GET", url)
    version = re.search(rf'name="ver-{pk}" value="(\d+)"', page)
    token = csrf(page)
    if status != 200 or not version or not token:
        return False
    form = {
        "csrfmiddlewaretoken": token,
        "action": "review",
        f"v-{pk}": vn_number(value, plan.cycle_places),
        f"k-{pk}": "actual",
        f"n-{pk}": "Số liệu thử tải của chu kỳ phê duyệt: nguyên nhân và giải pháp.",
        f"c-{pk}": "1",  # the value confirmed, should it look unusual
        f"ver-{pk}": version[1],
    }
    status, location, _ = run.timed(browser, "cycle save", "POST", url, form)
    if status != 302:
        return False
    shown, _, page = run.timed(browser, "cycle page", "GET", location)
    ack = Ack(
        pk,
        int(version[1]) + 1,
        value,
        confirmed=shown == 200 and SAVED in page,
        at=time.monotonic() - run.started,
    )
    with run.lock:
        run.acks.append(ack)
    plan_token = re.search(r'name="plan" value="([0-9a-f]+)"', page)
    token = csrf(page)
    if shown != 200 or not plan_token or not token:
        return False
    form = {"csrfmiddlewaretoken": token, "plan": plan_token[1], "action": "submit"}
    for confirmed in re.findall(r'name="(c-\d+)" value="1"', page):
        form[confirmed] = "1"
    status, location, _ = run.timed(browser, "send", "POST", url, form)
    if status != 302:
        return False
    shown, _, page = run.timed(browser, "cycle page", "GET", location)
    run.moved("send", shown == 200 and SENT in page)
    return True


def cycle_approve(run: Run, browser: Browser, plan: Plan) -> int | None:
    """The approver approves the cycle target's card; the figure's id once done."""
    url = f"/duyet/{plan.period_id}/"
    status, _, page = run.timed(browser, "cycle page", "GET", url)
    token = csrf(page)
    card = None  # the cycle target's card: its heading links the target's page
    for part in page.split('id="muc-f-')[1:]:
        if f"/chi-tieu/{plan.cycle_target}/" in part:
            card = re.search(r'value="(approve:f:(\d+):(\d+))"', part)
    if status != 200 or card is None or not token:
        return None
    form = {"csrfmiddlewaretoken": token, "one": card[1]}
    status, location, _ = run.timed(browser, "approve", "POST", url, form)
    if status != 302:
        return None
    shown, _, page = run.timed(browser, "cycle page", "GET", location)
    figure_id, version = int(card[2]), int(card[3]) + 1
    run.moved("approve", shown == 200 and APPROVED in page, figure_id, version)
    return figure_id


def cycle_reopen(run: Run, browser: Browser, plan: Plan, figure_id: int) -> bool:
    """The administrator reopens the approved figure from the target's history."""
    url = f"/chi-tieu/{plan.cycle_target}/lich-su/"
    status, _, page = run.timed(browser, "cycle page", "GET", url)
    action = f"/so-lieu/{figure_id}/mo-lai/"
    start = page.find(f'action="{action}"')
    token = csrf(page[start:]) if start >= 0 else None
    if status != 200 or token is None:
        return False
    form = {"csrfmiddlewaretoken": token, "reason": "Thử tải: mở lại để gửi lại."}
    status, location, _ = run.timed(browser, "reopen", "POST", action, form)
    if status != 302:
        return False
    shown, _, page = run.timed(browser, "cycle page", "GET", location)
    run.moved("reopen", shown == 200 and REOPENED in page)
    return True


def approvals(run: Run, port: int, plan: Plan, every: float) -> None:
    """Every `every` seconds from 15 s after the ramp: (reopen,) send, approve."""
    rng = random.Random(7)
    browsers = {name: Browser(port) for name in (CYCLE_CLERK, APPROVER, ADMIN)}
    for name, browser in browsers.items():
        while time.monotonic() < run.stop_at and not log_in(run, browser, name):
            time.sleep(rng.uniform(1, 3))
    figure_id = None  # the approved figure, to reopen before the next send
    cycle = 0
    while True:
        at = run.ramp_end + 15 + cycle * every
        if at > run.stop_at - 5:
            return
        time.sleep(max(0.0, at - time.monotonic()))
        if figure_id is not None:
            if not cycle_reopen(run, browsers[ADMIN], plan, figure_id):
                figure_id = None  # try again next time, from the send
                cycle += 1
                continue
        value = plan.cycle_values[cycle % len(plan.cycle_values)]
        if cycle_send(run, browsers[CYCLE_CLERK], plan, value):
            figure_id = cycle_approve(run, browsers[APPROVER], plan)
        cycle += 1


def arrange_cycle(period) -> tuple[int, list[Decimal], int]:
    """A clerk of their own for the approval cycle: `thutai`, member of a body of
    the commune that has no member and leads nothing, which now leads the last
    target `vanhoa` leads without a figure for the open quarter. Returns the target,
    the two values the cycle alternates (its latest approved figure and a step
    below) and its decimal places."""
    from django.contrib.auth.models import Group, User

    from targets.models import (
        CLERK,
        Assignment,
        Figure,
        ResponsibleBody,
        Role,
        Target,
        WorkflowState,
    )

    target = (
        Target.objects.filter(
            assignments__role=Role.LEAD, assignments__body__members__username="vanhoa"
        )
        .exclude(figures__period=period)
        .order_by("-pk")
        .first()
    )
    body = (
        ResponsibleBody.objects.filter(commune=period.commune, members=None)
        .exclude(assignments__role=Role.LEAD)
        .order_by("pk")
        .first()
    )
    # The body answers for every target already (its assignment changes role);
    # vanhoa's body now supports the target instead of leading it.
    Assignment.objects.filter(target=target, role=Role.LEAD).update(
        role=Role.SUPPORTING
    )
    Assignment.objects.update_or_create(
        target=target, body=body, defaults={"role": Role.LEAD}
    )
    user, _ = User.objects.get_or_create(
        username=CYCLE_CLERK,
        defaults={"first_name": "Cán bộ", "last_name": "thử tải"},
    )
    user.set_password(PASSWORD)
    user.save()
    user.groups.set([Group.objects.get(name=CLERK)])
    body.members.add(user)
    latest = (
        Figure.objects.filter(target=target, state=WorkflowState.APPROVED)
        .order_by("-period__year", "-period__quarter")
        .first()
    )
    base = latest.value if latest else target.target_value
    step = Decimal("0.5") if target.decimal_places else Decimal(1)
    low = base - step
    if target.min_value is not None and low < target.min_value:
        low = base + step
    return target.pk, [base, low], target.decimal_places


def plan(approve_every: float) -> Plan:
    """The target ids and the entry page of the open quarter, read before the run;
    and, when there are approvals, the cycle arranged."""
    from django.db import connection

    from targets.models import ReportingPeriod, Target

    period = ReportingPeriod.objects.get(state="open")
    bounds = Target.objects.values_list("pk", "min_value", "max_value")
    found = Plan(
        [pk for pk, _, _ in bounds],
        f"/nhap-so-lieu/{period.pk}/",
        period.pk,
        {
            pk: (
                max(1, math.ceil(low if low is not None else 1)),
                math.floor(high if high is not None else 99999),
            )
            for pk, low, high in bounds
        },
    )
    if approve_every > 0:
        found.cycle_target, found.cycle_values, found.cycle_places = arrange_cycle(
            period
        )
    connection.close()  # not held open through the run (and a database restart)
    return found


def start_users(run: Run, port: int, args, plan_: Plan) -> None:
    """Start the users one by one over the ramp, clerks among delegates."""
    clerks = min(args.clerks, args.users)
    for n in range(args.users):
        rng = random.Random(args.seed * 1000 + n)
        if n < clerks:
            username = CLERKS[n % len(CLERKS)]
            slot = n // len(CLERKS)
            work = (clerk, (run, port, username, slot, plan_, rng))
        else:
            work = (delegate, (run, port, plan_.target_ids, args.downloads, rng))
        run.threads.append(threading.Thread(target=work[0], args=work[1], daemon=True))
    random.Random(args.seed).shuffle(run.threads)
    if plan_.cycle_target is not None:
        cycle = threading.Thread(
            target=approvals,
            args=(run, port, plan_, args.approve_every),
            daemon=True,
        )
        run.threads.append(cycle)
        cycle.start()
    for n, thread in enumerate(run.threads):
        if thread.is_alive():
            continue
        start_at = run.started + args.ramp * n / max(1, len(run.threads))
        time.sleep(max(0.0, start_at - time.monotonic()))
        thread.start()


# --- the pages cache, watched from outside -----------------------------------------


def cache_kind(path: Path) -> str:
    """'pdf', 'xlsx' or 'page' for a FileBasedCache entry (expiry, then the value
    pickled and compressed); '?' when it cannot be read (replaced meanwhile)."""
    try:
        with open(path, "rb") as f:
            pickle.load(f)  # the expiry
            value = pickle.loads(zlib.decompress(f.read()))
    except (OSError, EOFError, pickle.UnpicklingError, zlib.error):
        return "?"
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"].rsplit(".", 1)[-1]
    return "page"


def watch_cache(run: Run, folder: Path) -> None:
    """Every write of an entry, until the run is over: FileBasedCache writes a new
    file and renames it over the entry, so each write is a new (name, inode)."""
    seen = set()
    while time.monotonic() < run.stop_at + 2:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            entries = []
        for entry in entries:
            if not entry.name.endswith(".djcache"):
                continue
            try:
                mark = (entry.name, entry.inode())
            except OSError:
                continue
            if mark not in seen:
                seen.add(mark)
                kind = cache_kind(Path(entry.path))
                at = time.monotonic() - run.started
                run.cache.append((at, entry.name, kind))
        time.sleep(0.1)


# --- the figures -------------------------------------------------------------------


def machine(db: str) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except OSError:
        memory = "? RAM"
    system = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    if db == "postgres":
        from django.db import connection

        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            (pg,) = cursor.fetchone()
        connection.close()  # not held open through the run
        database = f"PostgreSQL {pg.split()[0]}"
    else:
        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    try:
        load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return (
        f"{os.cpu_count()} × {cpu}, {memory}, {system}, "
        f"Python {platform.python_version()}, {database}; load average before "
        f"the run {load}"
    )


def _postmaster() -> int | None:
    data = os.environ.get("KHOENON_PG_DATA")
    try:
        return int((Path(data) / "postmaster.pid").read_text().split()[0])
    except (OSError, TypeError, ValueError, IndexError):
        return None


def cpu_times(server_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by our gunicorn (master and workers), our PostgreSQL
    cluster, this load generator, and the whole machine (busy and total), from /proc.
    Other people's processes on a shared machine show as the difference."""
    tick = os.sysconf("SC_CLK_TCK")
    owners = {server_pid: "gunicorn", _postmaster(): "PostgreSQL", os.getpid(): "me"}
    used = Counter()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid = int(stat.parent.name)
        fields = text[text.rindex(")") + 2 :].split()
        parent = int(fields[1])
        owner = owners.get(pid) or owners.get(parent)
        if owner:
            ticks = int(fields[11]) + int(fields[12])
            if pid == server_pid:  # and the workers it recycled (reaped children)
                ticks += int(fields[13]) + int(fields[14])
            used["load generator" if owner == "me" else owner] += ticks / tick
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    used["machine total"] = sum(values) / tick
    used["machine busy"] = (sum(values) - values[3] - values[4]) / tick
    return used


def cpu_line(before: dict, after: dict) -> str:
    """Each part's share of one core between two cpu_times() readings."""
    wall = (after["machine total"] - before["machine total"]) / (os.cpu_count() or 1)
    if wall <= 0:
        return "?"
    share = {k: (after[k] - before[k]) / wall * 100 for k in after}
    share.setdefault("PostgreSQL", 0.0)  # none on SQLite: inside gunicorn
    ours = share["gunicorn"] + share["PostgreSQL"] + share["load generator"]
    return (
        f"machine {share['machine busy'] / (os.cpu_count() or 1):.0f}% busy; "
        f"in % of one core: gunicorn {share['gunicorn']:.0f}, "
        f"PostgreSQL {share['PostgreSQL']:.0f}, "
        f"load generator {share['load generator']:.0f}, "
        f"other processes {max(0.0, share['machine busy'] - ours):.0f}"
    )


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def table(samples: list[Sample], seconds: float) -> list[str]:
    by_kind = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    lines = [
        f"  {'':14}{'requests':>9}{'req/s':>7}{'p50':>8}{'p95':>8}{'p99':>8}"
        f"{'max':>8}{'errors':>8}{'conflicts':>10}"
    ]
    for kind, group in [("all", samples), *sorted(by_kind.items())]:
        ms = sorted(s.ms for s in group)
        outcomes = Counter(s.outcome for s in group)
        lines.append(
            f"  {kind:14}{len(group):9}{len(group) / seconds:7.1f}"
            f"{percentile(ms, 50):6.0f}ms{percentile(ms, 95):6.0f}ms"
            f"{percentile(ms, 99):6.0f}ms{(ms[-1] if ms else 0):6.0f}ms"
            f"{outcomes['error']:8}{outcomes['conflict']:10}"
        )
    return lines


def check_acks(acks: list[Ack]) -> tuple[int, list[str]]:
    """Every acknowledged save must be in the figure's history with its value, and
    each figure must hold the value of its newest history row. Returns the number of
    saves checked and a line per lost one."""
    from django.db import connection

    from targets.models import Figure, ReportingPeriod

    connection.close()  # the run may have outlived this process's connection
    period = ReportingPeriod.objects.get(state="open")
    stored = {
        (h.id, h.version): h
        for h in Figure.history.filter(period=period).order_by("history_id")
    }
    by_target = {f.target_id: f for f in Figure.objects.filter(period=period)}
    lost = []
    newest = {}
    for ack in acks:
        figure = by_target.get(ack.target_id)
        record = stored.get((figure.pk, ack.version)) if figure else None
        if record is None or record.value != ack.value:
            lost.append(
                f"target {ack.target_id} version {ack.version} = {ack.value} "
                f"(acknowledged at {ack.at:.1f} s): "
                + ("missing" if record is None else f"stored {record.value}")
            )
        newest[ack.target_id] = max(newest.get(ack.target_id, 0), ack.version)
    for target_id, version in newest.items():
        figure = by_target.get(target_id)
        if figure is not None and figure.version < version:
            lost.append(
                f"target {target_id}: figure at version {figure.version}, "
                f"acknowledged {version}"
            )
    return len(acks), lost


def check_approvals(moves: list[Move]) -> tuple[int, int]:
    """(approvals acknowledged, found in the figure's history as approved)."""
    from django.db import connection

    from targets.models import Figure, WorkflowState

    connection.close()
    approved = [m for m in moves if m.what == "approve"]
    found = {
        (h.id, h.version)
        for h in Figure.history.filter(
            id__in={m.figure_id for m in approved}, state=WorkflowState.APPROVED
        )
    }
    return len(approved), sum(1 for m in approved if (m.figure_id, m.version) in found)


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def moves_report(run: Run, steady: list[Sample]) -> None:
    """The approval cycles, what the first reader requests after each approval
    cost, and the requests right after a version move against the others."""
    if not run.moves:
        return
    print()
    print(
        "Version moves (s since the start; ✓ when the page after it said so): "
        + ", ".join(f"{m.what} {m.at:.1f} {mark(m.confirmed)}" for m in run.moves)
    )
    readers = ["dashboard", "target page", *DOWNLOADS]
    print("  first request of each kind after each approval (ms, waited s):")
    print("    " + f"{'approval':>9}" + "".join(f"{k:>17}" for k in readers))
    for move in (m for m in run.moves if m.what == "approve"):
        cells = []
        for kind in readers:
            after = [s for s in run.samples if s.kind == kind and s.at >= move.at]
            first = min(after, key=lambda s: s.at, default=None)
            cells.append(
                f"{first.ms:7.0f} ms {first.at - move.at:4.1f} s" if first else "–"
            )
        print("    " + f"{move.at:8.1f}s" + "".join(f"{c:>17}" for c in cells))
    near = [
        s
        for s in steady
        if any(0 <= s.at - m.at < AFTER_MOVE for m in run.moves)
        or any(0 <= m.at - s.at < s.ms / 1000 for m in run.moves)
    ]
    near_ids = {id(s) for s in near}
    rest = [s for s in steady if id(s) not in near_ids]
    print(
        f"  steady requests within {AFTER_MOVE} s after a version move (or in "
        "flight at one) against the others (p50 / p95 / p99, ms):"
    )
    for kind in ["all", *readers]:
        cells = []
        for group in (near, rest):
            ms = sorted(s.ms for s in group if kind in ("all", s.kind))
            cells.append(
                f"{len(ms):5} req {percentile(ms, 50):5.0f} / "
                f"{percentile(ms, 95):5.0f} / {percentile(ms, 99):5.0f}"
            )
        print(f"    {kind:12} after a move: {cells[0]}   otherwise: {cells[1]}")


def cache_report(run: Run) -> None:
    """Report files built (entries written) against those sent."""
    if not run.cache:
        print("  pages cache: no entry seen on disk")
        return
    writes = Counter(kind for _, _, kind in run.cache)
    per_name = Counter((name, kind) for _, name, kind in run.cache)
    sent = Counter(
        s.kind for s in run.samples if s.kind in DOWNLOADS and s.status == 200
    )
    print()
    print("Pages cache, watched on disk (each entry written = one build):")
    for kind, label in (("pdf", "report pdf"), ("xlsx", "report xlsx")):
        keys = [n for (n, k) in per_name if k == kind]
        twice = sum(1 for n in keys if per_name[(n, kind)] > 1)
        built = writes[kind]
        print(
            f"  {label:12} {sent[label]:5} sent, {built:3} built "
            f"({len(keys)} keys, {twice} built more than once "
            f"{mark(twice == 0)}), {max(0, sent[label] - built)} served from the "
            "cache"
        )
    pages = writes["page"] + writes["?"]
    reader = sum(
        1
        for s in run.samples
        if s.kind in ("dashboard", "target page", "report") and s.status == 200
    )
    print(
        f"  reader pages {reader:5} sent, {pages:3} drawn and kept "
        f"(dashboard, target pages, report HTML)"
    )


def report(run: Run, args, title: str) -> None:
    now = datetime.datetime.now().astimezone()
    steady = [s for s in run.samples if s.at >= run.ramp_end - run.started]
    seconds = run.stop_at - run.ramp_end
    clerks = min(args.clerks, args.users)
    db = getattr(args, "db", "postgres")
    print()
    database = "SQLite" if db == "sqlite" else "PostgreSQL"
    print(f"{title} on {database} – {now:%Y-%m-%d %H:%M %z}")
    print(f"  machine: {args.machine}")
    print(
        "  server:  gunicorn gthread, "
        f"{os.environ.get('GUNICORN_WORKERS', '2')} workers × "
        f"{os.environ.get('GUNICORN_THREADS', '8')} threads, DEBUG off, "
        "load generator on the same machine, loopback"
    )
    print(
        f"  load:    {args.users} users ({args.users - clerks} delegates reading, "
        f"{args.downloads:.0%} of their steps a report download; {clerks} clerks "
        f"saving), pauses 1–3 s, ramp {args.ramp:g} s, then {args.duration:g} s "
        "measured; "
        + (
            f"an approval cycle every {args.approve_every:g} s"
            if args.approve_every > 0
            else "no approvals"
        )
    )
    print()
    print(f"Steady part ({seconds:.0f} s after the ramp):")
    for line in table(steady, seconds):
        print(line)
    downloads = sum(1 for s in steady if s.kind in DOWNLOADS)
    print(
        f"  report downloads: {downloads} of {len(steady)} requests "
        f"({downloads / max(1, len(steady)):.1%})"
    )
    if len(run.cpu) == 2:
        before, after = run.cpu
        print(f"  CPU: {cpu_line(before, after)}")
        per_request = {
            part: (after.get(part, 0) - before.get(part, 0))
            * 1000
            / max(1, len(steady))
            for part in ("gunicorn", "PostgreSQL")
        }
        print(
            "  CPU time per request: gunicorn "
            f"{per_request['gunicorn']:.0f} ms, PostgreSQL "
            f"{per_request['PostgreSQL']:.1f} ms (what a dedicated machine's cores "
            "must supply; the capacity of one core is 1000 ms per second)"
        )
    buckets = defaultdict(list)
    for sample in run.samples:
        buckets[int(sample.at // 10) * 10].append(sample.ms)
    moved = {int(m.at // 10) * 10 for m in run.moves}
    print(
        "  p95 by 10 s of the run (ms; * a version move in those 10 s): "
        + ", ".join(
            f"{start}s{'*' if start in moved else ''} {percentile(sorted(ms), 95):.0f}"
            for start, ms in sorted(buckets.items())
        )
    )
    served = args.portal.request_times()
    print(
        f"  gunicorn's own time per request, whole run ({len(served)} requests): "
        f"p50 {percentile(served, 50):.0f} ms, p95 {percentile(served, 95):.0f} ms, "
        f"p99 {percentile(served, 99):.0f} ms"
    )
    moves_report(run, steady)
    cache_report(run)
    print()
    print(f"Whole run including the ramp and the logins ({len(run.samples)} requests):")
    for line in table(run.samples, run.stop_at - run.started)[:2]:
        print(line)
    events = [
        (at - run.wall, what)
        for at, what in args.portal.worker_events()
        if at >= run.wall - 1
    ]
    if events:
        print(
            "  gunicorn's workers during the run (s since the start): "
            + ", ".join(f"{what} {at:.0f}" for at, what in events)
        )
    if run.resent:
        print(
            f"  requests sent again on a new connection (a kept-alive one closed "
            f"unanswered, as at a worker's restart): {len(run.resent)}, at "
            + ", ".join(f"{at:.1f}" for at in run.resent[:20])
            + " s"
        )
    failed = [s for s in run.samples if s.outcome == "error"]
    errors = Counter((s.kind, s.status, s.error) for s in failed)
    if errors:
        print("  errors by kind and status (0 = no answer, with the client's error):")
        for (kind, status, error), n in sorted(errors.items()):
            print(f"    {kind:14} {status:4} {error:24} × {n}")
        print(
            "  at (s since the start): "
            + ", ".join(f"{s.at + s.ms / 1000:.1f}" for s in failed[:40])
        )
        print("  what the server logged:")
        for line in args.portal.error_lines():
            print(f"    {line[:150]}")


def print_ledger(run: Run) -> int:
    checked, lost = check_acks(run.acks)
    unconfirmed = sum(1 for a in run.acks if not a.confirmed)
    print()
    print(
        f"Acknowledged saves checked against the database: {checked} "
        f"({unconfirmed} answered 302 but the page after it did not load); "
        f"lost: {len(lost)}"
    )
    for line in lost[:20]:
        print(f"  LOST {line}")
    approved, found = check_approvals(run.moves)
    if approved:
        print(
            f"Acknowledged approvals: {approved}, found approved in the figure's "
            f"history: {found}"
        )
    return len(lost)


def print_goals(run: Run, lost: int) -> None:
    """Issue 17's goal for this load, marked."""
    steady = sorted(s.ms for s in run.samples if s.at >= run.ramp_end - run.started)
    p95 = percentile(steady, 95)
    errors = sum(1 for s in run.samples if s.outcome == "error")
    print()
    print(
        f"Goal: p95 < {GOAL_P95} ms {mark(p95 < GOAL_P95)} ({p95:.0f} ms, steady "
        f"part); 0 errors {mark(errors == 0)} ({errors}, whole run); 0 saves lost "
        f"{mark(lost == 0)} ({lost})"
    )


def arguments(description: str, duration: float = 180) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--clerks", type=int, default=10, help="how many of the users save figures"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=duration,
        help="seconds measured after the ramp",
    )
    parser.add_argument(
        "--ramp", type=float, default=20, help="seconds over which users arrive"
    )
    parser.add_argument(
        "--downloads",
        type=float,
        default=0.13,
        help="share of the delegates' steps that download the report "
        "(HTML, xlsx or PDF)",
    )
    parser.add_argument(
        "--approve-every",
        type=float,
        default=60,
        help="seconds between approval cycles (0: none)",
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser


def under_postgres() -> None:
    """Re-run this script under .ci/with-postgres unless DATABASE_URL is set to one."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        wrapper = ROOT / ".ci" / "with-postgres"
        os.execv(str(wrapper), [str(wrapper), sys.executable, *sys.argv])


def load(args, during=None) -> Run:
    """Run the load against a started portal; `during(run)` runs in the main thread
    while the users work (the fault benchmark restarts the database there)."""
    portal = args.portal
    plan_ = plan(args.approve_every)
    args.machine = machine(getattr(args, "db", "postgres"))
    started = time.monotonic()
    run = Run(
        started=started,
        ramp_end=started + args.ramp,
        stop_at=started + args.ramp + args.duration,
    )
    users = threading.Thread(
        target=start_users, args=(run, portal.port, args, plan_), daemon=True
    )
    users.start()
    watcher = threading.Thread(
        target=watch_cache, args=(run, portal.pages), daemon=True
    )
    watcher.start()

    def measure_cpu() -> None:
        for moment in (run.ramp_end, run.stop_at):
            time.sleep(max(0.0, moment - time.monotonic()))
            run.cpu.append(cpu_times(portal.server.pid))

    meter = threading.Thread(target=measure_cpu, daemon=True)
    meter.start()
    if during is not None:
        during(run)
    users.join()
    meter.join()
    # Users finish their current request and stop; a request times out at 60 s.
    for thread in run.threads:
        thread.join(timeout=max(0.0, run.stop_at - time.monotonic()) + 65)
    watcher.join(timeout=5)
    return run


def run_on(db: str, args) -> None:
    args.db = db
    args.portal = portal = Portal(db)
    try:
        portal.prepare()
        portal.start()
        print(
            f"{args.users} users on {db} for {args.ramp:.0f} + {args.duration:.0f} s…",
            flush=True,
        )
        run = load(args)
        report(run, args, "Load benchmark")
        lost = print_ledger(run)
        print_goals(run, lost)
    finally:
        portal.close()


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    chosen = args.db
    if chosen == "postgres":
        under_postgres()
        run_on("postgres", args)
        return
    run_on("sqlite", args)
    if chosen == "both":
        sys.stdout.flush()
        wrapper = ROOT / ".ci" / "with-postgres"
        script = str(Path(__file__).resolve())
        subprocess.run(
            [str(wrapper), sys.executable, script, *sys.argv[1:], "--db", "postgres"],
            check=False,
        )


if __name__ == "__main__":
    main()
