"""First paint on a slow link (issue #17): the delegate's dashboard on a first and a
repeat visit, and the clerk from the login form to the entry page, under emulated 2G.

    .venv/bin/python bench/bench_slow.py [--runs 5]

Production settings (DEBUG off, WhiteNoise's compressed manifest files, gunicorn with
gunicorn.conf.py) on a throwaway SQLite database in a temporary folder with the
resolution and the demo data; Debian's Chromium through Playwright as a 360 × 780
phone, every page loaded through the Chrome DevTools Protocol's
Network.emulateNetworkConditions at 250 kbit/s down and up and 800 ms round trip (a
poor 2G / EDGE link). Each run is a fresh browser context (empty HTTP cache) and
measures, in turn:

- the delegate `daibieu` logs in (the login form reached as
  /accounts/login/?next=/accounts/password/, so that logging in does not already
  load the dashboard), then
  - dashboard, first visit: the first contentful paint of / (the paint entry
    'first-contentful-paint', from the navigation's start); the HTTP cache holds
    only what the login pages loaded;
  - dashboard, repeat visit: / again in the same context: the browser revalidates
    its copy (ETag, `private, no-cache`) and the server answers 304;
  - the trivial page (the password-change form, `no-store`) as the floor of one
    fetched page on this link;
  - the delegate from the login button to the dashboard's first paint (the POST,
    its redirect to / and the page), for information;
- the clerk `kinhte`: from the click on the login button to the first paint of the
  page it lands on (the open quarter's entry page), in one timeline: the landing
  page's performance.timeOrigin + its first contentful paint minus the wall time of
  the click, both read in the browser.

The trivial page's paint is the link's floor for one page (a round trip, its
bytes): the summary also gives each figure's ratio to its median. For each it
prints the bytes on the wire (DevTools' encodedDataLength: compressed bodies plus
headers, every request from the navigation to the load event), the document's
status, and whether the first paint waited for a stylesheet: the stylesheets the
page links, when the last of them arrived and when the HTML did, against the first
paint (the pages inline their CSS: nothing should be linked).

Goals: dashboard first paint < 1,5 s on a first visit after login and < 1 s on a
repeat; clerk from login to the entry page's first paint < 2,5 s. Medians of --runs.
A benchmark: it prints figures and never fails.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from bench_entry import CHROMIUM, SLOW_2G
from support import (
    PASSWORD,
    free_port,
    sqlite_demo,
    start_gunicorn,
    stop,
    wait_for_port,
)

TRIVIAL = "/accounts/password/"

# The page's first contentful paint (waiting for it if need be) and what the first
# paint could have waited for: the HTML's arrival, the linked stylesheets and theirs.
PAINT = """() => new Promise(resolve => {
  const report = fcp => {
    const nav = performance.getEntriesByType('navigation')[0];
    const sheets = [...document.querySelectorAll('link[rel~=stylesheet]')];
    const loaded = performance.getEntriesByType('resource')
      .filter(e => e.initiatorType === 'link' || e.name.endsWith('.css'));
    resolve({
      origin: performance.timeOrigin,
      fcp,
      html: nav ? nav.responseEnd : null,
      sheets: sheets.map(s => s.href),
      sheetsIn: loaded.length ? Math.max(...loaded.map(e => e.responseEnd)) : null,
      inline: [...document.querySelectorAll('style')]
        .reduce((n, s) => n + s.textContent.length, 0),
    });
  };
  const found = performance.getEntriesByName('first-contentful-paint')[0];
  if (found) return report(found.startTime);
  new PerformanceObserver((list, observer) => {
    const entry = list.getEntriesByName('first-contentful-paint')[0];
    if (entry) { observer.disconnect(); report(entry.startTime); }
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => report(null), 30000);
})"""

# Clicks the login button and returns the wall time of the click (ms since the epoch,
# the clock performance.timeOrigin is on).
CLICK = """() => {
  const at = performance.timeOrigin + performance.now();
  document.querySelector('button[type=submit]').click();
  return at;
}"""


class Wire:
    """Bytes on the wire and the documents' statuses as sent (a revalidated page is a
    304 here, where the page itself sees the cached 200), from the DevTools protocol."""

    def __init__(self, cdp):
        self.sizes: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self.pages: set[str] = set()
        self.statuses: list[tuple[str, int]] = []
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceivedExtraInfo", self._status)
        cdp.on("Network.loadingFinished", self._done)

    def _sent(self, event):
        if event["request"]["url"].startswith("data:"):
            return  # an inline image (the CSS's icons): nothing on the wire
        self.urls[event["requestId"]] = event["request"]["url"]
        if event.get("type") == "Document":
            self.pages.add(event["requestId"])
        redirect = event.get("redirectResponse")
        if redirect:
            # A redirect's response ends its hop of the request: count its bytes.
            self.sizes[event["requestId"] + " " + redirect["url"]] = int(
                redirect.get("encodedDataLength", 0)
            )

    def _status(self, event):
        self.statuses.append((event["requestId"], event["statusCode"]))

    def _done(self, event):
        if event["requestId"] in self.urls:
            self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def documents(self) -> str:
        return " → ".join(str(s) for rid, s in self.statuses if rid in self.pages)

    def others(self) -> str:
        return ", ".join(
            url.split("/", 3)[-1][:40]
            for rid, url in self.urls.items()
            if rid not in self.pages
        )

    def reset(self):
        self.sizes.clear()
        self.urls.clear()
        self.pages.clear()
        self.statuses.clear()

    def total(self) -> int:
        return sum(self.sizes.values())


class Measure:
    """One measurement: first paint (s), bytes, requests, statuses, what it waited."""

    def __init__(self, label, fcp, wire: Wire, paint: dict, path: str):
        self.label = label
        self.fcp = fcp
        self.bytes = wire.total()
        self.requests = len(wire.urls)
        self.statuses = wire.documents()
        self.others = wire.others()
        self.path = path
        self.html = paint["html"] / 1000 if paint["html"] is not None else None
        self.sheets = paint["sheets"]
        self.sheets_in = (
            paint["sheetsIn"] / 1000 if paint["sheetsIn"] is not None else None
        )
        self.inline = paint["inline"]

    def line(self) -> str:
        waited = (
            "no stylesheet linked"
            if not self.sheets
            else f"{len(self.sheets)} stylesheet(s), last in at {self.sheets_in:.2f} s"
        )
        html = f"HTML in at {self.html:.2f} s, " if self.html is not None else ""
        return (
            f"  {self.label:44} FCP {self.fcp:5.2f} s  {self.bytes / 1024:6.1f} KB "
            f"{self.requests:2} req  [{self.statuses}] {self.path}\n"
            f"  {'':44} {html}{waited}, {self.inline / 1024:.1f} KB inline CSS"
            + (f"; also /{self.others}" if self.others else "")
        )


def throttled(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_2G)
    return Wire(cdp)


def visit(page, wire: Wire, base: str, path: str, label: str) -> Measure:
    """Navigates to path and returns its first paint from the navigation's start."""
    wire.reset()
    page.goto(base + path, wait_until="load", timeout=120_000)
    paint = page.evaluate(PAINT)
    return Measure(label, paint["fcp"] / 1000, wire, paint, path)


