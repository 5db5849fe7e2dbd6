"""Who may do what: the one place the views, templates, admin and import ask.

Roles are Django groups (models.CLERK, APPROVER, DELEGATE, ADMINISTRATOR). A clerk
belongs to one or more responsible bodies and works only on the targets and tasks for
which one of them is the lead body; anything else answers 404, so ids leak nothing.
Delegates read; the approver reads, approves, returns and overrides verdicts; the
administrator (the group or a superuser) does everything, including reopening.
"""

from django.db.models import QuerySet

from .models import (
    ADMINISTRATOR,
    APPROVER,
    CLERK,
    DELEGATE,
    Role,
    Target,
    Task,
)


def _cached(user, name: str, read) -> set:
    """`read(user)`, once per request: kept on the user object."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, name, None)
    if cached is None:
        cached = read(user)
        setattr(user, name, cached)
    return cached


def _read_roles(user) -> set[str]:
    found = set(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        found.add(ADMINISTRATOR)
    return found


def roles(user) -> set[str]:
    """The user's role names, read once per request and cached on the user object."""
    return _cached(user, "_khoenon_roles", _read_roles)


def is_admin(user) -> bool:
    return ADMINISTRATOR in roles(user)


def is_approver(user) -> bool:
    return APPROVER in roles(user) or is_admin(user)


def is_clerk(user) -> bool:
    return CLERK in roles(user)


def is_delegate(user) -> bool:
    return DELEGATE in roles(user)


def can_read_reports(user) -> bool:
    """Dashboard, comparison report, scorecards, tasks report: every role. The report
    is the document handed round at council sessions."""
    return bool(roles(user))


def body_ids(user) -> set[int]:
    return _cached(
        user, "_khoenon_body_ids", lambda u: set(u.bodies.values_list("pk", flat=True))
    )


def editable_targets(user) -> QuerySet[Target]:
    """Targets whose figures the user may enter: led by one of the clerk's bodies."""
    if not is_clerk(user):
        return Target.objects.none()
    return Target.objects.filter(
        assignments__role=Role.LEAD, assignments__body__in=body_ids(user)
    )


def editable_tasks(user) -> QuerySet[Task]:
    if not is_clerk(user):
        return Task.objects.none()
    return Task.objects.filter(
        assignments__role=Role.LEAD, assignments__body__in=body_ids(user)
    )


def visible_targets(user) -> QuerySet[Target]:
    """Targets whose page (figures, notes, evidence, history) the user may open."""
    if is_admin(user) or is_approver(user) or is_delegate(user):
        return Target.objects.all()
    return editable_targets(user)


def can_see_history(user) -> bool:
    """Who changed what, when: the approver, the administrator, and the delegates who
    supervise. A clerk sees the history of its own targets."""
    return bool(roles(user) & {ADMINISTRATOR, APPROVER, DELEGATE, CLERK})


def can_import(user) -> bool:
    """Spreadsheet import writes many figures at once: administrators only."""
    return is_admin(user)
