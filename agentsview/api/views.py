"""The base of every API view (read-only, JSON, errors as ``{"error": ...}``) and the views
that belong to no app: liveness, the database probe and the JSON 404."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from agentsview import __version__
from agentsview.api import openapi
from agentsview.api.renderers import dumps
from agentsview.redact import redact_url


def json_ok(data: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(dumps(data), content_type="application/json", status=status,
                        headers=headers)


class ReadOnlyView(APIView):
    """GET only: any write method is 405, whatever the route."""

    http_method_names = ["get", "head", "options"]

    @property
    def using(self) -> str:
        """The database the API reads: the one this process serves."""
        return settings.AGENTSVIEW_API_DATABASE


class PingSerializer(openapi.Doc):
    """Liveness of the API process."""

    ok = openapi.boolean("Always true.")
    healthy = openapi.boolean("Always true.")
    service = openapi.string("Always `agentsview`.")
    version = openapi.string("Server version.")
    pid = openapi.integer("Process id of the answering worker.")


@openapi.get("ping", "Liveness probe of the API process.", tags=openapi.SERVICE,
             responses=openapi.responses(openapi.ok(PingSerializer, "Alive.")))
class PingView(ReadOnlyView):
    def get(self, request):
        return json_ok({"ok": True, "healthy": True, "service": "agentsview",
                        "version": __version__, "pid": os.getpid()})


def health_db(request):
    """Plain Django view: load balancers probe it without a token; it reveals no data."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return JsonResponse({"status": "error", "database": "unreachable",
                             "error": redact_url(reason)}, status=503)
    return JsonResponse({"status": "ok", "database": "connected"})


@extend_schema(exclude=True)  # the catch-all JSON 404 is not an operation
class NotFoundView(ReadOnlyView):
    """Any other /api/ path: a JSON 404 (for every method, so no write slips through)."""

    http_method_names = ["get", "head", "options", "post", "put", "patch", "delete"]

    def get(self, request):
        return json_ok({"error": "not found"}, status=404)

    post = put = patch = delete = options = get
