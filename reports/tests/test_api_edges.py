"""The API's filters and refusals that the main API tests leave out: lists narrowed
by resolution, indicator and period, the clerk's write refused for a period or a
row the entry page would never send, and a token header that is not one."""

import csv
import datetime
import io
import json

from django.test import Client
from django.utils import timezone

from reports.api_support import CSVRenderer
from targets.models import (
    Area,
    Commune,
    Figure,
    Indicator,
    ReportingPeriod,
    WorkflowState,
)
from targets.tests.builders import add_resolution, add_target

from .test_api import ApiTestCase
from .test_public import DRAFT_VALUE


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return json.loads(response.content)["results"]


class FilterTests(ApiTestCase):
    """A second resolution of the same commune (one indicator, one target, no
    figure) beside resolution 13."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.resolution = cls.grain.indicator.resolution
        cls.other = add_resolution(
            cls.resolution.commune,
            number="02/NQ-HĐND",
            title="Về kế hoạch bổ sung năm 2025",
            adopted_on=datetime.date(2025, 12, 1),
            effective_on=datetime.date(2025, 12, 1),
        )
        cls.other_indicator = Indicator.objects.create(
            resolution=cls.other, number=1, area=Area.ECONOMY, text="Chỉ tiêu 2026."
        )
        cls.other_target = add_target(cls.other_indicator, "1")

    def test_an_unknown_resolution_answers_404_in_vietnamese(self):
        response = self.api().get("/api/v1/resolutions/999999/")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(
            json.loads(response.content),
            {"detail": "Không có nghị quyết này.", "errors": []},
        )

    def test_a_resolution_reads_with_its_legal_bases_and_full_text(self):
        item = json.loads(
            self.api().get(f"/api/v1/resolutions/{self.resolution.pk}/").content
        )
        self.assertEqual(item["number"], self.resolution.number)
        self.assertEqual(item["source_text"], self.resolution.source_text)
        self.assertEqual(item["legal_bases"], self.resolution.legal_bases)
        listed = results(self.api().get("/api/v1/resolutions/"))
        # Newest first; the list leaves the long texts out.
        self.assertEqual(
            [r["number"] for r in listed], ["02/NQ-HĐND", self.resolution.number]
        )
        self.assertNotIn("source_text", listed[0])

    def test_indicators_filter_by_resolution(self):
        ours = results(
            self.api().get(f"/api/v1/indicators/?resolution={self.resolution.pk}")
        )
        self.assertEqual(len(ours), self.resolution.indicators.count())
        self.assertNotIn(self.other_indicator.pk, [i["id"] for i in ours])
        theirs = results(
            self.api().get(f"/api/v1/indicators/?resolution={self.other.pk}")
        )
        self.assertEqual([i["id"] for i in theirs], [self.other_indicator.pk])
        every = results(self.api().get("/api/v1/indicators/?page_size=1000"))
        self.assertEqual(len(every), len(ours) + 1)

    def test_targets_filter_by_resolution_and_by_indicator(self):
        theirs = results(self.api().get(f"/api/v1/targets/?resolution={self.other.pk}"))
        self.assertEqual([t["id"] for t in theirs], [self.other_target.pk])
        one = results(
            self.api().get(f"/api/v1/targets/?indicator={self.grain.indicator_id}")
        )
        self.assertEqual(
            {t["id"] for t in one},
            set(self.grain.indicator.targets.values_list("pk", flat=True)),
        )
        # Both filters: an indicator of the other resolution gives nothing here.
        none = results(
            self.api().get(
                f"/api/v1/targets/?resolution={self.resolution.pk}"
                f"&indicator={self.other_indicator.pk}"
            )
        )
        self.assertEqual(none, [])

    def test_a_reader_filters_figures_by_resolution_and_period(self):
        Figure.objects.create(
            target=self.other_target,
            period=self.q4,
            value=7,
            state=WorkflowState.DRAFT,
        )
        theirs = results(
            self.api("delegate").get(f"/api/v1/figures/?resolution={self.other.pk}")
        )
        self.assertEqual([f["value"] for f in theirs], ["7"])
        ours = results(
            self.api("delegate").get(
                f"/api/v1/figures/?resolution={self.resolution.pk}"
                f"&period={self.q3.pk}&page_size=1000"
            )
        )
        self.assertEqual(
            len(ours),
            Figure.objects.filter(
                period=self.q3, target__indicator__resolution=self.resolution
            ).count(),
        )
        self.assertEqual({f["period"] for f in ours}, {self.q3.pk})

    def test_progress_reads_the_chosen_resolution_at_the_communes_public_quarter(
        self,
    ):
        # The commune's published quarters are the other resolution's too; its
        # target has no figure in them.
        items = results(self.api().get(f"/api/v1/progress/?resolution={self.other.pk}"))
        self.assertEqual([i["target"] for i in items], [self.other_target.pk])
        self.assertEqual(items[0]["period"], "2025-Q3")
        self.assertEqual(items[0]["status"], "no_data")


class ClerkWriteRefusalTests(ApiTestCase):
    def errors(self, response):
        return json.loads(response.content)["errors"]

    def test_an_unknown_period_or_another_communes_answers_404(self):
        commune = Commune.objects.create(name="Xã khác", province="Lai Châu")
        elsewhere = ReportingPeriod.objects.create(
            commune=commune,
            year=2025,
            quarter=4,
            data_from=datetime.date(2025, 9, 15),
            data_to=datetime.date(2025, 12, 14),
            deadline=datetime.date(2025, 12, 20),
        )
        for period_id in (elsewhere.pk, 999999):
            response = self.api("clerk_a").post(
                f"/api/v1/periods/{period_id}/figures/",
                json.dumps({"figures": [self.grain_row("10")]}),
                content_type="application/json",
            )
            self.assertEqual(response.status_code, 404, period_id)
            self.assertEqual(
                json.loads(response.content)["detail"], "Không có kỳ báo cáo này."
            )
        self.assertEqual(
            Figure.objects.get(target=self.grain, period=self.q4).value, DRAFT_VALUE
        )

    def test_a_target_sent_twice_is_refused_and_nothing_is_saved(self):
        before = Figure.objects.get(target=self.grain, period=self.q4).value
        response = self.post_figures([self.grain_row("10"), self.grain_row("11")])
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            self.errors(response),
            [{"field": "figures", "message": "Mỗi chỉ tiêu chỉ được gửi một lần."}],
        )
        self.assertEqual(
            Figure.objects.get(target=self.grain, period=self.q4).value, before
        )

    def test_a_note_longer_than_the_page_allows_is_refused_on_the_note(self):
        response = self.post_figures([self.grain_row("10", note="x" * 2001)])
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            self.errors(response),
            [
                {
                    "field": "figures[0].note",
                    "target": self.grain.pk,
                    "message": "Ghi chú dài quá 2000 ký tự; vui lòng rút gọn.",
                }
            ],
        )

    def test_a_bad_field_in_a_later_row_is_named_by_its_index(self):
        rows = [self.grain_row("10"), self.grain_row("5", target=self.forest)]
        rows[1]["kind"] = "guess"
        response = self.post_figures(rows)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            self.errors(response),
            [
                {
                    "field": "figures[1].kind",
                    "message": "Loại số liệu phải là actual hoặc estimate.",
                }
            ],
        )

    def test_only_a_clerk_writes_and_an_anonymous_client_is_asked_for_a_token(self):
        anonymous = self.post_figures([self.grain_row("10")], role=None)
        self.assertEqual(anonymous.status_code, 401)
        self.assertEqual(
            json.loads(anonymous.content)["detail"],
            "Cần mã truy cập (Authorization: Bearer <mã>).",
        )
        approver = self.post_figures([self.grain_row("10")], role="approver")
        self.assertEqual(approver.status_code, 403)
        self.assertEqual(
            json.loads(approver.content)["detail"],
            "Tài khoản này không được làm việc này.",
        )

    def test_a_read_endpoint_refuses_a_post_in_vietnamese(self):
        response = self.api("clerk_a").post("/api/v1/targets/")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(
            json.loads(response.content)["detail"],
            "Phương thức không được hỗ trợ ở địa chỉ này.",
        )

    def test_a_body_that_is_not_json_is_refused_in_vietnamese(self):
        response = self.api("clerk_a").post(
            f"/api/v1/periods/{self.q4.pk}/figures/",
            "{figures:",
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            json.loads(response.content)["detail"],
            "Nội dung gửi lên không phải JSON hợp lệ.",
        )


class TokenHeaderTests(ApiTestCase):
    def answer(self, header: str):
        response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/progress/")
        return response.status_code, json.loads(response.content).get("detail")

    def test_a_bearer_header_without_exactly_one_secret_is_refused(self):
        shape = "Tiêu đề Authorization phải có dạng “Bearer <mã truy cập>”."
        self.assertEqual(self.answer("Bearer"), (401, shape))
        self.assertEqual(self.answer("Bearer abc def"), (401, shape))

    def test_a_secret_outside_ascii_is_refused(self):
        self.assertEqual(
            # A header arrives as Latin-1: "ã" is a byte outside ASCII.
            self.answer("Bearer mã"),
            (401, "Mã truy cập không hợp lệ."),
        )

    def test_a_refusal_names_the_scheme_to_use(self):
        response = Client(HTTP_AUTHORIZATION="Bearer sai").get("/api/v1/")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["WWW-Authenticate"], "Bearer")

    def test_another_scheme_reads_as_anonymous(self):
        status, _ = self.answer("Basic ZGFpYmlldTp4")
        self.assertEqual(status, 200)
        response = Client(HTTP_AUTHORIZATION="Basic ZGFpYmlldTp4").get(
            f"/api/v1/progress/?period={self.q4.pk}"
        )
        self.assertEqual(response.status_code, 404)

    def test_the_token_of_a_deactivated_user_is_refused(self):
        self.delegate.is_active = False
        self.delegate.save(update_fields=["is_active"])
        self.assertEqual(
            self.answer(f"Bearer {self.secrets['delegate']}"),
            (401, "Mã truy cập không đúng hoặc đã bị thu hồi."),
        )

    def test_last_use_is_written_at_most_once_a_minute(self):
        token = self.delegate.api_tokens.get()
        header = f"Bearer {self.secrets['delegate']}"
        recent = timezone.now() - datetime.timedelta(seconds=30)
        token.last_used_at = recent
        token.save(update_fields=["last_used_at"])
        self.assertEqual(self.answer(header)[0], 200)
        token.refresh_from_db()
        self.assertEqual(token.last_used_at, recent)
        token.last_used_at = timezone.now() - datetime.timedelta(minutes=2)
        token.save(update_fields=["last_used_at"])
        self.assertEqual(self.answer(header)[0], 200)
        token.refresh_from_db()
        self.assertGreater(token.last_used_at, recent)


class CsvTests(ApiTestCase):
    def rows(self, data) -> list[str]:
        return CSVRenderer().render(data).decode("utf-8-sig").splitlines()

    def test_nested_fields_become_dotted_columns_and_lists_are_joined(self):
        data = [
            {"code": "2a", "window": {"start": "I/2025", "end": "IV/2025"}},
            {"code": "2b", "bodies": [{"role": "lead", "name": "Phòng A"}, "x"]},
        ]
        self.assertEqual(
            self.rows(data),
            [
                "code,window.start,window.end,bodies",
                "2a,I/2025,IV/2025,",
                "2b,,,lead=Phòng A; x",
            ],
        )

    def test_formula_text_is_kept_as_text_and_numbers_stay_numbers(self):
        lines = self.rows({"name": "=HYPERLINK(1)", "value": "-12.5", "note": None})
        self.assertEqual(lines[0], "name,value,note")
        self.assertEqual(lines[1], "'=HYPERLINK(1),-12.5,")

    def test_a_single_item_is_one_row_and_the_detail_endpoint_answers_csv(self):
        response = self.api().get(
            f"/api/v1/resolutions/{self.grain.indicator.resolution_id}/?format=csv"
        )
        header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        self.assertEqual(header[:3], ["id", "number", "title"])
        self.assertEqual(len(rows), 1)
        item = dict(zip(header, rows[0], strict=True))
        self.assertEqual(item["number"], self.grain.indicator.resolution.number)
        self.assertEqual(
            item["source_text"], self.grain.indicator.resolution.source_text
        )
