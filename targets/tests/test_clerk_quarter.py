"""Issue #14, the clerk's half: plausibility flags on entry and import, numbers the
entry page pre-fills read back, the advice loop, drafts that are drafts, the submit
confirmation, evidence in the same save."""

import re
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from targets import rules
from targets.figure_import import FigureBatchResource
from targets.models import Evidence, Figure, Target, WorkflowState
from targets.numbers import format_decimal_input, parse_decimal
from targets.plausibility import flags_for
from targets.progress import TargetSpec

from .base import EntryTestCase, ImportTestCase, row, run, xlsx

PDF = b"%PDF-1.4\n%minh chung\n"
Q = {q: (2025, q) for q in range(1, 5)}


def spec(**fields):
    base = {
        "code": "x",
        "comparison": "at_least",
        "combine": "latest",
        "path": "from_start",
        "target_value": Decimal(350),
        "window": [Q[1], Q[2], Q[3], Q[4]],
        "min_value": Decimal(0),
    }
    return TargetSpec(**{**base, **fields})


class FlagRulesTests(EntryTestCase):
    """The pure rules of targets/plausibility.py."""

    def test_a_million_hectares_of_tea_against_350_is_flagged(self):
        tea = Target.objects.get(code="2b")
        values = {Q[3]: Decimal(352), Q[4]: Decimal(1000000)}
        flags = flags_for(tea, values, Q[4])
        self.assertTrue(flags)
        self.assertIn("1.000.000 ha gấp hơn 3 lần kế hoạch (350 ha)", flags[0])

    def test_a_cumulative_level_that_falls_is_flagged(self):
        flags = flags_for(spec(), {Q[3]: Decimal(352), Q[4]: Decimal(300)}, Q[4])
        self.assertEqual(len(flags), 1)
        self.assertIn("thấp hơn quý III/2025 (352)", flags[0])

    def test_a_sum_with_a_negative_quarter_is_a_falling_year_to_date_flow(self):
        flow = spec(combine="sum", target_value=Decimal(235), min_value=None)
        flags = flags_for(flow, {Q[1]: Decimal(20), Q[2]: Decimal(-5)}, Q[2])
        self.assertIn("lũy kế từ đầu năm giảm", flags[0])

    def test_a_year_to_date_total_typed_as_a_quarter_is_flagged(self):
        grain = Target.objects.get(code="2a")
        values = {Q[1]: Decimal(900), Q[2]: Decimal("1050.5"), Q[3]: Decimal(3900)}
        flags = flags_for(grain, values, Q[3])
        self.assertTrue(any("không phải số lũy kế" in f for f in flags), flags)

    def test_ordinary_quarters_are_not_flagged(self):
        grain = Target.objects.get(code="2a")
        values = {Q[1]: Decimal(900), Q[2]: Decimal("1050.5"), Q[3]: Decimal(1000)}
        self.assertEqual(flags_for(grain, values, Q[3]), [])
        # A zero quarter of a sum is a real answer (nothing planted), not a flag.
        planting = Target.objects.get(code="2c")
        self.assertEqual(flags_for(planting, {Q[1]: Decimal(0)}, Q[1]), [])

    def test_the_demo_quarters_one_to_three_raise_no_flag(self):
        by_target = {}
        for f in Figure.objects.select_related("target", "period"):
            by_target.setdefault(f.target, {})[f.period.key] = f.value
        for target, values in by_target.items():
            for quarter in (Q[1], Q[2], Q[3]):
                with self.subTest(target=target.code, quarter=quarter):
                    self.assertEqual(flags_for(target, values, quarter), [])


