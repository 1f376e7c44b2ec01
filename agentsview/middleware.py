"""Request guards that run before the views: allowed subnets, the Host header, NUL bytes in
the request, and the methods a route accepts; and the admin's messages, kept lazy."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import Http404, JsonResponse
from django.http.request import split_domain_port, validate_host
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.views import APIView

from agentsview.api.params import NUL, BadParameter, refuse_nul


class AllowedSubnetMiddleware:
    """With ``--allowed-subnet``, clients outside those networks get 403."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.networks = [ipaddress.ip_network(n, strict=False)
                         for n in getattr(settings, "AGENTSVIEW_ALLOWED_SUBNETS", [])]

    def __call__(self, request):
        if self.networks:
            try:
                client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
            except ValueError:
                client = None
            if client is None or not any(client in net for net in self.networks):
                return JsonResponse({"error": "forbidden: client address not in an allowed"
                                              " subnet"}, status=403)
        return self.get_response(request)


class HostCheckMiddleware:
    """A request for a host name we do not serve gets 403 with the fix, not Django's 400."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return JsonResponse(
                {"error": f"host not allowed: {host!r}; start the server with --public-url"
                          " (or --public-origin) naming the address clients use"},
                status=403,
            )
        return self.get_response(request)


class NulByteMiddleware:
    """A NUL byte names nothing and reaches no database: in the path (a session id) it is 404,
    in a query parameter a 400 naming the parameter, on every route and both databases."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path_info:
            if request.path_info.startswith("/api/"):
                return JsonResponse({"error": "not found"}, status=404)
            raise Http404("not found")
        try:
            refuse_nul(request.GET)
        except BadParameter as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return self.get_response(request)


READ_METHODS = ("GET", "HEAD", "OPTIONS")


class ReadOnlyMethodsMiddleware:
    """Only reads (GET, HEAD, OPTIONS) reach a page or /health/db: any other method, TRACE
    included, is 405 with ``Allow``, before the CSRF check. The exceptions: the sign-in and
    sign-out forms and the admin also take POST, and the API's views (DRF) answer for
    themselves (405 JSON, or the local server's ``sessions/sync``)."""

    FORMS = frozenset({"login", "logout"})  # url names in agentsview/urls.py
    FORM_NAMESPACES = frozenset({"admin"})

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in READ_METHODS:
            return None
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        match = request.resolver_match
        allowed = READ_METHODS
        if match is not None and (match.view_name in self.FORMS
                                  or self.FORM_NAMESPACES & set(match.namespaces)):
            allowed = (*READ_METHODS, "POST")
        if request.method in allowed:
            return None
        return JsonResponse({"error": f"method {request.method} not allowed here"}, status=405,
                            headers={"Allow": ", ".join(allowed)})


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages (the admin's "deleted 3 sessions"), their storage built when first
    used: building it (a cookie signer, the cookie read, the session storage behind it) was
    6% of an API ping's instructions, and no API request and no dashboard page reads or
    writes a message. A storage that was never built has nothing to store."""

    def process_request(self, request) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
