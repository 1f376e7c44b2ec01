"""Every API error is ``{"error": "<one line>"}`` with the right status."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from sessions_app.filters import BadParameter
from sessions_app.pagination import InvalidCursor


class SessionNotFound(exceptions.NotFound):
    default_detail = "session not found"


def exception_handler(exc, context):
    if isinstance(exc, (BadParameter, InvalidCursor)):
        return Response({"error": str(exc)}, status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    if isinstance(exc, exceptions.MethodNotAllowed):
        request = context.get("request")
        method = request.method if request is not None else "this method"
        return Response({"error": f"method {method} not allowed: the API is read-only"},
                        status=405, headers={"Allow": "GET, HEAD, OPTIONS"})
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response({"error": str(detail)}, status=exc.status_code, headers=headers)
    return None
