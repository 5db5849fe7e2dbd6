"""Hostile and careless files: each is refused with a Vietnamese message before it can
cost the server more than the limits allow, on the admin import and on the
`import_figures` command alike; what goes out never carries a live formula and comes
back unchanged.

The far-row workbooks are written here as raw worksheet XML inside a real xlsx
(openpyxl cannot write row 999,999,999); the reads that do run, run for real, in
the child process of targets.xlsx_child."""

import csv
import datetime
import io
import secrets
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from unittest import mock

import openpyxl
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, override_settings
from django.urls import reverse

from targets.numbers import format_megabytes
from targets.spreadsheet_cells import formula_safe, looks_like_formula
from targets.spreadsheet_limits import SpreadsheetRejected, check_size
from targets.spreadsheets import SafeCSV, SafeXLSX

from .base import HEADERS, ImportTestCase, csv_file, figures, row, with_sheet
from .test_import_files import workbook

ROWS = [row("2a", 3, "3865,28"), row("2b", 3, "350")]
LIMIT = 20_000


def raw_cell(ref: str, text: str = "x") -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def far_rows(*numbers: int) -> bytes:
    """The two-row figures workbook plus one cell at each far row number, written
    as raw XML after the real rows; its <dimension> still says A1:F3."""
    extra = "".join(f'<row r="{n}">{raw_cell(f"A{n}")}</row>' for n in numbers)
    return with_sheet(
        workbook(ROWS), lambda x: x.replace("</sheetData>", extra + "</sheetData>")
    )


def declared(ref: str) -> bytes:
    """The small workbook whose <dimension> claims `ref`."""

    def change(xml: str) -> str:
        start = xml.index("<dimension ")
        end = xml.index("/>", start) + 2
        return xml[:start] + f'<dimension ref="{ref}"/>' + xml[end:]

    return with_sheet(workbook(ROWS), change)


def sparse(last_row: int, every: int = 1000) -> bytes:
    """Headers, then one figure row every `every` rows up to `last_row`, empty rows
    between (absent from the XML, as Excel writes them)."""
    numbers = [*range(2, last_row, every), last_row]
    body = "".join(
        f'<row r="{n}">{raw_cell(f"A{n}", "13/NQ-HĐND")}</row>' for n in numbers
    )
    return with_sheet(
        workbook([]), lambda x: x.replace("</sheetData>", body + "</sheetData>")
    )


