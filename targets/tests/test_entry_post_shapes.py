"""The entry page reads only the form it rendered: a field it never writes, an id the
clerk does not lead or a value no control offers is a 404 that stores nothing; text
too long and estimates are said on their row, in Vietnamese, with the typed rows
kept."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from targets.models import Figure, FigureKind, Task, TaskUpdate, WorkflowState

from .base import PDF, EntryTestCase


class MalformedPostTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)
        self.before = (Figure.objects.count(), TaskUpdate.objects.count())

    def post(self, data):
        return self.client.post(self.entry_url(), {**data, "action": "save"})

    def assert_nothing_stored(self):
        self.assertEqual(
            (Figure.objects.count(), TaskUpdate.objects.count()), self.before
        )

    def test_a_field_the_page_never_writes_is_not_found(self):
        for name in ("x-1", "v-", "value", "v-1-2", "ts_1"):
            row = self.row(self.grain, "1000") | {name: "1"}
            self.assertEqual(self.post(row).status_code, 404, name)
        self.assertIsNone(self.figure(self.grain))

    def test_a_version_that_is_no_small_number_is_not_found(self):
        for version in ("", "-1", "abc", "1" * 10):
            row = self.row(self.grain, "1000") | {f"ver-{self.grain.pk}": version}
            self.assertEqual(self.post(row).status_code, 404, repr(version))
        self.assert_nothing_stored()

    def test_a_kind_no_select_offers_is_not_found(self):
        response = self.post(self.row(self.grain, "1000", kind="guess"))
        self.assertEqual(response.status_code, 404)
        self.assert_nothing_stored()

    def test_a_confirmation_or_empty_file_input_for_another_bodys_target_is_refused(
        self,
    ):
        for name in (f"c-{self.jobs.pk}", f"e-{self.jobs.pk}"):
            row = self.row(self.grain, "1000") | {name: ""}
            self.assertEqual(self.post(row).status_code, 404, name)
        self.assert_nothing_stored()

    def test_a_file_sent_for_another_bodys_target_is_refused(self):
        data = self.row(self.grain, "1000") | {
            f"e-{self.jobs.pk}": SimpleUploadedFile("a.pdf", PDF),
            "action": "save",
        }
        self.assertEqual(self.client.post(self.entry_url(), data).status_code, 404)
        self.assert_nothing_stored()

    def test_a_task_field_for_a_task_the_clerk_does_not_lead_is_refused(self):
        other = Task.objects.exclude(
            pk__in=Task.objects.filter(
                assignments__role="lead",
                assignments__body__members=self.clerk,
            )
        ).first()
        response = self.post({f"ts-{other.pk}": "done", f"tver-{other.pk}": "0"})
        self.assertEqual(response.status_code, 404)
        self.assert_nothing_stored()

    def test_a_task_status_no_select_offers_is_refused(self):
        pk = self.task_a.pk
        response = self.post({f"ts-{pk}": "finished", f"tver-{pk}": "0"})
        self.assertEqual(response.status_code, 404)
        self.assert_nothing_stored()

    def test_the_removal_of_an_id_of_thirteen_digits_is_ignored(self):
        response = self.post(self.row(self.grain, "1000") | {"rm-" + "9" * 13: "1"})
        self.assertRedirects(response, self.entry_url())
        self.assertEqual(self.figure(self.grain).value, 1000)


class LongTextTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)

    def test_a_note_over_two_thousand_characters_is_refused_on_its_row(self):
        note = "Giải trình " + "x" * 2000
        response = self.save(self.row(self.grain, "1000", note=note))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Ghi chú dài quá 2000 ký tự; vui lòng rút gọn.")
        self.assertContains(response, "Chưa lưu, chưa gửi: có ô cần sửa")
        self.assertIsNone(self.figure(self.grain))

    def test_a_note_of_exactly_two_thousand_characters_is_kept(self):
        note = "ư" * 2000
        self.assertRedirects(
            self.save(self.row(self.grain, "1000", note=note)), self.entry_url()
        )
        self.assertEqual(self.figure(self.grain).note, note)

    def test_a_task_narrative_over_the_limit_is_refused_and_kept_on_the_page(self):
        narrative = "Đã triển khai " + "y" * 2000
        response = self.save(self.task_row(self.task_a, "in_progress", narrative))
        self.assertContains(response, "Nội dung dài quá 2000 ký tự; vui lòng rút gọn.")
        self.assertFalse(TaskUpdate.objects.filter(task=self.task_a).exists())

    def test_a_task_update_is_saved_as_a_draft_with_its_narrative(self):
        response = self.save(
            self.task_row(self.task_a, "in_progress", "  Đang triển khai.  ")
        )
        self.assertRedirects(response, self.entry_url())
        update = TaskUpdate.objects.get(task=self.task_a, period=self.q4)
        self.assertEqual(update.narrative, "Đang triển khai.")
        self.assertEqual(update.state, WorkflowState.DRAFT)
        self.assertEqual(update.updated_by, self.clerk)


class EstimateTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)

    def test_an_estimate_is_stored_as_one_and_shown_again(self):
        response = self.save(self.row(self.grain, "1.200,5", kind="estimate"))
        self.assertRedirects(response, self.entry_url())
        figure = self.figure(self.grain)
        self.assertEqual(figure.kind, FigureKind.ESTIMATE)
        self.assertEqual(figure.value, Decimal("1200.5"))
        page = self.client.get(self.entry_url())
        self.assertContains(page, "1.200,5")

    def test_saving_the_same_value_again_writes_no_history(self):
        self.save(self.row(self.grain, "1000"))
        figure = self.figure(self.grain)
        history = figure.history.count()
        response = self.save(self.row(self.grain, "1000,00", version=figure.version))
        self.assertEqual(response.status_code, 302)
        figure.refresh_from_db()
        self.assertEqual(figure.history.count(), history)
        self.assertEqual(figure.value, 1000)

    def test_a_grouped_thousand_is_ambiguous_and_changes_nothing(self):
        self.save(self.row(self.grain, "1000"))
        figure = self.figure(self.grain)
        response = self.save(self.row(self.grain, "1.500", version=figure.version))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "1500")
        figure.refresh_from_db()
        self.assertEqual(figure.value, 1000)