def log_in(page, base: str, username: str, start: str = "") -> None:
    page.goto(base + "/accounts/login/" + start, wait_until="load", timeout=120_000)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)


def from_click(page, wire: Wire, base: str, label: str) -> Measure:
    """Clicks the login button; the landing page's first paint from the click."""
    wire.reset()
    with page.expect_navigation(wait_until="load", timeout=120_000):
        clicked = page.evaluate(CLICK)
    paint = page.evaluate(PAINT)
    seconds = (paint["origin"] + paint["fcp"] - clicked) / 1000
    # The HTML's and stylesheets' arrival from the click, like the paint.
    lag = paint["origin"] - clicked
    for key in ("html", "sheetsIn"):
        if paint[key] is not None:
            paint[key] += lag
    return Measure(label, seconds, wire, paint, page.url[len(base) :])


def one_run(browser, base: str) -> list[Measure]:
    phone = {"viewport": {"width": 360, "height": 780}, "locale": "vi-VN"}
    measures = []

    context = browser.new_context(**phone)
    page = context.new_page()
    wire = throttled(context, page)
    log_in(page, base, "daibieu", "?next=" + TRIVIAL)
    with page.expect_navigation(wait_until="load", timeout=120_000):
        page.click("button[type=submit]")
    measures.append(visit(page, wire, base, "/", "dashboard, first visit after login"))
    measures.append(visit(page, wire, base, "/", "dashboard, repeat visit"))
    measures.append(visit(page, wire, base, TRIVIAL, "trivial page (no-store)"))
    context.close()

    context = browser.new_context(**phone)
    page = context.new_page()
    wire = throttled(context, page)
    log_in(page, base, "kinhte")
    measures.append(from_click(page, wire, base, "clerk: login click → entry page"))
    context.close()

    context = browser.new_context(**phone)
    page = context.new_page()
    wire = throttled(context, page)
    log_in(page, base, "daibieu")
    measures.append(from_click(page, wire, base, "delegate: login click → dashboard"))
    context.close()
    return measures


GOALS = {
    "dashboard, first visit after login": 1.5,
    "dashboard, repeat visit": 1.0,
    "clerk: login click → entry page": 2.5,
}


def run(args) -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="khoenon-bench-slow-"))
    server = None
    try:
        env = sqlite_demo(folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(env, port, open(folder / "gunicorn.log", "w"))
        wait_for_port(port)

        runs: list[list[Measure]] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            for number in range(args.runs):
                print(f"\nRun {number + 1} (250 kbit/s, 800 ms RTT, 360 px):")
                runs.append(one_run(browser, base))
                for measure in runs[-1]:
                    print(measure.line())
            browser.close()

        print(f"\nMedian of {args.runs} runs (250 kbit/s both ways, 800 ms RTT):")
        print(
            f"  {'':44} {'FCP':>7} {'÷ trivial':>9} {'on the wire':>12} {'goal':>8}"
            "   linked stylesheets"
        )
        trivial = statistics.median(r[2].fcp for r in runs)
        for column, first in enumerate(runs[0]):
            same = [r[column] for r in runs]
            fcp = statistics.median(m.fcp for m in same)
            size = statistics.median(m.bytes for m in same)
            goal = GOALS.get(first.label)
            verdict = (
                f"< {goal:.1f} s {'✓' if fcp < goal else '✗'}".replace(".", ",")
                if goal
                else "–"
            )
            sheets = max(len(m.sheets) for m in same)
            print(
                f"  {first.label:44} {fcp:5.2f} s {fcp / trivial:8.2f}× "
                f"{size / 1024:8.1f} KB "
                f"{verdict:>10}   {sheets or 'none'}"
            )
    finally:
        stop(server, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
