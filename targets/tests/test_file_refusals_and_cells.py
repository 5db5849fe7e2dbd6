"""Files refused before any row is read, on the command's path (read_file) and the
office reader's (read_grid): old Excel, other extensions, a zip that is no workbook,
too many parts, a csv row wider than its header, a file with nothing under the
header; and the cells every export writes (csv_cell, xlsx_cell): booleans as
Có/Không, dates as dd/mm/yyyy, numbers without exponents, text never a formula."""

import datetime
import io
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
from django.test import SimpleTestCase

from targets.spreadsheet_cells import csv_cell, xlsx_cell
from targets.spreadsheet_limits import SpreadsheetRejected
from targets.spreadsheets import SafeCSV, read_file, read_grid

from .base import xlsx


class FileRefusalTests(SimpleTestCase):
    def refused(self, read, *args) -> SpreadsheetRejected:
        with self.assertRaises(SpreadsheetRejected) as caught:
            read(*args)
        return caught.exception

    def on_disk(self, name: str, data: bytes) -> Path:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        path = Path(folder.name) / name
        path.write_bytes(data)
        return path

    def test_an_old_excel_file_is_refused_by_its_name(self):
        error = self.refused(read_file, self.on_disk("bieu.xls", b"\xd0\xcf\x11\xe0"))
        self.assertEqual(error.code, "old_excel")
        self.assertIn("Tệp “bieu.xls” là định dạng Excel cũ (.xls)", error.message)

    def test_a_file_that_is_no_spreadsheet_is_refused_by_its_name(self):
        error = self.refused(read_file, self.on_disk("bieu.ods", b"PK\x03\x04"))
        self.assertEqual(error.code, "extension")
        self.assertIn("không phải bảng tính .xlsx hoặc .csv", error.message)

    def test_a_readable_file_on_disk_gives_its_rows(self):
        path = self.on_disk("so-lieu.xlsx", xlsx([["13/NQ-HĐND", "2a"]], ["A", "B"]))
        dataset = read_file(path)
        self.assertEqual(dataset.headers, ["A", "B"])
        self.assertEqual(list(dataset[0]), ["13/NQ-HĐND", "2a"])

    def test_a_broken_zip_named_xlsx_is_refused(self):
        error = self.refused(read_grid, b"PK\x03\x04" + b"\x00" * 64, "bieu.xlsx")
        self.assertIn("xlsx", error.message)
        self.assertFalse(error.message.startswith("Traceback"))

    def test_a_zip_of_too_many_parts_is_refused_as_a_bomb(self):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for n in range(1001):
                archive.writestr(f"p/{n}.xml", "")
        error = self.refused(read_grid, out.getvalue(), "bieu.xlsx")
        self.assertEqual(error.code, "zip_bomb")
        self.assertIn("Tệp nén bất thường (1001 phần bên trong)", error.message)

    def test_a_csv_row_wider_than_its_header_names_the_extra_cell(self):
        data = "Mã chỉ tiêu,Số liệu\n2a,5\n2c,3,thừa\n".encode()
        error = self.refused(SafeCSV().create_dataset, data)
        self.assertEqual(error.code, "columns")
        self.assertIn(
            "Dòng 3 có nhiều ô hơn dòng tiêu đề (ô thừa: “thừa”)", error.message
        )

    def test_a_csv_with_only_blank_lines_has_no_rows(self):
        error = self.refused(read_grid, b";;\r\n;;\r\n", "bieu.csv")
        self.assertEqual(error.code, "empty")

    def test_an_xlsx_with_only_its_header_has_no_rows(self):
        error = self.refused(read_grid, xlsx([], ["Chỉ tiêu"]), "bieu.xlsx")
        self.assertIn("Tệp không có dòng số liệu nào dưới dòng tiêu đề", error.message)

    def test_trailing_blank_rows_of_an_office_sheet_are_dropped(self):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Chỉ tiêu", "Quý III"])
        sheet.append(["Tỷ lệ che phủ rừng", 40])
        sheet["B9"] = " "
        stream = io.BytesIO()
        book.save(stream)
        grid = read_grid(stream.getvalue(), "bieu.xlsx")
        self.assertEqual(
            grid.rows, [["Chỉ tiêu", "Quý III"], ["Tỷ lệ che phủ rừng", 40]]
        )


class ExportCellTests(SimpleTestCase):
    def test_csv_cells_read_back_as_the_portal_writes_them(self):
        cases = [
            (None, ""),
            (True, "Có"),
            (False, "Không"),
            (Decimal("3865.28"), "3865,28"),
            (7, "7"),
            (1.5, "1,5"),
            (datetime.date(2025, 9, 30), "30/09/2025"),
            ("=1+1", "'=1+1"),
            ("Thường", "Thường"),
        ]
        for value, written in cases:
            with self.subTest(value=value):
                self.assertEqual(csv_cell(value), written)

    def test_xlsx_cells_keep_numbers_numbers_and_text_text(self):
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(
            [
                xlsx_cell(sheet, Decimal("1E+1")),
                xlsx_cell(sheet, Decimal("95.50")),
                xlsx_cell(sheet, True),
                xlsx_cell(sheet, datetime.date(2025, 12, 31)),
                xlsx_cell(sheet, '=HYPERLINK("x")'),
                xlsx_cell(sheet, 2.5),
                xlsx_cell(sheet, None),
            ]
        )
        stream = io.BytesIO()
        book.save(stream)
        cells = list(openpyxl.load_workbook(stream).active.iter_rows())[0]
        self.assertEqual(
            [c.value for c in cells[:4]], [10, Decimal("95.5"), "Có", "31/12/2025"]
        )
        self.assertEqual(cells[0].number_format, "#,##0")
        self.assertEqual(cells[1].number_format, "#,##0.00")
        self.assertEqual((cells[4].value, cells[4].data_type), ('=HYPERLINK("x")', "s"))
        self.assertTrue(cells[4].quotePrefix)
        self.assertEqual(cells[5].value, 2.5)
        self.assertEqual(len(cells), 6)  # an empty value writes no cell
