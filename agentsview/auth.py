"""API authentication: a server token and per-person DRF tokens, both as ``Bearer``.

Auth is on when the server is reachable off loopback (``AGENTSVIEW_REQUIRE_AUTH``, set by
``serve``/``pg_serve``). Then every ``/api/`` request needs ``Authorization: Bearer <token>``,
where the token is the server's (printed once at start) or a person's DRF token (revocable on
its own). ``?token=`` is honoured only by views that set ``allow_query_token`` (SSE watch:
browsers cannot set headers on an EventSource).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import constant_time_compare
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission


class ServerClient:
    """Who a request holding the server token is (no Django user behind it)."""

    is_authenticated = True
    is_active = True
    username = "server-token"


SERVER_CLIENT = ServerClient()


class BearerAuthentication(BaseAuthentication):
    def _token(self, request) -> str | None:
        parts = get_authorization_header(request).split()
        if parts:
            if parts[0].lower() != b"bearer" or len(parts) != 2:
                raise AuthenticationFailed("malformed Authorization header (use: Bearer <token>)")
            return parts[1].decode("latin-1")
        view = request.parser_context.get("view") if request.parser_context else None
        if getattr(view, "allow_query_token", False):
            return request.query_params.get("token") or None
        return None

    def authenticate(self, request):
        if not getattr(settings, "AGENTSVIEW_REQUIRE_AUTH", False):
            return None  # auth off (loopback): a stale or odd header must not break requests
        token = self._token(request)
        if token is None:
            return None
        server_token = getattr(settings, "AGENTSVIEW_AUTH_TOKEN", "")
        if server_token and constant_time_compare(token, server_token):
            return SERVER_CLIENT, "server"
        person = Token.objects.select_related("user").filter(key=token).first()
        if person is not None and person.user.is_active:
            return person.user, person
        raise AuthenticationFailed("invalid or revoked token")

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="agentsview"'  # makes DRF answer 401, not 403


class DashboardSessionAuthentication(BaseAuthentication):
    """A browser signed in on the dashboard (signed session cookie) may read the API, for
    the page's own requests (live updates). Reads only: no cookie-borne writes, so no CSRF."""

    def authenticate(self, request):
        if not getattr(settings, "AGENTSVIEW_REQUIRE_AUTH", False):
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return None
        session = getattr(request._request, "session", None)
        if session is not None and session.get("agentsview_auth"):
            return SERVER_CLIENT, "dashboard-session"
        return None


class TokenRequiredWhenAuthOn(BasePermission):
    message = "authentication required: send Authorization: Bearer <token>"

    def has_permission(self, request, view) -> bool:
        if not getattr(settings, "AGENTSVIEW_REQUIRE_AUTH", False):
            return True
        return request.auth is not None
