import logging
import sys

from django.contrib.auth import views as auth_views
from django.db import InterfaceError, OperationalError
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import reverse

from reports.views import dashboard
from targets import rules
from targets.views import resolution_overview
from targets.views_entry import entry_period_for


def home(request):
    """Delegates and approvers land on the dashboard; clerks on their entry page;
    anyone else on the resolution itself. A project view: it joins the two apps."""
    if _lands_on_entry(request.user):
        return redirect("targets:entry")
    if not rules.can_read_reports(request.user):
        return resolution_overview(request)
    return dashboard(request)


def _lands_on_entry(user):
    return rules.is_clerk(user) and not (
        rules.is_approver(user) or rules.is_delegate(user)
    )


class LoginView(auth_views.LoginView):
    """Django's login, answering with the page the user would end up on: a clerk goes
    straight to the quarter open for entry, not through / and /nhap-so-lieu/ (on a
    2G link each redirect costs a round trip of nearly a second). A safe `next` still
    wins; Django's LoginView refuses one that leaves the site. next=/ is no wish of
    the user's, only where the login page was reached from: it lands as none."""

    def get_success_url(self):
        wished = self.get_redirect_url()
        if wished in ("", reverse("home")):
            return landing_url(self.request)
        return wished


def landing_url(request):
    """Where / leads the logged-in user, redirects followed: a clerk's entry period
    (targets.views_entry.entry_period_for), else / itself (dashboard or resolution)."""
    if not _lands_on_entry(request.user):
        return reverse("home")
    period = entry_period_for(request.user)
    # With no period at all, the entry page says so: send the clerk there.
    if period is None:
        return reverse("targets:entry")
    return reverse("targets:entry_period", args=[period.pk])


class LogoutView(auth_views.LogoutView):
    """Django's logout, also emptying the browser's cache of the site: on an office
    computer the next person must not page back through the last one's figures."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache"'
        return response


def csrf_failure(request, reason=""):
    """A Vietnamese page instead of Django's English one; the reason is not shown."""
    return render(request, "403_csrf.html", status=403)


def server_error(request):
    """Vietnamese error pages with no stack trace. A database outage is a 503 the
    user can wait out, not a 500: with CONN_HEALTH_CHECKS the first request after the
    database returns reconnects by itself."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        logging.getLogger("khoenon").error("database_unavailable %s", exc)
        response = _static_page("503.html", 503)
        response["Retry-After"] = "30"
        return response
    return _static_page("500.html", 500)


def _static_page(name, status):
    # Rendered without a request context: nothing that needs the database.
    from django.http import HttpResponse

    response = HttpResponse(get_template(name).render(), status=status)
    response["Cache-Control"] = "no-store"
    return response
