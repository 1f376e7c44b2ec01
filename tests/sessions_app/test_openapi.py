"""The OpenAPI document: clean generation, every route, the parameters as the code enforces
them, and response bodies that match the DTOs key for key."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from agentsview.api.openapi import NO_NUL, NOT_BLANK
from agentsview.api.params import INT_MAX, time_zones
from analytics_app import endpoints as analytics
from analytics_app.endpoints.health import SIGNAL_VALUES
from analytics_app.endpoints.overview import GRANULARITIES, HEATMAP_METRICS
from analytics_app.endpoints.timing import TOP_METRICS
from analytics_app.stats import SINCE_PATTERN
from sessions_app import serializers
from sessions_app.filters import HEALTH_GRADES, ORDER_PATTERN, OUTCOMES, SESSION_ORDER_KEYS
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.selectors import MessagePage
from tests.sessions_app.api_fixtures import Api, shared_archive

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# the patterns a text parameter may have: any text, not blank, the sort keys, a stats window
PATTERNS = (NO_NUL, NOT_BLANK, ORDER_PATTERN, SINCE_PATTERN)
T1 = datetime(2026, 3, 2, 10, 30, 15, 500000, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema() -> dict:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert not problems, problems
    validate_schema(generated)
    return generated


def api_paths() -> set[str]:
    """Every route of the URLconf under /api/ (but the catch-all and the schema itself), as
    OpenAPI paths."""
    paths = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/") and not route.endswith("^.*$") \
                    and route != "api/schema/":
                paths.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(get_resolver().url_patterns, "")
    return paths


def operation(schema: dict, path: str) -> dict:
    item = schema["paths"][path]
    return item.get("get") or item["post"]


def parameters(schema: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in operation(schema, path).get("parameters", [])}


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def documented(schema: dict, name: str) -> tuple[set[str], set[str]]:
    """(properties, required) of a component."""
    body = component(schema, name)
    return set(body["properties"]), set(body.get("required", []))


def test_generation_has_no_warnings_or_errors(schema):
    assert schema["openapi"].startswith("3.")


def test_management_command_validates_and_fails_on_no_warning(tmp_path):
    GENERATOR_STATS.reset()
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    assert out.read_text().startswith("openapi: 3")


def test_every_api_route_is_a_documented_path_and_only_those(schema):
    routes = api_paths()
    assert len(routes) >= 28
    assert set(schema["paths"]) == routes


SYNC = "/api/v1/sessions/sync"


def test_operations_are_get_only_but_sync_with_unique_ids_and_one_line_summaries(schema):
    ids = []
    for path, item in schema["paths"].items():
        assert set(item) == ({"post"} if path == SYNC else {"get"}), path
        op = operation(schema, path)
        ids.append(op["operationId"])
        assert op["summary"] and "\n" not in op["summary"], path
        assert op["tags"], path
    assert len(ids) == len(set(ids))


def test_session_list_documents_its_filters(schema):
    params = parameters(schema, "/api/v1/sessions")
    # 0, a negative or a too large limit means the default (AgentsView's rule)
    assert params["limit"]["schema"] == {"type": "integer", "minimum": -(2**31),
                                         "maximum": 2**31 - 1, "default": 200}
    order = params["order_by"]["schema"]
    assert order["default"] == "recent"
    pattern = re.compile(order["pattern"])
    for key in SESSION_ORDER_KEYS:
        for suffix in ("", ":asc", ":desc"):
            assert pattern.match(f"{key}{suffix}") and pattern.match(f"id,{key}{suffix}")
    assert not pattern.match("nope") and not pattern.match("recent:up")
    assert params["descending"]["schema"] == {"type": "boolean", "default": False}
    assert "ids" in params
    assert params["outcome"]["schema"]["items"]["enum"] == list(OUTCOMES)
    assert params["health_grade"]["schema"]["items"]["enum"] == list(HEALTH_GRADES)
    assert params["project"]["explode"] is False
    assert params["include_children"]["schema"] == {"type": "boolean", "default": False}
    assert params["date"]["schema"] == {"type": "string", "format": "date"}
    assert params["active_since"]["schema"]["format"] == "date-time"
    assert params["min_messages"]["schema"]["minimum"] == 0
    assert params["cursor"]["schema"] == {"type": "string", "pattern": NO_NUL}
    assert not any(p.get("required") for p in params.values())


def test_other_parameters_match_the_code(schema):
    base = "/api/v1/sessions/{session_id}"
    messages = parameters(schema, f"{base}/messages")
    assert messages["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000,
                                           "default": 100}
    assert messages["direction"]["schema"]["enum"] == ["asc", "desc"]
    assert messages["before"]["schema"]["maximum"] == 500
    assert {"around", "after", "from", "session_id"} <= set(messages)
    assert messages["session_id"]["in"] == "path"
    assert parameters(schema, f"{base}/md")["depth"]["schema"]["enum"] == ["1", "all"]
    search = parameters(schema, "/api/v1/search")
    assert search["q"]["required"] is True
    assert search["limit"]["schema"]["maximum"] == 500
    assert search["limit"]["schema"]["default"] == 50
    assert search["include_children"]["schema"]["default"] is True
    assert "order_by" not in search
    assert set(parameters(schema, "/api/v1/stats")) == {"include_one_shot", "include_automated"}


def test_analytics_parameters_match_the_code(schema):
    paths = [p for p in schema["paths"] if p.startswith("/api/v1/analytics/")]
    assert len(paths) == len(analytics.ENDPOINTS) == 12
    for path in paths:
        params = parameters(schema, path)
        assert {"from", "to", "timezone", "project", "agent", "machine", "include_one_shot",
                "include_automated", "automated_scope", "git_branch", "model", "termination",
                "dow", "hour", "min_user_messages", "active_since"} <= set(params), path
        assert params["dow"]["schema"]["maximum"] == 6 and params["hour"]["schema"][
            "maximum"] == 23
        assert "400" in operation(schema, path)["responses"], path
    signal = parameters(schema, "/api/v1/analytics/signal-sessions")["signal"]
    assert signal["required"] is True
    assert signal["schema"]["enum"] == list(SIGNAL_VALUES)
    activity = parameters(schema, "/api/v1/analytics/activity")
    assert activity["granularity"]["schema"]["enum"] == list(GRANULARITIES)
    top = parameters(schema, "/api/v1/analytics/top-sessions")
    assert top["metric"]["schema"]["enum"] == list(TOP_METRICS)
    heatmap = parameters(schema, "/api/v1/analytics/heatmap")
    assert heatmap["metric"]["schema"]["enum"] == list(HEATMAP_METRICS)


def test_bearer_security_scheme(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["queryToken"]["in"] == "query"
    assert schemes["queryToken"]["name"] == "token"
    for path in schema["paths"]:
        security = operation(schema, path)["security"]
        assert {"bearerAuth": []} in security, path
        streams = path.endswith("/watch") or path == "/api/v1/events"
        assert ({"queryToken": []} in security) == streams, path


def test_responses_media_types_and_errors(schema):
    base = "/api/v1/sessions/{session_id}"
    error = {"$ref": "#/components/schemas/Error"}
    assert documented(schema, "Error") == ({"error"}, {"error"})
    for path, media in ((f"{base}/export", "text/html"), (f"{base}/md", "text/markdown"),
                        (f"{base}/watch", "text/event-stream")):
        responses = operation(schema, path)["responses"]
        assert list(responses["200"]["content"]) == [media], path
        assert responses["404"]["content"]["application/json"]["schema"] == error
    watch = operation(schema, f"{base}/watch")
    for event in ("session_ready", "session_updated", "heartbeat"):
        assert event in watch["description"]
    for path in schema["paths"]:
        responses = operation(schema, path)["responses"]
        for code in ("401", "403", "405"):
            assert responses[code]["content"]["application/json"]["schema"] == error, path
        # the lists of an unknown session are empty (AgentsView's contract), never a 404
        lists = {f"{base}/{name}" for name in ("messages", "tool-calls", "children")}
        assert ("404" in responses) == ((path.startswith(base) and path not in lists)
                                        or path == SYNC), path
    assert "400" in operation(schema, "/api/v1/sessions")["responses"]
    children = operation(schema, f"{base}/children")["responses"]["200"]
    assert children["content"]["application/json"]["schema"]["type"] == "array"


@pytest.mark.django_db
def test_schema_endpoint_answers_over_http(client):
    response = client.get("/api/schema/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    response = client.get("/api/schema/?format=json", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    assert "/api/v1/sessions" in orjson.loads(response.content)["paths"]


def full_session() -> Session:
    return Session(
        id="claude-1", project="proj", machine="box", agent="claude", session_kind="main",
        first_message="hi", display_name="Named", started_at=T0, ended_at=T1,
        created_at=T0, message_count=4, user_message_count=2, parent_session_id="parent",
        relationship_type="subagent", cwd="/src", git_branch="main", source_session_id="src",
        source_version="1.2.3", termination_status="clean", parser_malformed_lines=2,
        is_truncated=True, deleted_at=T1, source_missing_at=T1, context_pressure_max=0.5,
        health_score=80, health_grade="B", health_score_basis=["tool_failures"],
        health_penalties={"tool_failures": 20},
    )


def test_documented_session_fields_equal_the_dto_keys(schema):
    full, minimal = full_session(), Session(id="s", project="p", machine="m", agent="a",
                                            created_at=T0)
    detail_props, detail_required = documented(schema, "SessionDetail")
    assert detail_props == set(serializers.SESSION_DETAIL.dump(full))
    assert detail_required == set(serializers.SESSION_DETAIL.dump(minimal))
    list_props, list_required = documented(schema, "Session")
    assert list_props == set(serializers.SESSION.dump(full))
    assert list_required == set(serializers.SESSION.dump(minimal))
    signals, _ = documented(schema, "QualitySignals")
    assert signals == set(serializers.SESSION.dump(full)["quality_signals"])


def test_documented_message_and_tool_call_fields_equal_the_dto_keys(schema):
    message = Message(session_id="s", ordinal=3, role="assistant", timestamp=T0,
                      reasoning_effort="high", token_usage='{"output_tokens": 5}',
                      claude_message_id="msg", claude_request_id="req", source_type="t",
                      source_subtype="u", source_uuid="v", source_parent_uuid="w")
    call = ToolCall(session_id="s", message_ordinal=3, call_index=0, tool_name="Bash",
                    category="shell", tool_use_id="tu", input_json="{}", skill_name="sk",
                    result_content_length=2, result_content="ok", subagent_session_id="c")
    event = ToolResultEvent(session_id="s", tool_call_message_ordinal=3, call_index=0,
                            tool_use_id="tu", source="result", status="ok", content="ok",
                            content_length=2, timestamp=T0)
    page = MessagePage([message], {3: [call]}, {(3, 0): [event]})
    full = serializers.MESSAGE.dump(message, page)
    bare_call = ToolCall(session_id="s", message_ordinal=0, tool_name="Read", category="read")
    bare = serializers.MESSAGE.dump(Message(session_id="s", ordinal=0, role="user"))
    assert documented(schema, "Message") == (set(full), set(bare))
    assert documented(schema, "ToolCall") == (set(full["tool_calls"][0]),
                                              set(serializers.TOOL_CALL.dump(bare_call)))
    event_keys = set(serializers.TOOL_RESULT_EVENT.dump(event))
    assert documented(schema, "ToolResultEvent") == (event_keys, event_keys)
    call.message_timestamp, bare_call.message_timestamp = T0, None
    call.result_status = "errored"
    assert documented(schema, "FlatToolCall") == (set(serializers.FLAT_TOOL_CALL.dump(call)),
                                                  set(serializers.FLAT_TOOL_CALL.dump(bare_call)))


# --- the analytics bodies, key for key, on the fixture archive --------------------------------

ANALYTICS = "/api/v1/analytics"
ANALYTICS_RANGE = "from=2024-01-01&to=2026-03-31&include_one_shot=true&include_automated=true"
# the variants of a body that hold what the default one may not
ANALYTICS_VARIANTS = {"top-sessions": ["", "metric=duration", "metric=output_tokens"]}


def invoke_a_skill(alias: str) -> None:
    # no transcript of the fixtures invokes a skill: give every session one invocation
    Session.objects.using(alias).update(rollup_skills='[["pdf", 1]]')


@pytest.fixture(scope="module")
def archive(tmp_path_factory, django_db_setup, django_db_blocker):
    """The fixture archive, synced once into SQLite for this module."""
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=("default",), after=invoke_a_skill) as env:
        yield env


def ref_name(node: dict) -> str | None:
    """The component a property refers to (directly or as drf-spectacular's ``allOf``)."""
    node = node["allOf"][0] if "allOf" in node else node
    return node["$ref"].rsplit("/", 1)[-1] if "$ref" in node else None


def observe(schema: dict, node: dict, value: object, seen: dict[str, list[set[str]]],
            where: str) -> None:
    """Record under each component the keys of every JSON object it documents in *value*."""
    name = ref_name(node)
    if name is not None:
        assert isinstance(value, dict), where
        seen.setdefault(name, []).append(set(value))
        properties = component(schema, name)["properties"]
        for key, item in value.items():
            assert key in properties, f"{where}.{key} is not documented in {name}"
            observe(schema, properties[key], item, seen, f"{where}.{key}")
    elif node.get("type") == "array":
        for item in value:
            observe(schema, node["items"], item, seen, f"{where}[]")
    elif node.get("type") == "object" and "additionalProperties" in node:
        for item in value.values():
            observe(schema, node["additionalProperties"], item, seen, f"{where}{{}}")


def referenced(schema: dict, name: str) -> set[str]:
    """*name* and every component it refers to, transitively."""
    names, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in names:
            continue
        names.add(current)
        for node in component(schema, current)["properties"].values():
            for inner in (node, node.get("items", {}), node.get("additionalProperties", {})):
                if isinstance(inner, dict) and ref_name(inner):
                    todo.append(ref_name(inner))
    return names


@pytest.mark.django_db
def test_documented_analytics_fields_equal_the_json_keys(schema, archive, client):
    api = Api(client)
    calibration = api.json(f"{ANALYTICS}/signals?{ANALYTICS_RANGE}")["calibration"]
    marking = [f"signal={name}&limit=500" for name, entry in calibration.items()
               if entry["affected_sessions"]]
    variants = {**ANALYTICS_VARIANTS, "signal-sessions": marking}
    seen: dict[str, list[set[str]]] = {}
    documented_names: set[str] = set()
    for endpoint in analytics.ENDPOINTS:
        path = f"{ANALYTICS}/{endpoint}"
        body = operation(schema, path)["responses"]["200"]["content"]["application/json"]
        name = ref_name(body["schema"])
        assert name, path
        documented_names |= referenced(schema, name)
        for query in variants.get(endpoint, [""]):
            data = api.json(f"{path}?{ANALYTICS_RANGE}&{query}")
            assert documented(schema, name)[0] == set(data), (path, query)
            observe(schema, body["schema"], data, seen, endpoint)
    # every nested object too: each documented property appears in some answer, and each
    # required one in every answer
    assert set(seen) == documented_names
    for name, key_sets in seen.items():
        properties, required = documented(schema, name)
        assert set().union(*key_sets) == properties, name
        assert all(required <= keys for keys in key_sets), name


# --- the parameters say what the parsing enforces, and the parsing enforces what they say ------

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


def resolved(schema: dict, node: dict) -> dict:
    return component(schema, node["$ref"].rsplit("/", 1)[-1]) if "$ref" in node else node


def test_every_parameter_is_as_strict_as_its_parsing(schema):
    """No string without an enum, a format or a pattern keeping NUL bytes out; no integer
    without both bounds; the time zone is the list of names the parsing accepts."""
    for path in schema["paths"]:
        for param in operation(schema, path).get("parameters", []):
            if param["in"] != "query":
                continue
            where = (path, param["name"])
            node = resolved(schema, param["schema"])
            node = node.get("items", node) if node["type"] == "array" else node
            if node["type"] == "string":
                assert ({"enum", "format"} & set(node)
                        or node.get("pattern") in PATTERNS), where
            elif node["type"] == "integer":
                assert "minimum" in node and node["maximum"] <= INT_MAX, where
            else:
                assert node["type"] == "boolean", where
    zone = parameters(schema, "/api/v1/sessions")["timezone"]["schema"]
    assert zone == {"$ref": "#/components/schemas/TimeZone"}
    assert set(component(schema, "TimeZone")["enum"]) == time_zones()
    assert "UTC" in time_zones() and "Europe/Paris" in time_zones()
    q = parameters(schema, "/api/v1/search")["q"]["schema"]
    assert q == {"type": "string", "pattern": NOT_BLANK}
    branch = parameters(schema, "/api/v1/sessions")["git_branch"]
    assert branch["explode"] is True and branch["schema"]["type"] == "array"


def test_the_rules_between_parameters_are_described(schema):
    """A schema cannot state them: each is in the description of the parameters involved."""
    sessions = parameters(schema, "/api/v1/sessions")
    assert "date_from" in sessions["date"]["description"]
    assert "date_to" in sessions["date_from"]["description"]
    assert "max_messages" in sessions["min_messages"]["description"]
    assert "same filters" in sessions["cursor"]["description"]
    messages = parameters(schema, "/api/v1/sessions/{session_id}/messages")
    assert "`from` or `direction`" in messages["around"]["description"]
    summary = parameters(schema, "/api/v1/analytics/summary")
    assert "After `to` → 400" in summary["from"]["description"]


@pytest.mark.parametrize(("path", "error"), [
    # a parameter given empty is refused like any bad value (the schema says what is valid)
    ("/api/v1/analytics/summary?to=", "expected a date YYYY-MM-DD (query.to: )"),
    ("/api/v1/sessions?date_from=", "expected a date YYYY-MM-DD (query.date_from: )"),
    (f"/api/v1/sessions/{RICH}/md?depth=", 'expected value to be one of "1, all" '
                                           "(query.depth: )"),
    ("/api/v1/sessions?include_one_shot=", "expected true or false (query.include_one_shot: )"),
    ("/api/v1/stats?include_automated=", "expected true or false (query.include_automated: )"),
    ("/api/v1/sessions?min_tool_failures=", "invalid integer (query.min_tool_failures: )"),
    ("/api/v1/sessions?limit=", "invalid integer (query.limit: )"),
    ("/api/v1/sessions?order_by=", "(query.order_by: )"),
    ("/api/v1/sessions?timezone=", "unknown IANA time zone (query.timezone: )"),
    ("/api/v1/sessions?active_since=", "expected an RFC 3339 time (query.active_since: )"),
    ("/api/v1/analytics/activity?granularity=", "(query.granularity: )"),
    (f"/api/v1/sessions/{RICH}/messages?direction=", "(query.direction: )"),
    (f"/api/v1/sessions/{RICH}/messages?from=", "invalid integer (query.from: )"),
    ("/api/v1/search?q=%20", "required query parameter is missing (query.q: )"),
    # integers: ASCII digits, within the documented bounds
    ("/api/v1/sessions?min_messages=%D9%A3", "invalid integer (query.min_messages: ٣)"),
    ("/api/v1/sessions?min_messages=%205", "invalid integer (query.min_messages:  5)"),
    ("/api/v1/sessions?min_messages=1_0", "invalid integer (query.min_messages: 1_0)"),
    ("/api/v1/sessions?max_messages=2147483648",
     "expected an integer in [0, 2147483647] (query.max_messages: 2147483648)"),
    (f"/api/v1/sessions/{RICH}/messages?around=99999999999999999999",
     "expected an integer in [0, 2147483647] (query.around: 99999999999999999999)"),
    ("/api/v1/search?q=a&cursor=99999999999999999999", "(query.cursor: 99999999999999999999)"),
    # a parameter the chosen window ignores is still checked
    (f"/api/v1/sessions/{RICH}/messages?around=1&limit=x", "invalid integer (query.limit: x)"),
    (f"/api/v1/sessions/{RICH}/messages?around=1&from=", "invalid integer (query.from: )"),
    (f"/api/v1/sessions/{RICH}/messages?around=1&direction=asc",
     "cannot be combined with around (query.direction: asc)"),
    # what the schema lists is what is accepted
    ("/api/v1/sessions?timezone=utc", "unknown IANA time zone (query.timezone: utc)"),
    ("/api/v1/sessions?date=20260302", "expected a date YYYY-MM-DD (query.date: 20260302)"),
])
def test_what_the_schema_calls_invalid_is_a_400_naming_it(archive, client, path, error):
    response = Api(client).get(path)
    assert response.status_code == 400, (path, response.content)
    assert error in orjson.loads(response.content)["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    "timezone=Pacific/Chatham", "timezone=America/Argentina/Buenos_Aires", "timezone=Etc/GMT-14",
    "project=", "project=a,,b", "git_branch=feature,with,commas", "cursor=",
    "max_messages=2147483647", "include_one_shot=TRUE", "include_one_shot=off",
])
def test_what_the_schema_calls_valid_is_accepted(archive, client, query):
    response = Api(client).get(f"/api/v1/sessions?{query}")
    assert response.status_code == 200, (query, response.content)


def test_the_dashboard_form_leaves_empty_fields_out(archive, client):
    """A GET form sends every field: the page reads an empty one as no filter."""
    response = Api(client).get("/?project=&date_from=&date_to=&outcome=&health_grade=")
    assert response.status_code == 200
    assert b"expected a date" not in response.content
