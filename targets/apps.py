import logging

from django.apps import AppConfig

audit = logging.getLogger("khoenon.audit")


def _ip(request):
    from khoenon.middleware import client_ip

    return client_ip(request) if request is not None else ""


def log_login(sender, request, user, **kwargs):
    audit.info("login user=%s ip=%s", user.username, _ip(request))


def log_login_failed(sender, credentials, request=None, **kwargs):
    audit.warning(
        "login_failed user=%s ip=%s", credentials.get("username", ""), _ip(request)
    )


class TargetsConfig(AppConfig):
    name = "targets"
    verbose_name = "Nghị quyết và chỉ tiêu"

    def ready(self):
        # Logging only: the auth signals are the one hook Django gives for logins.
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        user_logged_in.connect(log_login, dispatch_uid="khoenon_log_login")
        user_login_failed.connect(log_login_failed, dispatch_uid="khoenon_log_failed")
