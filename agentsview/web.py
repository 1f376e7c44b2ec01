"""What every dashboard page shares: the sign-in gate, the security headers, the common
template context, and the sign-in and sign-out pages."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from agentsview.auth import (
    SESSION_KEY,
    account_credential,
    locked_out,
    record_failure,
    sign_in,
    sign_out,
    signed_in,
    token_credential,
)
from agentsview.config import load_config

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
HOME = "sessions:list"


def page(view):
    """Every page: the sign-in gate when auth is on (the sign-in must still hold: see
    ``agentsview.auth``), and a strict Content-Security-Policy (no inline script can run,
    whatever a transcript contains)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if settings.AGENTSVIEW_REQUIRE_AUTH and signed_in(request) is None:
            if SESSION_KEY in request.session:
                request.session.flush()  # an ended sign-in: the browser drops the cookie
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('login')}?{query}")
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CSP
        response["Referrer-Policy"] = "same-origin"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return wrapper


def page_context(request, **extra) -> dict:
    """What the base template shows on every page, plus the page's own *extra*."""
    credential = signed_in(request) if settings.AGENTSVIEW_REQUIRE_AUTH else None
    return {
        "read_only": settings.AGENTSVIEW_READ_ONLY,
        "this_machine": "" if settings.AGENTSVIEW_READ_ONLY else load_config().machine_name,
        "signed_in": credential.name if credential is not None else "",
        "auth_on": settings.AGENTSVIEW_REQUIRE_AUTH,
        **extra,
    }


def page_database() -> str:
    """The database the pages read: the one this process serves."""
    return settings.AGENTSVIEW_API_DATABASE


def without(params, *keys: str) -> str:
    """``?query`` of *params* without *keys* (a link that drops a parameter)."""
    copy = params.copy()
    for key in keys:
        copy.pop(key, None)
    return f"?{copy.urlencode()}"


def _error_page(request, status: int, title: str, detail: str):
    response = render(request, "error.html", page_context(
        request, status=status, title=title, detail=detail), status=status)
    response["Content-Security-Policy"] = CSP
    return response


def not_found(request, exception=None):
    """A page that is not there, in the app's frame with a way back (JSON under /api/)."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": "not found"}, status=404)
    message = exception.args[0] if exception is not None and exception.args else ""
    detail = (f"There is no {message.removesuffix(' not found')} at this address."
              if isinstance(message, str) and message.endswith(" not found")
              else "There is no page at this address.")
    return _error_page(request, 404, "Not found", detail)


def server_error(request):
    """An error of ours, in the app's frame; nothing of the error is shown."""
    try:
        return _error_page(request, 500, "Something went wrong",
                           "The server could not show this page. The error is in its log.")
    except Exception:  # the frame itself failed (a database gone): plain text
        return HttpResponse("Server error. The error is in the server's log.", status=500,
                            content_type="text/plain")


@require_http_methods(["GET", "POST"])
def login_page(request):
    """Sign in once per browser session: with the server's token, a personal token, or a
    Django account. Kept in the signed session cookie (nothing written to the database).
    A client address that sent too many wrong ones lately waits (429) before the next is
    even checked."""
    error, status, headers = "", 200, {}
    next_url = request.POST.get("next") or request.GET.get("next") or reverse(HOME)
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse(HOME)
    if request.method == "POST":
        wait = locked_out(request)
        if wait is not None:
            error = f"Too many failed sign-ins from this address. Try again in {wait} s."
            status, headers = 429, {"Retry-After": str(wait)}
        else:
            credential = None
            if request.POST.get("token"):
                credential = token_credential(request.POST["token"].strip())
            elif request.POST.get("username"):
                credential = account_credential(request, request.POST["username"],
                                                request.POST.get("password", ""))
            if credential is not None:
                sign_in(request, credential)
                return redirect(next_url)
            if request.POST.get("token") or request.POST.get("username"):
                record_failure(request)
            error, status = "That token, or that user name and password, is not valid.", 401
    response = render(request, "login.html", {"error": error, "next": next_url, "auth_on": True},
                      status=status)
    for name, value in {**headers, "Content-Security-Policy": CSP}.items():
        response[name] = value
    return response


def logout_page(request):
    """Sign out: this sign-in ends everywhere, a copy of its cookie included."""
    sign_out(request)
    return redirect("login")
