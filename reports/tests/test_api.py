"""The API: its schema, what anonymous clients see, tokens, and clerks' writes with
the entry page's rules."""

import json
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from openapi_spec_validator import validate

from reports.tests.test_public import (
    DRAFT_VALUE,
    SECRET_NOTE,
    UNPUBLISHED_VALUE,
    PublicTestCase,
    report_rows,
)
from targets.models import Figure, Target, WorkflowState
from targets.numbers import format_decimal
from targets.services import token_issue, token_revoke


class ApiTestCase(PublicTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.secrets = {
            role: token_issue(user=person, name=f"Ứng dụng của {role}")[1]
            for role, person in (
                ("clerk_a", cls.clerk),
                ("clerk_b", cls.other_clerk),
                ("approver", cls.approver),
                ("delegate", cls.delegate),
                ("admin", cls.admin),
            )
        }

    def api(self, role=None) -> Client:
        if role is None:
            return Client()
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.secrets[role]}")

    def post_figures(self, rows, role="clerk_a", submit=False, period=None):
        return self.api(role).post(
            f"/api/v1/periods/{(period or self.q4).pk}/figures/",
            json.dumps({"figures": rows, "submit": submit}),
            content_type="application/json",
        )

    def grain_row(self, value, version=None, note="", target=None):
        target = target or self.grain
        if version is None:
            figure = Figure.objects.filter(target=target, period=self.q4).first()
            version = figure.version if figure else 0
        return {
            "target": target.pk,
            "value": value,
            "kind": "actual",
            "note": note,
            "version": version,
        }


class SchemaTests(ApiTestCase):
    def schema(self):
        response = Client().get("/api/schema/?format=json")
        self.assertEqual(response.status_code, 200)
        return json.loads(response.content)

    def test_the_openapi_schema_validates(self):
        validate(self.schema())

    def test_every_endpoint_answers_as_the_schema_says(self):
        schema = self.schema()
        params = {
            "{resolution_id}": str(self.grain.indicator.resolution_id),
            "{period_id}": str(self.q4.pk),
        }
        checked = 0
        for path, operations in schema["paths"].items():
            url = path
            for key, value in params.items():
                url = url.replace(key, value)
            for method, operation in operations.items():
                documented = set(operation["responses"])
                for role in (None, "delegate", "clerk_a"):
                    with transaction.atomic():
                        if method == "get":
                            response = self.api(role).get(url)
                        else:
                            response = self.api(role).generic(
                                method.upper(), url, "{}", "application/json"
                            )
                        transaction.set_rollback(True)
                    self.assertIn(
                        str(response.status_code), documented, (method, url, role)
                    )
                    body = json.loads(response.content)
                    if response.status_code >= 400:
                        self.assertTrue(body["detail"], (method, url, role))
                    checked += 1
        self.assertGreaterEqual(checked, 3 * 9)

    def test_the_docs_page_needs_no_cdn(self):
        response = Client().get("/api/docs/")
        html = response.content.decode()
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("cdn", html.lower())
        self.assertNotIn("<script>", html)  # the CSP allows our own files only
        self.assertIn("/static/drf_spectacular_sidecar/", html)


