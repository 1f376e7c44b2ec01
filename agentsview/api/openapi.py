"""Helpers for the OpenAPI annotations that sit on each API view (drf-spectacular).

``get(...)`` is a class decorator for a read-only view; ``query``, ``int_query`` and friends
build its parameters, each saying exactly what ``agentsview.api.params`` accepts (a bound on
every integer, no NUL byte in any text, the IANA zone names); ``responses`` adds the JSON error
bodies every view can answer. The two authentication extensions describe the bearer token and
the dashboard cookie.

Rules between parameters (``from`` not after ``to``, ``date`` without ``date_from``...) cannot
be written in a schema: each is stated in the description of the parameters involved.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers

from agentsview.api.params import INT_MAX, time_zones

SESSIONS, SEARCH, FACETS, SERVICE = ["sessions"], ["search"], ["facets"], ["service"]
BOOLEAN_WORDS = "Also accepts 1/0, yes/no, on/off."
# Text parameters: any text without a NUL byte (a NUL in any parameter is a 400); NOT_BLANK
# also needs a character that is not white space (a blank required parameter is missing).
NO_NUL = "^[^\\x00]*$"
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"

# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <token>``; ``?token=`` as well on views that allow it."""

    target_class = "agentsview.auth.BearerAuthentication"
    name = ["bearerAuth", "queryToken"]

    def get_security_definition(self, auto_schema):
        bearer = build_bearer_security_scheme_object(header_name="Authorization",
                                                     token_prefix="Bearer")
        bearer["description"] = (
            "The server token (printed once when the server starts) or a person's API token. "
            "Required when the server is reachable off loopback (AGENTSVIEW_REQUIRE_AUTH); a "
            "loopback-only server also answers without one. A malformed Authorization header "
            "or an unknown token is refused with 401 even then."
        )
        query_token = {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "The same token as a query parameter; honoured only by the event "
                           "streams, a session's watch and /api/v1/events (an EventSource "
                           "cannot set headers).",
        }
        return [bearer, query_token]

    def get_security_requirement(self, auto_schema):
        requirements = [{"bearerAuth": []}]
        if getattr(auto_schema.view, "allow_query_token", False):
            requirements.append({"queryToken": []})
        requirements.append({})  # auth off: a loopback-only server
        return requirements


class DashboardCookieScheme(OpenApiAuthenticationExtension):
    """The dashboard's signed session cookie: GET requests of a signed-in browser only."""

    target_class = "agentsview.auth.DashboardSessionAuthentication"
    name = "dashboardCookie"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "Set by signing in on the dashboard with the server token; "
                           "accepted for reads only.",
        }


# ---------------------------------------------------------------------------
# Documentation-only serializers (for bodies not built by a declared shape)
# ---------------------------------------------------------------------------


