"""Files refused before import, each kind with a message that names what is wrong (the
cell, where there is one) and what to do, and refused before openpyxl parses the
workbook: the checks read the upload's size, the zip's directory and one streaming
pass over the sheet's XML."""

import io
import zipfile
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase, override_settings

from targets.admin import FigureAdmin
from targets.models import Figure
from targets.spreadsheet_limits import SpreadsheetRejected
from targets.spreadsheets import SafeCSV, SafeXLSX, format_for_name

from .base import HEADERS, ImportTestCase, csv_file, rezip, row, xlsx

ROWS = [row("2a", 3, "3865,28"), row("2b", 3, "350")]


def workbook(rows=ROWS, edit=None) -> bytes:
    """A full openpyxl workbook (not write-only: it declares its <dimension>, and
    `edit` may merge cells or write formulas)."""
    return xlsx(rows, edit=edit or (lambda sheet: None))


def sheet_xml(change):
    def edit(name, content):
        return change(content) if name == "xl/worksheets/sheet1.xml" else content

    return edit


class RejectedFileTests(SimpleTestCase):
    def assertRejected(self, file_format, data, code, *fragments):
        with mock.patch(
            "openpyxl.load_workbook", side_effect=AssertionError("workbook parsed")
        ):
            with self.assertRaises(SpreadsheetRejected) as caught:
                file_format.create_dataset(data)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        for fragment in fragments:
            self.assertIn(fragment, caught.exception.message)

    @override_settings(IMPORT_MAX_BYTES=1000)
    def test_an_oversized_file_is_refused_by_its_size(self):
        self.assertRejected(SafeXLSX(), workbook(), "too_big", "vượt giới hạn")
        self.assertRejected(SafeCSV(), b"a,b\n" * 300, "too_big", "vượt giới hạn")

    @override_settings(IMPORT_MAX_ROWS=3)
    def test_more_rows_than_allowed_are_refused(self):
        rows = [row("2a", q, "1") for q in (1, 2, 3, 4)]
        self.assertRejected(SafeXLSX(), workbook(rows), "too_many_rows", "hơn 3 dòng")
        self.assertRejected(SafeCSV(), csv_file(rows), "too_many_rows", "hơn 3 dòng")

    def test_a_zip_bomb_is_refused_from_the_zip_directory(self):
        bomb = rezip(workbook(), add={"xl/media/image1.png": b"\0" * (20 << 20)})
        self.assertLess(len(bomb), 100_000)
        self.assertRejected(SafeXLSX(), bomb, "zip_bomb", "bom nén", "image1.png")

    @override_settings(IMPORT_MAX_UNCOMPRESSED_BYTES=4000)
    def test_a_zip_that_inflates_past_the_limit_is_refused(self):
        self.assertRejected(SafeXLSX(), workbook(), "zip_bomb", "giải nén ra hơn")

    def test_a_macro_workbook_is_refused(self):
        with_vba = rezip(workbook(), add={"xl/vbaProject.bin": b"VBA"})
        self.assertRejected(SafeXLSX(), with_vba, "macro", "macro")

        def macro_type(name, content):
            if name == "[Content_Types].xml":
                return content.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml."
                    b"sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
            return content

        self.assertRejected(SafeXLSX(), rezip(workbook(), macro_type), "macro")
        for name in ("so-lieu.xlsm", "so-lieu.xlsb"):
            with self.assertRaises(SpreadsheetRejected) as caught:
                format_for_name(name)
            self.assertEqual(caught.exception.code, "macro")

    def test_a_file_that_is_not_what_its_extension_says_is_refused(self):
        cases = [
            (SafeXLSX(), csv_file(ROWS), "nội dung là văn bản"),
            (SafeXLSX(), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, ".xls"),
            (SafeXLSX(), bytes(range(256)) * 4, "không phải là bảng tính Excel"),
            (SafeCSV(), workbook(), "thực ra là bảng tính Excel"),
            (SafeCSV(), b"a,b\n1,\x00\x01\n", "không phải là văn bản"),
        ]
        for file_format, data, fragment in cases:
            with self.subTest(fragment=fragment):
                self.assertRejected(file_format, data, "wrong_type", fragment)

    def test_a_zip_that_is_not_a_workbook_is_refused(self):
        plain = io.BytesIO()
        with zipfile.ZipFile(plain, "w") as archive:
            archive.writestr("a.txt", "x")
        self.assertRejected(
            SafeXLSX(), plain.getvalue(), "wrong_type", "[Content_Types].xml"
        )
        word = io.BytesIO()
        with zipfile.ZipFile(word, "w") as archive:
            archive.writestr(
                "[Content_Types].xml",
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                'content-types"><Override PartName="/word/document.xml" ContentType='
                '"application/vnd.openxmlformats-officedocument.wordprocessingml.'
                'document.main+xml"/></Types>',
            )
        self.assertRejected(SafeXLSX(), word.getvalue(), "wrong_type", "Word")

    def test_a_csv_that_is_not_utf8_is_refused_naming_the_line(self):
        legacy = b"Ma chi tieu\nGhi ch\xfa\n"  # "Ghi chú" in Windows-1258
        self.assertRejected(SafeCSV(), legacy, "encoding", "UTF-8", "dòng 2")
        utf16 = "Mã,Số\n".encode("utf-16")
        self.assertRejected(SafeCSV(), utf16, "encoding", "UTF-16")

    def test_a_formula_without_a_cached_value_is_refused_naming_the_cell(self):
        data = workbook(edit=lambda sheet: sheet.__setitem__("E3", "=1+2"))
        self.assertRejected(
            SafeXLSX(), data, "formula", "Ô E3 là công thức nhưng chưa có giá trị"
        )

    def test_a_formula_with_a_cached_value_is_refused_too(self):
        data = workbook(edit=lambda sheet: sheet.__setitem__("E2", "=1+2"))
        cached = rezip(data, sheet_xml(lambda xml: xml.replace(b"<v />", b"<v>3</v>")))
        self.assertIn(
            b"<f>1+2</f><v>3</v>",
            zipfile.ZipFile(io.BytesIO(cached)).read("xl/worksheets/sheet1.xml"),
        )
        self.assertRejected(
            SafeXLSX(), cached, "formula", "Ô E2 là công thức.", "Paste Values"
        )

    def test_merged_cells_are_refused_naming_the_range(self):
        data = workbook(edit=lambda sheet: sheet.merge_cells("B3:C3"))
        self.assertRejected(SafeXLSX(), data, "merged", "Ô B3:C3 đang gộp")

    def test_xml_with_a_doctype_is_refused(self):
        def doctype(name, content):
            if name == "xl/styles.xml":
                return b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + content
            return content

        self.assertRejected(SafeXLSX(), rezip(workbook(), doctype), "doctype")

    def test_data_far_to_the_right_is_refused(self):
        data = workbook(edit=lambda sheet: sheet.cell(row=2, column=150, value="x"))
        self.assertRejected(SafeXLSX(), data, "too_many_columns", "quá 100 cột")

    def test_a_file_with_headers_only_is_refused(self):
        self.assertRejected(SafeXLSX(), workbook([]), "empty", "không có dòng")
        self.assertRejected(SafeCSV(), csv_file([]), "empty", "không có dòng")


