"""One cache for the delegates' pages and files: the dashboard, the target page, the
body scorecard, the tasks report and the official report in HTML, xlsx and PDF.

An entry is kept under the data version (targets.data_version: database triggers move
it on every write a reader could see, whoever writes), the page, the query parameters
the page reads (nothing else of the query string, so `?utm=…` reuses the entry), what
decides the user's links and the thresholds. It is true for as long as the version
holds, and one query tells. What is kept is drawn without `request`: no CSRF token,
no user name, nothing of one user reaches another; the shell around it (navigation,
the user, an approver's form) is drawn per request.

The pages answer with an ETag and `Cache-Control: private, no-cache` (the browser
keeps the page and asks each time; a 304 costs the version query). The session
enters the ETag: a new login never gets a 304 for a page holding another session's
CSRF token. Every other page of a logged-in user stays `no-store`
(khoenon.middleware).

Files are built once per key: a file lock makes a second request for the same file
wait for the first one's build instead of building it again, and at most
FILE_BUILDS files (settings) are built at a time on the machine."""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag

from targets import data_version
from targets.progress import thresholds

CACHE_CONTROL = "private, no-cache"
# How long a file request waits for another one building the same file, or for a
# free build slot, before it is told to come back. At the commune's size a PDF is
# built in about a second, so waiters get the file. (A build that crashed leaves no
# file; its lock goes with it.) A waiting request holds one of its worker's threads:
# at most FILE_WAITERS of them (settings) wait at a time, so that a burst of
# downloads of a PDF that takes 20 s at province size never holds the threads the
# pages need; the others wait WAITER_GRACE for a place among them (a PDF at the
# commune's size is built within it, and its waiters leave with it), then are told
# to come back.
BUILD_WAIT = 10
WAITER_GRACE = 1
BUSY = (
    "Máy chủ đang tạo tệp báo cáo này hoặc một tệp khác. Vui lòng tải lại sau "
    "ít giây: không có gì bị mất."
)


def query(request, names: tuple[str, ...]) -> dict[str, str]:
    """The parameters a page reads, as given; anything else is ignored."""
    return {name: request.GET.get(name, "") for name in names}


def page_key(page: str, *parts) -> str:
    """'<page>:<data version>:<digest of the rest>'. One query: the version."""
    rest = repr((data_version.release(), thresholds(), parts)).encode()
    return f"{page}:{data_version.current()}:{hashlib.sha256(rest).hexdigest()}"


def kept(key: str, draw):
    """The entry under `key`, drawn and kept on a miss. `draw()` returns what to keep
    (plain values and HTML drawn without `request`), or a response to send as it is
    (an empty page, kept nowhere)."""
    pages = caches["pages"]
    entry = pages.get(key)
    if entry is None:
        with data_version.one_token():
            entry = draw()
        if not isinstance(entry, HttpResponse):
            pages.set(key, entry)
    return entry


def _lock_path(name: str) -> Path:
    folder = Path(settings.PAGES_CACHE_DIR) / "building"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@contextmanager
def _one_of(paths: list[Path], wait: float):
    """A file lock on one of `paths`, shared by every worker of this machine: True
    once held (released on leaving), False when all stayed busy for `wait` seconds."""
    files = [open(path, "a") for path in paths]
    try:
        deadline = time.monotonic() + wait
        held = None
        while held is None:
            for file in files:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                held = file
                break
            else:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    finally:
        for file in files:
            file.close()


def busy() -> HttpResponse:
    """What a file request gets when the server's file builds stayed busy: nothing
    built, nothing kept, a Vietnamese message and when to try again."""
    response = HttpResponse(BUSY, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "10"
    return response


def kept_file(key: str, build) -> bytes:
    """What `build()` returns, built once per `key`: while one request builds it,
    another for the same key waits and then reads it. At most FILE_BUILDS files are
    built at a time on the machine, whichever worker asks: a PDF at province size
    takes seconds of a core, and the pages must keep theirs. A request that cannot
    build within BUILD_WAIT seconds gets `busy()`, and so does one that finds
    FILE_WAITERS requests of its worker building or waiting for WAITER_GRACE. A response
    (nothing to build) is sent as it is and kept nowhere."""
    pages = caches["pages"]
    data = pages.get(key)
    if data is not None:
        return data
    waiting = _waiting()
    if not waiting.acquire(timeout=WAITER_GRACE):
        return busy()
    try:
        return _built_once(pages, key, build)
    finally:
        waiting.release()


@cache
def _waiting() -> threading.BoundedSemaphore:
    """This worker's requests that may build or wait for a report file at a time."""
    return threading.BoundedSemaphore(settings.FILE_WAITERS)


def _built_once(pages, key: str, build):
    this_file = [_lock_path(hashlib.sha256(key.encode()).hexdigest())]
    slots = [_lock_path(f"slot-{n}") for n in range(settings.FILE_BUILDS)]
    with _one_of(this_file, BUILD_WAIT) as mine:
        if not mine:
            return busy()
        data = pages.get(key)  # built while this request waited
        if data is not None:
            return data
        with _one_of(slots, BUILD_WAIT) as slot:
            if not slot:
                return busy()
            with data_version.one_token():
                data = build()
        if not isinstance(data, HttpResponse):
            pages.set(key, data)
        return data


def _etag(request, key: str) -> str:
    session = request.session.session_key or ""
    return quote_etag(hashlib.sha256(f"{key}|{session}".encode()).hexdigest()[:40])


def answer(request, key: str, respond) -> HttpResponse:
    """A 304 when the browser holds this very page (no drawing), else `respond()`;
    either way with the ETag and `Cache-Control: private, no-cache`."""
    etag = _etag(request, key)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = respond()
    if response.status_code == 200 or isinstance(response, HttpResponseNotModified):
        response["ETag"] = etag
        response["Cache-Control"] = CACHE_CONTROL
    return response
