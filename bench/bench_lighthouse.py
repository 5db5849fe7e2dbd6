"""Lighthouse on the pages readers and clerks open (issue #17): scores and paint
figures on a phone, the demo resolution and a 1 500-target one.

    .venv/bin/python bench/bench_lighthouse.py [--runs 3] [--scale 50]

Lighthouse (tools/lighthouse: `npm ci` there when node_modules is missing; node and
npm needed) drives Debian's Chromium (CHROME_PATH=/usr/bin/chromium, headless, no
sandbox) with its default mobile profile: a phone's screen and simulated throttling
(150 ms round trip, 1,6 Mbit/s down, the CPU 4× slower), the performance,
accessibility and best-practices categories. The server: production settings
(DEBUG off, WhiteNoise's compressed manifest files, gunicorn with gunicorn.conf.py)
on a throwaway SQLite database in a temporary folder with the resolution, the demo
data and --scale× more (a second commune with one resolution of 30 × scale targets,
figures, bodies and tasks: bench_pages.build_large). The pages behind the login get
the session cookie of a login made beforehand (support.Browser) through
`--extra-headers`:

- dashboard, target page (the first target the dashboard links), report: the
  delegate `daibieu`;
- entry page: the clerk `kinhte`, the page the login lands on;
- the 1 500-target resolution's dashboard (/tien-do/?nq=<id>): the delegate.

SQLite only: Lighthouse measures the browser's side (the page's weight, its layout,
paint and main-thread work under a simulated phone and link); the server's part is
the time to the HTML's first byte, tens of milliseconds either way, which the
latency benches (bench_pages.py, bench_load.py) compare on both databases.

Each round runs every page once (pages take turns, so a burst of load on a shared
machine meets them alike); the table shows each page's median score per category
over --runs rounds, with the first contentful paint, largest contentful paint, total
blocking time (simulated), total bytes on the wire and the HTML's own uncompressed
size, and lists every audit that failed in
accessibility or best practices with the elements it names.

Lighthouse's simulated throttling multiplies the main-thread work it observes on
this machine by 4: on a loaded machine that work is slower and the total blocking
time (30 % of the performance score) rises with the load. Each run's benchmarkIndex
(Lighthouse's measure of the machine's speed when it ran) is printed with the table:
compare scores from runs of similar index.

Goals: dashboard and report 100 in every category; target page ≥ 97; entry page
accessibility ≥ 95; the 1 500-target dashboard performance ≥ 95. A benchmark: it
prints figures and never fails.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench_entry import CHROMIUM
from bench_pages import build_large
from support import (
    PASSWORD,
    ROOT,
    Browser,
    csrf,
    free_port,
    sqlite_demo,
    start_gunicorn,
    stop,
    wait_for_port,
)

TOOL = ROOT / "tools" / "lighthouse"
LIGHTHOUSE = TOOL / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
SHORT = {"performance": "perf", "accessibility": "a11y", "best-practices": "bp"}


def install() -> None:
    if not LIGHTHOUSE.exists():
        print("Installing Lighthouse (npm ci in tools/lighthouse)…", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TOOL, check=True)


def log_in(port: int, username: str) -> tuple[str, str]:
    """(sessionid, the path the login lands on)."""
    browser = Browser(port)
    _, _, page = browser.request("GET", "/accounts/login/")
    status, location, _ = browser.request(
        "POST",
        "/accounts/login/",
        {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf(page),
        },
    )
    assert status == 302, f"login of {username} failed: {status}"
    browser.close()
    return browser.cookies["sessionid"], location


def lighthouse(url: str, session: str, out: Path) -> dict:
    """One Lighthouse run; its JSON report."""
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--chrome-flags=--headless=new --no-sandbox",
            "--only-categories=" + ",".join(CATEGORIES),
            "--extra-headers=" + json.dumps({"Cookie": f"sessionid={session}"}),
            "--output=json",
            f"--output-path={out}",
            "--quiet",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=True,
        timeout=300,
    )
    return json.loads(out.read_text(encoding="utf-8"))


class Scores:
    """One page's runs."""

    def __init__(self, label: str, goals: dict[str, int]):
        self.label = label
        self.goals = goals
        self.runs: list[dict] = []
        self.failed: dict[str, set[str]] = {}

    def add(self, report: dict) -> None:
        if report.get("runtimeError"):
            print(f"    {self.label}: {report['runtimeError']}")
            return
        asked, shown = report["requestedUrl"], report["finalDisplayedUrl"]
        if asked != shown:
            print(f"    {self.label}: asked for {asked}, Lighthouse saw {shown}")
        audits = report["audits"]
        self.runs.append(
            {
                **{
                    c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES
                },
                "fcp": audits["first-contentful-paint"]["numericValue"],
                "lcp": audits["largest-contentful-paint"]["numericValue"],
                "tbt": audits["total-blocking-time"]["numericValue"],
                "bytes": audits["total-byte-weight"]["numericValue"],
                "html": next(
                    (
                        item.get("resourceSize", 0)
                        for item in audits["network-requests"]["details"]["items"]
                        if item.get("resourceType") == "Document"
                    ),
                    0,
                ),
            }
        )
        for category in ("accessibility", "best-practices"):
            for ref in report["categories"][category]["auditRefs"]:
                audit = audits[ref["id"]]
                if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                    nodes = self.failed.setdefault(f"{category}: {ref['id']}", set())
                    nodes.update(elements(audit))
        # Below its goal, what the performance score lost: its weighted metrics.
        goal = self.goals.get("performance")
        if goal and self.runs[-1]["performance"] < goal:
            for ref in report["categories"]["performance"]["auditRefs"]:
                audit = audits[ref["id"]]
                if ref["weight"] and (audit["score"] or 0) < 0.9:
                    self.failed.setdefault(
                        f"performance: {ref['id']} (weight {ref['weight']})", set()
                    ).add(f"{audit.get('displayValue', '')}, score {audit['score']}")

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)

    def verdict(self) -> str:
        marks = []
        for category, goal in self.goals.items():
            ok = self.median(category) >= goal
            marks.append(f"{SHORT[category]} ≥ {goal} {'✓' if ok else '✗'}")
        return ", ".join(marks)


