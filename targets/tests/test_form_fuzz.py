"""Every admin add and change form, and every form of the site, posted with hostile
values as a real user would reach it: no answer is a 500."""

from django.contrib import admin
from django.test import Client, RequestFactory

from targets.models import Figure

from .base import EntryTestCase

HOSTILE = [
    "",
    "abc",
    "-1",
    "0",
    "1.5",
    "99999999999999999999",
    "1e400",
    "NaN",
    "\x00",
    "a\x00b",
    "\u202eevil",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "x" * 5000,
    "31/02/2025",
    "2025-13-45",
    "１２",
    "💥",
    "99.999.999.999.999,99",
]
# One value of each kind that has broken a form before, tried field by field (the
# whole list goes into every field at once): a word for an id, an id past 64 bits, a
# NUL, a text past any column.
PER_FIELD = ["abc", "99999999999999999999", "a\x00b", "x" * 5000]


class AdminFormFuzzTests(EntryTestCase):
    def form_fields(self, model_admin, obj=None):
        request = RequestFactory().get("/")
        request.user = self.admin
        form = model_admin.get_form(request, obj)
        return list(form.base_fields)

    def post_all(self, url, fields, base):
        failures = []
        for name in fields:
            for value in PER_FIELD:
                response = self.client.post(url, {**base, name: value})
                if response.status_code >= 500:
                    failures.append((url, name, value[:20]))
        for value in HOSTILE:
            response = self.client.post(url, dict.fromkeys(fields, value))
            if response.status_code >= 500:
                failures.append((url, "*", value[:20]))
        return failures

    def test_no_admin_add_or_change_form_answers_500(self):
        self.client.force_login(self.admin)
        failures = []
        for model, model_admin in admin.site._registry.items():
            opts = model._meta
            fields = self.form_fields(model_admin)
            base = dict.fromkeys(fields, "1")
            url = f"/admin/{opts.app_label}/{opts.model_name}/add/"
            failures += self.post_all(url, fields, base)
            obj = model._default_manager.order_by("pk").first()
            if obj is not None:
                url = f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/"
                fields = self.form_fields(model_admin, obj)
                failures += self.post_all(url, fields, base)
        self.assertEqual(failures, [])
        self.assertGreater(len(admin.site._registry), 10)


class SiteFormFuzzTests(EntryTestCase):
    def test_no_form_of_the_site_answers_500(self):
        figure = Figure.objects.filter(period=self.q3).first()
        posts = {
            self.approver: [
                (f"/duyet/{self.q4.pk}/", ["action", "reason", "f-1", "u-1"]),
                (f"/ky/{self.q4.pk}/trang-thai/", ["state", "reason"]),
                (
                    f"/chi-tieu/{self.grain.pk}/danh-gia/{self.q4.pk}/",
                    ["verdict", "reason"],
                ),
            ],
            self.admin: [
                (f"/so-lieu/{figure.pk}/mo-lai/", ["reason"]),
                (f"/ky/{self.q3.pk}/trang-thai/", ["state", "reason"]),
            ],
            self.clerk: [
                (self.entry_url(), ["action", f"v-{self.grain.pk}", "ver-1"]),
                (f"/so-lieu/{figure.pk}/minh-chung/", ["file"]),
            ],
        }
        failures = []
        for user, forms in posts.items():
            client = Client()
            client.force_login(user)
            for url, fields in forms:
                for value in HOSTILE:
                    for data in ({name: value for name in fields}, {"x": value}):
                        response = client.post(url, data)
                        if response.status_code >= 500:
                            failures.append((url, value[:20]))
        self.assertEqual(failures, [])