class AnonymousReadTests(ApiTestCase):
    def test_progress_is_the_delegates_report_for_the_same_quarter(self):
        rows = report_rows(
            self.delegate_client().get(f"/bao-cao/?ky={self.q3.pk}").content.decode()
        )
        by_code = {}
        for row in rows:
            code = row.split('data-code="')[1].split('"')[0]
            status = row.split('data-status="')[1].split('"')[0]
            numbers = [c.split("<")[0].strip() for c in row.split('<td class="n">')[1:]]
            verdict = row.split('<td class="verdict">')[1].split("<")[0]
            by_code[code] = (status, numbers, verdict)
        response = self.api().get(f"/api/v1/progress/?period={self.q3.pk}")
        self.assertEqual(response.status_code, 200)
        items = json.loads(response.content)["results"]
        self.assertEqual(len(items), Target.objects.count())
        for item in items:
            status, numbers, verdict = by_code[item["code"]]
            self.assertEqual(item["status"], status, item["code"])
            self.assertTrue(verdict.startswith(item["status_label"]), item["code"])
            estimate = item["estimate"]
            shown = format_decimal(Decimal(estimate)) if estimate else ""
            # plan, quý I–IV, then the estimate
            self.assertEqual(numbers[5], shown, item["code"])
            self.assertEqual(numbers[0], item["plan_text"], item["code"])
            self.assertEqual(
                item["plan_text"],
                format_decimal(
                    Decimal(item["target_value"]), item["plan_decimal_places"]
                ),
            )
            quarters = {q["quarter"]: q["value"] for q in item["quarters"]}
            for index, quarter in enumerate(
                ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")
            ):
                cell = numbers[1 + index].split(" ")[0]
                value = quarters.get(quarter)
                self.assertEqual(
                    cell, format_decimal(Decimal(value)) if value else "", item["code"]
                )

    def test_figures_are_strings_exact_and_approved_only_without_notes(self):
        response = self.api().get(f"/api/v1/figures/?period={self.q3.pk}")
        items = json.loads(response.content)["results"]
        grain = next(i for i in items if i["target"] == self.grain.pk)
        self.assertEqual(grain["value"], "1000")
        self.assertIsNone(grain["note"])
        self.assertEqual({i["kind"] for i in items} - {"actual", "estimate"}, set())

    def test_no_draft_note_name_or_unpublished_quarter_in_any_anonymous_answer(self):
        forbidden = [
            str(DRAFT_VALUE),
            str(UNPUBLISHED_VALUE),
            SECRET_NOTE,
            *self.notes,
            *self.forbidden_names,
        ]
        urls = [
            "/api/v1/",
            "/api/v1/resolutions/",
            f"/api/v1/resolutions/{self.grain.indicator.resolution_id}/",
            "/api/v1/indicators/",
            "/api/v1/targets/",
            "/api/v1/periods/",
            "/api/v1/figures/",
            "/api/v1/progress/",
            "/api/schema/",
        ] + [f"/api/v1/progress/?period={p.pk}" for p in (self.q1, self.q2, self.q3)]
        for url in urls:
            for fmt in ("", "format=csv"):
                if fmt and "schema" in url:
                    continue
                full = url + ("&" if "?" in url else "?") + fmt if fmt else url
                response = self.api().get(full)
                self.assertEqual(response.status_code, 200, full)
                text = response.content.decode()
                for word in forbidden:
                    self.assertNotIn(word, text, f"{word!r} in {full}")
        periods = json.loads(self.api().get("/api/v1/periods/").content)["results"]
        self.assertEqual([p["quarter"] for p in periods], [1, 2, 3])
        response = self.api().get(f"/api/v1/progress/?period={self.q4.pk}")
        self.assertEqual(response.status_code, 404)

    def test_csv_is_one_row_per_item_and_filters_by_indicator(self):
        indicator = self.grain.indicator
        response = self.api().get(
            f"/api/v1/progress/?indicator={indicator.pk}&format=csv"
        )
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        lines = response.content.decode("utf-8-sig").splitlines()
        self.assertTrue(lines[0].startswith("target,code,name"))
        self.assertEqual(len(lines) - 1, indicator.targets.count())

    def test_reads_carry_an_etag_and_answer_304_on_a_repeat(self):
        first = self.api().get("/api/v1/progress/")
        self.assertIn("public", first["Cache-Control"])
        again = self.api().get("/api/v1/progress/", HTTP_IF_NONE_MATCH=first["ETag"])
        self.assertEqual(again.status_code, 304)
        mine = self.api("delegate").get("/api/v1/progress/")
        self.assertIn("no-store", mine["Cache-Control"])

    def test_bad_filters_answer_in_vietnamese(self):
        response = self.api().get("/api/v1/targets/?resolution=abc")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            json.loads(response.content)["errors"],
            [{"field": "resolution", "message": "Phải là một số nguyên dương."}],
        )
        response = self.api().get("/api/v1/targets/?resolution=999999")
        self.assertEqual(
            json.loads(response.content)["detail"], "Không có nghị quyết này."
        )

    @override_settings(API_ANON_RATE="3/minute")
    def test_anonymous_requests_are_throttled(self):
        cache.clear()
        codes = [self.api().get("/api/v1/").status_code for _ in range(4)]
        self.assertEqual(codes, [200, 200, 200, 429])
        response = self.api().get("/api/v1/")
        self.assertIn("Quá nhiều yêu cầu", json.loads(response.content)["detail"])
        self.assertEqual(self.api("delegate").get("/api/v1/").status_code, 200)
        cache.clear()

    def test_list_endpoints_run_a_fixed_number_of_queries(self):
        # Drawn: the endpoint's own queries and the data version's. Kept (the same
        # anonymous read again): the data version's query alone.
        for url, most in (
            ("/api/v1/targets/", 2),
            ("/api/v1/indicators/", 2),
            ("/api/v1/figures/", 3),
            ("/api/v1/periods/", 1),
            ("/api/v1/progress/", 7),
        ):
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(self.api().get(url).status_code, 200)
            self.assertLessEqual(len(queries), most + 1, url)
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(self.api().get(url).status_code, 200)
            self.assertEqual(len(queries), 1, url)