def elements(audit: dict) -> list[str]:
    """The elements (or resources) an audit names."""
    found = []
    for item in (audit.get("details") or {}).get("items", [])[:8]:
        node = item.get("node") or {}
        if node.get("snippet"):
            found.append(re.sub(r"\s+", " ", node["snippet"])[:110])
        elif item.get("url"):
            found.append(str(item["url"])[:110])
    return found


def run(args) -> None:
    install()
    folder = Path(tempfile.mkdtemp(prefix="khoenon-bench-lighthouse-"))
    server = None
    try:
        env = sqlite_demo(folder)
        big = 30 * args.scale
        print(f"Adding a resolution of {big} targets (--scale {args.scale})…")
        large = build_large(env, args.scale)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(env, port, open(folder / "gunicorn.log", "w"))
        wait_for_port(port)

        delegate, _ = log_in(port, "daibieu")
        clerk, entry = log_in(port, "kinhte")
        reader = Browser(port)
        reader.cookies["sessionid"] = delegate
        _, _, home = reader.request("GET", "/")
        target = re.search(r'href="(/chi-tieu/\d+/[^"]*)"', home)[1].replace(
            "&amp;", "&"
        )
        reader.close()

        every = {"performance": 100, "accessibility": 100, "best-practices": 100}
        pages = [
            (Scores("dashboard /", every), "/", delegate),
            (
                Scores(f"target page {target}", dict.fromkeys(CATEGORIES, 97)),
                target,
                delegate,
            ),
            (Scores("report /bao-cao/", every), "/bao-cao/", delegate),
            (Scores(f"entry page {entry}", {"accessibility": 95}), entry, clerk),
            (
                Scores(f"dashboard, {big} targets", {"performance": 95}),
                f"/tien-do/?nq={large}",
                delegate,
            ),
        ]
        # Every page drawn once before Lighthouse sees it: the runs measure what
        # readers get in steady state, the page kept by the server's cache.
        # Printed with the size and title, so a page that is not what it should be
        # (a login form, an error) shows before its scores.
        for scores, path, session in pages:
            warm = Browser(port)
            warm.cookies["sessionid"] = session
            status, _, html = warm.request("GET", path)
            warm.close()
            title = re.search(r"<title>\s*(.*?)\s*</title>", html, re.S)
            print(
                f"  {scores.label:34} {status}, {len(html.encode()) / 1024:.1f} KB "
                f"of HTML: {title[1] if title else '?'}"
            )
        machine = []
        for number in range(args.runs):
            print(f"Round {number + 1} of {args.runs}…", flush=True)
            for i, (scores, path, session) in enumerate(pages):
                report = lighthouse(base + path, session, folder / f"{i}.json")
                scores.add(report)
                machine.append(report["environment"]["benchmarkIndex"])
                last = scores.runs[-1] if scores.runs else None
                if last:
                    print(
                        f"    {scores.label:34} "
                        + " ".join(f"{SHORT[c]} {last[c]:3}" for c in CATEGORIES)
                        + f"  FCP {last['fcp'] / 1000:.2f} s"
                        f"  LCP {last['lcp'] / 1000:.2f} s  TBT {last['tbt']:.0f} ms",
                        flush=True,
                    )

        print(
            f"\nLighthouse {report['lighthouseVersion']}, "
            f"{report['configSettings']['formFactor']} "
            f"({report['configSettings']['throttlingMethod']} throttling), "
            f"median of {args.runs} runs; this machine's benchmarkIndex "
            f"{statistics.median(machine):.0f} (median; "
            f"{min(machine):.0f}–{max(machine):.0f}):"
        )
        print(
            f"  {'page':36} {'perf':>4} {'a11y':>4} {'bp':>4} {'FCP':>7} {'LCP':>7} "
            f"{'TBT':>7} {'bytes':>9} {'HTML':>9}   goals"
        )
        for scores, _, _ in pages:
            if not scores.runs:
                print(f"  {scores.label:36} no run succeeded")
                continue
            print(
                f"  {scores.label:36} "
                + " ".join(f"{scores.median(c):4.0f}" for c in CATEGORIES)
                + f" {scores.median('fcp') / 1000:5.2f} s"
                f" {scores.median('lcp') / 1000:5.2f} s"
                f" {scores.median('tbt'):4.0f} ms"
                f" {scores.median('bytes') / 1024:6.1f} KB"
                f" {scores.median('html') / 1024:6.1f} KB   {scores.verdict()}"
            )
        failures = [(s, s.failed) for s, _, _ in pages if s.failed]
        if failures:
            print("\nAudits below full marks (any run), with the elements they name:")
            for scores, failed in failures:
                print(f"  {scores.label}:")
                for audit, nodes in sorted(failed.items()):
                    print(f"    {audit}")
                    for node in sorted(nodes):
                        print(f"        {node}")
    finally:
        stop(server, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, default=50)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
