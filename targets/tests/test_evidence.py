import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from targets.models import Evidence

from .base import PDF, EntryTestCase

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def xlsx_bytes(macro=False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        if macro:
            archive.writestr("xl/vbaProject.bin", b"\x00")
    return buffer.getvalue()


class EvidenceTests(EntryTestCase):
    def setUp(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        self.figure_q4 = self.figure(self.grain)
        self.url = f"/so-lieu/{self.figure_q4.pk}/minh-chung/"

    def upload(self, name, content):
        return self.client.post(self.url, {"file": SimpleUploadedFile(name, content)})

    def test_a_clerk_attaches_a_pdf_and_readers_download_it(self):
        response = self.upload("bien ban.pdf", PDF)
        self.assertRedirects(response, self.url)
        item = Evidence.objects.get(figure=self.figure_q4)
        self.assertEqual(item.content_type, "application/pdf")
        self.assertNotIn("bien", item.file.name)  # stored under a random name
        for user in (self.clerk, self.approver, self.delegate):
            self.client.force_login(user)
            download = self.client.get(f"/minh-chung/{item.pk}/")
            self.assertEqual(download.status_code, 200)
            self.assertEqual(b"".join(download.streaming_content), PDF)
            self.assertIn("attachment", download["Content-Disposition"])
            self.assertEqual(download["X-Content-Type-Options"], "nosniff")
        self.client.force_login(self.other_clerk)
        self.assertEqual(self.client.get(f"/minh-chung/{item.pk}/").status_code, 404)

    def test_images_and_xlsx_are_accepted(self):
        self.assertEqual(self.upload("anh.png", PNG).status_code, 302)
        self.assertEqual(self.upload("bang.xlsx", xlsx_bytes()).status_code, 302)
        self.assertEqual(Evidence.objects.filter(figure=self.figure_q4).count(), 2)

    def test_files_that_are_not_what_they_say_are_refused(self):
        for name, content in [
            ("virus.pdf", b"MZ\x90\x00 not a pdf"),
            ("macro.xlsx", xlsx_bytes(macro=True)),
            ("script.png", b"<script>alert(1)</script>"),
            ("plain.txt", b"hello"),
        ]:
            with self.subTest(name=name):
                response = self.upload(name, content)
                self.assertContains(response, "Chỉ nhận tệp PDF", status_code=400)
        self.assertFalse(Evidence.objects.exists())

    @override_settings(EVIDENCE_MAX_BYTES=1024)
    def test_an_oversized_file_is_refused(self):
        response = self.upload("lon.pdf", PDF + b"0" * 2048)
        self.assertContains(response, "vượt giới hạn", status_code=400)
        self.assertFalse(Evidence.objects.exists())

    def test_evidence_cannot_be_added_once_the_figure_is_submitted(self):
        self.save(
            self.row(self.grain, "1000", version=self.figure_q4.version),
            action="submit",
        )
        self.assertEqual(self.upload("b.pdf", PDF).status_code, 404)


class EvidenceNameTests(EntryTestCase):
    def setUp(self):
        self.save(self.row(self.grain, "1000"), user=self.clerk)
        self.url = f"/so-lieu/{self.figure(self.grain).pk}/minh-chung/"

    def download(self, name, content):
        self.client.post(self.url, {"file": SimpleUploadedFile(name, content)})
        item = Evidence.objects.latest("pk")
        response = self.client.get(f"/minh-chung/{item.pk}/")
        return item, response["Content-Disposition"]

    def test_a_pdf_named_html_downloads_as_a_pdf(self):
        item, disposition = self.download("evil.html", PDF)
        self.assertEqual(item.original_name, "evil.pdf")
        self.assertIn('filename="evil.pdf"', disposition)
        self.assertEqual(item.content_type, "application/pdf")

    def test_a_png_without_an_extension_gets_one_and_a_path_is_dropped(self):
        item, disposition = self.download("../../anh chup", PNG)
        self.assertEqual(item.original_name, "anh chup.png")

    @override_settings(EVIDENCE_MAX_BYTES=6 * 1024 * 1024)
    def test_the_size_message_reads_in_megabytes_without_noise(self):
        big = b"%PDF-" + b"0" * (6 * 1024 * 1024 + 546)
        response = self.client.post(
            self.url, {"file": SimpleUploadedFile("lon.pdf", big)}
        )
        self.assertContains(
            response, "Tệp nặng hơn 6 MB, vượt giới hạn 6 MB", status_code=400
        )
        self.assertFalse(Evidence.objects.exists())
