"""The clerk's entry page is kept (targets/entry_cache.py) and served again while
nothing it reads has changed: every write, whoever makes it, shows at the next GET;
nothing of one clerk reaches another; a refused POST or a "send" check is drawn and
never kept."""

import datetime
import re
from unittest import mock

from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from targets import views_entry
from targets.models import CLERK, ResponsibleBody, WorkflowState

from .base import EntryTestCase, attach_pdf

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def masked(response) -> str:
    return CSRF.sub('name="csrfmiddlewaretoken" value="…"', response.content.decode())


def row_of(response, target) -> str:
    """The target's row (its fieldset) in the page."""
    html = response.content.decode()
    start = html.index(f'id="row-{target.pk}"')
    return html[start : html.index("</fieldset>", start)]


class EntryCacheTestCase(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.clerk)

    def page(self, client=None, url=None):
        response = (client or self.client).get(url or self.entry_url())
        self.assertEqual(response.status_code, 200)
        return response

    def drawings(self):
        """Counts the page's drawings (the function that reads and draws it)."""
        return mock.patch.object(
            views_entry, "_entry_drawing", wraps=views_entry._entry_drawing
        )

    def assert_served_fresh(self, before: str):
        """The page now differs from `before` and is the page drawn from nothing."""
        served = masked(self.page())
        self.assertNotEqual(served, before)
        caches["pages"].clear()
        self.assertEqual(masked(self.page()), served)


class KeptPageTests(EntryCacheTestCase):
    def test_a_second_get_with_nothing_changed_draws_nothing(self):
        first = self.page()
        with self.drawings() as draw:
            second = self.page()
        self.assertEqual(draw.call_count, 0)
        self.assertEqual(masked(second), masked(first))
        self.assertEqual(second["Cache-Control"], "no-store")

    def test_a_page_served_again_runs_two_queries_more_than_the_trivial_page(self):
        self.page()
        with CaptureQueriesContext(connection) as trivial:
            self.client.get("/accounts/password/")
        # Session, user, roles (navigation and the clerk check): the trivial
        # page's; then the clerk's bodies and the entry token.
        with self.assertNumQueries(len(trivial) + 2):
            self.page()

    def test_a_period_the_clerk_may_not_enter_is_a_404_after_it_was_kept(self):
        other = Client()
        other.force_login(self.other_clerk)
        self.page(other)
        self.page()
        lone = User.objects.create_user("khongdonvi", password="x")
        lone.groups.add(Group.objects.get(name=CLERK))
        self.client.force_login(lone)
        for _ in range(2):
            self.assertEqual(self.client.get(self.entry_url()).status_code, 404)
        self.client.force_login(self.clerk)
        for _ in range(2):
            self.assertEqual(self.client.get("/nhap-so-lieu/999999/").status_code, 404)


class WritesShowAtOnceTests(EntryCacheTestCase):
    def test_a_draft_saved_through_the_page_shows_on_the_redirect(self):
        before = self.page()
        self.assertNotIn("Đã lưu:", row_of(before, self.grain))
        response = self.save(self.row(self.grain, "1234,5"))
        self.assertEqual(response.status_code, 302)
        after = self.client.get(response["Location"])
        self.assertIn("Đã lưu: 1.234,5", row_of(after, self.grain))
        self.assertContains(after, "Đã lưu nháp 1 mục thay đổi.")
        self.assert_served_fresh(masked(before))

    def test_the_approvers_return_and_approval_show_at_the_next_get(self):
        figure = self.submit_grain()
        self.client.force_login(self.clerk)
        submitted = self.page()
        self.assertIn("Đã gửi duyệt", row_of(submitted, self.grain))
        self.review(figure, "return", reason="Số chưa khớp biên bản thống kê.")
        returned = self.page()
        self.assertIn(
            "Lý do trả lại / mở lại: Số chưa khớp biên bản thống kê.",
            row_of(returned, self.grain),
        )
        version = self.figure(self.grain).version
        self.save(self.row(self.grain, "1000", version=version), action="submit")
        self.page()
        self.review(self.figure(self.grain), "approve")
        approved = self.page()
        self.assertIn("<strong>Đã phê duyệt</strong>", row_of(approved, self.grain))
        self.assert_served_fresh(masked(submitted))

    def test_the_admin_change_form_shows_at_the_next_get(self):
        self.save(self.row(self.grain, "1000"))
        figure = self.figure(self.grain)
        before = self.page()
        self.assertIn("Đã lưu: 1.000", row_of(before, self.grain))
        response = self.admin_change(figure, "2222", WorkflowState.DRAFT)
        self.assertEqual(response.status_code, 302)
        self.client.force_login(self.clerk)
        self.assertIn("Đã lưu: 2.222", row_of(self.page(), self.grain))

    def test_sql_by_hand_shows_at_the_next_get(self):
        self.save(self.row(self.grain, "1000"))
        figure = self.figure(self.grain)
        before = self.page()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE targets_figure SET value = 3333 WHERE id = %s", [figure.pk]
            )
        self.assertIn("Đã lưu: 3.333", row_of(self.page(), self.grain))
        self.assert_served_fresh(masked(before))

    def test_an_evidence_file_shows_at_the_next_get(self):
        self.save(self.row(self.grain, "1000"))
        before = self.page()
        attach_pdf(self.figure(self.grain), self.clerk, "bien-ban-thu-hoach.pdf")
        self.assertIn("bien-ban-thu-hoach.pdf", row_of(self.page(), self.grain))
        self.assert_served_fresh(masked(before))

    def test_a_membership_change_shows_at_the_next_get(self):
        body_a = ResponsibleBody.objects.get(members=self.clerk)
        body_b = ResponsibleBody.objects.get(members=self.other_clerk)
        self.assertContains(self.page(), f'id="row-{self.grain.pk}"')
        self.assertNotContains(self.page(), f'id="row-{self.jobs.pk}"')
        body_b.members.add(self.clerk)
        both = self.page()
        self.assertContains(both, f'id="row-{self.grain.pk}"')
        self.assertContains(both, f'id="row-{self.jobs.pk}"')
        body_a.members.remove(self.clerk)
        only_b = self.page()
        self.assertNotContains(only_b, f'id="row-{self.grain.pk}"')
        self.assertContains(only_b, f'id="row-{self.jobs.pk}"')
        body_b.members.remove(self.clerk)
        self.assertEqual(self.client.get(self.entry_url()).status_code, 404)


