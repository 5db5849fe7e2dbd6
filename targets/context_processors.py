from . import rules


class NoRole:
    clerk = approver = admin = reader = False


def roles(request):
    """Role flags for the navigation; read lazily so anonymous pages run no query.

    A request refused before the authentication middleware ran (an unknown Host
    gets the 400 page) has no user: it gets no role."""
    user = getattr(request, "user", None)
    if user is None:
        return {"can": NoRole()}

    class Flags:
        @property
        def clerk(self):
            return rules.is_clerk(user)

        @property
        def approver(self):
            return rules.is_approver(user)

        @property
        def admin(self):
            return rules.is_admin(user)

        @property
        def reader(self):
            return rules.can_read_reports(user)

    return {"can": Flags()}
