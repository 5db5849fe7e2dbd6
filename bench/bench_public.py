"""Public benchmark: the public pages' weight on a first and a repeat visit, and the
API's progress endpoint against a trivial endpoint, on a real server on loopback.

    .venv/bin/python bench/bench_public.py [--runs 40]

In a temporary folder: an SQLite database, `collectstatic` (WhiteNoise's compressed
manifest storage, far-future caching of hashed names) under production settings
(DEBUG off, a random DJANGO_SECRET_KEY, HTTPS off on loopback), migrate, the
resolution and the demo data (Q1–Q3 2025 published), gunicorn (gunicorn.conf.py:
2 workers × 8 threads) on a free loopback port. Anonymous throughout (the public
side), with the anonymous throttle raised so that it never refuses the benchmark.

- weight, gzip accepted: each public page's HTML plus the stylesheets it links on a
  first visit; on a repeat visit the page is revalidated with its ETag (a 304 costs
  its headers) and the stylesheets, hashed and cached for a year, cost nothing;
- latency: medians of --runs rounds (after three warm-up rounds), each round taking
  in turn the trivial endpoint (/api/v1/: the same middleware, throttle and
  renderer, no data), the progress endpoint (/api/v1/progress/: every target's
  judgement at the latest published quarter, JSON), the same as CSV, and the
  progress endpoint revalidated with its ETag (304).

A benchmark: it prints figures and never fails.
"""

import argparse
import gzip
import http.client
import re
import statistics
import tempfile
import time
from pathlib import Path

from support import bench_env, free_port, prepare, start_gunicorn

PAGES = [
    "/cong-khai/",
    "/cong-khai/chi-tieu/{target}/",
    "/cong-khai/bao-cao/",
    "/cong-khai/nghi-quyet/",
]


def get(port: int, path: str, headers=None) -> tuple[int, dict, bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request(
        "GET", path, headers={"Accept-Encoding": "gzip", **(headers or {})}
    )
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, dict(response.getheaders()), body, elapsed


def header_bytes(status: int, headers: dict) -> int:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return len("\r\n".join(lines).encode()) + 4


def weigh(port: int, path: str) -> tuple[int, int, int]:
    """(first visit bytes, repeat visit bytes, repeat status)."""
    status, headers, body, _ = get(port, path)
    first = header_bytes(status, headers) + len(body)
    html = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
    for href in re.findall(rb'<link rel="stylesheet" href="([^"]+)"', html):
        s, h, b, _ = get(port, href.decode())
        first += header_bytes(s, h) + len(b)
    again_status, again_headers, again_body, _ = get(
        port, path, {"If-None-Match": headers.get("ETag", "")}
    )
    repeat = header_bytes(again_status, again_headers) + len(again_body)
    return first, repeat, again_status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = bench_env(
            Path(tmp),
            "bench_public_settings",
            DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
            API_ANON_RATE="1000000/minute",
        )
        prepare(env)
        port = free_port()
        server = start_gunicorn(env, port)
        try:
            for _ in range(100):
                try:
                    get(port, "/api/v1/")
                    break
                except OSError:
                    time.sleep(0.1)
            report(port, args.runs)
        finally:
            server.terminate()
            server.wait()


def report(port: int, runs: int) -> None:
    _, _, body, _ = get(port, "/api/v1/targets/?page_size=1")
    target = re.search(rb'"id":(\d+)', gzip.decompress(body)).group(1).decode()
    print(f"bench_public {time.strftime('%Y-%m-%d %H:%M')}, gunicorn 2×4, SQLite")
    print("| page | first visit (gzip) | repeat visit |")
    print("|---|---|---|")
    for page in PAGES:
        path = page.format(target=target)
        first, repeat, status = weigh(port, path)
        print(f"| `{path}` | {first / 1024:.1f} KB | {repeat} B ({status}) |")

    _, headers, _, _ = get(port, "/api/v1/progress/")
    etag = headers["ETag"]
    cases = {
        "trivial /api/v1/": ("/api/v1/", {}),
        "progress (JSON)": ("/api/v1/progress/", {}),
        "progress (CSV)": ("/api/v1/progress/?format=csv", {}),
        "progress, repeat (304)": ("/api/v1/progress/", {"If-None-Match": etag}),
    }
    times = {name: [] for name in cases}
    for round_ in range(runs + 3):
        for name, (path, headers) in cases.items():
            status, _, _, elapsed = get(port, path, headers)
            if round_ >= 3:
                times[name].append(elapsed * 1000)
    trivial = statistics.median(times["trivial /api/v1/"])
    print(f"\n| endpoint ({runs} rounds) | median | p90 | × trivial |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"| {name} | {median:.1f} ms | {p90:.1f} ms | {median / trivial:.1f} |")


if __name__ == "__main__":
    main()
