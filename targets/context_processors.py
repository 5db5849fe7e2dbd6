from . import rules


def roles(request):
    """Role flags for the navigation; read lazily so anonymous pages run no query."""
    user = request.user

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
