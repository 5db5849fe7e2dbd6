"""Open by default: publishing a quarter, and the public pages showing exactly the
delegates' judgement for a published quarter and nothing that is not public."""

import gzip
import io
import re
import shutil
import subprocess
from decimal import Decimal

from django.core.files.base import ContentFile
from django.test import Client
from openpyxl import load_workbook

from reports.tests.helpers import scripts, target_rows
from targets.models import (
    Evidence,
    Figure,
    PeriodState,
    ReportingPeriod,
    Target,
    WorkflowState,
)
from targets.periods import period_publish, period_unpublish
from targets.services import WorkflowError
from targets.tests.base import EntryTestCase

# Values no demo figure holds, so finding one in a page means it leaked.
DRAFT_VALUE = Decimal("7777.77")
UNPUBLISHED_VALUE = Decimal("4321.99")
SECRET_NOTE = "Ghi chú nội bộ: chưa xác minh với thôn Nậm Pắc."
EVIDENCE_NAME = "bien-ban-kiem-tra-noi-bo.pdf"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TARGET_ROW = re.compile(r'<tr class="r-target[^"]*" data-code="[^"]+".*?</tr>', re.S)


def report_rows(html: str) -> list[str]:
    return TARGET_ROW.findall(html)


class PublicTestCase(EntryTestCase):
    """The demo (Q1–Q3 2025 closed and published, Q4 open), clerks with names of
    their own, a draft, an approved figure of the unpublished Q4, a note and an
    evidence file on a published figure."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        names = {
            cls.clerk: ("Nguyễn Văn", "Kinh"),
            cls.other_clerk: ("Lò Thị", "Hoa"),
            cls.approver: ("Tòng Văn", "Duyệt"),
        }
        for person, (first, last) in names.items():
            person.first_name, person.last_name = first, last
            person.save()
        cls.forbidden_names = [
            "Nguyễn Văn Kinh",
            "Lò Thị Hoa",
            "Tòng Văn Duyệt",
            "kinhte",
            "vanhoa",
            "pheduyet",
            "quantri",
        ]
        cls.q1, cls.q2 = (
            ReportingPeriod.objects.get(year=2025, quarter=q) for q in (1, 2)
        )
        # Q4's figures of grain and jobs replaced by a draft and an approved one.
        for target, value, state, by in (
            (cls.grain, DRAFT_VALUE, WorkflowState.DRAFT, {"updated_by": cls.clerk}),
            (
                cls.jobs,
                UNPUBLISHED_VALUE,
                WorkflowState.APPROVED,
                {"approved_by": cls.approver},
            ),
        ):
            Figure.objects.filter(target=target, period=cls.q4).delete()
            Figure.objects.create(
                target=target, period=cls.q4, value=value, state=state, **by
            )
        published = Figure.objects.get(target=cls.grain, period=cls.q3)
        Figure.objects.filter(pk=published.pk).update(
            note=SECRET_NOTE, updated_by=cls.clerk, approved_by=cls.approver
        )
        evidence = Evidence(
            figure=published,
            original_name=EVIDENCE_NAME,
            content_type="application/pdf",
            size=len(PDF),
            uploaded_by=cls.clerk,
        )
        evidence.file.save(EVIDENCE_NAME, ContentFile(PDF), save=False)
        evidence.save()
        cls.notes = [
            n for n in Figure.objects.exclude(note="").values_list("note", flat=True)
        ]

    def delegate_client(self) -> Client:
        client = Client()
        client.force_login(self.delegate)
        return client


class PublishingTests(PublicTestCase):
    def test_the_demo_publishes_its_closed_quarters_only(self):
        published = ReportingPeriod.objects.filter(published_at__isnull=False)
        self.assertEqual(sorted(published.values_list("quarter", flat=True)), [1, 2, 3])
        self.q4.refresh_from_db()
        self.assertFalse(self.q4.is_public)

    def test_only_a_closed_quarter_is_published(self):
        ReportingPeriod.objects.filter(pk=self.q4.pk).update(
            state=PeriodState.OPEN, published_at=None
        )
        with self.assertRaisesMessage(WorkflowError, "chưa khóa sổ"):
            period_publish(user=self.approver, period=self.q4)

    def test_only_the_approver_publishes(self):
        period_unpublish(user=self.admin, period=self.q3, reason="Kiểm tra lại")
        for person in (self.clerk, self.delegate, self.admin):
            with self.assertRaisesMessage(WorkflowError, "Chỉ lãnh đạo UBND xã"):
                period_publish(user=person, period=self.q3)
        period_publish(user=self.approver, period=self.q3)
        self.q3.refresh_from_db()
        self.assertEqual(self.q3.published_by, self.approver)

    def test_quarters_are_published_in_order_within_the_year(self):
        period_unpublish(user=self.admin, period=self.q2, reason="Sai số liệu quý II")
        with self.assertRaisesMessage(WorkflowError, "Hãy công bố Quý II/2025 trước"):
            period_publish(user=self.approver, period=self.q3)

    def test_withdrawing_needs_an_administrator_and_a_reason_kept_in_history(self):
        with self.assertRaisesMessage(WorkflowError, "Chỉ quản trị hệ thống"):
            period_unpublish(user=self.approver, period=self.q2, reason="x")
        with self.assertRaisesMessage(WorkflowError, "Phải nêu lý do"):
            period_unpublish(user=self.admin, period=self.q2, reason="  ")
        withdrawn = period_unpublish(
            user=self.admin, period=self.q2, reason="Số liệu quý II cần rà soát"
        )
        # Quý III's report carries quý II's figures: it goes too.
        self.assertEqual([p.quarter for p in withdrawn], [2, 3])
        record = self.q2.history.latest()
        self.assertEqual(
            record.history_change_reason,
            "Trang quản trị – gỡ công bố: Số liệu quý II cần rà soát",
        )
        self.assertIsNone(record.published_at)

    def test_a_withdrawn_or_reopened_quarter_is_not_public(self):
        anonymous = Client()
        self.assertEqual(anonymous.get(f"/cong-khai/?ky={self.q3.pk}").status_code, 200)
        ReportingPeriod.objects.filter(pk=self.q3.pk).update(state=PeriodState.OPEN)
        self.assertEqual(anonymous.get(f"/cong-khai/?ky={self.q3.pk}").status_code, 404)
        ReportingPeriod.objects.filter(pk=self.q3.pk).update(state=PeriodState.CLOSED)
        period_unpublish(user=self.admin, period=self.q2, reason="Rà soát")
        for period in (self.q2, self.q3):
            response = anonymous.get(f"/cong-khai/bao-cao/?ky={period.pk}")
            self.assertEqual(response.status_code, 404)
        response = anonymous.get("/cong-khai/")
        self.assertContains(response, "Quý I/2025")
        self.assertNotContains(response, "Quý II/2025</option>")

    def test_the_publishing_page_offers_each_role_its_own_button(self):
        period_unpublish(user=self.admin, period=self.q3, reason="Rà soát")
        client = Client()
        client.force_login(self.approver)
        self.assertContains(client.get("/cong-bo/"), "Công bố Quý III/2025")
        response = client.post(f"/cong-bo/{self.q3.pk}/", {"action": "publish"})
        self.assertRedirects(response, "/cong-bo/")
        self.q3.refresh_from_db()
        self.assertTrue(self.q3.is_public)
        # The approver does not withdraw; the delegate does neither.
        response = client.post(
            f"/cong-bo/{self.q3.pk}/", {"action": "unpublish", "reason": "x"}
        )
        self.assertEqual(response.status_code, 404)
        client.force_login(self.delegate)
        self.assertEqual(client.get("/cong-bo/").status_code, 404)
        client.force_login(self.admin)
        client.post(f"/cong-bo/{self.q3.pk}/", {"action": "unpublish", "reason": "x"})
        self.q3.refresh_from_db()
        self.assertIsNone(self.q3.published_at)


class SameJudgementTests(PublicTestCase):
    def test_the_public_report_is_the_delegates_report_row_for_row(self):
        anonymous = Client()
        for period in (self.q1, self.q2, self.q3):
            theirs = self.delegate_client().get(f"/bao-cao/?ky={period.pk}")
            ours = anonymous.get(f"/cong-khai/bao-cao/?ky={period.pk}")
            self.assertEqual(ours.status_code, 200)
            rows = report_rows(ours.content.decode())
            self.assertEqual(len(rows), Target.objects.count())
            self.assertEqual(rows, report_rows(theirs.content.decode()))

    def test_the_public_dashboard_gives_every_target_the_delegates_status(self):
        theirs = self.delegate_client().get(f"/tien-do/?ky={self.q3.pk}")
        ours = Client().get(f"/cong-khai/?ky={self.q3.pk}")
        expected = {
            pk: s for pk, (s, _) in target_rows(theirs.content.decode()).items()
        }
        got = {pk: s for pk, (s, _) in target_rows(ours.content.decode()).items()}
        self.assertEqual(len(got), Target.objects.count())
        self.assertEqual(got, expected)

    def test_the_public_target_page_states_the_delegates_status_and_estimate(self):
        theirs = self.delegate_client().get(
            f"/chi-tieu/{self.grain.pk}/?ky={self.q3.pk}"
        )
        ours = Client().get(f"/cong-khai/chi-tieu/{self.grain.pk}/?ky={self.q3.pk}")
        status = theirs.context["progress"].status
        self.assertContains(ours, f'data-status="{status.value}"')
        self.assertContains(ours, status.label)
        # 900 + 1.050,5 + 1.000 approved; run-rate over four quarters.
        self.assertEqual(ours.context["progress"], theirs.context["progress"])
        self.assertContains(ours, "2.950,5")

    def test_the_public_files_are_the_delegates_files(self):
        anonymous = Client()
        for name in ("excel", "pdf"):
            ours = anonymous.get(f"/cong-khai/bao-cao/{name}/?ky={self.q3.pk}")
            theirs = self.delegate_client().get(f"/bao-cao/{name}/?ky={self.q3.pk}")
            self.assertEqual(ours.status_code, 200)
            self.assertEqual(ours["Content-Type"], theirs["Content-Type"])
            self.assertEqual(ours["Content-Disposition"], theirs["Content-Disposition"])
        ours = load_workbook(
            io.BytesIO(
                anonymous.get(f"/cong-khai/bao-cao/excel/?ky={self.q3.pk}").content
            )
        )
        theirs = load_workbook(
            io.BytesIO(
                self.delegate_client().get(f"/bao-cao/excel/?ky={self.q3.pk}").content
            )
        )
        self.assertEqual(cells(ours), cells(theirs))


def cells(workbook) -> list:
    return [
        [cell.value for cell in row]
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
    ]


class NothingPrivateTests(PublicTestCase):
    def public_responses(self):
        """(url, text) of every public page and file for every public quarter."""
        anonymous = Client()
        urls = ["/cong-khai/", "/cong-khai/nghi-quyet/", "/accounts/login/"]
        for period in (self.q1, self.q2, self.q3):
            urls += [
                f"/cong-khai/?ky={period.pk}",
                f"/cong-khai/bao-cao/?ky={period.pk}",
                f"/cong-khai/bao-cao/excel/?ky={period.pk}",
            ]
            urls += [
                f"/cong-khai/chi-tieu/{pk}/?ky={period.pk}"
                for pk in Target.objects.values_list("pk", flat=True)
            ]
        urls.append(f"/cong-khai/bao-cao/pdf/?ky={self.q3.pk}")
        for url in urls:
            response = anonymous.get(url)
            self.assertEqual(response.status_code, 200, url)
            if "excel" in url:
                book = load_workbook(io.BytesIO(response.content))
                text = " ".join(str(v) for row in cells(book) for v in row)
            elif "pdf" in url:
                text = pdf_text(response.content)
            else:
                text = response.content.decode()
            yield url, text

    def test_no_draft_note_name_evidence_or_unpublished_figure_ever_appears(self):
        forbidden = [
            "7.777,77",
            "7777,77",
            "7777.77",
            "4.321,99",
            "4321,99",
            "4321.99",
            EVIDENCE_NAME,
            "minh-chung",
            *self.notes,
            *self.forbidden_names,
        ]
        self.assertIn(SECRET_NOTE, forbidden)
        checked = 0
        for url, text in self.public_responses():
            for word in forbidden:
                self.assertNotIn(word, text, f"{word!r} in {url}")
            checked += 1
        self.assertGreater(checked, 100)

    def test_an_unpublished_quarter_answers_404_everywhere(self):
        anonymous = Client()
        for url in (
            f"/cong-khai/?ky={self.q4.pk}",
            f"/cong-khai/bao-cao/?ky={self.q4.pk}",
            f"/cong-khai/bao-cao/excel/?ky={self.q4.pk}",
            f"/cong-khai/chi-tieu/{self.jobs.pk}/?ky={self.q4.pk}",
        ):
            self.assertEqual(anonymous.get(url).status_code, 404, url)


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        return ""
    done = subprocess.run(
        ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
    )
    return done.stdout.decode()


class LightAndCacheableTests(PublicTestCase):
    PAGES = ["/cong-khai/", "/cong-khai/nghi-quyet/", "/cong-khai/bao-cao/"]

    def page_urls(self):
        return [*self.PAGES, f"/cong-khai/chi-tieu/{self.grain.pk}/"]

    def test_every_public_page_needs_no_login_and_no_script(self):
        anonymous = Client()
        for url in self.page_urls():
            response = anonymous.get(url)
            self.assertEqual(response.status_code, 200, url)
            self.assertEqual(scripts(response.content.decode()), [], url)

    def test_every_public_page_weighs_under_60_kb_compressed_on_a_first_visit(self):
        anonymous = Client()
        for url in self.page_urls():
            html = anonymous.get(url).content
            total = len(gzip.compress(html))
            for css in re.findall(rb'<link rel="stylesheet" href="([^"]+)"', html):
                total += len(gzip.compress(static_bytes(css.decode())))
            self.assertLess(total, 60 * 1024, url)

    def test_a_repeat_visit_gets_304_and_any_proxy_may_keep_the_page(self):
        anonymous = Client()
        for url in self.page_urls() + [f"/cong-khai/bao-cao/excel/?ky={self.q3.pk}"]:
            first = anonymous.get(url)
            self.assertIn("public", first["Cache-Control"], url)
            self.assertIn("max-age", first["Cache-Control"], url)
            again = anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
            self.assertEqual(again.status_code, 304, url)
            self.assertEqual(again.content, b"")
            if "nghi-quyet" in url:
                continue  # the resolution's text: an ETag, no publication date
            self.assertTrue(first.has_header("Last-Modified"), url)
            since = anonymous.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
            self.assertEqual(since.status_code, 304, url)

    def test_the_etag_moves_when_a_quarter_is_withdrawn_and_published_again(self):
        anonymous = Client()
        first = anonymous.get(f"/cong-khai/?ky={self.q2.pk}")
        period_unpublish(user=self.admin, period=self.q3, reason="Rà soát")
        period_publish(user=self.approver, period=self.q3)
        again = anonymous.get(
            f"/cong-khai/?ky={self.q2.pk}", HTTP_IF_NONE_MATCH=first["ETag"]
        )
        self.assertEqual(again.status_code, 200)

    def test_the_login_page_links_to_the_public_page(self):
        self.assertContains(Client().get("/accounts/login/"), 'href="/cong-khai/"')

    def test_the_target_page_draws_its_chart_as_svg_with_the_plan(self):
        response = Client().get(f"/cong-khai/chi-tieu/{self.grain.pk}/")
        html = response.content.decode()
        self.assertIn('<svg class="chart"', html)
        self.assertIn('class="plan"', html)
        self.assertIn("KH 3.865,28", html)


def static_bytes(url: str) -> bytes:
    from django.contrib.staticfiles import finders

    path = finders.find(url.removeprefix("/static/"))
    with open(path, "rb") as handle:
        return handle.read()


class PublishingLinkTests(EntryTestCase):
    def test_the_approver_and_the_administrator_find_the_publishing_page(self):
        users = {
            self.approver: True,
            self.admin: True,
            self.delegate: False,
            self.clerk: False,
        }
        for person, shown in users.items():
            with self.subTest(user=person.username):
                self.client.force_login(person)
                page = self.client.get("/tong-quan-nghi-quyet/")
                check = self.assertContains if shown else self.assertNotContains
                check(page, 'href="/cong-bo/"')
