"""Page benchmark: the dashboard's weight on a first and a repeat visit, and its
latency against a trivial page behind the same login, under gunicorn on PostgreSQL,
with the demo resolution (32 targets) and with fifty times as much data.

    .venv/bin/python bench/bench_pages.py [--runs 30] [--scale 50]

Without a PostgreSQL DATABASE_URL it re-runs itself under `.ci/with-postgres`, which
creates a throwaway cluster on loopback and removes it afterwards. In a temporary
folder it writes a settings module that only moves STATIC_ROOT there, runs
`collectstatic` (WhiteNoise's compressed manifest storage: hashed names, far-future
caching) under production settings (DEBUG off, a random DJANGO_SECRET_KEY), migrates,
loads the resolution and the demo data, starts gunicorn (gunicorn.conf.py: 2 workers
× 4 threads) on a free loopback port, logs in as the demo delegate and measures:

- bytes on the wire, gzip accepted: the dashboard's HTML plus every stylesheet,
  script, image and font it references, on a first visit (empty cache) and on a
  repeat visit, where a resource is reused while its Cache-Control max-age holds,
  revalidated when it carries a validator (a 304 costs its headers), refetched
  otherwise (the HTML itself is no-store: pages behind a login are never cached);
- the dashboard's latency against the trivial page (the password-change form: the
  same session, middleware, roles query and base template, no data), as ratios of
  medians of --runs rounds (after three warm-up rounds), each round taking in turn:
  the trivial page; the dashboard with nothing committed since it was drawn (served
  on PostgreSQL's snapshot alone); the dashboard after a commit that changes nothing
  it reads (a user's last login, written straight to the database: the rows are read
  and found unchanged); the dashboard after an approved figure's save time changed
  (rows read and drawn again);
- then, the same way, a filtered dashboard, a target page and the comparison report;
- then it adds --scale× data (a second commune with one resolution of 30 × scale
  targets, their figures, bodies and tasks, built by the query-count tests'
  builders) and measures resolution 13's dashboard again, and the large
  resolution's dashboard and report;
- last, the progress engine alone (load_resolution_progress in one process on the
  same database), the floor under any page that shows every target.

Goals (issue 5): first visit < 150 KB, repeat < 20 KB, dashboard within 3× the trivial
page. A benchmark: it prints figures and never fails.
"""

import argparse
import gzip
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