class WhoseCopyTests(EntryCacheTestCase):
    def test_clerks_of_different_bodies_never_get_each_others_page(self):
        mine = self.page()
        other = Client()
        other.force_login(self.other_clerk)
        with self.drawings() as draw:
            theirs = self.page(other)
        self.assertEqual(draw.call_count, 1)
        self.assertContains(theirs, f'id="row-{self.jobs.pk}"')
        self.assertNotContains(theirs, f'id="row-{self.grain.pk}"')
        self.assertNotContains(self.page(), f'id="row-{self.jobs.pk}"')
        self.assertEqual(masked(self.page()), masked(mine))

    def test_a_clerk_of_the_same_bodies_shares_the_page_with_their_own_token_and_name(
        self,
    ):
        twin = User.objects.create_user(
            "kinhte2", password="x", first_name="Cán bộ", last_name="thứ hai"
        )
        twin.groups.add(Group.objects.get(name=CLERK))
        ResponsibleBody.objects.get(members=self.clerk).members.add(twin)
        first = self.page()
        client = Client(enforce_csrf_checks=True)
        client.force_login(twin)
        with self.drawings() as draw:
            shared = self.page(client)
        self.assertEqual(draw.call_count, 0)
        self.assertContains(shared, "Cán bộ thứ hai")
        self.assertNotContains(shared, "Cán bộ Phòng Kinh tế")
        self.assertIn("Cán bộ Phòng Kinh tế", first.content.decode())
        # The form carries the twin's own CSRF token: their save goes through.
        token = CSRF.search(shared.content.decode())[1]
        response = client.post(
            self.entry_url(),
            {
                **self.row(self.grain, "1500"),
                "action": "save",
                "csrfmiddlewaretoken": token,
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.figure(self.grain).updated_by, twin)


class DrawnEachTimeTests(EntryCacheTestCase):
    def test_the_next_day_is_drawn_again(self):
        first = self.page()
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        with (
            mock.patch.object(views_entry.timezone, "localdate", return_value=tomorrow),
            self.drawings() as draw,
        ):
            next_day = self.page()
        self.assertEqual(draw.call_count, 1)
        # The notice counts the days left to the deadline.
        self.assertNotEqual(masked(next_day), masked(first))

    def test_a_refused_post_is_drawn_and_never_kept(self):
        with self.drawings() as draw:
            refused = self.save(self.row(self.grain, "3.865"))
            self.assertEqual(draw.call_count, 1)
            self.assertContains(refused, 'id="can-sua"')
            plain = self.page()
            self.assertEqual(draw.call_count, 2)
            self.assertNotContains(plain, 'id="can-sua"')
            again = self.save(self.row(self.grain, "3.865"))
            self.assertEqual(draw.call_count, 3)
            self.assertContains(again, 'id="can-sua"')
            self.assertEqual(masked(self.page()), masked(plain))
            self.assertEqual(draw.call_count, 3)

    def test_a_refused_send_check_is_drawn_and_never_kept(self):
        url = self.entry_url() + "?gui=1"
        with self.drawings() as draw:
            checked = self.page(url=url)
            self.assertEqual(draw.call_count, 1)
            self.assertContains(checked, "Không có số liệu nào mới để gửi duyệt.")
            plain = self.page()
            self.assertEqual(draw.call_count, 2)
            self.assertNotContains(plain, "Không có số liệu nào mới để gửi duyệt.")
            self.page(url=url)
            self.assertEqual(draw.call_count, 3)
            self.assertEqual(masked(self.page()), masked(plain))
            self.assertEqual(draw.call_count, 3)