class FlagsOnEntryTests(EntryTestCase):
    def setUp(self):
        self.tea = Target.objects.get(code="2b")
        self.client.force_login(self.clerk)

    def test_a_flagged_value_saves_as_a_draft_and_shows_the_flag(self):
        response = self.save(self.row(self.tea, "1000000"))
        self.assertRedirects(response, self.entry_url())
        self.assertEqual(self.figure(self.tea).state, WorkflowState.DRAFT)
        page = self.client.get(self.entry_url())
        self.assertContains(page, "gấp hơn 3 lần kế hoạch (350 ha)")
        self.assertContains(page, f'name="c-{self.tea.pk}"')

    def test_submit_needs_the_clerk_to_confirm_a_flagged_value(self):
        self.save(self.row(self.tea, "1000000"))
        version = self.figure(self.tea).version
        response = self.save(self.row(self.tea, "1000000", version=version), "submit")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Tôi đã kiểm tra, số liệu này đúng")
        self.assertContains(response, 'id="can-sua"')
        self.assertEqual(self.figure(self.tea).state, WorkflowState.DRAFT)
        data = {
            **self.row(self.tea, "1000000", version=version),
            f"c-{self.tea.pk}": "1",
        }
        response = self.save(data, "submit")
        self.assertEqual(response.status_code, 302)
        figure = self.figure(self.tea)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.assertIn(
            "đã xác nhận số khác thường", figure.history.latest().history_change_reason
        )

    def test_a_falling_cumulative_is_flagged_on_entry(self):
        self.save(self.row(self.tea, "300"))  # quý III: 352 ha
        page = self.client.get(self.entry_url())
        self.assertContains(page, "300 ha thấp hơn quý III/2025 (352 ha)")


class FlagsOnImportTests(ImportTestCase):
    def test_a_million_hectares_is_a_warning_naming_the_cell_not_a_refusal(self):
        self.figure("2b", 3, "352")
        result = run(
            FigureBatchResource,
            xlsx([row("2b", 4, "1000000")]),
            self.admin,
            dry_run=True,
        )
        self.assertFalse(result.has_validation_errors())
        warnings = result.plausibility_warnings
        self.assertTrue(any("Ô E2" in w and "gấp hơn 3 lần" in w for w in warnings))

    def test_a_falling_cumulative_is_flagged_in_the_preview(self):
        response = self.preview(xlsx([row("2b", 3, "352"), row("2b", 4, "300")]))
        self.assertContains(response, "Số khác thường")
        self.assertContains(response, "Ô E3")
        self.assertContains(response, "300 ha thấp hơn quý III/2025 (352 ha)")
        self.assertIsNotNone(response.context["confirm_form"])


class NumbersTheEntryPagePrefills(EntryTestCase):
    def test_every_demo_figure_prefilled_reads_back_exactly(self):
        figures = list(Figure.objects.select_related("target"))
        self.assertGreater(len(figures), 80)
        for figure in figures:
            target = figure.target
            text = format_decimal_input(figure.value)
            with self.subTest(target=target.code, text=text):
                parsed = parse_decimal(
                    text,
                    decimal_places=target.decimal_places,
                    allow_negative=target.allows_negative,
                    min_value=target.min_value,
                    max_value=target.max_value,
                )
                self.assertEqual(parsed, figure.value)

    def test_the_inputs_the_page_writes_are_accepted_as_they_stand(self):
        for clerk in (self.clerk, self.other_clerk):
            self.client.force_login(clerk)
            # Every open figure of the quarter a draft, so every input is filled.
            targets = rules.editable_targets(clerk)
            for figure in Figure.objects.filter(period=self.q4, target__in=targets):
                figure.state = WorkflowState.DRAFT
                figure.save()
            html = self.client.get(self.entry_url()).content.decode()
            values = re.findall(r'name="(v-\d+)" id="v-\d+" value="([^"]*)"', html)
            self.assertTrue(values)
            data = {}
            for name, text in values:
                pk = name[2:]
                data[name] = text
                data[f"k-{pk}"] = "actual"
                data[f"ver-{pk}"] = re.search(
                    rf'name="ver-{pk}" value="(\d+)"', html
                ).group(1)
                note = re.search(rf'id="n-{pk}"[^>]*>([^<]*)</textarea>', html).group(1)
                data[f"n-{pk}"] = note
            response = self.save(data)
            self.assertEqual(response.status_code, 302, clerk)

    def test_saved_values_are_displayed_grouped_and_prefilled_ungrouped(self):
        self.save(self.row(self.grain, "1.234,5"), user=self.clerk)
        html = self.client.get(self.entry_url()).content.decode()
        self.assertIn(f'id="v-{self.grain.pk}" value="1234,5"', html)
        self.assertIn("Đã lưu: 1.234,5 tấn", html)

    def test_a_person_typing_1_250_is_refused_as_ambiguous(self):
        response = self.save(self.row(self.grain, "1.250"), user=self.clerk)
        self.assertContains(response, "“1.250” không rõ nghĩa")
        self.assertIsNone(self.figure(self.grain))

    def test_the_advice_for_3_865_leads_to_an_accepted_value(self):
        response = self.save(self.row(self.grain, "3,865"), user=self.clerk)
        message = re.search(r"“3,865” không rõ nghĩa[^<]*", response.content.decode())
        advised = re.findall(r"hãy gõ (\S+?)[ .;)]", message.group(0))
        self.assertEqual(advised, ["3865"])
        response = self.save(self.row(self.grain, advised[0]))
        self.assertRedirects(response, self.entry_url())
        self.assertEqual(self.figure(self.grain).value, Decimal("3865"))


