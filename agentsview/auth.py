"""Who may read: the server token and per-person tokens as ``Bearer``, the dashboard's
sign-in, the limit on wrong credentials, and the same-origin rule for writes.

Auth is on when the server is reachable off loopback (``AGENTSVIEW_REQUIRE_AUTH``, set by
``serve``/``pg_serve``). Then every ``/api/`` request needs ``Authorization: Bearer <token>``,
where the token is the server's (printed once at start) or a person's DRF token (revocable on
its own). ``?token=`` is honoured only by views that set ``allow_query_token`` (SSE watch:
browsers cannot set headers on an EventSource).

A dashboard sign-in lives in the signed session cookie, which nothing on the server can
recall, so the cookie holds what the sign-in rests on and every request checks that it still
holds: the server token it was made with (a digest), or the person's token or account and that
the user is active, and that the sign-in (a random id) was not ended by *Sign out*. Those
checks only read; a sign-out is written to the access store in the data dir
(``agentsview.access``), as are the failed credentials of each client address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import BasePermission

from agentsview import access

SESSION_KEY = "agentsview_auth"  # the sign-in, in the signed session cookie


class ServerClient:
    """Who a request holding the server token is (no Django user behind it)."""

    is_authenticated = True
    is_active = True
    username = "server-token"


SERVER_CLIENT = ServerClient()


@dataclass(frozen=True)
class Credential:
    """A credential as it stands now. ``proof`` is a digest of what a sign-in made with it
    rests on: it changes when the server token is replaced, a person's token is revoked or
    re-created, or an account's password changes."""

    kind: str  # "server" (the server token), "token" (a person's), "account"
    name: str  # shown on the pages
    user: Any  # the Django user behind it; None for the server token
    proof: str

    @property
    def client(self):
        """What DRF sees as ``request.user``."""
        return self.user if self.user is not None else SERVER_CLIENT


def _proof(value: str) -> str:
    return salted_hmac("agentsview.auth.sign-in", value, algorithm="sha256").hexdigest()


def _server_credential() -> Credential | None:
    token = settings.AGENTSVIEW_AUTH_TOKEN
    return Credential("server", "token holder", None, _proof(token)) if token else None


def _person_credential(token: Token | None) -> Credential | None:
    if token is None or not token.user.is_active:
        return None
    return Credential("token", token.user.get_username(), token.user, _proof(token.key))


def _account_credential(user) -> Credential | None:
    if user is None or not user.is_active:
        return None
    return Credential("account", user.get_username(), user,
                      _proof(user.get_session_auth_hash()))


def token_credential(token: str) -> Credential | None:
    """The server token or a person's live token; None for anything else."""
    server = _server_credential()
    if server is not None and constant_time_compare(token, settings.AGENTSVIEW_AUTH_TOKEN):
        return server
    return _person_credential(Token.objects.select_related("user").filter(key=token).first())


def account_credential(request, username: str, password: str) -> Credential | None:
    return _account_credential(authenticate(request, username=username, password=password))


def client_address(request) -> str:
    """The address failed credentials are counted against (the peer: behind a proxy, every
    client shares the proxy's)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def locked_out(request) -> int | None:
    """Seconds this client must wait before another credential of it is checked, or None."""
    return access.locked_out(client_address(request))


def record_failure(request) -> None:
    access.record_failure(client_address(request))


# --- the dashboard sign-in ---------------------------------------------------------------


def sign_in(request, credential: Credential) -> None:
    """Start a sign-in in a fresh session cookie, bound to *credential*."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "kind": credential.kind,
        "user": credential.user.pk if credential.user is not None else None,
        "proof": credential.proof,
        "sid": secrets.token_urlsafe(18),
        "at": int(access.clock()),
    }
    request.agentsview_sign_in = credential


def _stored_sign_in(request) -> dict | None:
    stored = request.session.get(SESSION_KEY)
    return stored if isinstance(stored, dict) and stored.get("sid") else None


def _check_sign_in(stored: dict) -> Credential | None:
    if access.clock() > stored.get("at", 0) + settings.SESSION_COOKIE_AGE:
        return None  # older than a cookie may live, even one re-signed since
    kind, user_id = stored.get("kind"), stored.get("user")
    if kind == "server":
        current = _server_credential()
    elif kind == "token":
        current = _person_credential(
            Token.objects.select_related("user").filter(user_id=user_id).first())
    elif kind == "account":
        current = _account_credential(get_user_model().objects.filter(pk=user_id).first())
    else:
        return None
    if current is None or not constant_time_compare(current.proof, stored.get("proof", "")):
        return None
    if access.sign_in_ended(stored["sid"]):
        return None
    return current


def signed_in(request) -> Credential | None:
    """The credential this browser signed in with, if the sign-in still holds (checked once
    per request: reads only)."""
    if not hasattr(request, "agentsview_sign_in"):
        stored = _stored_sign_in(request)
        request.agentsview_sign_in = _check_sign_in(stored) if stored else None
    return request.agentsview_sign_in


def sign_out(request) -> None:
    """End this browser's sign-in for good: a copy of its cookie kept from before is refused
    too (its sign-in id is recorded until the cookie would have expired anyway)."""
    stored = _stored_sign_in(request)
    if stored is not None:
        access.end_sign_in(stored["sid"], stored.get("at", 0) + settings.SESSION_COOKIE_AGE)
    request.session.flush()
    request.agentsview_sign_in = None


# --- DRF ---------------------------------------------------------------------------------


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
        wait = locked_out(request)
        if wait is not None:
            throttled = Throttled(detail=f"too many wrong tokens from this address; retry in"
                                         f" {wait} s")
            throttled.wait = wait  # the Retry-After header
            raise throttled
        credential = token_credential(token)
        if credential is None:
            record_failure(request)
            raise AuthenticationFailed("invalid or revoked token")
        return credential.client, credential

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="agentsview"'  # makes DRF answer 401, not 403


class DashboardSessionAuthentication(BaseAuthentication):
    """A browser signed in on the dashboard (signed session cookie) may read the API, for
    the page's own requests (live updates), as long as its sign-in holds. Reads only: no
    cookie-borne writes, so no CSRF."""

    def authenticate(self, request):
        if not getattr(settings, "AGENTSVIEW_REQUIRE_AUTH", False):
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return None
        credential = signed_in(request._request)
        return (credential.client, credential) if credential is not None else None


class TokenRequiredWhenAuthOn(BasePermission):
    message = "authentication required: send Authorization: Bearer <token>"

    def has_permission(self, request, view) -> bool:
        if not getattr(settings, "AGENTSVIEW_REQUIRE_AUTH", False):
            return True
        return request.auth is not None


# --- writes ------------------------------------------------------------------------------


def cross_site_write(request) -> str | None:
    """Why this write must be refused as coming from another site's page, or None.

    A browser names the page's origin on every POST (``Origin``; ``Sec-Fetch-Site`` too), and
    a page of another site may POST to a loopback server without asking first when the body
    is a form or plain text. So a write is accepted when it names this server's own origin
    (the scheme and Host it was sent to, or a ``--public-url``/``--public-origin``), or names
    none at all (a script, the session CLI)."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        site = request.META.get("HTTP_SEC_FETCH_SITE")
        if site in (None, "same-origin", "none"):
            return None
        return f"cross-site write refused (Sec-Fetch-Site: {site})"
    own = {f"{request.scheme}://{request.get_host()}".lower(),
           *(o.lower() for o in settings.CSRF_TRUSTED_ORIGINS)}
    if origin.lower() in own:
        return None
    return f"cross-site write refused: Origin {origin} is not this server's"
