import logging
import sys

from django.db import InterfaceError, OperationalError
from django.shortcuts import redirect, render
from django.template.loader import get_template

from reports.views import dashboard
from targets import rules
from targets.views import resolution_overview


def home(request):
    """Delegates and approvers land on the dashboard; clerks on their entry page;
    anyone else on the resolution itself. A project view: it joins the two apps."""
    user = request.user
    if rules.is_clerk(user) and not (
        rules.is_approver(user) or rules.is_delegate(user)
    ):
        return redirect("targets:entry")
    if not rules.can_read_reports(user):
        return resolution_overview(request)
    return dashboard(request)


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
