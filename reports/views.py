from django.shortcuts import get_object_or_404, redirect

from targets import rules


def target(request, target_id):
    """Placeholder until the target page lands: the audit trail page."""
    get_object_or_404(rules.visible_targets(request.user), pk=target_id)
    return redirect("targets:history", target_id)
