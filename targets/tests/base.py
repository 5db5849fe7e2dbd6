"""What the targets tests share: the fixture files, the demo cast on the entry page,
an administrator with the real resolution for the admin import, and spreadsheets
written with openpyxl or as csv bytes the way people save them."""

import csv
import datetime
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase, override_settings
from django.utils import timezone

from targets.loaders import RESOLUTION_FILE, resolution_load
from targets.models import (
    Area,
    Commune,
    Evidence,
    Figure,
    Indicator,
    ReportingPeriod,
    Target,
    Task,
    decree_09_window,
)
from targets.spreadsheets import SafeCSV, SafeXLSX

from .builders import add_resolution, load_portal, target_fields

# A small valid PDF, as evidence files are checked by content.
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def attach_pdf(figure, user, name: str = "bien-ban.pdf"):
    """An evidence file on `figure`, stored as an upload would store it."""
    item = Evidence(
        figure=figure,
        original_name=name,
        content_type="application/pdf",
        size=len(PDF),
        uploaded_by=user,
    )
    item.file.save(name, ContentFile(PDF), save=False)
    item.save()
    return item


def said(response) -> list[str]:
    """The messages (django.contrib.messages) a response carried."""
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the entry page -------------------------------------------------------------------


class EntryTestCase(TestCase):
    """The demo cast: kinhte leads Phòng Kinh tế's targets (body A), vanhoa Phòng Văn
    hóa - Xã hội's (body B); pheduyet approves; daibieu reads; quantri administers."""

    @classmethod
    def setUpTestData(cls):
        load_portal(timezone.localdate())
        users = {u.username: u for u in User.objects.all()}
        cls.clerk, cls.other_clerk = users["kinhte"], users["vanhoa"]
        cls.approver, cls.delegate = users["pheduyet"], users["daibieu"]
        cls.admin = users["quantri"]
        cls.q3 = ReportingPeriod.objects.get(year=2025, quarter=3)
        cls.q4 = ReportingPeriod.objects.get(year=2025, quarter=4)
        targets = {t.code: t for t in Target.objects.all()}
        cls.grain = targets["2a"]  # body A, sum, at least 3.865,28
        cls.forest = targets["10a"]  # body A, latest
        cls.jobs = targets["7b"]  # body B
        cls.task_a = Task.objects.get(kind="solution", number=1)  # lead: Phòng Kinh tế

    def entry_url(self, period=None):
        return f"/nhap-so-lieu/{(period or self.q4).pk}/"

    def row(self, target, value, note="", version=0, kind="actual"):
        pk = target.pk
        return {
            f"v-{pk}": value,
            f"k-{pk}": kind,
            f"n-{pk}": note,
            f"ver-{pk}": str(version),
        }

    def task_row(self, task, status, narrative="", version=0):
        pk = task.pk
        return {f"ts-{pk}": status, f"tn-{pk}": narrative, f"tver-{pk}": str(version)}

    def save(self, data, action="save", client=None, user=None, period=None):
        client = client or self.client
        if user is not None:
            client.force_login(user)
        return client.post(self.entry_url(period), {**data, "action": action})

    def figure(self, target, period=None):
        return Figure.objects.filter(target=target, period=period or self.q4).first()

    def submit_grain(self, value="1000"):
        self.save(self.row(self.grain, value), action="submit", user=self.clerk)
        return self.figure(self.grain)

    def admin_change(self, figure, value: str, state: str):
        """The administrator posts the admin change form of the grain figure."""
        self.client.force_login(self.admin)
        return self.client.post(
            f"/admin/targets/figure/{figure.pk}/change/",
            {
                "target": self.grain.pk,
                "period": self.q4.pk,
                "value": value,
                "kind": "actual",
                "note": "",
                "state": state,
                "state_reason": "",
            },
        )

    def review(self, figure, action, reason="", user=None):
        client = Client()
        client.force_login(user or self.approver)
        return client.post(
            f"/duyet/{self.q4.pk}/",
            {f"f-{figure.pk}": str(figure.version), "action": action, "reason": reason},
        )


