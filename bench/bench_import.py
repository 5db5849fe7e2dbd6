"""Import benchmark: seconds to import a 10,000-row figures xlsx against the seconds
openpyxl alone needs to read the same file read-only, printed as a ratio, and the
time each kind of bad file takes to be refused.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--runs 3] [--per-row]

It migrates a throwaway SQLite database in a temporary folder (or the database named
by DATABASE_URL, which must then be a throwaway one: the script creates a synthetic
resolution with 100 targets × 100 quarters and writes and deletes figures in it).
The import measured is the one `manage.py import_figures` runs: the safe xlsx reader
(every check of targets.spreadsheets) followed by the batched FigureBatchResource with
its writes and history rows. Medians of --runs runs. A benchmark: it prints figures
and never fails.
"""

import argparse
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
import zipfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS, YEARS = 100, range(2001, 2026)  # 100 targets × 100 quarters


def setup_django(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    os.environ["DJANGO_DEBUG"] = "0"  # no query log slowing the per-row path
    os.environ["DJANGO_SETTINGS_MODULE"] = "khoenon.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_targets(commune, number, title, session, years, count, code, name):
    """A resolution of `commune` covering `years` with one indicator and `count`
    sum targets (code and name followed by their index), in tấn, at least 1,000."""
    from targets.tests.base import covering, many_targets
    from targets.tests.builders import add_resolution

    resolution = add_resolution(
        commune, number=number, title=title, session=session, **covering(years)
    )
    many_targets(resolution, years, count, code, name)


def build_data():
    from django.contrib.auth.models import User

    from targets.models import Commune
    from targets.tests.base import quarters

    commune = Commune.objects.create(name="Thử nghiệm tải", province="Lai Châu")
    bench_targets(
        commune,
        "99/NQ-HĐND",
        "Nghị quyết thử tải",
        "Kỳ họp thứ nhất",
        YEARS,
        TARGETS,
        "1t",
        "Chỉ tiêu thử số ",
    )
    quarters(commune, YEARS)
    return User.objects.create_superuser("bench", "", None)


HEADERS = [
    "Số nghị quyết",
    "Mã chỉ tiêu",
    "Tên chỉ tiêu",
    "Đơn vị tính",
    "Năm",
    "Quý",
    "Số liệu",
    "Loại số liệu",
    "Ghi chú",
]


def figure_rows(count: int, bump: int = 0) -> list[list]:
    rows = []
    for i in range(count):
        target, period = i % TARGETS, i // TARGETS
        rows.append(
            [
                "99/NQ-HĐND",
                f"1t{target}",
                f"Chỉ tiêu thử số {target}",
                "tấn",
                YEARS[0] + period // 4,
                1 + period % 4,
                Decimal(i + bump) / 100,
                "Ước thực hiện" if i % 7 == 0 else "Thực hiện",
                "ghi chú" if i % 3 == 0 else None,
            ]
        )
    return rows


def workbook(rows: list[list], edit=None) -> bytes:
    from targets.tests.base import xlsx

    return xlsx(rows, HEADERS, edit)


def openpyxl_read(data: bytes) -> int:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return count


def timed(fn, runs: int, reset=None):
    from django.db import connection

    times, value = [], None
    for _ in range(runs):
        if reset:
            reset()
        if connection.vendor == "sqlite":
            # Write the reset's pages back now, not during the timed import.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--per-row",
        action="store_true",
        help="also time the library's per-row path once (about a minute)",
    )
    parser.add_argument(
        "--commune-only",
        action="store_true",
        help="only the commune-layout case (g) and its openpyxl read",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        setup_django(Path(folder))
        run(args)


def clear_figures() -> None:
    """Plain DELETEs: the ORM's delete would write a history row per figure."""
    from django.db import connection

    from targets.models import Figure

    with connection.cursor() as cursor:
        for model in (Figure.history.model, Figure):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def run(args) -> None:
    from django.db import connection

    from targets.figure_import import FigureBatchResource
    from targets.import_base import totals_line
    from targets.models import Figure
    from targets.spreadsheets import SafeXLSX, SpreadsheetRejected

    user = build_data()
    if args.commune_only:
        print(f"database: {connection.vendor}; rows: {args.rows:,}; runs: {args.runs}")
        commune_layout(args, user, clear_figures)
        return
    rows = figure_rows(args.rows)
    data = workbook(rows)
    print(f"database: {connection.vendor}; rows: {args.rows:,}; runs: {args.runs}")
    print(f"file: {len(data) / 1024 / 1024:.2f} MB xlsx written by openpyxl")

    clear = clear_figures

    def batched(content=data, dry_run=False, with_diff=False):
        def go():
            dataset = SafeXLSX().create_dataset(content)
            return FigureBatchResource().import_data(
                dataset, dry_run=dry_run, user=user, with_diff=with_diff
            )

        return go

    read_s, count = timed(lambda: openpyxl_read(data), args.runs)
    print(f"\n(a) openpyxl read-only read of the file: {read_s:.3f} s ({count:,} rows)")

    import_s, result = timed(batched(), args.runs, reset=clear)
    assert not result.has_validation_errors() and not result.has_errors()
    history = Figure.history.count()
    print(
        f"(b) import (checks + batched validation + writes), new figures: "
        f"{import_s:.3f} s  [{totals_line(result)}; {history:,} history rows]"
    )
    print(f"    ratio (b)/(a): {import_s / read_s:.1f}×")

    same_s, result = timed(batched(), args.runs)
    assert Figure.history.count() == history
    print(
        f"(c) the same file again (nothing written): {same_s:.3f} s  "
        f"[{totals_line(result)}]  ratio {same_s / read_s:.1f}×"
    )

    changed = workbook(figure_rows(args.rows, bump=1))

    def restore():
        clear()
        batched()()

    update_s, result = timed(batched(changed), args.runs, reset=restore)
    print(
        f"(d) every figure changed (updates + history): {update_s:.3f} s  "
        f"[{totals_line(result)}]  ratio {update_s / read_s:.1f}×"
    )

    clear()
    preview_s, result = timed(batched(dry_run=True, with_diff=True), args.runs)
    print(
        f"(e) admin preview (dry run, with the per-cell diff): {preview_s:.3f} s  "
        f"ratio {preview_s / read_s:.1f}×"
    )

    commune_layout(args, user, clear)

    if args.per_row:
        clear()
        start = time.perf_counter()
        dataset = SafeXLSX().create_dataset(data)
        result = per_row_resource()().import_data(dataset, user=user)
        per_row_s = time.perf_counter() - start
        print(
            f"(f) the library's per-row path, one run: {per_row_s:.1f} s  "
            f"[{totals_line(result)}]  ratio {per_row_s / read_s:.1f}×"
        )

    print(
        "\nRefusals (SafeXLSX/SafeCSV.create_dataset until it raises; "
        "none reaches openpyxl's parse):"
    )
    from targets.spreadsheets import SafeCSV

    big = figure_rows(args.rows)
    formula_last = workbook(
        big, edit=lambda s: s.cell(row=args.rows + 1, column=7, value="=1+2")
    )
    merged = workbook(big, edit=lambda s: s.merge_cells("C2:D2"))
    cases = [
        ("oversize (6 MB)", SafeXLSX(), secrets.token_bytes(6 << 20)),
        (
            "zip bomb (200 MB of zeros inside)",
            SafeXLSX(),
            _with_part(data, "xl/media/image1.png", b"\0" * (200 << 20)),
        ),
        (
            "macro (vbaProject.bin)",
            SafeXLSX(),
            _with_part(data, "xl/vbaProject.bin", b"VBA"),
        ),
        ("wrong type (csv named .xlsx)", SafeXLSX(), _csv(rows)),
        ("wrong type (xlsx named .csv)", SafeCSV(), data),
        ("formula in the last row", SafeXLSX(), formula_last),
        ("merged cells (listed after all rows)", SafeXLSX(), merged),
        ("more than 20,000 rows (25,000)", SafeXLSX(), workbook(figure_rows(25_000))),
    ]
    for name, file_format, content in cases:

        def refuse(file_format=file_format, content=content):
            try:
                file_format.create_dataset(content)
            except SpreadsheetRejected as error:
                return error.code
            return "ACCEPTED?"

        seconds, code = timed(refuse, args.runs)
        print(
            f"  {name:<40} {seconds * 1000:8.1f} ms  ({code}; "
            f"{seconds / import_s * 100:.1f}% of the import)"
        )


def per_row_resource():
    """(f) django-import-export's own per-row path for figures, as a plain
    ModelResource: for each row, find or make the figure (a query), read each
    column with the library's widgets, full_clean, save, one history row per save.
    The baseline the batched import (targets.figure_import) is measured against;
    the portal itself has no per-row path for figures."""
    from import_export import fields, resources, widgets

    from targets.models import VIA_IMPORT, Figure, FigureKind, ReportingPeriod, Target

    class PeriodWidget(widgets.Widget):
        def clean(self, value, row=None, **kwargs):
            year, quarter = int(row["Năm"]), int(row["Quý"])
            return ReportingPeriod.objects.get(year=year, quarter=quarter)

    class KindWidget(widgets.Widget):
        def clean(self, value, row=None, **kwargs):
            estimate = value == FigureKind.ESTIMATE.label
            return FigureKind.ESTIMATE if estimate else FigureKind.ACTUAL

    def column(attribute, name, widget):
        return fields.Field(attribute=attribute, column_name=name, widget=widget)

    class PerRowFigures(resources.ModelResource):
        target = column(
            "target", "Mã chỉ tiêu", widgets.ForeignKeyWidget(Target, "code")
        )
        period = column("period", "Quý", PeriodWidget())
        value = column("value", "Số liệu", widgets.DecimalWidget())
        kind = column("kind", "Loại số liệu", KindWidget())
        note = column("note", "Ghi chú", widgets.CharWidget())

        class Meta:
            model = Figure
            fields = ("target", "period", "value", "kind", "note")
            import_id_fields = ("target", "period")
            clean_model_instances = True
            skip_unchanged = True
            use_transactions = True

        def before_save_instance(self, instance, row, **kwargs):
            instance.stamp(kwargs.get("user"), VIA_IMPORT)
            instance.is_demo = False

    return PerRowFigures


OFFICE_NUMBER = "98/NQ-HĐND"


def office_data(count: int):
    """A second resolution, for the plan year 2025, with `count` targets: an office
    sheet has one row per target, so 10,000 rows need 10,000 targets."""
    from targets.models import Commune

    bench_targets(
        Commune.objects.get(),
        OFFICE_NUMBER,
        "Nghị quyết thử tải biểu văn phòng",
        "Kỳ họp thứ hai",
        [2025],
        count,
        "9v",
        "Sản lượng thử của văn phòng số ",
    )


def office_workbook(count: int) -> bytes:
    """The commune's own layout: a merged title naming the period and the
    resolution, a blank row, Vietnamese headers, a heading every 500 rows, text
    decimals, notes with stray spaces, and a footer."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = (
        "BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CHỈ TIÊU QUÝ III/2025 "
        f"(Nghị quyết {OFFICE_NUMBER})"
    )
    sheet.merge_cells("A1:F1")
    sheet.append([])
    sheet.append(
        ["TT", "Chỉ tiêu", "ĐVT", "Kế hoạch 2025", "Thực hiện quý III", "Ghi chú"]
    )
    for i in range(count):
        if i % 500 == 0:
            sheet.append([f"Nhóm {i // 500 + 1}", "NHÓM CHỈ TIÊU THỬ"])
        value = f"{i % 900},{i % 100:02d}" if i % 2 else i % 900
        note = "  ghi   chú " if i % 3 == 0 else None
        sheet.append(
            [i + 1, f"Sản lượng thử của văn phòng số {i}", "tấn", 1000, value, note]
        )
    sheet.append([None, "Người lập biểu"])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def paired(fn, data: bytes, runs: int, reset=None):
    """Each run times openpyxl's read of `data` and then `fn`, back to back, so
    that both meet the same load on a shared machine: the medians of each, the
    median of the runs' own ratios and their range, and fn's last result."""
    from targets.import_base import cycle_collection_paused

    def paused_read():
        with cycle_collection_paused():
            return openpyxl_read(data)

    reads, paused, times, ratios, fair, value = [], [], [], [], [], None
    for _ in range(runs):
        read_s, _count = timed(lambda: openpyxl_read(data), 1)
        paused_s, _count = timed(paused_read, 1)
        seconds, value = timed(fn, 1, reset=reset)
        reads.append(read_s)
        paused.append(paused_s)
        times.append(seconds)
        ratios.append(seconds / read_s)
        fair.append(seconds / paused_s)
    median = statistics.median
    print(
        f"    openpyxl with the cycle collector paused too (as the import pauses "
        f"it): {median(paused):.3f} s; import / that: {median(fair):.1f}× "
        f"(runs: {_spread(fair)})"
    )
    return median(reads), median(times), median(ratios), ratios, value


def commune_layout(args, user, clear) -> None:
    """(g) The commune's own layout (targets.sheets) through the admin's resource:
    the grid read (every bound of spreadsheets.read_grid, merged title, cached
    formulas), the mapping proposal, then the batched import. Each run reads the
    file with openpyxl just before the import: the ratio is the median of the
    runs' own ratios."""
    from targets.import_base import totals_line
    from targets.models import VIA_IMPORT, Figure
    from targets.sheets import CommuneFigureResource, CommuneXLSX

    office_data(args.rows)
    data = office_workbook(args.rows)
    count = openpyxl_read(data)

    def go(dry_run=False, with_diff=False):
        def run_once():
            dataset = CommuneXLSX().create_dataset(data)
            return CommuneFigureResource().import_data(
                dataset, dry_run=dry_run, user=user, with_diff=with_diff
            )

        return run_once

    read_s, import_s, ratio, ratios, result = paired(go(), data, args.runs, reset=clear)
    problems = result.proposal.problems
    assert not problems and not result.has_errors(), problems[:5]
    assert Figure.objects.filter(target__code__startswith="9v").count() == args.rows
    history = Figure.history.filter(
        history_user=user, history_change_reason=VIA_IMPORT, history_type="+"
    )
    assert history.count() == Figure.history.count() == args.rows
    print(
        f"\n(g) commune layout, {args.rows:,} figure rows "
        f"({len(data) / 1024 / 1024:.2f} MB; {count:,} rows), {args.runs} runs:"
    )
    print(f"    openpyxl read-only read: {read_s:.3f} s")
    print(
        f"    import (read + mapping + batched writes): {import_s:.3f} s  "
        f"[{totals_line(result)}; {history.count():,} history rows]  "
        f"ratio {ratio:.1f}× (runs: {_spread(ratios)})"
    )
    clear()
    read_s, preview_s, ratio, ratios, _ = paired(
        go(dry_run=True, with_diff=True), data, args.runs
    )
    print(
        f"    admin preview (dry run, mapping and diff): {preview_s:.3f} s  "
        f"(openpyxl {read_s:.3f} s)  ratio {ratio:.1f}× (runs: {_spread(ratios)})"
    )


def _spread(ratios: list[float]) -> str:
    return ", ".join(f"{r:.1f}×" for r in ratios)


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return out.getvalue()


def _csv(rows) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


if __name__ == "__main__":
    main()
