import logging

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _

from .middleware import client_ip

audit = logging.getLogger("khoenon.audit")


def log_login(sender, request, user, **kwargs):
    audit.info("login user=%s ip=%s", user.username, _ip(request))


def log_login_failed(sender, credentials, request=None, **kwargs):
    audit.warning(
        "login_failed user=%s ip=%s", credentials.get("username", ""), _ip(request)
    )


def _ip(request):
    return client_ip(request) if request is not None else ""


class AxesConfig(AxesAppConfig):
    """django-axes under a Vietnamese name in the admin (its own config names none,
    so the admin showed "AXES"); logins and failed logins go to the audit log here,
    beside the throttling, with the address behind nginx."""

    verbose_name = _("Axes")

    def ready(self):
        super().ready()
        # Logging only: the auth signals are the one hook Django gives for logins.
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        user_logged_in.connect(log_login, dispatch_uid="khoenon_log_login")
        user_login_failed.connect(log_login_failed, dispatch_uid="khoenon_log_failed")
