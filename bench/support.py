"""What every portal bench does before it measures: a throwaway settings module in
a temporary folder, the environment a production-like server runs with, the
database prepared (collectstatic, migrate, the resolution and the demo data),
gunicorn started on a free port, and a browser to talk to it (also the two-server
test's, targets/tests/test_two_servers.py)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PASSWORD = "khoenon-demo-2025"

SETTINGS = """\
import os

from khoenon.settings import *  # noqa: F403

STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(
    folder: Path, module: str = "bench_settings", *, https: bool = False, **extra: str
) -> dict:
    """Writes the settings module into folder and returns the server's environment:
    production settings on 127.0.0.1, warnings only; over plain HTTP, or with
    `https` as behind the TLS proxy (the client then sends X-Forwarded-Proto);
    extra adds or overrides variables."""
    (folder / f"{module}.py").write_text(SETTINGS, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": module,
        "BENCH_STATIC_ROOT": str(folder / "static"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "true" if https else "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("PYTEST_VERSION", None)
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare(env: dict) -> None:
    """Static files, tables, resolution 13 and the demo accounts and figures."""
    print("Setting up: collectstatic, migrate, resolution, demo data…", flush=True)
    manage(env, "collectstatic", "--no-input", "-v", "0")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "load_resolution")
    manage(env, "load_demo")


def start_gunicorn(env: dict, port: int, log=subprocess.DEVNULL) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py, bound to 127.0.0.1:port."""
    return subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
        + ["khoenon.wsgi"],
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_for_port(port: int, seconds: float = 20) -> None:
    """Until something accepts connections on 127.0.0.1:port (or time is up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)


class Browser:
    """One user's browser behind the TLS proxy: a keep-alive connection, cookies
    (secure ones included: the real browser holds them over HTTPS),
    X-Forwarded-Proto: https."""

    def __init__(self, port: int, timeout: float = 60):
        self.port = port
        self.timeout = timeout
        self.origin = f"https://127.0.0.1:{port}"
        self.connection = None
        self.cookies: dict[str, str] = {}
        self.last_used = 0.0

    def request(self, method: str, path: str, form: dict | None = None):
        """(status, Location, body text); raises OSError or HTTPException when the
        server does not answer."""
        # gunicorn closes a connection idle for `keepalive` (5 s): like a browser,
        # open a new one rather than write into a closing socket.
        if self.connection is None or time.monotonic() - self.last_used > 4:
            self.close()
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout
            )
        headers = {
            "X-Forwarded-Proto": "https",
            "Referer": self.origin + path,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        self.last_used = time.monotonic()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers.get("Location", ""), text

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def csrf(html: str) -> str | None:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found[1] if found else None


def stop(server: subprocess.Popen | None, folder: Path | None = None) -> None:
    """Stop the server (if it was started) and remove the bench's temporary folder."""
    if server is not None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_demo(folder: Path) -> dict:
    """The environment of a server over a demo SQLite database in `folder` (its media
    there too), migrated and loaded with the resolution and the demo data."""
    env = bench_env(
        folder,
        DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(folder / "media"),
    )
    prepare(env)
    return env
