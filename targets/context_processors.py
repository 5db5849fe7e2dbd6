from . import rules

# The flags the navigation reads ({{ can.clerk }}, …) and the rule behind each.
ROLE_TESTS = {
    "clerk": rules.is_clerk,
    "approver": rules.is_approver,
    "admin": rules.is_admin,
    "reader": rules.can_read_reports,
}


class NoRole:
    clerk = approver = admin = reader = False


class RoleFlags:
    """A user's role flags, each asked of targets.rules only when a template reads
    it: an anonymous page runs no query."""

    def __init__(self, user):
        self.user = user

    def __getattr__(self, role: str) -> bool:
        if role not in ROLE_TESTS:
            raise AttributeError(role)
        return ROLE_TESTS[role](self.user)


def roles(request):
    """Role flags for the navigation; read lazily so anonymous pages run no query.

    A request refused before the authentication middleware ran (an unknown Host
    gets the 400 page) has no user: it gets no role."""
    user = getattr(request, "user", None)
    if user is None:
        return {"can": NoRole()}
    return {"can": RoleFlags(user)}
