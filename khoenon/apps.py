from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes under a Vietnamese name in the admin (its own config names none,
    so the admin showed "AXES")."""

    verbose_name = _("Axes")
