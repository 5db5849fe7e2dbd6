"""Backups of the whole portal (database and evidence files) and their restore.

A backup is one directory, named with the time it was taken:

    khoenon-20251129-020000/
        database.dump      PostgreSQL: `pg_dump --format=custom`
        database.sqlite3   SQLite: a copy made with the online backup API
        media.tar.gz       everything under MEDIA_ROOT (the evidence files)
        manifest.json      the engine, the row count and checksum of every table,
                           and the size and checksum of every file

The database is copied first and the media second: an evidence file is written before
its row commits and is never deleted, so every file the copied rows name is already on
disk when the archive is made.

Restore goes only into an empty database (see `tables_with_rows`), then recomputes
every table's checksum and compares it with the manifest, so a restore that reports
success has been checked row for row.
"""

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from . import data_version
from .backup_checks import (
    BackupError,
    database_digests,
    digest_differences,
    file_sha256,
    sequence_values,
    tables_with_rows,
    unsupported,
)
from .numbers import format_decimal

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA_ARCHIVE = "media.tar.gz"
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
ENGINE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
EMPTY_TARGET_HINT = {
    "postgresql": (
        "Tạo một cơ sở dữ liệu mới (ví dụ `createdb -O khoenon khoenon_moi`), trỏ "
        "DATABASE_URL tới nó rồi chạy lại."
    ),
    "sqlite": "Trỏ DATABASE_URL tới một tệp SQLite chưa có rồi chạy lại.",
}

# libpq connection parameters that may sit in DATABASES["default"]["OPTIONS"].
LIBPQ_OPTIONS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "connect_timeout",
    "options",
    "application_name",
    "target_session_attrs",
    "service",
    "passfile",
}


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    seconds: float


@dataclass
class RestoreResult:
    path: Path
    manifest: dict
    seconds: float
    media_written: int = 0
    media_present: int = 0
    used_clean: bool = False
    notes: list[str] = field(default_factory=list)


# --- helpers ----------------------------------------------------------------------


def _size(n: int) -> str:
    unit, scale = ("KB", 1024) if n < 1024 * 1024 else ("MB", 1024 * 1024)
    return f"{format_decimal((Decimal(n) / scale).quantize(Decimal('0.1')))} {unit}"