class ExplanationTests(EntryTestCase):
    def test_a_holding_q4_of_a_maintain_target_needs_no_explanation(self):
        # 9a "Duy trì 100%": 98,5 in quý II failed, so the year is Không đạt; a
        # 100 in quý IV holds and asks for no explanation.
        roads = Target.objects.get(code="9a")
        clerk = next(
            c
            for c in (self.clerk, self.other_clerk)
            if rules.editable_targets(c).filter(pk=roads.pk).exists()
        )
        self.save(self.row(roads, "100"), "submit", user=clerk)
        figure = self.figure(roads)
        self.assertEqual(figure.state, WorkflowState.SUBMITTED)
        self.save(self.row(roads, "99"), "save", user=clerk)  # nothing: sent already

    def test_the_entry_page_shows_the_status_of_the_one_judgement(self):
        self.client.force_login(self.clerk)
        page = self.client.get(self.entry_url()).content.decode()
        # No Q4 figure yet: no year's result (never "Không đạt" before the end).
        grain_card = page[page.index(f'id="row-{self.grain.pk}"') :][:3000]
        self.assertNotIn("Không đạt", grain_card)


class SubmitConfirmationTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)

    def test_review_saves_then_lists_what_is_empty_and_what_will_be_sent(self):
        response = self.save(self.row(self.grain, "1000"), "review")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.figure(self.grain).state, WorkflowState.DRAFT)
        page = self.client.get(response["Location"])
        self.assertTemplateUsed(page, "targets/entry_confirm.html")
        self.assertContains(page, "Sẽ gửi 1 mục")
        self.assertContains(page, "mục chưa nhập")
        self.assertContains(page, f"#row-{self.forest.pk}")
        self.assertContains(page, "Gửi duyệt 1 mục")
        token = page.context["plan"].token
        response = self.client.post(
            self.entry_url(), {"action": "submit", "plan": token}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.figure(self.grain).state, WorkflowState.SUBMITTED)

    def test_a_stale_confirmation_sends_nothing(self):
        self.save(self.row(self.grain, "1000"), "review")
        figure = self.figure(self.grain)
        figure.value, figure.version = Decimal(999), figure.version + 1
        figure.save()
        response = self.client.post(
            self.entry_url(), {"action": "submit", "plan": "0" * 32}, follow=True
        )
        self.assertContains(response, "vừa thay đổi")
        self.assertEqual(self.figure(self.grain).state, WorkflowState.DRAFT)

    def test_returned_items_come_first(self):
        self.save(self.row(self.forest, "40,7"), "submit")
        figure = self.figure(self.forest)
        self.review(figure, "return", reason="Xem lại.")
        html = self.client.get(self.entry_url()).content.decode()
        first = re.search(r'id="row-(\d+)"', html).group(1)
        self.assertEqual(int(first), self.forest.pk)
        self.assertContains(self.client.get(self.entry_url()), "mục bị trả lại")

    def test_asking_to_send_with_nothing_new_says_so_on_the_entry_page(self):
        response = self.client.get(f"{self.entry_url()}?gui=1", follow=True)
        self.assertTemplateUsed(response, "targets/entry.html")
        self.assertContains(response, "Không có số liệu nào mới để gửi duyệt.")

    def test_asking_to_send_what_still_lacks_an_explanation_lists_it_first(self):
        # Forest cover 39 at year end misses 40,64: sending needs the reason.
        self.save(self.row(self.forest, "39"))
        response = self.client.get(f"{self.entry_url()}?gui=1")
        self.assertTemplateUsed(response, "targets/entry.html")
        self.assertContains(
            response, "Chưa gửi duyệt: có mục cần bổ sung trước khi gửi"
        )
        self.assertContains(response, f'href="#row-{self.forest.pk}"')
        self.assertEqual(self.figure(self.forest).state, WorkflowState.DRAFT)

    def test_a_closed_quarter_shows_its_page_not_the_confirmation(self):
        response = self.client.get(f"{self.entry_url(self.q3)}?gui=1")
        self.assertTemplateUsed(response, "targets/entry.html")
        self.assertNotContains(response, "Không có số liệu nào mới")