class Doc(serializers.Serializer):
    """Base of a serializer that only documents a body; registered as a single object."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # APIView paths look like lists to drf-spectacular: these bodies are one object
        extend_schema_serializer(many=False)(cls)


def string(help_text: str = "", *, required: bool = True, null: bool = False):
    return serializers.CharField(help_text=help_text or None, required=required,
                                 allow_null=null, allow_blank=True)


def integer(help_text: str = "", *, required: bool = True, null: bool = False):
    return serializers.IntegerField(help_text=help_text or None, required=required,
                                    allow_null=null)


def boolean(help_text: str = "", *, required: bool = True):
    return serializers.BooleanField(help_text=help_text or None, required=required)


class ErrorSerializer(Doc):
    """Every API error: one line naming the problem (and the parameter, for a 400)."""

    error = string("For example `invalid integer (query.limit: abc)`.")


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def query(name: str, schema: dict | type, description: str, *, required: bool = False,
          explode: bool | None = None) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=required,
                            description=description, explode=explode,
                            style="form" if explode is not None else None)


def text_schema(*, blank: bool = True) -> dict:
    return {"type": "string", "pattern": NO_NUL if blank else NOT_BLANK}


def text_query(name: str, description: str, *, required: bool = False,
               blank: bool = True) -> OpenApiParameter:
    """Free text; with ``blank=False`` it must hold more than white space."""
    return query(name, text_schema(blank=blank), description, required=required)


def int_query(name: str, description: str, *, minimum: int | None = None,
              maximum: int | None = None, default: int | None = None) -> OpenApiParameter:
    """An integer in ASCII digits; without a *maximum*, at most ``params.INT_MAX``."""
    schema: dict = {"type": "integer"}
    high = INT_MAX if maximum is None else maximum
    for key, value in (("minimum", minimum), ("maximum", high), ("default", default)):
        if value is not None:
            schema[key] = value
    return query(name, schema, description)


def bool_query(name: str, description: str, *, default: bool) -> OpenApiParameter:
    return query(name, {"type": "boolean", "default": default},
                 f"{description} {BOOLEAN_WORDS}")


def list_query(name: str, description: str, *, enum: tuple[str, ...] | None = None,
               repeatable: bool = True) -> OpenApiParameter:
    items: dict = {"type": "string", "enum": list(enum)} if enum else text_schema()
    how = "Comma-separated"
    if repeatable:
        how += "; repeating the parameter also works"
    return query(name, {"type": "array", "items": items}, f"{description} {how}.",
                 explode=False)


def repeated_query(name: str, description: str) -> OpenApiParameter:
    """A parameter given once per value (its values may hold commas)."""
    return query(name, {"type": "array", "items": text_schema()}, description, explode=True)


class TimeZoneName(serializers.Serializer):
    """Marker documented as the ``TimeZone`` component: the IANA names, listed once."""


class TimeZoneNameExtension(OpenApiSerializerExtension):
    target_class = TimeZoneName

    def get_name(self, auto_schema=None, direction=None) -> str:
        return "TimeZone"

    def map_serializer(self, auto_schema, direction):
        return {"type": "string", "enum": sorted(time_zones()),
                "description": "An IANA time zone name, e.g. `Europe/Paris`."}


def zone_query(name: str, description: str) -> OpenApiParameter:
    return query(name, TimeZoneName, f"{description} Default `UTC`.")


def choice_query(name: str, values: tuple[str, ...], default: str | None,
                 description: str, *, required: bool = False) -> OpenApiParameter:
    schema: dict = {"type": "string", "enum": list(values)}
    if default is not None:
        schema["default"] = default
    return query(name, schema, description, required=required)


def header(name: str, description: str, code: int = 200) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER,
                            description=description, response=[code])


SESSION_ID = OpenApiParameter(
    "session_id", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="Global session id: bare for Claude, `<agent>:<id>` otherwise.",
)
ALLOW_HEADER = header("Allow", "`GET, HEAD, OPTIONS`.", 405)
RETRY_AFTER_HEADER = header("Retry-After", "Seconds until this client may try again.", 429)

# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------

ERRORS = {
    400: "A query parameter is missing or invalid (the message names it).",
    401: "No, a malformed or an unknown token while authentication is on; a malformed "
         "Authorization header or an unknown token also when it is off.",
    403: "The client address is outside the allowed subnets, or the Host header names a "
         "host this server does not serve.",
    404: "Unknown session.",
    405: "Any method other than GET, HEAD or OPTIONS: the API is read-only.",
    429: "Ten wrong tokens from this client within a minute: wait `Retry-After` seconds.",
}



def error(code: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description or ERRORS[code])


def responses(ok_responses: dict, *codes: int) -> dict:
    """The success response(s) plus the JSON error bodies for *codes* and 401/403/405/429."""
    result = dict(ok_responses)
    for code in sorted({*codes, 401, 403, 405, 429}):
        result[code] = error(code)
    return result


def ok(serializer, description: str) -> dict:
    return {200: OpenApiResponse(serializer, description=description)}


def text_ok(media_type: str, description: str, examples=None) -> dict:
    return {(200, media_type): OpenApiResponse(OpenApiTypes.STR, description=description,
                                               examples=examples or [])}


def example(name: str, value: str, media_type: str) -> OpenApiExample:
    return OpenApiExample(name, value=value, media_type=media_type, response_only=True)


def query_names(parameters: list | None) -> frozenset[str]:
    """The names of the query parameters among *parameters*."""
    return frozenset(p.name for p in parameters or ()
                     if isinstance(p, OpenApiParameter) and p.location == OpenApiParameter.QUERY)


def get(operation_id: str, summary: str, *, tags: list[str], description: str = "",
        parameters: list | None = None, responses: dict):
    """Class decorator: the OpenAPI operation of a read-only view's GET. The query parameters
    it documents are the ones the view accepts (``query_parameters``): any other is a 400
    naming it (``agentsview.api.views.ReadOnlyView``), so a filter the server does not know
    is never silently ignored."""
    schema = extend_schema_view(get=extend_schema(
        operation_id=operation_id, summary=summary, description=description or None,
        tags=tags, parameters=[*(parameters or []), ALLOW_HEADER, RETRY_AFTER_HEADER],
        responses=responses,
    ))
    accepted = query_names(parameters)
    repeatable = frozenset(p.name for p in parameters or ()
                           if p.name in accepted and isinstance(p.type, dict)
                           and p.type.get("type") == "array")

    def decorate(cls):
        cls = schema(cls)
        cls.query_parameters = accepted
        cls.repeatable_parameters = repeatable
        return cls

    return decorate
