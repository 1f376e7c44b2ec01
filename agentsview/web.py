"""What every dashboard page shares: the sign-in gate, the security headers, the common
template context, and the sign-in and sign-out pages."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from agentsview.config import load_config

SESSION_KEY = "agentsview_auth"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
HOME = "sessions:list"


def page(view):
    """Every page: the login gate when auth is on, and a strict Content-Security-Policy
    (no inline script can run, whatever a transcript contains)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if settings.AGENTSVIEW_REQUIRE_AUTH and not request.session.get(SESSION_KEY):
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
    return {
        "read_only": settings.AGENTSVIEW_READ_ONLY,
        "this_machine": "" if settings.AGENTSVIEW_READ_ONLY else load_config().machine_name,
        "signed_in": request.session.get(SESSION_KEY),
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


def _valid_token(token: str) -> str | None:
    """Who a token belongs to: the server token, or a person's DRF token."""
    server = settings.AGENTSVIEW_AUTH_TOKEN
    if server and constant_time_compare(token, server):
        return "token holder"
    person = Token.objects.select_related("user").filter(key=token).first()
    if person is not None and person.user.is_active:
        return person.user.get_username()
    return None


@require_http_methods(["GET", "POST"])
def login_page(request):
    """Sign in once per browser session: with the server's token, a personal token, or a
    Django account. Stored in a signed session cookie (nothing written to the database)."""
    error = ""
    next_url = request.POST.get("next") or request.GET.get("next") or reverse(HOME)
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse(HOME)
    if request.method == "POST":
        who = None
        if request.POST.get("token"):
            who = _valid_token(request.POST["token"].strip())
        elif request.POST.get("username"):
            user = authenticate(request, username=request.POST["username"],
                                password=request.POST.get("password", ""))
            who = user.get_username() if user is not None and user.is_active else None
        if who:
            request.session.cycle_key()
            request.session[SESSION_KEY] = who
            return redirect(next_url)
        error = "That token, or that user name and password, is not valid."
    response = render(request, "login.html",
                      {"error": error, "next": next_url, "auth_on": True}, status=401 if error
                      else 200)
    response["Content-Security-Policy"] = CSP
    return response


def logout_page(request):
    request.session.flush()
    return redirect("login")
