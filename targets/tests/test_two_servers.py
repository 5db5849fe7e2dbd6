"""Two gunicorn servers over one PostgreSQL database: clerks saving the same figures
at the same moment through both lose nothing, and every refused save says why.

In each round eight browsers (four per server, all logged in as the clerk `kinhte`)
read the entry page, wait for one another, and save the same two figures from the
version they read. Exactly one save per version may win; every other one must get
the Vietnamese conflict message; the database must end with the last winner's values
and one history row per acknowledged save. Once when the figures do not exist yet
(the first save of the quarter) and once over several rounds when they do."""

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.db import connection

from bench.support import Browser, csrf, free_port, start_gunicorn
from targets.models import Figure, ReportingPeriod, Target

from .test_backup import PASSWORD, database_url, load_portal, manage_env

BASE_DIR = Path(settings.BASE_DIR)
CLIENTS_PER_SERVER = 4
ROUNDS = 4

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="two servers share one database only on PostgreSQL; an SQLite file "
        "belongs to one machine (run `make test-postgres`)",
    ),
]


def log_in(browser: Browser, username: str, password: str = PASSWORD) -> None:
    _, _, page = browser.request("GET", "/accounts/login/")
    status, _, _ = browser.request(
        "POST",
        "/accounts/login/",
        {"csrfmiddlewaretoken": csrf(page), "username": username, "password": password},
    )
    assert status == 302, f"login as {username} failed with {status}"


