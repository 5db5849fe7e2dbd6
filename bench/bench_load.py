"""Load benchmark: N users on the portal at once, under gunicorn on PostgreSQL.

    .venv/bin/python bench/bench_load.py [--users 50] [--clerks 10] [--duration 60]
                                         [--ramp 20] [--seed 1]

Without a PostgreSQL DATABASE_URL it re-runs itself under `.ci/with-postgres`, which
creates a throwaway cluster on loopback and removes it afterwards. In a temporary
folder it writes a settings module that only moves STATIC_ROOT there, runs
`collectstatic`, migrates, loads the resolution and the demo data, and starts
gunicorn with gunicorn.conf.py (2 workers × 4 threads) on a free loopback port, with
production settings (DEBUG off, HTTPS on, as behind nginx: each request carries
X-Forwarded-Proto: https).

Then --users virtual users, Python threads starting one by one over --ramp seconds,
each log in and loop until the end, pausing 1–3 s (uniform) between requests:
- delegates (`daibieu`) read the dashboard "/" and then a target page
  "/chi-tieu/<id>/" picked at random;
- clerks (`kinhte` and `vanhoa`, --clerks of the users) open their entry page, type
  for 1–3 s, and save one figure of their own: a new value, with a note. Each clerk
  user has its own figure, so saves do not collide while there are no more clerks
  than figures (32); a collision is a conflict (the Vietnamese "Xung đột" message),
  counted apart from errors. A browser posts the whole page; these clerks post their
  own row only, as if each figure had its own clerk.

It prints the date and machine, p50/p95/p99 latency, requests per second, errors
(HTTP status 4xx/5xx or no answer) and conflicts, for the steady part of the run
(after the ramp) and for each kind of request; and it checks every acknowledged save
against the database (a save is acknowledged when the server answered 302 and the
page it led to said "Đã lưu nháp"). Goals (issue 7): 0 errors and p95 < 500 ms with
50 users on the 2-core machine. A benchmark: it prints figures and never fails.
"""

import argparse
import datetime
import http.client
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
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
SAVED = "Đã lưu nháp 1 mục thay đổi."


# --- the server --------------------------------------------------------------------


class Portal:
    """The portal under gunicorn over the throwaway PostgreSQL, in a temporary
    folder that is removed afterwards. Django is also set up in this process, to
    read the database before and after the run."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="khoenon-bench-load-"))
        self.server = None
        self.log = None
        self.port = None
        self.env = bench_env(
            self.folder, https=True, DJANGO_MEDIA_ROOT=str(self.folder / "media")
        )

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


@dataclass
class Ack:
    """A save the server acknowledged: what the clerk believes is stored."""

    target_id: int
    version: int
    value: Decimal
    confirmed: bool  # the page after the redirect said so
    at: float


@dataclass
class Run:
    started: float
    ramp_end: float
    stop_at: float
    samples: list[Sample] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    cpu: list[dict] = field(default_factory=list)  # at the ramp's end, at the stop
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, browser: Browser, kind: str, method: str, path: str, form=None):
        """Send one request and record it; (status, location, text), status 0 and
        the error's name as text when the server did not answer."""
        began = time.monotonic()
        try:
            status, location, text = browser.request(method, path, form)
        except (OSError, http.client.HTTPException) as exc:
            status, location, text = 0, "", type(exc).__name__
        ms = (time.monotonic() - began) * 1000
        outcome = "ok" if 200 <= status < 400 else "error"
        if kind == "save" and status == 200:
            outcome = "conflict" if "Xung đột" in text else "error"
        if kind == "login" and status != 302:
            outcome = "error"
        with self.lock:
            self.samples.append(Sample(began - self.started, kind, status, ms, outcome))
        return status, location, text

    def pause(self, rng: random.Random) -> bool:
        """1–3 s of reading or typing; False when the run is over."""
        time.sleep(rng.uniform(1, 3))
        return time.monotonic() < self.stop_at


def log_in(run: Run, browser: Browser, username: str) -> bool:
    status, _, page = run.timed(browser, "login page", "GET", "/accounts/login/")
    token = csrf(page) if status == 200 else None
    if token is None:
        return False
    form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
    status, _, _ = run.timed(browser, "login", "POST", "/accounts/login/", form)
    return status == 302


def delegate(run: Run, port: int, target_ids: list[int], rng: random.Random) -> None:
    browser = Browser(port)
    while time.monotonic() < run.stop_at and not log_in(run, browser, "daibieu"):
        time.sleep(rng.uniform(1, 3))
    while run.pause(rng):
        run.timed(browser, "dashboard", "GET", "/")
        if not run.pause(rng):
            break
        run.timed(browser, "target page", "GET", f"/chi-tieu/{rng.choice(target_ids)}/")


def clerk(
    run: Run, port: int, username: str, slot: int, url: str, rng: random.Random
) -> None:
    """Saves the `slot`-th figure of the user's entry page, over and over."""
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
        value = Decimal(rng.randint(1, 99999))
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


