"""The backup → restore drill, on whichever database the suite runs on.

The portal is filled the way people fill it (the resolution, the demo, figures saved
and approved through the pages, an evidence file, logins good and bad), backed up with
`manage.py backup`, restored with `manage.py restore` into a new empty database in a
separate process, and then every table of the two databases is compared: row counts
and a checksum of all rows, for the domain, the history, auth, axes, sessions and
django_migrations alike."""

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from targets import evidence
from targets.backup_checks import database_digests, digest_differences, sequence_values
from targets.loaders import DEMO_FILE, RESOLUTION_FILE, demo_load, resolution_load
from targets.models import (
    Figure,
    ReportingPeriod,
    Target,
    WorkflowState,
)

DEMO_PASSWORD = "khoenon-demo-2025"
BASE_DIR = Path(settings.BASE_DIR)
PASSWORD = "khoenon-demo-2025"
PDF = b"%PDF-1.4\n% bien ban nghiem thu\n%%EOF\n"

pytestmark = pytest.mark.django_db(transaction=True)


def load_portal() -> None:
    resolution_load(RESOLUTION_FILE)
    demo_load(DEMO_FILE, timezone.localdate())
    # The suite hashes with MD5 for speed; servers run production settings, which
    # verify only Django's default hashers.
    User.objects.update(password=make_password(DEMO_PASSWORD, hasher="pbkdf2_sha256"))


def database_url(name: str) -> str:
    """DATABASE_URL for a database on the suite's PostgreSQL server."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "localhost"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{name}"


def manage_env(**extra) -> dict:
    """The environment of a manage.py or gunicorn process run as an operator would:
    production settings, not the test suite's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="test-only-secret-key-for-subprocesses-" + "x" * 20,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    env.update(extra)
    return env


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def digests(conn) -> dict:
    """Every table's row count and checksum, and PostgreSQL's sequences."""
    found = {"tables": database_digests(conn.cursor(), connection.vendor)}
    if connection.vendor == "postgresql":
        found["sequences"] = sequence_values(conn.cursor())
    return found


def source_digests() -> dict:
    conn = connection.get_new_connection(connection.get_connection_params())
    try:
        return digests(conn)
    finally:
        conn.close()


def login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def enter_figures() -> tuple[int, list]:
    """Figures saved three times, submitted and approved, an evidence file, logins
    good and bad: rows in every kind of table. Returns the number of history rows of
    the two figures and the evidence files' bytes.

    The figures are written the way the entry form's service writes them (a version
    step, the clerk, a change reason) rather than through the form, so that this drill
    tests the backup and nothing else."""
    q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
    grain, forest = Target.objects.get(code="2a"), Target.objects.get(code="10a")
    clerk = User.objects.get(username="kinhte")
    figures = [Figure(target=t, period=q4, version=0) for t in (grain, forest)]
    for grain_value, forest_value in [
        ("1000.5", "40.7"),
        ("1200", "40.8"),
        ("1250.25", "40.9"),
    ]:
        for figure, value in zip(figures, (grain_value, forest_value), strict=True):
            figure.value, figure.note = Decimal(value), "Số liệu kiểm tra sao lưu."
            figure.version += 1
            figure.updated_by = figure.submitted_by = clerk
            figure._change_reason = "Trang nhập số liệu – lưu nháp"
            figure.full_clean()
            figure.save()
    evidence.attach(clerk, figures[0], SimpleUploadedFile("bien ban.pdf", PDF))
    for figure in figures:
        figure.state, figure.submitted_at = WorkflowState.SUBMITTED, timezone.now()
        figure.version += 1
        figure._change_reason = "Trang nhập số liệu – gửi duyệt"
        figure.save()

    approver = Client()
    assert login(approver, "pheduyet").status_code == 302
    response = approver.post(
        f"/duyet/{q4.pk}/",
        {**{f"f-{f.pk}": str(f.version) for f in figures}, "action": "approve"},
    )
    assert response.status_code == 302
    assert Figure.objects.get(pk=figures[0].pk).state == WorkflowState.APPROVED
    assert login(Client(), "daibieu", "wrong-password").status_code != 302
    history = Figure.history.filter(period=q4, target__in=[grain, forest])
    return history.count(), [PDF]