def static_manifest_is_current() -> bool:
    """The production storage needs collectstatic's manifest; collecting (and
    compressing) takes half a minute, so do it only when a static file is newer."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            if os.path.getmtime(storage.path(path)) > built:
                return False
    return True


def start_servers(env: dict, log_dir: Path, count: int = 2):
    servers = []
    for n in range(count):
        port = free_port()
        log = open(log_dir / f"gunicorn-{n}.log", "w")
        process = start_gunicorn(env, port, log)
        servers.append((port, process, log))
    deadline = time.monotonic() + 60
    for port, process, log in servers:
        while True:
            assert process.poll() is None, Path(log.name).read_text()
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request(
                    "GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"}
                )
                if probe.getresponse().status == 200:
                    probe.close()
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"gunicorn on {port} did not start"
            time.sleep(0.2)
    return servers


def stop_servers(servers) -> None:
    for _, process, _ in servers:
        process.terminate()
    for _, process, log in servers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    """Two gunicorn servers with the production settings over the test database."""
    env = manage_env(DATABASE_URL=database_url(connection.settings_dict["NAME"]))
    if not static_manifest_is_current():
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        assert collected.returncode == 0, collected.stderr
    logs = tmp_path_factory.mktemp("gunicorn")
    running = start_servers(env, logs)
    yield [port for port, _, _ in running], logs
    stop_servers(running)


def server_errors(logs: Path) -> list[str]:
    """The exceptions the servers logged, to explain a failed assertion."""
    found = set()
    for log in logs.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if re.match(r"^[\w.]+(Error|Exception): ", line):
                found.add(line[:300])
    return sorted(found)


@pytest.fixture
def portal(servers):
    ports, logs = servers
    load_portal()
    # The suite hashes passwords with a fast hasher that production settings do not
    # accept; give the clerk a password hashed as in production.
    clerk = User.objects.get(username="kinhte")
    hasher = PBKDF2PasswordHasher()
    clerk.password = hasher.encode(PASSWORD, hasher.salt())
    clerk.save(update_fields=["password"])
    q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
    # 10b (new forest, ha) takes any size; 10a is a share, bounded at 100.
    targets = [Target.objects.get(code="2a"), Target.objects.get(code="10b")]
    browsers = [Browser(port) for port in ports for _ in range(CLIENTS_PER_SERVER)]
    # Each browser its own session; logging in (password hashing) in parallel.
    logins = [threading.Thread(target=log_in, args=(b, "kinhte")) for b in browsers]
    for thread in logins:
        thread.start()
    for thread in logins:
        thread.join(timeout=120)
    assert all("sessionid" in b.cookies for b in browsers)
    yield f"/nhap-so-lieu/{q4.pk}/", q4, targets, browsers, logs
    for browser in browsers:
        browser.close()


def entry_form(page: str, browser: Browser, targets, values: dict, note: str):
    """The entry form as the page left it, with new values for `targets`."""
    form = {"csrfmiddlewaretoken": csrf(page), "action": "save"}
    versions = {}
    for target in targets:
        versions[target.pk] = int(
            re.search(rf'name="ver-{target.pk}" value="(\d+)"', page)[1]
        )
        form |= {
            f"v-{target.pk}": str(values[target.pk]),
            f"k-{target.pk}": "actual",
            f"n-{target.pk}": note,
            f"ver-{target.pk}": str(versions[target.pk]),
        }
    return form, versions


def race(url: str, targets, browsers, rounds: int, first_value: int) -> list:
    """Rounds in which every browser reads the entry page, waits for all the others,
    then saves the targets with its own values. Returns, per round and browser,
    (status, versions read, values posted, text of the page shown after)."""
    outcomes = [[None] * len(browsers) for _ in range(rounds)]
    barrier = threading.Barrier(len(browsers))

    def clerk(index: int, browser: Browser) -> None:
        for round_ in range(rounds):
            _, _, page = browser.request("GET", url)
            values = {
                t.pk: first_value + 100 * n + 10 * round_ + index
                for n, t in enumerate(targets)
            }
            form, versions = entry_form(
                page, browser, targets, values, f"Máy {index}, lượt {round_}."
            )
            barrier.wait(timeout=60)
            status, location, text = browser.request("POST", url, form)
            if status == 302:
                _, _, text = browser.request("GET", location)
            outcomes[round_][index] = (status, versions, values, text)
            barrier.wait(timeout=60)  # the next round reads after every save

    threads = [
        threading.Thread(target=clerk, args=(i, b)) for i, b in enumerate(browsers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def winners_of(outcomes: list, logs: Path) -> list[dict]:
    """The one acknowledged save of each round; every other save got the conflict."""
    winners = []
    for round_, results in enumerate(outcomes):
        assert None not in results, f"round {round_} did not finish"
        # Everyone started the round from the same versions.
        assert len({tuple(r[1].items()) for r in results}) == 1
        statuses = [r[0] for r in results]
        explain = f"round {round_}: HTTP {statuses}; servers: {server_errors(logs)}"
        saved = [r for r in results if r[0] == 302]
        assert len(saved) == 1, explain
        assert "Đã lưu nháp 2 mục thay đổi." in saved[0][3]
        for status, _, _, text in results:
            if status != 302:
                assert status == 200, explain
                refusal = re.findall(r"alert-danger[^>]*>(.*?)</div>", text)
                assert "Xung đột" in text, refusal
                assert "Số của bạn chưa được lưu" in text
        winners.append(saved[0][2])
    return winners


def assert_nothing_lost(q4, targets, acknowledged: list[dict]) -> None:
    """The database holds the last acknowledged values, and one history row, in
    order, for every acknowledged save."""
    for target in targets:
        figure = Figure.objects.get(target=target, period=q4)
        assert figure.value == acknowledged[-1][target.pk]
        assert figure.version == len(acknowledged)
        history = figure.history.order_by("history_id")
        assert [h.value for h in history] == [a[target.pk] for a in acknowledged]
        assert [h.version for h in history] == list(range(1, len(acknowledged) + 1))


def test_concurrent_first_saves_through_two_servers_lose_nothing(portal):
    """No figure exists yet: eight clerks race to create the same two rows."""
    url, q4, targets, browsers, logs = portal
    outcomes = race(url, targets, browsers, rounds=1, first_value=1000)
    assert_nothing_lost(q4, targets, winners_of(outcomes, logs))


def test_concurrent_saves_through_two_servers_lose_nothing(portal):
    """The figures exist; every round, eight clerks save them from one version."""
    url, q4, targets, browsers, logs = portal
    first = browsers[0]
    _, _, page = first.request("GET", url)
    values = {t.pk: 900 + n for n, t in enumerate(targets)}
    form, _ = entry_form(page, first, targets, values, "Lần lưu đầu.")
    status = first.request("POST", url, form)[0]
    assert status == 302, f"first save: HTTP {status}; servers: {server_errors(logs)}"
    outcomes = race(url, targets, browsers, rounds=ROUNDS, first_value=1000)
    assert_nothing_lost(q4, targets, [values, *winners_of(outcomes, logs)])