@override_settings(MEDIA_ROOT="/tmp/khoenon-test-media")
class EvidenceInTheSameSaveTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)

    def post(self, data, action="save"):
        return self.client.post(self.entry_url(), {**data, "action": action})

    def post_file(self, value, name="a.pdf", content=PDF, version=0, action="save"):
        """The grain's row with a file chosen in its evidence input."""
        data = {
            **self.row(self.grain, value, version=version),
            f"e-{self.grain.pk}": SimpleUploadedFile(name, content),
        }
        return self.post(data, action)

    def post_removal(self, item, version):
        """The grain's row as saved, with `item` ticked for removal."""
        data = {**self.row(self.grain, "1000", version=version), f"rm-{item.pk}": "1"}
        return self.post(data)

    def test_a_file_attached_with_the_value_is_saved_with_it(self):
        response = self.post_file("1000", "bien-ban.pdf")
        self.assertRedirects(response, self.entry_url())
        figure = self.figure(self.grain)
        self.assertEqual(
            list(figure.evidence.values_list("original_name", flat=True)),
            ["bien-ban.pdf"],
        )

    def test_a_bad_file_refuses_the_whole_save(self):
        response = self.post_file("1000", "x.pdf", b"hello")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Chỉ nhận tệp PDF")
        self.assertIsNone(self.figure(self.grain))

    def test_evidence_is_removable_until_the_figure_is_sent(self):
        self.post_file("1000")
        figure = self.figure(self.grain)
        item = figure.evidence.get()
        response = self.post_removal(item, figure.version)
        self.assertRedirects(response, self.entry_url())
        self.assertFalse(Evidence.objects.exists())
        # Once sent, the file stays.
        self.post_file("1000", "b.pdf", version=figure.version, action="submit")
        item = Evidence.objects.get()
        response = self.client.post(
            f"/so-lieu/{figure.pk}/minh-chung/", {"remove": str(item.pk)}
        )
        self.assertEqual(response.status_code, 404)
        self.assertTrue(Evidence.objects.exists())

    def test_the_evidence_page_removes_a_draft_file(self):
        self.post_file("1000")
        figure = self.figure(self.grain)
        item = figure.evidence.get()
        response = self.client.post(
            f"/so-lieu/{figure.pk}/minh-chung/", {"remove": str(item.pk)}
        )
        self.assertRedirects(response, f"/so-lieu/{figure.pk}/minh-chung/")
        self.assertFalse(Evidence.objects.exists())

    def test_a_file_without_a_value_is_not_kept_and_asks_for_the_value(self):
        response = self.post_file("")
        self.assertContains(
            response,
            "Nhập số liệu của quý trước khi đính kèm minh chứng (tệp chưa được lưu).",
        )
        self.assertFalse(Evidence.objects.exists())

    def test_a_file_for_a_figure_already_sent_is_refused_on_its_row(self):
        figure = self.submit_grain()
        response = self.post_file("1000", version=figure.version)
        self.assertContains(
            response,
            "Số liệu đã gửi duyệt hoặc đã phê duyệt: không đính kèm thêm được.",
        )
        self.assertFalse(Evidence.objects.exists())

    def test_a_file_for_a_target_not_on_the_page_is_a_404(self):
        response = self.post(
            {
                **self.row(self.grain, "1000"),
                f"e-{self.jobs.pk}": SimpleUploadedFile("a.pdf", PDF),
            }
        )
        self.assertEqual(response.status_code, 404)
        self.assertIsNone(self.figure(self.grain))

    def test_removing_a_file_someone_already_removed_asks_to_reload(self):
        response = self.post({**self.row(self.grain, "1000"), "rm-999999": "1"})
        self.assertContains(response, "Có minh chứng không còn tồn tại; tải lại trang.")
        self.assertIsNone(self.figure(self.grain))

    def test_removing_a_file_of_a_figure_already_sent_is_refused_on_its_row(self):
        self.post_file("1000", action="submit")
        figure = self.figure(self.grain)
        item = figure.evidence.get()
        response = self.post_removal(item, figure.version)
        self.assertContains(
            response,
            "Minh chứng “a.pdf” thuộc số liệu đã gửi duyệt hoặc đã phê duyệt: "
            "không xóa được.",
        )
        self.assertTrue(Evidence.objects.filter(pk=item.pk).exists())
