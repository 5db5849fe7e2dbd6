"""The publishing page (/cong-bo/): who reaches it, what a refused press says, and
what a withdrawal names. The rules themselves are targets.periods'
(test_public.PublishingTests); this is the page that offers them."""

from django.contrib.messages import get_messages
from django.test import Client

from targets.periods import period_unpublish

from .test_public import PublicTestCase


class PublishingPageTests(PublicTestCase):
    def client_of(self, person) -> Client:
        client = Client()
        client.force_login(person)
        return client

    def press(self, person, period, **form):
        """POST the period's button; (the page after the redirect, its messages)."""
        response = self.client_of(person).post(
            f"/cong-bo/{period.pk}/", form, follow=True
        )
        self.assertRedirects(response, "/cong-bo/")
        return response, [str(m) for m in get_messages(response.wsgi_request)]

    def test_clerks_and_delegates_do_not_find_the_page(self):
        for person in (self.clerk, self.delegate):
            with self.subTest(person.username):
                client = self.client_of(person)
                self.assertEqual(client.get("/cong-bo/").status_code, 404)
                response = client.post(f"/cong-bo/{self.q3.pk}/", {"action": "publish"})
                self.assertEqual(response.status_code, 404)

    def test_a_button_we_never_render_answers_404(self):
        admin = self.client_of(self.admin)
        for form in ({}, {"action": "delete"}):
            with self.subTest(form):
                response = admin.post(f"/cong-bo/{self.q3.pk}/", form)
                self.assertEqual(response.status_code, 404)
        response = self.client_of(self.approver).post(
            "/cong-bo/999999/", {"action": "publish"}
        )
        self.assertEqual(response.status_code, 404)

    def test_the_buttons_answer_only_a_post(self):
        response = self.client_of(self.approver).get(f"/cong-bo/{self.q3.pk}/")
        self.assertEqual(response.status_code, 405)

    def test_publishing_an_open_quarter_says_it_must_be_closed_first(self):
        _, said = self.press(self.approver, self.q4, action="publish")
        self.assertEqual(len(said), 1)
        self.assertIn("Quý IV/2025 chưa khóa sổ", said[0])
        self.q4.refresh_from_db()
        self.assertIsNone(self.q4.published_at)

    def test_publishing_names_where_the_figures_now_are(self):
        period_unpublish(user=self.admin, period=self.q3, reason="Rà soát")
        page, said = self.press(self.approver, self.q3, action="publish")
        self.assertEqual(
            said,
            [
                "Đã công bố Quý III/2025: số liệu đã phê duyệt của quý này nay có "
                "trên trang công khai và API."
            ],
        )
        self.assertContains(page, "Đã công bố Quý III/2025")

    def test_publishing_twice_says_it_is_already_published(self):
        _, said = self.press(self.approver, self.q3, action="publish")
        self.assertEqual(said, ["Quý III/2025 đã được công bố."])

    def test_withdrawing_without_a_reason_asks_for_one_and_changes_nothing(self):
        for form in ({"action": "unpublish"}, {"action": "unpublish", "reason": " "}):
            with self.subTest(form):
                _, said = self.press(self.admin, self.q2, **form)
                self.assertEqual(said, ["Phải nêu lý do gỡ công bố."])
        self.q2.refresh_from_db()
        self.assertIsNotNone(self.q2.published_at)

    def test_withdrawing_names_every_quarter_that_went_with_it(self):
        _, said = self.press(
            self.admin, self.q2, action="unpublish", reason="Số liệu quý II sai"
        )
        self.assertEqual(said, ["Đã gỡ công bố: Quý II/2025, Quý III/2025."])
        self.q1.refresh_from_db()
        self.assertIsNotNone(self.q1.published_at)

    def test_the_page_lists_every_quarter_with_who_published_it(self):
        period_unpublish(user=self.admin, period=self.q3, reason="Rà soát")
        self.press(self.approver, self.q3, action="publish")
        page = self.client_of(self.admin).get("/cong-bo/")
        for label in ("Quý I/2025", "Quý II/2025", "Quý III/2025", "Quý IV/2025"):
            self.assertContains(page, label)
        self.assertContains(page, "Tòng Văn Duyệt")
        # Every closed quarter is published: the only buttons withdraw.
        self.assertContains(page, 'value="unpublish"')
        self.assertNotContains(page, 'value="publish"')