def find_pg_tool(name: str) -> str:
    """pg_dump or pg_restore: from PATH, else the newest Debian server package's."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise BackupError(
        f"Không tìm thấy chương trình {name} của PostgreSQL. Cài gói "
        "postgresql-client (apt-get install postgresql-client) rồi chạy lại."
    )


def _pg_target(settings_dict: dict) -> tuple[str, dict]:
    """A libpq connection string for the database (no password in it: the command
    line is visible to every user of the machine) and the environment carrying the
    password."""
    params = {
        "dbname": settings_dict.get("NAME"),
        "user": settings_dict.get("USER"),
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
    }
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key in LIBPQ_OPTIONS:
            params[key] = value

    def quoted(value) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(
        f"{k}={quoted(v)}" for k, v in params.items() if v not in (None, "")
    )
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return conninfo, env


def _run(command: list[str], env: dict, what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise BackupError(f"Không chạy được {command[0]} ({exc}).") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{what} thất bại ({Path(command[0]).name}): {detail}")


def _raw_connection():
    """A new DB-API connection to the configured database, outside Django's
    transaction handling, closed by the caller."""
    return connection.get_new_connection(connection.get_connection_params())


def _vendor() -> str:
    vendor = connection.vendor
    if vendor not in DATABASE_FILES:
        raise BackupError(unsupported(vendor))
    return vendor


def _database_errors() -> tuple:
    """Errors of Django's database layer and of the driver itself (the raw
    connections used here are not wrapped by Django)."""
    return (DatabaseError, connection.Database.Error)


def _unreachable(exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
    return (
        f"Lỗi khi làm việc với cơ sở dữ liệu {_database_label()} ({first_line}). "
        "Kiểm tra máy chủ cơ sở dữ liệu đang chạy và DATABASE_URL đúng, rồi chạy lại."
    )


def _database_label() -> str:
    name = connection.settings_dict.get("NAME")
    return f"{ENGINE_NAMES[connection.vendor]} “{name}”"


# --- backup -----------------------------------------------------------------------


def default_backup_dir() -> Path:
    return Path(settings.BASE_DIR) / "backups"


def backup_create(path: Path | None = None) -> BackupResult:
    """Back up the configured database and MEDIA_ROOT into a new directory.

    `path` names the new backup directory; an existing directory receives a new,
    timestamped one inside it; None means backups/ next to manage.py. The backup is
    written under a temporary name and renamed when complete, so a directory with
    the final name is always a whole backup."""
    started = time.monotonic()
    vendor = _vendor()
    name = f"khoenon-{timezone.localtime():%Y%m%d-%H%M%S}"
    path = Path(path) if path else default_backup_dir() / name
    if path.is_dir() and not (path / MANIFEST).exists():
        path = path / name
    if path.exists():
        raise BackupError(
            f"{path} đã tồn tại. Chọn tên khác hoặc một thư mục để tạo bản sao lưu mới "
            "bên trong; lệnh backup không ghi đè bản sao lưu cũ."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise BackupError(
            f"Không tạo được thư mục sao lưu trong {path.parent} ({exc.strerror}). "
            "Kiểm tra đường dẫn và quyền ghi rồi chạy lại."
        ) from exc
    # The backup holds password hashes: readable by its owner only.
    os.chmod(work, 0o700)
    try:
        manifest = {
            "format": FORMAT,
            "created_at": timezone.localtime().isoformat(timespec="seconds"),
            "engine": vendor,
        }
        database_file = work / DATABASE_FILES[vendor]
        if vendor == "postgresql":
            manifest.update(_pg_backup(database_file))
        else:
            manifest.update(_sqlite_backup(database_file))
        manifest["database"]["file"] = database_file.name
        manifest["database"]["size"] = database_file.stat().st_size
        manifest["database"]["sha256"] = file_sha256(database_file)
        manifest["media"] = _media_backup(work / MEDIA_ARCHIVE)
        (work / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        for item in work.iterdir():
            os.chmod(item, 0o600)
        work.rename(path)
    except _database_errors() as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise BackupError(_unreachable(exc)) from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(path, manifest, time.monotonic() - started)


def _pg_backup(out: Path) -> dict:
    """pg_dump from a snapshot that this connection exports and keeps open while the
    checksums are computed, so the dump and the manifest describe the same moment."""
    pg_dump = find_pg_tool("pg_dump")
    conninfo, env = _pg_target(connection.settings_dict)
    raw = _raw_connection()
    try:
        raw.autocommit = True
        cursor = raw.cursor()
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = cursor.fetchone()
        _run(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={out}",
                f"--dbname={conninfo}",
            ],
            env,
            "Sao lưu cơ sở dữ liệu",
        )
        tables = database_digests(cursor, "postgresql")
        sequences = sequence_values(cursor)
        cursor.execute("COMMIT")
    finally:
        raw.close()
    version = subprocess.run(
        [pg_dump, "--version"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "database": {
            "name": connection.settings_dict.get("NAME"),
            "server_version": server_version,
            "tool": version,
        },
        "tables": tables,
        "sequences": sequences,
    }


def _sqlite_backup(out: Path) -> dict:
    """SQLite's online backup API: a consistent copy while the portal keeps running
    (a file copy of a live database can catch a write half done)."""
    connection.ensure_connection()
    target = sqlite3.connect(out)
    try:
        connection.connection.backup(target)
        # A standalone file: no -wal or -shm beside it when it is opened later.
        target.execute("PRAGMA journal_mode=DELETE")
        (check,) = target.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(
                f"Bản sao SQLite không qua được kiểm tra toàn vẹn ({check}). "
                "Chạy lại lệnh backup; nếu vẫn lỗi, tệp cơ sở dữ liệu có thể đã hỏng."
            )
        tables = database_digests(target.cursor(), "sqlite")
    finally:
        target.close()
    return {
        "database": {
            "name": str(connection.settings_dict.get("NAME")),
            "server_version": sqlite3.sqlite_version,
            "tool": "sqlite3 online backup API",
        },
        "tables": tables,
    }


def _media_files(root: Path):
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_file() and not full.is_symlink():
                yield full, full.relative_to(root).as_posix()


def _media_backup(out: Path) -> dict:
    root = Path(settings.MEDIA_ROOT)
    files = {}
    with tarfile.open(out, "w:gz") as archive:
        for full, name in _media_files(root):
            archive.add(full, arcname=name, recursive=False)
            files[name] = {"size": full.stat().st_size, "sha256": file_sha256(full)}
    return {"file": out.name, "files": files}


# --- restore ----------------------------------------------------------------------


def read_manifest(path: Path) -> tuple[Path, dict]:
    """The backup directory and its manifest; `path` may also name a file in it."""
    path = Path(path)
    if path.is_file():
        path = path.parent
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"Không thấy {MANIFEST} trong {path}. Chỉ ra thư mục do lệnh backup tạo "
            "(ví dụ backups/khoenon-20251129-020000)."
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"Không đọc được {path / MANIFEST} ({exc}): bản sao lưu có thể đã hỏng."
        ) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"Bản sao lưu ở định dạng {manifest.get('format')} mà phiên bản này không "
            "đọc được. Dùng đúng phiên bản phần mềm đã tạo bản sao lưu."
        )
    return path, manifest


def backup_restore(path: Path) -> RestoreResult:
    """Restore a backup into the configured database, which must be empty, and its
    evidence files into MEDIA_ROOT; then check every table against the manifest."""
    try:
        return _restore(path)
    except _database_errors() as exc:
        raise BackupError(_unreachable(exc)) from exc


def _restore(path: Path) -> RestoreResult:
    started = time.monotonic()
    path, manifest = read_manifest(path)
    vendor = _vendor()
    engine = manifest.get("engine")
    if engine != vendor:
        raise BackupError(
            f"Bản sao lưu này của {ENGINE_NAMES.get(engine, engine)}, còn cơ sở dữ "
            f"liệu đang cấu hình là {ENGINE_NAMES[vendor]}. Đặt DATABASE_URL đúng loại "
            "rồi chạy lại."
        )
    database_file = path / manifest["database"]["file"]
    if not database_file.is_file():
        raise BackupError(f"Thiếu tệp {database_file}: bản sao lưu không đầy đủ.")
    if file_sha256(database_file) != manifest["database"]["sha256"]:
        raise BackupError(
            f"Tệp {database_file.name} không khớp mã kiểm tra trong {MANIFEST}: bản "
            "sao lưu đã bị hỏng hoặc sửa. Dùng một bản sao lưu khác."
        )
    media = _media_plan(path, manifest)

    with connection.cursor() as cursor:
        occupied = tables_with_rows(cursor, vendor)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            if vendor == "postgresql"
            else "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        )
        (table_count,) = cursor.fetchone()
    if occupied:
        shown = ", ".join(f"{t} ({n} dòng)" for t, n in list(occupied.items())[:5])
        more = f" và {len(occupied) - 5} bảng khác" if len(occupied) > 5 else ""
        raise BackupError(
            f"Cơ sở dữ liệu {_database_label()} không trống: {shown}{more}. Lệnh "
            "restore chỉ khôi phục vào cơ sở dữ liệu trống để không ghi đè số liệu "
            f"đang dùng. {EMPTY_TARGET_HINT[vendor]}"
        )

    result = RestoreResult(path, manifest, 0.0)
    if vendor == "postgresql":
        result.used_clean = table_count > 0
        _pg_restore(database_file, clean=result.used_clean)
    else:
        _sqlite_restore(database_file)

    raw = _raw_connection()
    try:
        restored = database_digests(raw.cursor(), vendor)
    finally:
        raw.close()
    differences = digest_differences(manifest["tables"], restored)
    if differences:
        raise BackupError(
            "Đã khôi phục nhưng dữ liệu không khớp bản sao lưu: "
            + "; ".join(differences[:10])
            + ". Không dùng cơ sở dữ liệu này; báo cho quản trị hệ thống."
        )
    # The restored rows carry the data version of the day of the backup, and
    # pg_restore writes them before it creates the triggers: a new epoch, so no page
    # kept for a later state of the database is served (targets.data_version).
    data_version.new_epoch()
    result.media_written, result.media_present = _media_restore(path, media)
    result.seconds = time.monotonic() - started
    return result


def _pg_restore(dump: Path, clean: bool) -> None:
    """pg_restore in one transaction: it either restores everything or nothing.

    A database where only `migrate` ran already has the tables (empty but for what
    migrate writes); --clean --if-exists drops them first so the dump's own
    definitions and rows take their place."""
    pg_restore = find_pg_tool("pg_restore")
    conninfo, env = _pg_target(connection.settings_dict)
    connection.close()
    command = [
        pg_restore,
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        f"--dbname={conninfo}",
    ]
    if clean:
        command += ["--clean", "--if-exists"]
    _run(command + [str(dump)], env, "Khôi phục cơ sở dữ liệu")


def _sqlite_restore(copy: Path) -> None:
    """The online backup API in reverse: the copy's pages replace the configured
    database's, under SQLite's own locking."""
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        source.backup(connection.connection)
    finally:
        source.close()
    connection.close()


def _media_plan(path: Path, manifest: dict) -> dict:
    """Check the media archive before the database is touched: it must match the
    manifest, and no file already in MEDIA_ROOT may differ from the one saved."""
    archive_path = path / manifest["media"]["file"]
    expected = manifest["media"]["files"]
    if not archive_path.is_file():
        raise BackupError(f"Thiếu tệp {archive_path}: bản sao lưu không đầy đủ.")
    root = Path(settings.MEDIA_ROOT)
    conflicts = []
    for name, info in expected.items():
        existing = root / name
        if existing.exists() and (
            not existing.is_file() or file_sha256(existing) != info["sha256"]
        ):
            conflicts.append(name)
    if conflicts:
        raise BackupError(
            f"Thư mục tệp đính kèm {root} đã có {len(conflicts)} tệp khác với bản sao "
            f"lưu (ví dụ {conflicts[0]}). Dùng một thư mục trống (DJANGO_MEDIA_ROOT) "
            "rồi chạy lại."
        )
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            names = {m.name for m in archive.getmembers() if m.isfile()}
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(
            f"Không đọc được {archive_path.name} ({exc}): bản sao lưu đã hỏng."
        ) from exc
    if names != set(expected):
        raise BackupError(
            f"{archive_path.name} không khớp danh sách tệp trong {MANIFEST}: bản sao "
            "lưu đã hỏng hoặc bị sửa."
        )
    return expected


def _media_restore(path: Path, expected: dict) -> tuple[int, int]:
    """Extract the evidence files that are not there yet; check every one."""
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    written = present = 0
    with tarfile.open(path / MEDIA_ARCHIVE, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            if (root / member.name).exists():
                present += 1
                continue
            # The "data" filter refuses absolute paths, "..", links out of the tree
            # and device files, whatever the archive holds.
            archive.extract(member, root, filter="data")
            written += 1
    for name, info in expected.items():
        if file_sha256(root / name) != info["sha256"]:
            raise BackupError(
                f"Tệp đính kèm {name} sau khi khôi phục không khớp bản sao lưu."
            )
    return written, present


def summary_lines(manifest: dict) -> list[str]:
    """What a backup holds, in Vietnamese, for the commands' output."""
    tables = manifest["tables"]
    rows = sum(t["rows"] for t in tables.values())
    media = manifest["media"]["files"]
    media_bytes = sum(f["size"] for f in media.values())
    database = manifest["database"]
    created = datetime.datetime.fromisoformat(manifest["created_at"])
    return [
        f"  Thời điểm sao lưu: {created:%H:%M:%S %d/%m/%Y}",
        f"  Cơ sở dữ liệu {ENGINE_NAMES[manifest['engine']]} "
        f"“{Path(str(database['name'])).name}”: {database['file']}, "
        f"{_size(database['size'])} – {len(tables)} bảng, "
        f"{format_decimal(rows)} dòng",
        f"  Tệp minh chứng: {manifest['media']['file']}, "
        f"{format_decimal(len(media))} tệp, {_size(media_bytes)}",
    ]