from support import (
    PASSWORD,
    ROOT,
    bench_env,
    free_port,
    prepare,
    start_gunicorn,
    wait_for_port,
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


class Client:
    """A tiny browser over one keep-alive connection: cookies, gzip, a cache."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.cache: dict[str, dict] = {}

    def request(self, method, path, body=None, headers=None):
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Accept-Encoding": "gzip",
            "User-Agent": "bench_pages",
            **(headers or {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, ConnectionError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        raw = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + sum(
            len(f"{k}: {v}\r\n") for k, v in response.headers.items()
        )
        body_text = raw
        if response.headers.get("Content-Encoding") == "gzip":
            body_text = gzip.decompress(raw)
        return response, body_text, head + len(raw) + 2

    def get(self, path):
        return self.request("GET", path)

    def login(self, username: str) -> None:
        _, page, _ = self.get("/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urlencode(
            {
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.decode(),
            }
        )
        response, _, _ = self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}/accounts/login/",
            },
        )
        assert response.status == 302, f"login failed: {response.status}"

    # --- page weight, as a browser with a cache would spend it -------------------

    def fetch(self, path: str) -> tuple[bytes, int, str]:
        """(body, bytes on the wire, how) honouring and filling the cache."""
        entry = self.cache.get(path)
        if entry and entry["expires"] > time.time():
            return entry["body"], 0, "cache"
        headers = {}
        if entry and entry.get("etag"):
            headers["If-None-Match"] = entry["etag"]
        if entry and entry.get("modified"):
            headers["If-Modified-Since"] = entry["modified"]
        response, body, wire = self.request("GET", path, headers=headers)
        if response.status == 304 and entry:
            return entry["body"], wire, "304"
        control = response.headers.get("Cache-Control", "")
        max_age = re.search(r"max-age=(\d+)", control)
        storable = "no-store" not in control
        if storable:
            self.cache[path] = {
                "body": body,
                "expires": time.time() + int(max_age[1])
                if max_age and "no-cache" not in control
                else 0,
                "etag": response.headers.get("ETag"),
                "modified": response.headers.get("Last-Modified"),
            }
        return body, wire, str(response.status)

    def visit(self, path: str) -> list[tuple[str, int, str]]:
        """The page and everything it references: [(path, bytes, how)]."""
        html, wire, how = self.fetch(path)
        spent = [(path, wire, how)]
        refs = re.findall(
            rb'<(?:link[^>]+rel="(?:stylesheet|icon)"[^>]+href|script[^>]+src|img[^>]+src)'
            rb'="([^"]+)"',
            html,
        )
        for ref in refs:
            url = ref.decode()
            if url.startswith("data:"):
                continue
            target = urljoin(path, url)
            body, wire, how = self.fetch(urlsplit(target).path)
            spent.append((target, wire, how))
            if target.endswith(".css"):
                for font in re.findall(rb"url\(([^)]+)\)", body):
                    font_url = font.decode().strip("'\"")
                    if font_url.startswith("data:") or "#" in font_url[:1]:
                        continue
                    font_path = urlsplit(urljoin(target, font_url)).path
                    _, fwire, fhow = self.fetch(font_path)
                    spent.append((font_path, fwire, fhow))
        return spent


def medians_ms(client: Client, paths: list[str], runs: int) -> list[float]:
    """Median latency of each path. The paths take turns within every round, so a
    burst of load on a noisy machine hits them all alike and the ratios hold."""
    for path in paths:
        for _ in range(3):
            client.get(path)
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):
        for i, path in enumerate(paths):
            start = time.perf_counter()
            response, _, _ = client.get(path)
            times[i].append((time.perf_counter() - start) * 1000)
            assert response.status == 200, (path, response.status)
    return [statistics.median(t) for t in times]


def print_visit(title: str, spent) -> int:
    total = sum(wire for _, wire, _ in spent)
    print(f"  {title}: {total / 1024:.1f} KB")
    for path, wire, how in spent:
        print(f"    {wire / 1024:7.1f} KB  {how:>5}  {path}")
    return total


ENGINE = """
import statistics, sys, time
import django
django.setup()
from targets.models import ReportingPeriod, Resolution
from targets.progress_load import load_resolution_progress
for pk in sys.argv[2:]:
    r = Resolution.objects.get(pk=pk)
    period = (
        ReportingPeriod.objects.filter(
            commune=r.commune,
            figures__state="approved",
            figures__target__indicator__resolution=r,
        )
        .order_by("-year", "-quarter")
        .first()
    )
    for _ in range(3):
        load_resolution_progress(r, period)
    times = []
    for _ in range(int(sys.argv[1])):
        start = time.perf_counter()
        load_resolution_progress(r, period)
        times.append((time.perf_counter() - start) * 1000)
    print(statistics.median(times))
"""


def engine_ms(env: dict, runs: int, *resolutions: int) -> list[float]:
    """The progress loader alone, in one process on the same database: the floor
    under any page that shows every target."""
    out = subprocess.run(
        [sys.executable, "-c", ENGINE, str(runs), *map(str, resolutions)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return [float(line) for line in out.stdout.split()]


TRIVIAL = "/accounts/password/"

# Commits made between requests, straight to the database as another process would:
# one that changes nothing the dashboard reads (a user's last login, as every login
# writes), and one that changes what it reads (an approved figure's save time).
UNRELATED_COMMIT = "UPDATE auth_user SET last_login = now() WHERE username = 'pheduyet'"
FIGURE_COMMIT = (
    "UPDATE targets_figure SET updated_at = now() WHERE id = "
    "(SELECT min(id) FROM targets_figure WHERE state = 'approved')"
)


def dashboard_paths(client: Client, runs: int) -> dict:
    """The dashboard's three ways, against the trivial page, taking turns in each
    round: nothing committed since it was drawn (the kept drawing, served on the
    database snapshot alone); after a commit elsewhere in the database (its rows are
    read, the same rows: the kept drawing); after a figure changed (rows read and
    drawn again). Prints and returns {label: (ms, ratio)}."""
    import psycopg2

    database = psycopg2.connect(os.environ["DATABASE_URL"])
    database.autocommit = True
    labels = [
        "trivial page (" + TRIVIAL + ")",
        "dashboard, nothing committed since drawn",
        "dashboard after an unrelated commit",
        "dashboard after a figure changed (drawn)",
    ]
    commits = [None, None, UNRELATED_COMMIT, FIGURE_COMMIT]
    paths = [TRIVIAL, "/", "/", "/"]
    times: list[list[float]] = [[] for _ in labels]
    try:
        for round_ in range(runs + 3):
            for i, (path, commit) in enumerate(zip(paths, commits, strict=True)):
                if commit:
                    with database.cursor() as cursor:
                        cursor.execute(commit)
                start = time.perf_counter()
                response, _, _ = client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status == 200, (path, response.status)
                if round_ >= 3:
                    times[i].append(elapsed)
    finally:
        database.close()
    trivial = statistics.median(times[0])
    table = {}
    for label, t in zip(labels, times, strict=True):
        ms = statistics.median(t)
        table[label] = (ms, ms / trivial)
        print(f"  {label:48} {ms:8.1f} ms   {ms / trivial:6.2f}× trivial")
    return table


def latency_table(client: Client, pages, runs: int) -> dict:
    """Prints and returns {label: (ms, ratio to the trivial page)}."""
    trivial, *measured = medians_ms(client, [TRIVIAL] + [p for _, p in pages], runs)
    print(f"  {'trivial page (' + TRIVIAL + ')':48} {trivial:8.1f} ms")
    table = {"trivial": (trivial, 1.0)}
    for (label, _), ms in zip(pages, measured, strict=True):
        table[label] = (ms, ms / trivial)
        print(f"  {label:48} {ms:8.1f} ms   {ms / trivial:6.2f}× trivial")
    return table


def run(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="khoenon-bench-"))
    server = None
    try:
        env = bench_env(folder)
        prepare(env)
        port = free_port()
        log = open(folder / "gunicorn.log", "w")
        server = start_gunicorn(env, port, log)
        wait_for_port(port)

        client = Client(port)
        client.login("daibieu")
        _, home, _ = client.get("/")
        demo = int(re.search(r'name="nq" value="(\d+)"', home.decode())[1])
        grain = re.search(r'href="(/chi-tieu/\d+/\?ky=\d+)">Tổng s', home.decode())[1]

        print()
        print("Dashboard weight (gzip), resolution 13 with the demo data (32 targets):")
        first = print_visit("first visit", client.visit("/"))
        repeat = print_visit("repeat visit", client.visit("/"))
        print_visit("then a target page (Chart.js only there)", client.visit(grain))

        print()
        print(f"Dashboard latency under gunicorn on PostgreSQL, median of {args.runs}:")
        ways = dashboard_paths(client, args.runs)

        print()
        print(f"Other pages, median of {args.runs} runs:")
        one = latency_table(
            client,
            [
                ("dashboard filtered (?tt=at_risk)", "/tien-do/?tt=at_risk"),
                ("target page (2a)", grain),
                ("comparison report", "/bao-cao/"),
            ],
            args.runs,
        )

        print()
        print(
            f"Adding {args.scale}× data: a second commune, one resolution of "
            f"{30 * args.scale} targets with figures, bodies and tasks…",
            flush=True,
        )
        large = build_large(env, args.scale)
        big = 30 * args.scale
        many = latency_table(
            client,
            [
                (f"dashboard (resolution 13, {args.scale}× data in the DB)", "/"),
                (f"dashboard ({big} targets)", f"/tien-do/?nq={large}"),
                (f"comparison report ({big} targets)", f"/bao-cao/?nq={large}"),
            ],
            max(5, args.runs // 3),
        )
        fresh = Client(port)
        fresh.login("daibieu")
        big_first = sum(w for _, w, _ in fresh.visit(f"/?nq={large}"))
        big_repeat = sum(w for _, w, _ in fresh.visit(f"/?nq={large}"))
        print(
            f"  weight of the {30 * args.scale}-target dashboard: first visit "
            f"{big_first / 1024:.1f} KB, repeat {big_repeat / 1024:.1f} KB"
        )

        small_engine, large_engine = engine_ms(env, args.runs, demo, large)
        print()
        print("The progress engine alone (load_resolution_progress, in one process):")
        trivial = one["trivial"][0]
        print(
            f"  resolution 13: {small_engine:.1f} ms ({small_engine / trivial:.2f}× "
            f"the trivial page's {trivial:.1f} ms); {big} targets: "
            f"{large_engine:.1f} ms"
        )

        print()
        print("Against the goals:")
        print(f"  first visit  {first / 1024:6.1f} KB   goal < 150 KB")
        print(f"  repeat visit {repeat / 1024:6.1f} KB   goal < 20 KB")
        dash = [ratio for _, ratio in list(ways.values())[1:]]
        dash_many = many[f"dashboard (resolution 13, {args.scale}× data in the DB)"][1]
        print(
            f"  dashboard    {dash[0]:6.2f}× trivial as drawn, {dash[1]:.2f}× after an "
            f"unrelated commit, {dash[2]:.2f}× after a figure changed; "
            f"{dash_many:.2f}× as drawn with {args.scale}× data in the DB   "
            "goal within 3×"
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--scale", type=int, default=50)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        wrapper = ROOT / ".ci" / "with-postgres"
        os.execv(str(wrapper), [str(wrapper), sys.executable, *sys.argv])
    run(args)


if __name__ == "__main__":
    main()
