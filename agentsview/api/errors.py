"""Every API error is ``{"error": "<one line>"}`` with the right status.

Code that answers a request (the endpoints, the filters, the paginator) raises an
``ApiError``; the API turns it into its status and JSON, and the session CLI into one line on
stderr, so both say the same thing.
"""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response


class ApiError(Exception):
    """A request that cannot be answered; ``str()`` is the one-line error."""

    status = 400
    # AgentsView's newer endpoints (usage) answer {"error": {"code": ..., "message": ...}}
    code = ""


class NotFound(ApiError):
    status = 404


class SessionMissing(NotFound):
    """No session with that id."""

    def __init__(self, session_id: str, message: str = "session not found") -> None:
        self.session_id = session_id
        super().__init__(message)


class UsageSessionMissing(SessionMissing):
    """No session with that id, as the usage endpoints say it."""

    code = "session_not_found"


def error_body(message: str) -> dict:
    return {"error": message}


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        if exc.code:
            return Response({"error": {"code": exc.code, "message": str(exc)}},
                            status=exc.status)
        return Response(error_body(str(exc)), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    if isinstance(exc, exceptions.MethodNotAllowed):
        request = context.get("request")
        method = request.method if request is not None else "this method"
        return Response(error_body(f"method {method} not allowed: the API is read-only"),
                        status=405, headers={"Allow": "GET, HEAD, OPTIONS"})
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):  # 429 (Throttled): when to try again
            headers["Retry-After"] = str(exc.wait)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(str(detail)), status=exc.status_code, headers=headers)
    return None
