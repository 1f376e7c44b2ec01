"""Request guards that run before Django: allowed subnets and the Host header."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import JsonResponse
from django.http.request import split_domain_port, validate_host


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
