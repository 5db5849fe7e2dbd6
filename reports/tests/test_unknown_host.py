"""A request for a Host the portal does not serve gets the Vietnamese 400 page, with
DEBUG off as in production, never a 500 from a template or context processor that
expects the user the authentication middleware never set."""

from django.template.loader import render_to_string
from django.test import RequestFactory, TestCase, override_settings

from targets.context_processors import NoRole, roles

SERVED = ["cong.khoenon.example"]


@override_settings(DEBUG=False, ALLOWED_HOSTS=SERVED)
class UnknownHostTests(TestCase):
    def test_an_unknown_host_gets_the_400_page_not_a_500(self):
        for path in ("/", "/bao-cao/", "/accounts/login/", "/admin/"):
            for secure in (False, True):
                with self.subTest(path=path, secure=secure):
                    response = self.client.get(
                        path, HTTP_HOST="evil.example", secure=secure
                    )
                    self.assertEqual(response.status_code, 400)
                    self.assertContains(
                        response, "Yêu cầu không hợp lệ (lỗi 400)", status_code=400
                    )

    def test_a_post_with_an_unknown_host_gets_the_400_page(self):
        response = self.client.post(
            "/accounts/login/",
            {"username": "daibieu", "password": "x"},
            HTTP_HOST="evil.example",
            secure=True,
        )
        self.assertEqual(response.status_code, 400)

    def test_the_served_host_still_works(self):
        response = self.client.get("/accounts/login/", HTTP_HOST=SERVED[0], secure=True)
        self.assertEqual(response.status_code, 200)


class RolesWithoutUserTests(TestCase):
    def test_a_request_without_a_user_gets_no_role_and_the_base_page_renders(self):
        request = RequestFactory().get("/")
        self.assertFalse(hasattr(request, "user"))
        self.assertIsInstance(roles(request)["can"], NoRole)
        page = render_to_string("base.html", request=request)
        self.assertIn("<html", page)
