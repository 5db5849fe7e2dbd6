"""Công bố: the approver publishes a closed quarter, an administrator withdraws one
with a reason. The writes are targets.periods.period_publish / period_unpublish;
this page only offers them."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from targets import rules
from targets.forms import ReasonForm
from targets.models import APPROVER, ReportingPeriod
from targets.periods import period_publish, period_unpublish
from targets.services import WorkflowError


def _may_publish(user) -> bool:
    return APPROVER in rules.roles(user)


def periods(request):
    """Every quarter with whether it is closed and published, and the button the
    user may press: publish (the approver), withdraw (an administrator)."""
    user = request.user
    if not (_may_publish(user) or rules.is_admin(user)):
        raise Http404
    return render(
        request,
        "reports/public/publish.html",
        {
            "periods": ReportingPeriod.objects.select_related(
                "commune", "published_by"
            ).order_by("commune", "-year", "-quarter"),
            "may_publish": _may_publish(user),
            "may_unpublish": rules.is_admin(user),
            "form": ReasonForm(),
        },
    )


@require_POST
def period(request, period_id):
    user = request.user
    action = request.POST.get("action")
    if action == "publish" and not _may_publish(user):
        raise Http404
    if action == "unpublish" and not rules.is_admin(user):
        raise Http404
    if action not in ("publish", "unpublish"):
        raise Http404
    chosen = get_object_or_404(ReportingPeriod, pk=period_id)
    try:
        if action == "publish":
            period_publish(user=user, period=chosen)
            messages.success(
                request,
                f"Đã công bố {chosen}: số liệu đã phê duyệt của quý này nay có trên "
                "trang công khai và API.",
            )
        else:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise WorkflowError("Phải nêu lý do gỡ công bố.")
            withdrawn = period_unpublish(
                user=user, period=chosen, reason=form.cleaned_data["reason"]
            )
            names = ", ".join(str(p) for p in withdrawn)
            messages.success(request, f"Đã gỡ công bố: {names}.")
    except WorkflowError as exc:
        messages.error(request, str(exc))
    return redirect("public:publishing")