def test_a_backup_restores_into_an_empty_database_with_every_table_equal(
    tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    load_portal()
    history_rows, evidence = enter_figures()
    assert history_rows == 10

    out = StringIO()
    (tmp_path / "backups").mkdir()
    call_command("backup", str(tmp_path / "backups"), stdout=out)
    (backup,) = (tmp_path / "backups").iterdir()
    assert backup.name.startswith("khoenon-")
    assert "Đã sao lưu vào" in out.getvalue()
    assert {p.name for p in backup.iterdir()} == {
        "database.dump" if connection.vendor == "postgresql" else "database.sqlite3",
        "media.tar.gz",
        "manifest.json",
    }

    restored_media = tmp_path / "media-restored"
    if connection.vendor == "postgresql":
        name = f"{connection.settings_dict['NAME']}_restore"
        admin = connection.get_new_connection(connection.get_connection_params())
        admin.autocommit = True
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.cursor().execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        target_url = database_url(name)
    else:
        target_file = tmp_path / "restored.sqlite3"
        target_url = f"sqlite:///{target_file}"
    try:
        result = manage(
            "restore",
            str(backup),
            env=manage_env(DATABASE_URL=target_url, DJANGO_MEDIA_ROOT=restored_media),
        )
        assert result.returncode == 0, result.stderr
        assert "khớp bản sao lưu" in result.stdout

        source = source_digests()
        if connection.vendor == "postgresql":
            params = {**connection.get_connection_params(), "dbname": name}
            restored_conn = connection.get_new_connection(params)
        else:
            import sqlite3

            restored_conn = sqlite3.connect(target_file)
        try:
            restored = digests(restored_conn)
        finally:
            restored_conn.close()
    finally:
        if connection.vendor == "postgresql":
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    # Every table equal but the data version's, which the restore gave a new epoch
    # so that no page kept for a later state of the database is served.
    moved = "targets_dataversion"
    assert restored["tables"].pop(moved) != source["tables"].pop(moved)
    assert restored == source
    tables = source["tables"]
    for table in [
        "targets_figure",
        "targets_historicalfigure",
        "targets_evidence",
        "auth_user",
        "auth_group",
        "django_session",
        "django_migrations",
        "axes_accessattempt",
        "axes_accesslog",
    ]:
        assert tables[table]["rows"] > 0, table
    assert tables["targets_historicalfigure"]["rows"] >= history_rows
    restored_files = [p for p in restored_media.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in restored_files] == evidence
    original = next(p for p in (tmp_path / "media").rglob("*") if p.is_file())
    assert restored_files[0].relative_to(restored_media) == original.relative_to(
        tmp_path / "media"
    )


def test_restore_refuses_a_database_that_holds_data(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    resolution_load(RESOLUTION_FILE)
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    before = source_digests()
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(tmp_path / "b"), stdout=StringIO())
    message = str(refused.value)
    assert "Khôi phục KHÔNG thành công" in message
    assert "không trống" in message
    assert "targets_commune (1 dòng)" in message
    assert source_digests() == before


def test_restore_refuses_a_damaged_backup(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    resolution_load(RESOLUTION_FILE)
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    (database_file,) = [
        p for p in (tmp_path / "b").iterdir() if p.name.startswith("database.")
    ]
    data = bytearray(database_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    database_file.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="đã bị hỏng hoặc sửa"):
        call_command("restore", str(tmp_path / "b"), stdout=StringIO())


def test_a_failed_backup_exits_non_zero_with_a_vietnamese_message(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = manage_env()
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = manage("backup", str(blocker / "backup"), env=env)
    assert result.returncode != 0
    assert "Sao lưu KHÔNG thành công" in result.stderr
    assert "Không tạo được thư mục sao lưu" in result.stderr
    assert not list(tmp_path.glob("**/database.*"))


# --- what a backup is refused for, before anything is written --------------------


@pytest.fixture
def taken(tmp_path, settings):
    """A backup of the resolution with one evidence file, then an empty database
    and an empty media folder, as a restore wants them."""
    settings.MEDIA_ROOT = tmp_path / "media"
    stored = tmp_path / "media" / "evidence" / "1" / "a1b2"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(PDF)
    resolution_load(RESOLUTION_FILE)
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    shutil.rmtree(tmp_path / "media")
    call_command("flush", "--no-input", verbosity=0)
    return tmp_path / "b"


def restore_refusal(path) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(path), stdout=StringIO())
    message = str(refused.value)
    assert message.startswith("Khôi phục KHÔNG thành công. ")
    return message


def edit_manifest(path, change) -> None:
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_backup_into_a_folder_is_a_new_dated_backup_only_its_owner_reads(
    tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "minh-chung.pdf").write_bytes(b"x" * 1536)
    resolution_load(RESOLUTION_FILE)
    folder = tmp_path / "backups"
    folder.mkdir()
    out = StringIO()
    call_command("backup", str(folder), stdout=out)
    (made,) = folder.iterdir()
    assert re.fullmatch(r"khoenon-\d{8}-\d{6}", made.name), made.name
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Đã sao lưu vào {made}"
    assert re.fullmatch(
        r"  Thời điểm sao lưu: \d\d:\d\d:\d\d \d\d/\d\d/\d{4}", lines[1]
    )
    assert "bảng, " in lines[2] and " dòng" in lines[2]
    assert lines[3] == "  Tệp minh chứng: media.tar.gz, 1 tệp, 1,5 KB"
    assert re.fullmatch(r"  Mất \d+,\d giây\.", lines[4])
    assert lines[5].endswith(f"python manage.py restore {made}")
    assert made.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in made.iterdir()} == {0o600}


def test_a_backup_never_writes_over_an_earlier_one(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    before = (tmp_path / "b" / "manifest.json").read_bytes()
    with pytest.raises(CommandError, match="đã tồn tại. Chọn tên khác"):
        call_command("backup", str(tmp_path / "b"), stdout=StringIO())
    assert (tmp_path / "b" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no half-made copy


def test_restore_names_a_folder_that_is_no_backup(tmp_path, taken):
    (tmp_path / "empty").mkdir()
    message = restore_refusal(tmp_path / "empty")
    assert "Không thấy manifest.json" in message
    assert "backups/khoenon-20251129-020000" in message


OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (
            lambda b: (b / "manifest.json").write_text("{"),
            r"Không đọc được \S+/manifest\.json \(",
        ),
        (
            lambda b: edit_manifest(b, lambda m: m.update(format=2)),
            "Bản sao lưu ở định dạng 2 mà phiên bản này không đọc được",
        ),
        (
            lambda b: edit_manifest(b, lambda m: m.update(engine=OTHER[m["engine"]])),
            "Bản sao lưu này của (SQLite|PostgreSQL), còn cơ sở dữ liệu đang cấu hình",
        ),
        (
            lambda b: next(b.glob("database.*")).unlink(),
            r"Thiếu tệp \S+/database\.(sqlite3|dump): bản sao lưu không đầy đủ",
        ),
        (
            lambda b: (b / "media.tar.gz").unlink(),
            r"media\.tar\.gz: bản sao lưu không đầy đủ",
        ),
        (
            lambda b: (b / "media.tar.gz").write_bytes(b"not a gzip archive"),
            r"Không đọc được media\.tar\.gz",
        ),
        (
            lambda b: edit_manifest(
                b,
                lambda m: m["media"]["files"].update(
                    {"evidence/2/c3": {"size": 1, "sha256": "0" * 64}}
                ),
            ),
            r"media\.tar\.gz không khớp danh sách tệp trong manifest\.json",
        ),
    ],
    ids=[
        "manifest-unreadable",
        "another-format",
        "another-engine",
        "database-missing",
        "media-missing",
        "media-damaged",
        "media-list-differs",
    ],
)
def test_restore_refuses_a_backup_that_is_not_whole_and_writes_nothing(
    taken, settings, damage, words
):
    damage(taken)
    message = restore_refusal(taken)
    assert re.search(words, message), message
    assert not Target.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists()


def test_restore_refuses_to_replace_an_evidence_file_that_differs(taken, settings):
    stored = Path(settings.MEDIA_ROOT) / "evidence" / "1" / "a1b2"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"another file")
    message = restore_refusal(taken)
    assert "đã có 1 tệp khác với bản sao lưu (ví dụ evidence/1/a1b2)" in message
    assert stored.read_bytes() == b"another file"
    assert not Target.objects.exists()


def test_the_restore_check_names_each_table_that_differs():
    expected = {
        "a": {"rows": 2, "sha256": "x"},
        "b": {"rows": 1, "sha256": "y"},
        "c": {"rows": 1, "sha256": "z"},
    }
    actual = {
        "a": {"rows": 1, "sha256": "x"},
        "b": {"rows": 1, "sha256": "other"},
        "d": {"rows": 0, "sha256": "w"},
    }
    assert digest_differences(expected, actual) == [
        "bảng a: 2 dòng khi sao lưu, 1 dòng sau khi khôi phục",
        "bảng b: cùng 1 dòng nhưng nội dung khác",
        "thiếu bảng c",
        "thừa bảng d",
    ]
    assert digest_differences(expected, expected) == []