def styles_bomb(formats: int = 100_000) -> bytes:
    """A workbook whose styles.xml lists `formats` cell formats, each followed by a
    random comment so that the zip's ratio check lets it through (a few MB on the
    wire): openpyxl builds an object for each, in memory, before any row."""
    xf = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    many = "".join(f"{xf}<!--{secrets.token_hex(8)}-->" for _ in range(formats))
    source = zipfile.ZipFile(io.BytesIO(workbook(ROWS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/styles.xml":
                text = content.decode()
                start = text.index("<cellXfs")
                head_end = text.index(">", start) + 1
                text = (
                    text[:start]
                    + f'<cellXfs count="{formats + 1}">'
                    + many
                    + text[head_end:]
                )
                content = text.encode()
            target.writestr(info.filename, content)
    return out.getvalue()


class BoundedXlsxTests(SimpleTestCase):
    def assertRefused(self, data: bytes, code: str, *fragments: str):
        """Refused by the scan: the child process that runs openpyxl never starts."""
        with mock.patch(
            "targets.xlsx_child.subprocess.run",
            side_effect=AssertionError("openpyxl started"),
        ):
            with self.assertRaises(SpreadsheetRejected) as caught:
                SafeXLSX().create_dataset(data)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        for fragment in fragments:
            self.assertIn(fragment, caught.exception.message)
        return caught.exception.message

    def test_a_cell_at_the_last_excel_row_is_refused_naming_the_cell(self):
        self.assertRefused(
            far_rows(1_048_576), "too_many_rows", "ô A1048576", "hơn 20.000 dòng"
        )

    def test_a_cell_at_row_999_999_999_is_refused_before_any_row_is_walked(self):
        message = self.assertRefused(
            far_rows(1_048_576, 999_999_999), "too_many_rows", "Ctrl+End"
        )
        self.assertIn("ô A1048576", message)  # stops at the first far row

    def test_a_declared_extent_past_the_limits_is_refused_unread(self):
        cases = [
            ("A1:Z999999999", "too_many_rows", "A1:Z999999999"),
            ("A1:CW2", "too_many_columns", "quá 100 cột"),
            ("A1:CV20001", "too_many_cells", "hơn 1.000.000 ô"),
        ]
        for ref, code, fragment in cases:
            with self.subTest(ref=ref):
                self.assertRefused(declared(ref), code, fragment, "dimension")

    def test_a_20001_row_sheet_with_empty_rows_between_is_refused_as_read(self):
        # 22 rows hold a value; the last is sheet row 20,002: 20,001 data rows.
        self.assertRefused(
            sparse(LIMIT + 2), "too_many_rows", "dòng trống ở giữa cũng được tính"
        )

    def test_rows_without_numbers_are_counted_one_by_one(self):
        rows = "<row><c><v>1</v></c></row>" * (LIMIT + 1)
        data = with_sheet(
            workbook([]), lambda x: x.replace("</sheetData>", rows + "</sheetData>")
        )
        self.assertRefused(data, "too_many_rows", "ô A20002")

    def test_an_empty_formatted_cell_past_column_100_is_refused(self):
        data = with_sheet(
            workbook(ROWS),
            lambda x: x.replace(
                "</row></sheetData>", '<c r="CW3" s="0"/></row></sheetData>'
            ),
        )
        self.assertRefused(data, "too_many_columns", "ô CW3 (cột CW)")

    @override_settings(IMPORT_MAX_CELLS=20)
    def test_cells_are_counted_as_read(self):
        self.assertRefused(workbook(ROWS * 2), "too_many_cells", "hơn 20 ô")

    def test_a_huge_row_number_or_column_name_stays_cheap(self):
        data = with_sheet(
            workbook(ROWS),
            lambda x: x.replace(
                "</sheetData>", f"<row>{raw_cell('A' + '9' * 5000)}</row></sheetData>"
            ),
        )
        self.assertRefused(data, "too_many_rows")
        data = with_sheet(
            workbook(ROWS),
            lambda x: x.replace(
                "</sheetData>", f"<row>{raw_cell('Z' * 5000 + '4')}</row></sheetData>"
            ),
        )
        self.assertRefused(data, "too_many_columns", "rất xa bên phải")

    def test_the_last_allowed_row_is_read_with_the_empty_rows_kept(self):
        dataset = SafeXLSX().create_dataset(sparse(LIMIT + 1))
        self.assertEqual(len(dataset), LIMIT)
        self.assertEqual(dataset[0][0], "13/NQ-HĐND")
        self.assertIsNone(dataset[1][0])
        self.assertEqual(dataset[LIMIT - 1][0], "13/NQ-HĐND")

    def test_dates_and_numbers_cross_from_the_child_process_unchanged(self):
        when = datetime.datetime(2025, 9, 30, 8, 15)
        dataset = SafeXLSX().create_dataset(
            workbook([[NUMBER_TEXT, 1.5, 7, when, datetime.date(2025, 1, 2), True]])
        )
        self.assertEqual(
            list(dataset[0]),
            [NUMBER_TEXT, 1.5, 7, when, datetime.datetime(2025, 1, 2), True],
        )


NUMBER_TEXT = "13/NQ-HĐND"


class BudgetTests(SimpleTestCase):
    """What the scan cannot model (here a styles.xml of 100,000 cell formats, 1,7 s
    and 74 MB in openpyxl) meets the child's memory and time budgets; the process
    that asked, the web worker, carries on."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bomb = styles_bomb()

    def test_a_file_over_a_memory_or_time_budget_is_stopped(self):
        budgets = [
            (
                {"IMPORT_MAX_MEMORY_BYTES": 60 << 20},
                "too_costly",
                "cần hơn 60 MB bộ nhớ",
            ),
            ({"IMPORT_MAX_SECONDS": 0.5}, "too_slow", "mất hơn 0,5 giây"),
        ]
        for budget, code, words in budgets:
            with self.subTest(code=code):
                with override_settings(**budget):
                    with self.assertRaises(SpreadsheetRejected) as caught:
                        SafeXLSX().create_dataset(self.bomb)
                self.assertEqual(caught.exception.code, code)
                self.assertIn(words, caught.exception.message)
                # The budget is the file's, not the reader's: a plain one reads.
                self.assertEqual(len(SafeXLSX().create_dataset(workbook(ROWS))), 2)


class BoundedCsvTests(SimpleTestCase):
    def assertRefused(self, data: bytes, code: str, *fragments: str):
        with self.assertRaises(SpreadsheetRejected) as caught:
            SafeCSV().create_dataset(data)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        for fragment in fragments:
            self.assertIn(fragment, caught.exception.message)

    def test_millions_of_empty_lines_are_rows(self):
        self.assertRefused(
            csv_file(ROWS) + b"\n" * 4_000_000, "too_many_rows", "dòng 20.002"
        )

    def test_20001_rows_with_empty_lines_between_are_refused(self):
        lines = [",".join(HEADERS)] + [
            "13/NQ-HĐND,2a,2025,3,1,Thực hiện" if n % 1000 == 0 else ""
            for n in range(LIMIT + 1)
        ]
        self.assertRefused("\n".join(lines).encode(), "too_many_rows", "hơn 20.000")

    @override_settings(IMPORT_MAX_BYTES=20 * 1024 * 1024)
    def test_a_line_of_ten_million_commas_is_refused_before_it_is_split(self):
        self.assertRefused(
            b"a,b\n" + b"," * 10_000_000, "too_many_columns", "Dòng 2", "dấu phân cách"
        )

    def test_more_than_100_columns_is_refused_even_when_empty(self):
        self.assertRefused(b"a,b\n1,2" + b"," * 99 + b"\n", "too_many_columns", "CW2")

    @override_settings(IMPORT_MAX_CELLS=20)
    def test_cells_are_counted_as_read(self):
        self.assertRefused(csv_file(ROWS * 2), "too_many_cells", "hơn 20 ô")

    def test_the_last_allowed_row_is_read(self):
        data = csv_file([]) + b"\n" * (LIMIT - 1) + b"13/NQ-HD,2a,2025,3,1,x\n"
        dataset = SafeCSV().create_dataset(data)
        self.assertEqual(len(dataset), LIMIT)


def dry_run(path, out) -> None:
    """`manage.py import_figures PATH --user quantri --dry-run`, its report in `out`."""
    call_command(
        "import_figures",
        str(path),
        "--user",
        "quantri",
        "--dry-run",
        stdout=out,
        stderr=io.StringIO(),
    )


class RefusedOnEveryPathTests(ImportTestCase):
    """The admin upload and the command meet the same refusals; nothing is
    written."""

    FILES = [
        ("xa.xlsx", lambda: far_rows(1_048_576, 999_999_999), "ô A1048576"),
        ("khai-bao.xlsx", lambda: declared("A1:Z999999999"), "A1:Z999999999"),
        ("thua.xlsx", lambda: sparse(LIMIT + 2), "dòng trống ở giữa"),
        ("dong-trong.csv", lambda: csv_file(ROWS) + b"\n" * 30_000, "dòng 20.002"),
        ("rong.csv", lambda: b"a,b\n1" + b"," * 200 + b"\n", "quá 100 cột"),
    ]

    def test_the_admin_import_refuses_each_file_and_writes_nothing(self):
        url = reverse("admin:targets_figure_import")
        for name, build, fragment in self.FILES:
            with self.subTest(name=name):
                response = self.client.post(
                    url,
                    {
                        "resource": "0",
                        "format": "0" if name.endswith(".xlsx") else "1",
                        "import_file": SimpleUploadedFile(name, build()),
                    },
                )
                self.assertEqual(response.status_code, 200)
                self.assertIsNone(response.context.get("confirm_form"))
                self.assertContains(response, fragment)
        self.assertEqual(figures(), ([], 0))

    def test_the_command_refuses_each_file_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as folder:
            for name, build, fragment in self.FILES:
                with self.subTest(name=name):
                    path = Path(folder) / name
                    path.write_bytes(build())
                    out = io.StringIO()
                    with self.assertRaises(CommandError) as caught:
                        dry_run(path, out)
                    self.assertIn(f"Không nhập tệp “{name}”", str(caught.exception))
                    self.assertIn(fragment, str(caught.exception))
                    self.assertNotIn("dòng số liệu", out.getvalue())
        self.assertEqual(figures(), ([], 0))

    def test_the_command_counts_only_rows_that_hold_values(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "co-dong-trong.xlsx"
            path.write_bytes(workbook([ROWS[0], [None] * 6, [None] * 6, ROWS[1]]))
            out = io.StringIO()
            dry_run(path, out)
        self.assertIn("“co-dong-trong.xlsx”: 2 dòng số liệu.", out.getvalue())
        self.assertEqual(figures(), ([], 0))


PAYLOADS = [
    " =1+1",
    "\n=cmd|' /C calc'!A0",
    "\t=x",
    "\r=x",
    "+1",
    "-1",
    "@SUM(1)",
    "  @x",
    "=x",
    " \r\n\t-2+3",
    "\u00a0=1",
]
HARMLESS = ["bình thường", "a=b", "1-2", "'=đã có nháy", "'", "", "\nxuống dòng"]


def xml_text(text: str) -> str:
    """What any XML reader gives back for a text written raw: a CR becomes a line
    feed (XML end-of-line handling). openpyxl writes a CR raw and does not know
    Excel's _x000D_ escape, so a CR cannot cross an xlsx made by openpyxl; it is not
    the formula escape that changes it."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class SafeExportTests(SimpleTestCase):
    def dataset(self) -> tablib.Dataset:
        dataset = tablib.Dataset(headers=["Ghi chú", "Số liệu"])
        for text in PAYLOADS + HARMLESS:
            dataset.append([text, Decimal("-4.70")])
        return dataset

    def test_no_payload_is_a_live_formula_in_xlsx_and_numbers_stay_numbers(self):
        data = SafeXLSX().export_data(self.dataset())
        book = openpyxl.load_workbook(io.BytesIO(data))
        rows = list(book.worksheets[0].iter_rows(min_row=2))
        for (note, number), text in zip(rows, PAYLOADS + HARMLESS, strict=True):
            with self.subTest(text=text):
                self.assertNotEqual(note.data_type, "f")
                self.assertEqual(note.data_type, "s" if text else "n")
                # The escape in xlsx is Excel's quote prefix (a style flag, shown
                # nowhere): the value itself is the text, unchanged.
                self.assertEqual(note.value, xml_text(text) or None)
                self.assertEqual(note.quotePrefix, text in PAYLOADS)
                self.assertEqual(number.data_type, "n")
                self.assertEqual(number.value, -4.7)

    def test_no_payload_starts_a_formula_in_csv_and_numbers_stay_numbers(self):
        text = SafeCSV().export_data(self.dataset()).decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline="")))[1:]
        for (note, number), original in zip(records, PAYLOADS + HARMLESS, strict=True):
            with self.subTest(text=original):
                self.assertFalse(note.lstrip().startswith(("=", "+", "-", "@")))
                self.assertFalse(note.startswith(("\t", "\r")))
                self.assertEqual(note, formula_safe(original))
                self.assertEqual(number, "-4,7")

    def test_export_then_read_gives_back_every_text_exactly(self):
        for file_format in (SafeXLSX(), SafeCSV()):
            with self.subTest(format=file_format.get_title()):
                back = file_format.create_dataset(
                    file_format.export_data(self.dataset())
                )
                notes = [r[0] if r[0] is not None else "" for r in back]
                expected = PAYLOADS + HARMLESS
                if isinstance(file_format, SafeXLSX):
                    expected = [xml_text(text) for text in expected]
                self.assertEqual(notes, expected)

    def test_the_csv_reader_removes_only_the_apostrophe_the_export_adds(self):
        dataset = SafeCSV().create_dataset(
            "Ghi chú\n' =1\n'bình thường\n''=x\n'\n".encode()
        )
        self.assertEqual([r[0] for r in dataset], [" =1", "'bình thường", "'=x", "'"])

    def test_the_public_predicate(self):
        for text in PAYLOADS:
            self.assertTrue(looks_like_formula(text), repr(text))
        for text in HARMLESS:
            self.assertFalse(looks_like_formula(text), repr(text))


