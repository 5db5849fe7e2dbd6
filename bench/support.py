"""What every portal bench does before it measures: a throwaway settings module in
a temporary folder, the environment a production-like server runs with, the
database prepared (collectstatic, migrate, the resolution and the demo data), and
gunicorn started on a free port."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

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
