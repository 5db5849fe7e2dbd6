import logging

from django.conf import settings

audit = logging.getLogger("khoenon.audit")


class PrivatePagesMiddleware:
    """Pages behind a login are never stored by a browser or a proxy: a shared computer
    at the commune office must not show the next person yesterday's figures. The
    delegates' reading pages are the exception: they say `private, no-cache` with an
    ETag (reports.page_cache), so a browser keeps them and asks each time, and
    logging out clears them (khoenon.views). Refused requests of logged-in users
    are logged."""

    def __init__(self, get_response):
        # Here rather than at the top: khoenon.apps imports this module before the
        # models are ready.
        from reports.page_cache import CACHE_CONTROL

        self.get_response = get_response
        self.reader_pages = CACHE_CONTROL

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if response.get("Cache-Control") != self.reader_pages:
                response["Cache-Control"] = "no-store"
            if response.status_code in (403, 404):
                audit.info(
                    "access_refused user=%s path=%s status=%s",
                    user.username,
                    request.path,
                    response.status_code,
                )
        return response


def client_ip(request) -> str:
    """The user's address. Behind nginx every request comes from a trusted proxy on
    loopback; then the address nginx saw (X-Real-IP) is the user's. Never trusted
    from anyone else, so a client cannot choose its own address."""
    remote = request.META.get("REMOTE_ADDR", "")
    if remote in settings.TRUSTED_PROXIES:
        return request.META.get("HTTP_X_REAL_IP", "").strip() or remote
    return remote