class DatabaseRoundTripTests(ImportTestCase):
    NOTES = ["=x", "+1", "-1", "@SUM(1)", '=HYPERLINK("http://x")']

    def test_export_then_import_of_formula_like_notes_changes_nothing(self):
        for code, note in zip(["2a", "2b", "2c", "3", "7b"], self.NOTES, strict=True):
            self.figure(code, 3, "12.5", note=note)
        for file_format, name in (("0", "tep.xlsx"), ("1", "tep.csv")):
            with self.subTest(format=name):
                before = figures()
                preview = self.preview(self.export("figure", file_format), name)
                result = preview.context["result"]
                self.assertEqual(result.totals["skip"], len(self.NOTES))
                self.assertEqual(self.confirm(preview).status_code, 302)
                self.assertEqual(figures(), before)


class SizeMessageTests(SimpleTestCase):
    def test_sizes_print_with_at_most_one_decimal(self):
        self.assertEqual(format_megabytes(6 * 1024 * 1024 + 546), "6 MB")
        self.assertEqual(format_megabytes(3 * 1024 * 1024 // 2), "1,5 MB")
        self.assertEqual(format_megabytes(100 * 1024 * 1024), "100 MB")

    def test_the_too_big_message_reads_plainly(self):
        with self.assertRaises(SpreadsheetRejected) as caught:
            check_size(6 * 1024 * 1024 + 546)
        self.assertIn("Tệp nặng 6 MB, vượt giới hạn 5 MB.", caught.exception.message)