# --- the admin import ---------------------------------------------------------------

NUMBER = "13/NQ-HĐND"
HEADERS = ["Số nghị quyết", "Mã chỉ tiêu", "Năm", "Quý", "Số liệu", "Loại số liệu"]
HEADERS_NOTE = HEADERS + ["Ghi chú"]
# Tests keep the preview's stored file in the cache instead of the temp folder.
CACHE_STORAGE = "import_export.tmp_storages.CacheStorage"


def xlsx(rows, headers=HEADERS, edit=None) -> bytes:
    """An xlsx written by openpyxl: `headers` on row 1, then `rows`; write-only
    (fast) unless `edit(sheet)` merges cells or writes formulas."""
    book = openpyxl.Workbook(write_only=edit is None)
    sheet = book.active if edit else book.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    if edit:
        edit(sheet)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def csv_file(rows, headers=HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def row(code, quarter, value, kind="Thực hiện", *rest):
    return [NUMBER, code, 2025, quarter, value, kind, *rest]


def figures():
    """Every figure as a comparable tuple, and the number of history rows."""
    rows = Figure.objects.order_by("target__code", "period__quarter").values_list(
        "target__code",
        "period__quarter",
        "value",
        "kind",
        "note",
        "state",
        "version",
        "updated_by__username",
    )
    return [tuple(r) for r in rows], Figure.history.count()


def run(resource_class, data: bytes, user, *, dry_run=False, name="x.xlsx"):
    file_format = SafeXLSX() if name.endswith(".xlsx") else SafeCSV()
    dataset = file_format.create_dataset(data)
    return resource_class().import_data(dataset, dry_run=dry_run, user=user)


def covering(years) -> dict:
    """A resolution's dates (builders.add_resolution's fields): adopted on 1 January
    of the first of `years`, covering all of them."""
    first, last = years[0], years[-1]
    return dict(
        adopted_on=datetime.date(first, 1, 1),
        effective_on=datetime.date(first, 1, 1),
        plan_year=first,
        covers_from=datetime.date(first, 1, 1),
        covers_to=datetime.date(last, 12, 31),
    )


def many_targets(resolution, years, count: int, code="1t", name="Chỉ tiêu "):
    """`count` sum targets of one indicator of `resolution`, at least 1,000 tấn over
    `years`, coded and named by their index after `code` and `name`."""
    indicator = Indicator.objects.create(
        resolution=resolution, number=1, area=Area.ECONOMY, text="Chỉ tiêu thử"
    )
    return Target.objects.bulk_create(
        (
            Target(
                **target_fields(
                    indicator,
                    f"{code}{i}",
                    order=i,
                    name=f"{name}{i}",
                    target_value=Decimal(1000),
                    window_start_year=years[0],
                    window_end_year=years[-1],
                    clause="Thử",
                )
            )
            for i in range(count)
        ),
        batch_size=1000,
    )


def quarters(commune, years) -> list[ReportingPeriod]:
    """Every quarter of `years` for `commune`, open, Decree 09 windows, due at the
    window's end."""
    periods = []
    for year in years:
        for quarter in range(1, 5):
            start, end = decree_09_window(year, quarter)
            periods.append(
                ReportingPeriod(
                    commune=commune,
                    year=year,
                    quarter=quarter,
                    data_from=start,
                    data_to=end,
                    deadline=end,
                )
            )
    return ReportingPeriod.objects.bulk_create(periods)


def big_commune(number: str, years, count: int):
    """Commune "Thử Lớn" with one resolution `number` covering `years`, `count`
    targets coded 1t0, 1t1… and every quarter of `years`: (targets, periods)."""
    commune = Commune.objects.create(name="Thử Lớn", province="Lai Châu")
    resolution = add_resolution(commune, number=number, title="Thử", **covering(years))
    return many_targets(resolution, years, count), quarters(commune, years)


@override_settings(IMPORT_EXPORT_TMP_STORAGE_CLASS=CACHE_STORAGE)
class ImportTestCase(TestCase):
    """The real resolution, its four 2025 quarters open, and an administrator."""

    @classmethod
    def setUpTestData(cls):
        resolution_load(RESOLUTION_FILE)
        cls.admin = User.objects.create_superuser("quantri", "", None)
        cls.targets = {t.code: t for t in Target.objects.all()}
        cls.periods = {p.quarter: p for p in ReportingPeriod.objects.filter(year=2025)}

    def setUp(self):
        self.client.force_login(self.admin)

    def figure(self, code, quarter, value, **fields) -> Figure:
        return Figure.objects.create(
            target=self.targets[code],
            period=self.periods[quarter],
            value=Decimal(value),
            **fields,
        )

    def preview(self, data, name="so-lieu.xlsx", model="figure", **extra):
        file_format = "0" if name.endswith(".xlsx") else "1"
        return self.client.post(
            f"/admin/targets/{model}/import/",
            {
                "resource": "0",
                "format": file_format,
                "import_file": SimpleUploadedFile(name, data),
            },
            **extra,
        )

    def confirm(self, preview, model="figure", **extra):
        form = preview.context["confirm_form"]
        data = {name: form.initial.get(name, "") for name in form.fields}
        return self.client.post(
            f"/admin/targets/{model}/process_import/", data, **extra
        )

    def export(self, model, file_format="0"):
        response = self.client.post(
            f"/admin/targets/{model}/export/", {"resource": "0", "format": file_format}
        )
        self.assertEqual(response.status_code, 200)
        return response.content


# --- the commune's own sheet ----------------------------------------------------------

OFFICE_TITLE = "BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CHỈ TIÊU QUÝ III/2025"
OFFICE_HEADERS = [
    "TT",
    "Chỉ tiêu",
    "ĐVT",
    "Kế hoạch 2025",
    "Thực hiện quý III",
    "Ghi chú",
]


def office_xlsx(rows, headers=OFFICE_HEADERS, title=OFFICE_TITLE, edit=None) -> bytes:
    """Merged title, a blank row, the headers on row 3, then `rows`."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = title
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    for column, text in enumerate(headers, start=1):
        sheet.cell(3, column, text)
    for r, values in enumerate(rows, start=4):
        for c, value in enumerate(values, start=1):
            sheet.cell(r, c, value)
    if edit:
        edit(sheet)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def office_csv(rows, headers=OFFICE_HEADERS, title=OFFICE_TITLE) -> bytes:
    width = len(headers)
    lines = [title + ";" * (width - 1), ";" * (width - 1), ";".join(headers)]
    for values in rows:
        lines.append(";".join("" if v is None else str(v) for v in values))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def rezip(data: bytes, change=None, add=None) -> bytes:
    """The same zip with parts changed by `change(name, bytes)` and parts added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if change:
                content = change(info.filename, content)
            target.writestr(info.filename, content)
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def with_sheet(data: bytes, change) -> bytes:
    """The workbook with its first sheet's XML passed through `change(str)`."""

    def edit(name: str, content: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return content
        return change(content.decode("utf-8")).encode("utf-8")

    return rezip(data, edit)


def with_cached_formula(data: bytes, cell: str, formula: str, cached: str) -> bytes:
    """Rewrite one cell of an openpyxl file as a formula with a cached value, as
    Excel saves it (openpyxl itself writes formulas without one)."""

    def change(xml: str) -> str:
        xml, count = re.subn(
            rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)',
            f'<c r="{cell}"><f>{formula}</f><v>{cached}</v></c>',
            xml,
        )
        assert count == 1, xml[:500]
        return xml

    return with_sheet(data, change)
