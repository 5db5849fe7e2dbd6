"""The admin beyond figures: API tokens (issued with the secret shown once, read-only
once issued, revoked by the list's action while the user's other tokens keep
working), verdicts of a closed quarter (read-only, their delete page naming the
lock), the corrections page's guards, the lists' Vietnamese columns, and ids that
are no key posted to a many-to-many field. Through the admin's own pages, with the
demo cast (quarters I–III closed, IV open)."""

from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from targets.models import (
    ADMINISTRATOR,
    ApiToken,
    Assessment,
    ResponsibleBody,
)
from targets.services import token_issue

from .base import EntryTestCase

TOKENS = "/admin/targets/apitoken/"
VERDICTS = "/admin/targets/assessment/"


class ApiTokenAdminTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.admin)

    def test_the_add_page_asks_only_for_the_user_and_the_name(self):
        form = self.client.get(f"{TOKENS}add/").context["adminform"].form
        self.assertEqual(list(form.fields), ["user", "name"])

    def test_an_issued_token_is_read_only_but_for_its_name(self):
        token, _secret = token_issue(user=self.delegate, name="Cổng tỉnh")
        page = self.client.get(f"{TOKENS}{token.pk}/change/")
        form = page.context["adminform"].form
        self.assertEqual(list(form.fields), ["name"])
        self.assertContains(page, token.prefix)
        response = self.client.post(
            f"{TOKENS}{token.pk}/change/",
            {"name": "Cổng thông tin tỉnh", "user": self.admin.pk, "prefix": "kno_x"},
        )
        self.assertEqual(response.status_code, 302)
        token.refresh_from_db()
        self.assertEqual(token.name, "Cổng thông tin tỉnh")
        self.assertEqual(token.user, self.delegate)
        self.assertTrue(token.prefix.startswith("kno_"))
        self.assertNotEqual(token.prefix, "kno_x")

    def test_the_revoke_action_stops_the_chosen_token_and_no_other(self):
        revoked, revoked_secret = token_issue(user=self.delegate, name="Cũ")
        kept, kept_secret = token_issue(user=self.delegate, name="Mới")
        response = self.client.post(
            TOKENS,
            {"action": "revoke", "_selected_action": [revoked.pk]},
            follow=True,
        )
        self.assertContains(response, "Đã thu hồi mã truy cập đã chọn.")
        revoked.refresh_from_db()
        kept.refresh_from_db()
        self.assertIsNotNone(revoked.revoked_at)
        self.assertIsNone(kept.revoked_at)
        old = Client(HTTP_AUTHORIZATION=f"Bearer {revoked_secret}")
        self.assertEqual(old.get("/api/v1/progress/").status_code, 401)
        new = Client(HTTP_AUTHORIZATION=f"Bearer {kept_secret}")
        self.assertEqual(new.get("/api/v1/progress/").status_code, 200)

    def test_revoking_twice_keeps_the_first_revocation_time(self):
        token, _secret = token_issue(user=self.delegate, name="Cũ")
        self.client.post(TOKENS, {"action": "revoke", "_selected_action": [token.pk]})
        token.refresh_from_db()
        first = token.revoked_at
        self.client.post(TOKENS, {"action": "revoke", "_selected_action": [token.pk]})
        token.refresh_from_db()
        self.assertEqual(token.revoked_at, first)

    def test_the_list_shows_who_holds_each_token_and_finds_it_by_user(self):
        token, _secret = token_issue(user=self.delegate, name="Cổng tỉnh")
        token_issue(user=self.clerk, name="Bảng tính phòng")
        page = self.client.get(TOKENS, {"q": "daibieu"})
        self.assertContains(page, "Cổng tỉnh")
        self.assertContains(page, token.prefix)
        self.assertNotContains(page, "Bảng tính phòng")

    def test_an_issued_secret_is_never_stored(self):
        response = self.client.post(
            f"{TOKENS}add/", {"user": self.clerk.pk, "name": "Máy nhập liệu"}
        )
        secret = response.context["secret"]
        token = ApiToken.objects.get(name="Máy nhập liệu")
        stored = [
            str(v) for v in ApiToken.objects.filter(pk=token.pk).values()[0].values()
        ]
        self.assertNotIn(secret, stored)
        self.assertTrue(secret.startswith(token.prefix))
        self.assertContains(response, "Đã cấp mã truy cập")