class TokenTests(ApiTestCase):
    def test_a_token_acts_as_its_user_and_records_when_it_was_used(self):
        response = self.api("delegate").get(f"/api/v1/progress/?period={self.q4.pk}")
        self.assertEqual(response.status_code, 200)
        token = self.delegate.api_tokens.get()
        self.assertIsNotNone(token.last_used_at)
        self.assertNotIn(self.secrets["delegate"], token.digest)

    def test_a_revoked_or_unknown_token_is_refused_and_others_keep_working(self):
        second, secret = token_issue(user=self.delegate, name="Điện thoại")
        token_revoke(self.delegate.api_tokens.get(name="Ứng dụng của delegate"))
        response = self.api("delegate").get("/api/v1/progress/")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(
            json.loads(response.content)["detail"],
            "Mã truy cập không đúng hoặc đã bị thu hồi.",
        )
        other = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.assertEqual(other.get("/api/v1/progress/").status_code, 200)
        wrong = Client(HTTP_AUTHORIZATION="Bearer kno_khong-dung")
        self.assertEqual(wrong.get("/api/v1/").status_code, 401)

    def test_the_admin_issues_a_token_and_shows_its_secret_once(self):
        client = Client()
        client.force_login(self.admin)
        response = client.post(
            "/admin/targets/apitoken/add/",
            {"user": self.delegate.pk, "name": "Hệ thống báo cáo của tỉnh"},
        )
        self.assertEqual(response.status_code, 200)
        secret = response.context["secret"]
        self.assertContains(response, secret)
        token = self.delegate.api_tokens.get(name="Hệ thống báo cáo của tỉnh")
        self.assertNotContains(
            client.get(f"/admin/targets/apitoken/{token.pk}/change/"), secret
        )
        reader = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.assertEqual(reader.get("/api/v1/progress/").status_code, 200)


class TokenWriteTests(ApiTestCase):
    def errors(self, response):
        return json.loads(response.content)["errors"]

    def test_a_clerks_token_saves_a_draft_and_the_history_names_the_api(self):
        response = self.post_figures([self.grain_row("1.000,55")])
        self.assertEqual(response.status_code, 200, response.content)
        body = json.loads(response.content)
        self.assertEqual(body["saved"], 1)
        self.assertEqual(body["figures"][0]["value"], "1000.55")
        figure = Figure.objects.get(target=self.grain, period=self.q4)
        self.assertEqual(figure.value, Decimal("1000.55"))
        self.assertEqual(figure.state, WorkflowState.DRAFT)
        self.assertEqual(
            figure.history.latest().history_change_reason, "API – lưu nháp"
        )
        self.assertEqual(figure.history.latest().history_user, self.clerk)

    def test_submitting_sends_the_quarter_for_approval_through_the_api(self):
        response = self.post_figures([self.grain_row("1000")], submit=True)
        self.assertEqual(response.status_code, 200, response.content)
        figure = Figure.objects.get(target=self.grain, period=self.q4)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.assertEqual(
            figure.history.latest().history_change_reason, "API – gửi duyệt"
        )

    def test_it_refuses_an_ambiguous_number_with_the_field_and_saves_nothing(self):
        before = Figure.objects.get(target=self.grain, period=self.q4).value
        response = self.post_figures([self.grain_row("3.865")])
        self.assertEqual(response.status_code, 400)
        [error] = self.errors(response)
        self.assertEqual(error["field"], "figures[0].value")
        self.assertEqual(error["target"], self.grain.pk)
        self.assertIn("3.865", error["message"])
        self.assertEqual(
            Figure.objects.get(target=self.grain, period=self.q4).value, before
        )

    def test_it_refuses_a_value_out_of_bounds(self):
        response = self.post_figures([self.grain_row("150", target=self.forest)])
        self.assertEqual(response.status_code, 400)
        [error] = self.errors(response)
        self.assertIn("chỉ nhận giá trị từ 0 đến 100", error["message"])
        self.assertEqual(error["field"], "figures[0].value")

    def test_it_asks_for_an_explanation_when_the_figure_is_behind(self):
        response = self.post_figures([self.grain_row("1")], submit=True)
        self.assertEqual(response.status_code, 400, response.content)
        notes = [e for e in self.errors(response) if e["field"] == "figures[0].note"]
        self.assertEqual(len(notes), 1, self.errors(response))
        self.assertIn("giải trình", notes[0]["message"])
        figure = Figure.objects.get(target=self.grain, period=self.q4)
        self.assertEqual(figure.state, WorkflowState.DRAFT)

    def test_an_unusual_value_is_sent_only_once_confirmed(self):
        row = self.grain_row("1", note="Mất mùa do lũ quét")
        response = self.post_figures([row], submit=True)
        self.assertEqual(response.status_code, 400, response.content)
        fields = [e["field"] for e in self.errors(response)]
        self.assertEqual(fields, ["figures[0].confirm"])
        row = self.grain_row("1", note="Mất mùa do lũ quét") | {"confirm": True}
        response = self.post_figures([row], submit=True)
        self.assertEqual(response.status_code, 200, response.content)
        figure = Figure.objects.get(target=self.grain, period=self.q4)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)

    def test_a_stale_version_is_a_conflict_naming_the_stored_value(self):
        self.assertEqual(self.post_figures([self.grain_row("1000")]).status_code, 200)
        response = self.post_figures([self.grain_row("1200", version=0)])
        self.assertEqual(response.status_code, 409)
        [error] = self.errors(response)
        self.assertEqual(error["field"], "figures[0].version")
        self.assertIn("1.000", error["message"])

    def test_a_closed_quarter_is_locked(self):
        response = self.post_figures([self.grain_row("10", version=1)], period=self.q3)
        self.assertEqual(response.status_code, 409)
        self.assertIn("không còn mở", json.loads(response.content)["detail"])

    def test_an_approved_figure_is_locked(self):
        Figure.objects.filter(target=self.grain, period=self.q4).update(
            state=WorkflowState.APPROVED
        )
        response = self.post_figures([self.grain_row("5")])
        self.assertEqual(response.status_code, 400)
        self.assertIn("phê duyệt", self.errors(response)[0]["message"])

    def test_another_bodys_target_answers_404_and_changes_nothing(self):
        before = list(Figure.objects.values_list("pk", "value", "version"))
        response = self.post_figures(
            [self.grain_row("1000"), self.grain_row("9", target=self.jobs)]
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(
            list(Figure.objects.values_list("pk", "value", "version")), before
        )

    def test_a_malformed_body_names_the_field_in_vietnamese(self):
        response = self.post_figures([{"target": self.grain.pk, "value": "1"}])
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            self.errors(response),
            [{"field": "figures[0].version", "message": "Thiếu trường này."}],
        )