class AcceptedFileTests(SimpleTestCase):
    def test_an_xlsx_is_read_row_for_row_with_trailing_blank_rows_dropped(self):
        data = workbook(
            ROWS + [[None] * 6], edit=lambda s: s.cell(row=9, column=1, value=" ")
        )
        dataset = SafeXLSX().create_dataset(data)
        self.assertEqual(dataset.headers, HEADERS)
        self.assertEqual(len(dataset), 2)
        self.assertEqual(dataset[0][1], "2a")

    def test_a_csv_with_a_bom_or_semicolons_reads_the_same(self):
        plain = SafeCSV().create_dataset(csv_file(ROWS))
        with_bom = SafeCSV().create_dataset(b"\xef\xbb\xbf" + csv_file(ROWS))
        semicolons = SafeCSV().create_dataset(
            csv_file(ROWS).replace(b",", b";").replace(b'"3865;28"', b"3865,28")
        )
        self.assertEqual(plain.dict, with_bom.dict)
        self.assertEqual(plain.dict, semicolons.dict)
        self.assertEqual(plain[0][4], "3865,28")

    def test_a_column_with_no_header_and_no_value_is_ignored(self):
        dataset = SafeCSV().create_dataset(b"a,b,\n1,2,\n")
        self.assertEqual(dataset.headers, ["a", "b"])

    def test_the_csv_export_apostrophe_is_removed_on_import(self):
        dataset = SafeCSV().create_dataset(
            "Ghi chú,Khác\n'=SUM(A1),'bình thường\n'-2,'+\n".encode()
        )
        self.assertEqual(list(dataset[0]), ["=SUM(A1)", "'bình thường"])
        self.assertEqual(list(dataset[1]), ["-2", "+"])


class AdminRejectionTests(ImportTestCase):
    def post(self, name, data, file_format="0"):
        return self.client.post(
            "/admin/targets/figure/import/",
            {
                "resource": "0",
                "format": file_format,
                "import_file": SimpleUploadedFile(name, data),
            },
        )

    @override_settings(IMPORT_MAX_BYTES=1000)
    def test_an_oversized_upload_is_refused_before_it_is_stored(self):
        with mock.patch.object(
            FigureAdmin, "write_to_tmp_storage", side_effect=AssertionError("stored")
        ):
            response = self.post("lon.xlsx", workbook())
        self.assertContains(response, "vượt giới hạn")
        self.assertFalse(Figure.objects.exists())

    def test_each_refused_kind_is_shown_on_the_form_and_nothing_is_written(self):
        cases = [
            (
                "gop.xlsx",
                workbook(edit=lambda s: s.merge_cells("B3:C3")),
                "0",
                "Ô B3:C3 đang gộp",
            ),
            (
                "cong-thuc.xlsx",
                workbook(edit=lambda s: s.__setitem__("E3", "=1")),
                "0",
                "Ô E3 là công thức",
            ),
            ("macro.xlsm", workbook(), "0", "macro"),
            ("cu.xls", workbook(), "0", "Excel cũ"),
            ("doi-ten.csv", workbook(), "1", "thực ra là bảng tính Excel"),
            ("van-ban.xlsx", csv_file(ROWS), "0", "nội dung là văn bản"),
        ]
        for name, data, file_format, fragment in cases:
            with self.subTest(name=name):
                response = self.post(name, data, file_format)
                self.assertEqual(response.status_code, 200)
                self.assertIsNone(response.context.get("confirm_form"))
                self.assertContains(response, fragment)
        self.assertFalse(Figure.objects.exists())
