"""Fault benchmark: the mixed load of bench_load.py (readers, report downloads, clerks'
drafts, an approval cycle a minute) while PostgreSQL restarts in the middle of the
run; then every acknowledged save is looked up in the database.

    .venv/bin/python bench/bench_fault.py [--users 50] [--clerks 10] [--duration 60]
                                          [--ramp 20] [--restart-at 20]
                                          [--mode fast|immediate] [--down 0]

Set-up as in bench_load.py (a throwaway cluster from `.ci/with-postgres`, gunicorn
with gunicorn.conf.py, production settings). That cluster runs with
synchronous_commit=off for speed; here the portal's database is switched back to
PostgreSQL's default, synchronous_commit=on (ALTER DATABASE), so that a commit the
portal acknowledges is as durable as on a real server.

--restart-at seconds after the ramp, `pg_ctl restart -m fast` (or `-m immediate`, a
crash: no shutdown checkpoint, recovery from the WAL at start) runs as the postgres
user, with -w: the script waits until the server accepts connections again. With
--down S, PostgreSQL is stopped instead, kept down S seconds, and started again: a
longer outage, during which the portal must answer 503 and then recover by itself.

A clerk's save counts as acknowledged when the server answered 302 and the page it
led to said "Đã lưu nháp" (the clerk saw it saved); one answered 302 whose next page
failed is checked too. Afterwards each must be in the figure's history with its
version and value, and no figure may be older than its newest acknowledged save.
The goal (issue 7) is 0 lost acknowledged saves. Requests that fail while the
database is down are expected; the script prints them by status and by second, and
whether the portal recovered by itself (no errors once the database was back).
A benchmark: it prints figures and never fails.
"""

import os
import shlex
import subprocess
import time
from collections import Counter
from pathlib import Path

from bench_load import Portal, arguments, load, print_ledger, report, under_postgres


def pg_ctl(*args: str) -> None:
    data, pg_bin = os.environ["KHOENON_PG_DATA"], os.environ["KHOENON_PG_BIN"]
    command = [f"{pg_bin}/pg_ctl", "-D", data, "-w", *args]
    if os.geteuid() == 0:  # the cluster belongs to the postgres user
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def restart_postgres(mode: str, down: float) -> None:
    """`pg_ctl restart`; or, with `down` seconds, stop, wait, and start again with
    the options the server was started with (postmaster.opts)."""
    log = str(Path(os.environ["KHOENON_PG_DATA"]).parent / "restart.log")
    if not down:
        pg_ctl("-m", mode, "-l", log, "restart")
        return
    opts = Path(os.environ["KHOENON_PG_DATA"]) / "postmaster.opts"
    words = shlex.split(opts.read_text())[1:]  # without the postgres binary
    at = words.index("-D")
    options = shlex.join(words[:at] + words[at + 2 :])
    pg_ctl("-m", mode, "stop")
    time.sleep(down)
    pg_ctl("-l", log, "-o", options, "start")


def durable_commits() -> str:
    """The production default for the portal's database; returns what a new session
    sees."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        (value,) = cursor.fetchone()
    connection.close()
    return value


def outage_report(run, window: tuple[float, float]) -> None:
    down, up = window
    print()
    print(
        f"PostgreSQL {run.how}: from {down:.1f} s to {up:.1f} s of the run "
        f"({up - down:.1f} s without a database)"
    )
    errors = [s for s in run.samples if s.outcome == "error"]
    by_status = Counter(s.status for s in errors)
    shown = ", ".join(
        f"{'no answer' if status == 0 else f'HTTP {status}'} × {n}"
        for status, n in sorted(by_status.items())
    )
    print(f"  failed requests: {len(errors)}" + (f" ({shown})" if errors else ""))
    if errors:
        # A request in flight when the database went away fails then, however long
        # ago it started: the answer's time is what places it in the outage.
        first = min(s.at + s.ms / 1000 for s in errors)
        last = max(s.at + s.ms / 1000 for s in errors)
        print(f"  failures answered between {first:.1f} s and {last:.1f} s of the run")
    after = [s for s in run.samples if s.at > up + 5]
    late = sum(1 for s in after if s.outcome == "error")
    print(
        f"  from 5 s after the restart to the end: {len(after)} requests, "
        f"{late} failed" + (" – recovered by itself" if not late else "")
    )
    print("  second by second around the restart (answers; failures):")
    start = int(down) - 2
    for second in range(start, int(up) + 6):
        group = [s for s in run.samples if second <= s.at + s.ms / 1000 < second + 1]
        failed = Counter(s.status for s in group if s.outcome == "error")
        detail = ", ".join(
            f"{'no answer' if k == 0 else k}×{v}" for k, v in sorted(failed.items())
        )
        print(f"    {second:4d} s  {len(group):3d}  {detail}")


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], duration=60)
    parser.add_argument(
        "--restart-at",
        type=float,
        default=20,
        help="seconds after the ramp when PostgreSQL restarts",
    )
    parser.add_argument("--mode", choices=["fast", "immediate"], default="fast")
    parser.add_argument(
        "--down",
        type=float,
        default=0,
        help="keep PostgreSQL stopped this many seconds (default: a plain restart)",
    )
    args = parser.parse_args()
    under_postgres()
    args.portal = portal = Portal()
    window = []
    try:
        portal.prepare()
        print(f"synchronous_commit for the portal: {durable_commits()}")
        portal.start()
        print(
            f"{args.users} users for {args.ramp:.0f} + {args.duration:.0f} s; "
            f"PostgreSQL goes down (-m {args.mode}) at "
            f"{args.ramp + args.restart_at:.0f} s…",
            flush=True,
        )

        def restart_midway(run) -> None:
            at = run.ramp_end + args.restart_at
            time.sleep(max(0.0, at - time.monotonic()))
            down = time.monotonic()
            restart_postgres(args.mode, args.down)
            window.extend([down - run.started, time.monotonic() - run.started])

        run = load(args, during=restart_midway)
        run.how = (
            f"stopped (pg_ctl stop -m {args.mode}) for {args.down:g} s, then started"
            if args.down
            else f"restarted (pg_ctl restart -m {args.mode} -w)"
        )
        run.cpu = []  # the postmaster changed mid-run: no CPU shares
        report(run, args, "Fault benchmark")
        outage_report(run, tuple(window))
        print_ledger(run)
    finally:
        portal.close()


if __name__ == "__main__":
    main()
