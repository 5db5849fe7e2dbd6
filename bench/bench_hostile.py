"""What refusing each hostile spreadsheet costs: time and peak memory growth.

    .venv/bin/python bench/bench_hostile.py

Builds each file into a temp folder, then reads it in a fresh Python process per
file with `targets.spreadsheets.read_file` (the path of `manage.py import_figures`;
the admin import calls the same `create_dataset`), so that one file's peak cannot
hide another's. Each process reports its wall time, the growth of its own peak RSS
(Linux's VmHWM, reset through /proc/self/clear_refs just before the read, minus the
RSS at that moment; the file is already in memory) and the peak RSS of the openpyxl
child process, if one was started (RUSAGE_CHILDREN).
Goal: under 2 s and under 100 MB growth for every refusal.
"""

import argparse
import csv
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ["Số nghị quyết", "Mã chỉ tiêu", "Năm", "Quý", "Số liệu", "Loại số liệu"]
LIMIT = 20_000
BEFORE = "0d175e5"  # the last commit before the bounds of issue #12


def setup_django(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "khoenon.settings"
    import django

    django.setup()


# -- the files ------------------------------------------------------------------------


def workbook(rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for values in rows:
        sheet.append(values)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def figure_rows(count: int):
    return [["13/NQ-HĐND", "2a", 2025, 3, "3865,28", "Thực hiện"]] * count


def rezip(data: bytes, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
    return out.getvalue()


def in_sheet(data: bytes, change) -> bytes:
    def edit(name, content):
        if name == "xl/worksheets/sheet1.xml":
            return change(content.decode()).encode()
        return content

    return rezip(data, edit)


def cell(ref: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>'


def far_rows(*numbers: int) -> bytes:
    extra = "".join(f'<row r="{n}">{cell(f"A{n}")}</row>' for n in numbers)
    return in_sheet(
        workbook(figure_rows(2)),
        lambda xml: xml.replace("</sheetData>", extra + "</sheetData>"),
    )


def declared(ref: str) -> bytes:
    def change(xml: str) -> str:
        if "<dimension " in xml:
            start = xml.index("<dimension ")
            xml = xml[:start] + xml[xml.index("/>", start) + 2 :]
        return xml.replace("<sheetData", f'<dimension ref="{ref}"/><sheetData', 1)

    return in_sheet(workbook(figure_rows(2)), change)


def sparse(last_row: int) -> bytes:
    numbers = [*range(2, last_row, 1000), last_row]
    body = "".join(f'<row r="{n}">{cell(f"A{n}")}</row>' for n in numbers)
    return in_sheet(
        workbook([]), lambda xml: xml.replace("</sheetData>", body + "</sheetData>")
    )


def zip_bomb() -> bytes:
    def add_zeros(name, content):
        return content

    data = rezip(workbook(figure_rows(2)), add_zeros)
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as target:
        target.writestr("xl/media/image1.png", b"\0" * (200 << 20))
    return out.getvalue()


def styles_bomb(formats: int) -> bytes:
    xf = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'

    def change(name, content):
        if name != "xl/styles.xml":
            return content
        text = content.decode()
        start = text.index("<cellXfs")
        end = text.index(">", start) + 1
        many = "".join(f"{xf}<!--{secrets.token_hex(8)}-->" for _ in range(formats))
        return (
            text[:start] + f'<cellXfs count="{formats + 1}">' + many + text[end:]
        ).encode()

    return rezip(workbook(figure_rows(2)), change)


def csv_text(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode()


FILES = {
    "xlsx, one cell at row 1,048,576": ("xlsx", lambda: far_rows(1_048_576), {}),
    "xlsx, cells at rows 1,048,576 and 999,999,999": (
        "xlsx",
        lambda: far_rows(1_048_576, 999_999_999),
        {},
    ),
    "xlsx, one cell at row 999,999,999": ("xlsx", lambda: far_rows(999_999_999), {}),
    "xlsx, <dimension> A1:Z999999999, 3 rows": (
        "xlsx",
        lambda: declared("A1:Z999999999"),
        {},
    ),
    "xlsx, 20,001 rows, a value every 1,000": ("xlsx", lambda: sparse(LIMIT + 2), {}),
    "xlsx, zip bomb (200 MB of zeros)": ("xlsx", zip_bomb, {}),
    "xlsx, styles bomb (100,000 formats), budget 80 MB": (
        "xlsx",
        lambda: styles_bomb(100_000),
        {"IMPORT_MAX_MEMORY_BYTES": 80 << 20},
    ),
    "xlsx, styles bomb (100,000 formats), budget 1 s": (
        "xlsx",
        lambda: styles_bomb(100_000),
        {"IMPORT_MAX_SECONDS": 1},
    ),
    "csv, 10,000,000 commas on one line (5 MB cap)": (
        "csv",
        lambda: b"a,b\n" + b"," * 10_000_000,
        {},
    ),
    "csv, 10,000,000 commas on one line (cap raised to 20 MB)": (
        "csv",
        lambda: b"a,b\n" + b"," * 10_000_000,
        {"IMPORT_MAX_BYTES": 20 << 20},
    ),
    "csv, 5,000,000 empty lines": ("csv", lambda: csv_text([]) + b"\n" * 5_000_000, {}),
    "accepted: xlsx, 20,000 figure rows": (
        "xlsx",
        lambda: workbook(figure_rows(LIMIT)),
        {},
    ),
    "accepted: csv, 20,000 figure rows": (
        "csv",
        lambda: csv_text(figure_rows(LIMIT)),
        {},
    ),
}


# -- one file, in its own process -------------------------------------------------


def old_spreadsheets():
    """targets/spreadsheets.py as it was before issue #12 (commit 0d175e5)."""
    import types

    source = subprocess.check_output(
        ["git", "show", f"{BEFORE}:targets/spreadsheets.py"], cwd=ROOT, text=True
    )
    module = types.ModuleType("targets.spreadsheets_before")
    module.__package__ = "targets"
    exec(compile(source, "spreadsheets_before.py", "exec"), module.__dict__)
    return module


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> int:
    """Reset the process's peak RSS (VmHWM) to its current RSS and return it: the
    peak of what follows is then VmHWM, not hidden by Django's start-up peak."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_kb("VmRSS")


def measure_one(path: Path, overrides: dict, before_fix: bool = False) -> dict:
    import resource

    setup_django(path.parent)
    from django.test.utils import override_settings

    from targets import spreadsheets
    from targets.spreadsheets import SpreadsheetRejected, check_size, format_for_name

    if before_fix:
        spreadsheets = old_spreadsheets()
    # The upload is in memory before the read starts, as in the admin (and kept
    # alive, so that the baseline's high-water mark does not hide the read's copies).
    data = path.read_bytes()
    before = reset_peak()
    start = time.perf_counter()
    with override_settings(**overrides):
        try:
            check_size(len(data))
            file_format = getattr(spreadsheets, format_for_name(path.name).__name__)
            dataset = file_format().create_dataset(data)
            outcome = f"accepted, {len(dataset)} rows"
        except (SpreadsheetRejected, spreadsheets.SpreadsheetRejected) as error:
            outcome = f"refused: {error.code}"
    seconds = time.perf_counter() - start
    after = status_kb("VmHWM")
    child = 0 if before_fix else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": seconds,
        "growth_mb": (after - before) / 1024,
        "child_mb": child / 1024,
        "outcome": outcome,
    }


def measure_child_start() -> None:
    """What the child process costs by itself: start Python, import openpyxl."""
    import resource

    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "import openpyxl"], check=True)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"child process start (python -I, import openpyxl): median "
        f"{sorted(times)[2]:.2f} s, peak RSS {peak:.0f} MB\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    parser.add_argument(
        "--before",
        action="store_true",
        help=f"also read the far-row files (up to row 1,048,576) with the code of "
        f"{BEFORE}, before the bounds",
    )
    args = parser.parse_args()
    if args.one:
        before_fix = args.one.endswith(".before")
        path = Path(args.one.removesuffix(".before"))
        print(json.dumps(measure_one(path, json.loads(args.overrides), before_fix)))
        return
    files = dict(FILES)
    if args.before:
        for rows in (300_000, 1_048_576):
            files[f"BEFORE the fix: xlsx, one cell at row {rows:,}"] = (
                "xlsx",
                lambda rows=rows: far_rows(rows),
                {"BEFORE": True},
            )
        files["BEFORE the fix: accepted xlsx, 20,000 figure rows"] = (
            "xlsx",
            lambda: workbook(figure_rows(LIMIT)),
            {"BEFORE": True},
        )
    measure_child_start()

    with tempfile.TemporaryDirectory() as folder:
        print(f"{'file':58} {'size':>9} {'time':>8} {'growth':>9} {'child':>8}  result")
        for index, (name, (extension, build, overrides)) in enumerate(files.items()):
            path = Path(folder) / f"file{index}.{extension}"
            path.write_bytes(build())
            suffix = ".before" if overrides.pop("BEFORE", False) else ""
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    str(path) + suffix,
                    "--overrides",
                    json.dumps(overrides),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            size = path.stat().st_size
            child = f"{figures['child_mb']:.0f} MB" if figures["child_mb"] else "–"
            print(
                f"{name:58} {size / 1024:7.0f} KB {figures['seconds']:7.2f}s "
                f"{figures['growth_mb']:6.1f} MB {child:>8}  {figures['outcome']}"
            )
            path.unlink()


if __name__ == "__main__":
    main()