class VerdictAdminTests(EntryTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.closed = Assessment.objects.create(
            target=cls.grain,
            period=cls.q3,
            verdict="met",
            reason="Đã đối chiếu báo cáo.",
            assessed_by=cls.approver,
        )

    def setUp(self):
        self.client.force_login(self.admin)

    def test_a_verdict_of_a_closed_quarter_is_read_only_in_the_admin(self):
        page = self.client.get(f"{VERDICTS}{self.closed.pk}/change/")
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="_save"')
        response = self.client.post(
            f"{VERDICTS}{self.closed.pk}/change/",
            {"target": self.grain.pk, "period": self.q3.pk, "verdict": "not_met"},
        )
        self.assertEqual(response.status_code, 403)
        self.closed.refresh_from_db()
        self.assertEqual(self.closed.verdict, "met")

    def test_deleting_it_among_others_names_the_closed_quarter(self):
        open_one = Assessment.objects.create(
            target=self.forest,
            period=self.q4,
            verdict="met",
            reason="Theo số liệu kiểm kê rừng.",
            assessed_by=self.approver,
        )
        response = self.client.post(
            VERDICTS,
            {
                "action": "delete_selected",
                "_selected_action": [self.closed.pk, open_one.pk],
                "post": "yes",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f"{self.closed} – {self.q3} đã khóa sổ")
        self.assertEqual(Assessment.objects.count(), 2)

    def test_a_verdict_of_the_open_quarter_added_here_names_the_admin(self):
        response = self.client.post(
            f"{VERDICTS}add/",
            {
                "target": self.forest.pk,
                "period": self.q4.pk,
                "verdict": "met",
                "reason": "Theo kết quả kiểm kê rừng.",
            },
        )
        self.assertEqual(response.status_code, 302)
        added = Assessment.objects.get(period=self.q4)
        self.assertEqual(added.assessed_by, self.admin)
        # The verdict's own reason is what its history keeps.
        record = added.history.first()
        self.assertEqual(record.history_change_reason, "Theo kết quả kiểm kê rừng.")
        self.assertEqual(record.history_user, self.admin)


class CorrectionsGuardTests(EntryTestCase):
    def test_a_staff_member_who_is_not_an_administrator_is_forbidden(self):
        staff = User.objects.create_user("canbo", is_staff=True)
        staff.user_permissions.set(
            Permission.objects.filter(codename__endswith="reportingperiod")
        )
        self.client.force_login(staff)
        url = f"/admin/targets/reportingperiod/{self.q3.pk}/mo-lai-de-sua/"
        self.assertEqual(self.client.get(url).status_code, 403)
        self.assertEqual(self.client.post(url, {"reason": "x"}).status_code, 403)

    def test_a_period_that_does_not_exist_is_not_found(self):
        self.client.force_login(self.admin)
        url = "/admin/targets/reportingperiod/987654/mo-lai-de-sua/"
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_an_administrator_group_member_reaches_the_page(self):
        member = User.objects.create_user("quantri2", is_staff=True)
        member.groups.add(Group.objects.get(name=ADMINISTRATOR))
        member.user_permissions.set(
            Permission.objects.filter(codename__endswith="reportingperiod")
        )
        self.client.force_login(member)
        url = f"/admin/targets/reportingperiod/{self.q3.pk}/mo-lai-de-sua/"
        page = self.client.get(url)
        self.assertContains(page, "Lý do mở lại để sửa số liệu")


class AdminListTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.admin)

    def test_the_targets_list_shows_each_plan_as_written(self):
        page = self.client.get("/admin/targets/target/", {"q": "2a"})
        self.assertContains(page, self.grain.plan_text)
        self.assertContains(page, "3.865,28")

    def test_the_figures_list_shows_values_in_vietnamese(self):
        page = self.client.get("/admin/targets/figure/", {"q": "2a"})
        self.assertContains(page, "1.050,5")

    def test_the_indicators_list_cuts_the_text_at_a_hundred_characters(self):
        page = self.client.get("/admin/targets/indicator/")
        indicator = self.grain.indicator
        self.assertContains(page, indicator.text[:100])
        long = [i for i in type(indicator).objects.all() if len(i.text) > 100]
        for item in long:
            self.assertNotContains(page, item.text)

    def test_the_users_and_groups_lists_answer(self):
        self.assertContains(self.client.get("/admin/auth/user/"), "kinhte")
        self.assertContains(self.client.get("/admin/auth/group/"), ADMINISTRATOR)


class ManyToManyIdTests(EntryTestCase):
    def setUp(self):
        self.client.force_login(self.admin)
        self.body = ResponsibleBody.objects.get(name="Phòng Kinh tế")
        self.url = f"/admin/targets/responsiblebody/{self.body.pk}/change/"

    def post_members(self, *members):
        body = self.body
        return self.client.post(
            self.url,
            {
                "commune": body.commune_id,
                "name": body.name,
                "short_name": body.short_name,
                "kind": body.kind,
                "role_in_text": body.role_in_text,
                "members": [str(m) for m in members],
            },
        )

    def test_a_member_id_that_is_no_key_is_a_form_error_and_nothing_changes(self):
        before = list(self.body.members.values_list("pk", flat=True))
        for junk in ("abc", "1 OR 1=1", "99999999999999999999"):
            with self.subTest(junk=junk):
                response = self.post_members(self.clerk.pk, junk)
                self.assertEqual(response.status_code, 200)
                errors = response.context["adminform"].form.errors["members"]
                self.assertEqual(len(errors), 1, errors)
                self.assertIn(junk, errors[0])
        self.assertEqual(list(self.body.members.values_list("pk", flat=True)), before)

    def test_the_refusal_of_a_member_id_is_in_vietnamese(self):
        # Django's "“%(pk)s” is not a valid value." has no vi translation: locale/vi
        # adds it.
        response = self.post_members(self.clerk.pk, "abc")
        self.assertContains(response, "“abc” không phải là giá trị hợp lệ")

    def test_valid_members_are_saved(self):
        response = self.post_members(self.clerk.pk, self.other_clerk.pk)
        self.assertEqual(response.status_code, 302)
        members = set(self.body.members.values_list("username", flat=True))
        self.assertEqual(members, {"kinhte", "vanhoa"})

    def test_a_group_permission_id_that_is_no_key_is_a_form_error(self):
        response = self.client.post(
            "/admin/auth/group/add/", {"name": "Nhóm thử", "permissions": ["abc"]}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("permissions", response.context["adminform"].form.errors)
        self.assertFalse(Group.objects.filter(name="Nhóm thử").exists())
