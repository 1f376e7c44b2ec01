"""The base of every API view (read-only, JSON, errors as ``{"error": ...}``) and the views
that belong to no app: liveness, the database probe and the JSON 404."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from agentsview import __version__
from agentsview.api import openapi
from agentsview.api.errors import ApiError
from agentsview.api.params import Params, refuse_unknown
from agentsview.api.renderers import dumps
from agentsview.redact import redact_url
from agentsview.schema import pending_migrations


def json_ok(data: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(dumps(data), content_type="application/json", status=status,
                        headers=headers)


class ReadOnlyView(APIView):
    """GET only: any write method is 405, whatever the route. A query parameter the view's
    OpenAPI operation does not document is a 400 naming it: a filter this server does not
    support must never answer unfiltered data."""

    http_method_names = ["get", "head", "options"]
    # set by ``openapi.get`` from the documented parameters; None: the view takes any
    query_parameters: frozenset[str] | None = None
    repeatable_parameters: frozenset[str] = frozenset()  # the list ones (``openapi.get``)

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        refuse_unknown(request.query_params, self.accepted_parameters(),
                       self.repeatable_parameters)

    @classmethod
    def accepted_parameters(cls) -> frozenset[str] | None:
        if cls.query_parameters is None:
            return None
        if getattr(cls, "allow_query_token", False):
            return cls.query_parameters | {"token"}
        return cls.query_parameters

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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact_url(text.splitlines()[0] if text else type(exc).__name__)


def schema_version(using: str) -> dict[str, str]:
    """The latest migration applied to *using*, per app."""
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connections[using]).applied_migrations():
        latest[app] = max(latest.get(app, name), name)
    return dict(sorted(latest.items()))


def health_db(request):
    """Plain Django view: load balancers and monitors probe it without a token. It reveals
    no session data: whether the database answers, its schema version and pending
    migrations, and what each of ``settings.AGENTSVIEW_HEALTH_CHECKS`` adds (on ``pg serve``,
    each machine's last push). 503, with ``error`` saying why, when anything is wrong."""
    using = settings.AGENTSVIEW_API_DATABASE
    try:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT 1")
        body: dict = {"status": "ok", "database": "connected",
                      "schema_version": schema_version(using)}
        pending = pending_migrations(using)
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": "unreachable",
                             "error": _first_line(exc)}, status=503)
    body["migrations_pending"] = bool(pending)
    body["pending_migrations"] = pending
    problems = [f"{len(pending)} migration(s) pending: {', '.join(pending)}"] if pending else []
    for path in settings.AGENTSVIEW_HEALTH_CHECKS:
        try:
            fields, found = import_string(path)(Params(request.GET), using)
        except ApiError as exc:
            return JsonResponse({"error": str(exc)}, status=exc.status)
        except DatabaseError as exc:
            fields, found = {}, [f"{path.rsplit('.', 1)[-1]}: {_first_line(exc)}"]
        body.update(fields)
        problems.extend(found)
    if problems:
        body.update(status="error", error="; ".join(problems))
    return JsonResponse(body, status=503 if problems else 200)


@extend_schema(exclude=True)  # the catch-all JSON 404 is not an operation
class NotFoundView(ReadOnlyView):
    """Any other /api/ path: a JSON 404 (for every method, so no write slips through)."""

    http_method_names = ["get", "head", "options", "post", "put", "patch", "delete"]

    def get(self, request):
        return json_ok({"error": "not found"}, status=404)

    post = put = patch = delete = options = get
