"""The navigation's role flags ({{ can.clerk }}, …): what each says for a user, and
that they ask the database only when a template reads one."""

from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import RequestFactory, TestCase

from targets.context_processors import NoRole, RoleFlags, roles
from targets.models import APPROVER, CLERK


def request_of(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


class RoleFlagsTests(TestCase):
    def test_a_clerk_is_a_clerk_and_a_reader_but_not_an_approver_or_admin(self):
        clerk = User.objects.create_user("kinhte")
        clerk.groups.add(Group.objects.get_or_create(name=CLERK)[0])
        can = roles(request_of(clerk))["can"]
        self.assertEqual(
            (can.clerk, can.approver, can.admin, can.reader), (True, False, False, True)
        )

    def test_an_approver_is_not_a_clerk(self):
        approver = User.objects.create_user("pheduyet")
        approver.groups.add(Group.objects.get_or_create(name=APPROVER)[0])
        can = roles(request_of(approver))["can"]
        self.assertEqual((can.clerk, can.approver), (False, True))

    def test_a_superuser_is_admin_and_approver(self):
        root = User.objects.create_superuser("root")
        can = roles(request_of(root))["can"]
        self.assertEqual((can.admin, can.approver, can.clerk), (True, True, False))

    def test_an_anonymous_page_runs_no_query_until_a_flag_is_read(self):
        with self.assertNumQueries(0):
            can = roles(request_of(AnonymousUser()))["can"]
            self.assertIsInstance(can, RoleFlags)
            self.assertFalse(can.reader)

    def test_a_request_without_a_user_has_no_role(self):
        can = roles(RequestFactory().get("/"))["can"]
        self.assertIsInstance(can, NoRole)
        self.assertFalse(can.clerk or can.approver or can.admin or can.reader)

    def test_a_flag_that_is_no_role_is_an_error_not_false(self):
        with self.assertRaises(AttributeError):
            getattr(RoleFlags(AnonymousUser()), "owner")  # noqa: B009
