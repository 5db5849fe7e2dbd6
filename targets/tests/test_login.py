"""Login throttling locks the (username, IP) pair with a cool-off, never a whole IP:
a commune sits behind one NAT address."""

from axes.models import AccessAttempt
from django.test import override_settings

from .base import EntryTestCase

PASSWORD = "khoenon-demo-2025"


class LoginThrottleTests(EntryTestCase):
    def attempt(self, username, password, ip="203.0.113.7", real_ip=None):
        """A login POST from `ip`; with `real_ip`, the X-Real-IP header the proxy
        (or a client pretending to be one) adds."""
        headers = {} if real_ip is None else {"HTTP_X_REAL_IP": real_ip}
        return self.client.post(
            "/accounts/login/",
            {"username": username, "password": password},
            REMOTE_ADDR=ip,
            **headers,
        )

    def test_a_mistyping_clerk_is_locked_but_a_colleague_on_the_same_ip_is_not(self):
        for _ in range(5):
            self.attempt("kinhte", "sai-mat-khau")
        locked = self.attempt("kinhte", PASSWORD)
        self.assertEqual(locked.status_code, 429)
        self.assertContains(locked, "Tạm khóa đăng nhập", status_code=429)
        self.assertContains(locked, "15 phút", status_code=429)
        self.client.logout()
        colleague = self.attempt("vanhoa", PASSWORD)
        self.assertEqual(colleague.status_code, 302)

    def test_the_same_clerk_from_another_address_can_still_log_in(self):
        for _ in range(5):
            self.attempt("kinhte", "sai-mat-khau")
        elsewhere = self.attempt("kinhte", PASSWORD, ip="198.51.100.4")
        self.assertEqual(elsewhere.status_code, 302)

    def test_the_lock_lifts_after_the_cool_off(self):
        for _ in range(5):
            self.attempt("kinhte", "sai-mat-khau")
        AccessAttempt.objects.update(attempt_time="2000-01-01T00:00:00Z")
        with override_settings(AXES_COOLOFF_TIME=0.25):
            self.assertEqual(self.attempt("kinhte", PASSWORD).status_code, 302)

    def test_behind_the_proxy_users_are_told_apart_by_the_address_nginx_saw(self):
        proxy = "127.0.0.1"
        for _ in range(5):
            self.attempt("kinhte", "sai", ip=proxy, real_ip="203.0.113.7")
        elsewhere = self.attempt("kinhte", PASSWORD, ip=proxy, real_ip="198.51.100.4")
        self.assertEqual(elsewhere.status_code, 302)
        self.client.logout()
        # A client that is not the proxy cannot choose its address.
        spoofed = self.attempt(
            "kinhte", PASSWORD, ip="192.0.2.9", real_ip="203.0.113.7"
        )
        self.assertEqual(spoofed.status_code, 302)
        self.client.logout()
        # The address nginx saw is the one locked.
        locked = self.attempt("kinhte", PASSWORD, ip=proxy, real_ip="203.0.113.7")
        self.assertEqual(locked.status_code, 429)

    def test_a_few_mistakes_do_not_lock(self):
        for _ in range(4):
            self.attempt("kinhte", "sai-mat-khau")
        self.assertEqual(self.attempt("kinhte", PASSWORD).status_code, 302)


class PasswordChangeTests(EntryTestCase):
    def test_a_user_changes_their_password_in_vietnamese(self):
        self.client.force_login(self.delegate)
        page = self.client.get("/accounts/password/")
        self.assertContains(page, "Đổi mật khẩu")
        response = self.client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "mat-khau-moi-2026!",
                "new_password2": "mat-khau-moi-2026!",
            },
        )
        self.assertRedirects(response, "/accounts/password/done/")
        self.delegate.refresh_from_db()
        self.assertTrue(self.delegate.check_password("mat-khau-moi-2026!"))

    def test_logout_is_a_post(self):
        self.client.force_login(self.delegate)
        self.assertEqual(self.client.get("/accounts/logout/").status_code, 405)
        self.assertRedirects(self.client.post("/accounts/logout/"), "/accounts/login/")


class LoginAuditTests(EntryTestCase):
    def test_logins_and_failed_logins_are_audited_with_the_address(self):
        with self.assertLogs("khoenon.audit", level="INFO") as logs:
            self.client.post(
                "/accounts/login/",
                {"username": "kinhte", "password": "sai-mat-khau"},
                REMOTE_ADDR="203.0.113.9",
            )
            self.client.post(
                "/accounts/login/",
                {"username": "kinhte", "password": PASSWORD},
                REMOTE_ADDR="203.0.113.9",
            )
        lines = "\n".join(logs.output)
        self.assertIn("login_failed user=kinhte ip=203.0.113.9", lines)
        self.assertIn("login user=kinhte ip=203.0.113.9", lines)