class ApiAccessMatrixTests(ApiTestCase):
    """Anonymous, each role by session and each role by token, against the reads
    of an unpublished quarter and the write of each body's target."""

    ROLES = ["clerk_a", "clerk_b", "approver", "delegate", "admin"]

    def clients(self):
        users = {
            "clerk_a": self.clerk,
            "clerk_b": self.other_clerk,
            "approver": self.approver,
            "delegate": self.delegate,
            "admin": self.admin,
        }
        yield "anonymous", None, Client()
        for role in self.ROLES:
            session = Client()
            session.force_login(users[role])
            yield "session", role, session
            yield "token", role, self.api(role)

    def test_every_caller_gets_exactly_what_the_table_says(self):
        mismatches, checked = [], 0
        for how, role, client in self.clients():
            cases = [
                (
                    "unpublished progress",
                    "get",
                    f"/api/v1/progress/?period={self.q4.pk}",
                    None,
                    404 if role is None else 200,
                ),
                (
                    "published progress",
                    "get",
                    f"/api/v1/progress/?period={self.q3.pk}",
                    None,
                    200,
                ),
                ("periods", "get", "/api/v1/periods/", None, 200),
            ]
            for side, target in (("A", self.grain), ("B", self.jobs)):
                owner = "clerk_a" if side == "A" else "clerk_b"
                if role is None:
                    expected = 401 if how == "anonymous" else 403
                elif role in ("clerk_a", "clerk_b"):
                    expected = 200 if role == owner else 404
                else:
                    expected = 403
                cases.append(("write " + side, "post", target, None, expected))
            for name, method, url, _, expected in cases:
                with transaction.atomic():
                    if method == "get":
                        response = client.get(url)
                    else:
                        response = client.post(
                            f"/api/v1/periods/{self.q4.pk}/figures/",
                            json.dumps(
                                {
                                    "figures": [
                                        self.grain_row("10", target=url, note="x")
                                    ]
                                }
                            ),
                            content_type="application/json",
                        )
                    transaction.set_rollback(True)
                checked += 1
                # 400: the write reached the entry rules (jobs holds an approved
                # figure this quarter), as the pages' matrix counts it.
                if expected == 200 and response.status_code == 400:
                    continue
                if response.status_code != expected:
                    mismatches.append((how, role, name, expected, response.status_code))
        self.assertEqual(mismatches, [])
        self.assertEqual(checked, 5 * (1 + 2 * len(self.ROLES)))