def plan() -> tuple[list[int], str]:
    """The target ids and the entry page of the open quarter, read before the run."""
    from django.db import connection

    from targets.models import ReportingPeriod, Target

    period = ReportingPeriod.objects.get(state="open")
    ids = list(Target.objects.values_list("pk", flat=True))
    connection.close()  # not held open through the run (and a database restart)
    return ids, f"/nhap-so-lieu/{period.pk}/"


def start_users(run: Run, port: int, args, plan_) -> None:
    """Start the users one by one over the ramp, clerks among delegates."""
    target_ids, url = plan_
    clerks = min(args.clerks, args.users)
    for n in range(args.users):
        rng = random.Random(args.seed * 1000 + n)
        if n < clerks:
            username = CLERKS[n % len(CLERKS)]
            work = (clerk, (run, port, username, n // len(CLERKS), url, rng))
        else:
            work = (delegate, (run, port, target_ids, rng))
        run.threads.append(threading.Thread(target=work[0], args=work[1], daemon=True))
    random.Random(args.seed).shuffle(run.threads)
    for n, thread in enumerate(run.threads):
        start_at = run.started + args.ramp * n / max(1, len(run.threads))
        time.sleep(max(0.0, start_at - time.monotonic()))
        thread.start()


# --- the figures -------------------------------------------------------------------


def machine() -> str:
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
    from django.db import connection

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg,) = cursor.fetchone()
    return (
        f"{os.cpu_count()} × {cpu}, {memory}, {system}, "
        f"Python {platform.python_version()}, PostgreSQL {pg.split()[0]}"
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
            used["load generator" if owner == "me" else owner] += (
                int(fields[11]) + int(fields[12])
            ) / tick
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


def report(run: Run, args, title: str) -> None:
    now = datetime.datetime.now().astimezone()
    steady = [s for s in run.samples if s.at >= run.ramp_end - run.started]
    seconds = run.stop_at - run.ramp_end
    clerks = min(args.clerks, args.users)
    print()
    print(f"{title} – {now:%Y-%m-%d %H:%M %z}")
    print(f"  machine: {machine()}")
    print(
        "  server:  gunicorn gthread, "
        f"{os.environ.get('GUNICORN_WORKERS', '2')} workers × "
        f"{os.environ.get('GUNICORN_THREADS', '4')} threads, DEBUG off, "
        "load generator on the same machine, loopback"
    )
    print(
        f"  load:    {args.users} users ({args.users - clerks} delegates reading, "
        f"{clerks} clerks saving), pauses 1–3 s, ramp {args.ramp} s, "
        f"then {args.duration} s measured"
    )
    print()
    print(f"Steady part ({seconds:.0f} s after the ramp):")
    for line in table(steady, seconds):
        print(line)
    if len(run.cpu) == 2:
        before, after = run.cpu
        print(f"  CPU: {cpu_line(before, after)}")
        per_request = {
            part: (after[part] - before[part]) * 1000 / max(1, len(steady))
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
    print(
        "  p95 by 10 s of the run (ms): "
        + ", ".join(
            f"{start}s {percentile(sorted(ms), 95):.0f}"
            for start, ms in sorted(buckets.items())
        )
    )
    served = args.portal.request_times()
    print(
        f"  gunicorn's own time per request, whole run ({len(served)} requests): "
        f"p50 {percentile(served, 50):.0f} ms, p95 {percentile(served, 95):.0f} ms, "
        f"p99 {percentile(served, 99):.0f} ms"
    )
    print()
    print(f"Whole run including the ramp and the logins ({len(run.samples)} requests):")
    for line in table(run.samples, run.stop_at - run.started)[:2]:
        print(line)
    errors = Counter((s.kind, s.status) for s in run.samples if s.outcome == "error")
    if errors:
        print("  errors by kind and status (0 = no answer):")
        for (kind, status), n in sorted(errors.items()):
            print(f"    {kind:14} {status:4}  × {n}")
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
    return len(lost)


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--clerks", type=int, default=10, help="how many of the users save figures"
    )
    parser.add_argument(
        "--duration", type=float, default=60, help="seconds measured after the ramp"
    )
    parser.add_argument(
        "--ramp", type=float, default=20, help="seconds over which users arrive"
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
    started = time.monotonic()
    run = Run(
        started=started,
        ramp_end=started + args.ramp,
        stop_at=started + args.ramp + args.duration,
    )
    users = threading.Thread(
        target=start_users, args=(run, portal.port, args, plan()), daemon=True
    )
    users.start()

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
    return run


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    under_postgres()
    args.portal = portal = Portal()
    try:
        portal.prepare()
        portal.start()
        print(
            f"{args.users} users for {args.ramp:.0f} + {args.duration:.0f} s…",
            flush=True,
        )
        run = load(args)
        report(run, args, "Load benchmark")
        print_ledger(run)
    finally:
        portal.close()


if __name__ == "__main__":
    main()
