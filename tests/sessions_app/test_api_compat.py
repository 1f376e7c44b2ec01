"""AgentsView's clients against our API (issue 19): parameters refused rather than ignored,
ids and descending, every child listed, the sort keys and multi-key orders, the limit rule;
on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import orjson
import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from agentsview.api.views import ReadOnlyView
from sessions_app.models import Session
from tests.layouts import golden
from tests.sessions_app.api_fixtures import BACKENDS, Api, available_backends, shared_archive

pytestmark = pytest.mark.django_db(databases=["default", "pg"])

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CHILD = "agent-a1b2c3d"
EVERYTHING = "include_one_shot=true&include_children=true&include_automated=true"


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=available_backends()) as env:
        yield env


@pytest.fixture(params=BACKENDS)
def api(request, shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = request.param
    return Api(client)


def api_routes() -> list[tuple[str, type]]:
    """Every route of the URLconf under /api/ with its view class (the catch-all and the
    schema left out), as a path with the session id filled in."""
    found: list[tuple[str, type]] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/"):
                view = getattr(pattern.callback, "view_class", None)
                if route.endswith("^.*$") or route == "api/schema/":
                    continue
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", RICH, route)
                found.append((path, view))

    walk(get_resolver().url_patterns, "")
    return found


def test_the_route_walk_sees_every_api_route():
    paths = {path for path, _ in api_routes()}
    assert {"/api/v1/sessions", f"/api/v1/sessions/{RICH}/watch",
            "/api/v1/analytics/signal-sessions"} <= paths
    assert len(paths) >= 28


def test_every_api_route_refuses_a_parameter_it_does_not_take(api):
    checked = 0
    for path, view in api_routes():
        if "get" not in getattr(view, "http_method_names", ()):
            continue  # POST /sessions/sync takes a JSON body, no query
        assert issubclass(view, ReadOnlyView), path
        assert view.query_parameters is not None, f"{path}: no documented parameters"
        response = api.get(f"{path}?not_a_parameter=1")
        assert response.status_code == 400, (path, response.status_code)
        assert orjson.loads(response.content) == {
            "error": "unsupported query parameter (query.not_a_parameter: 1)"}, path
        checked += 1
    assert checked >= 27


@pytest.mark.parametrize("param", ["starred=true", "has_secret=true", "label=x", "pr=1",
                                   "include_source=true", "sort=recency"])
def test_filters_we_do_not_support_are_400_not_everything(api, param):
    response = api.get(f"/api/v1/sessions?{param}")
    assert response.status_code == 400
    assert f"unsupported query parameter (query.{param.split('=')[0]}" in orjson.loads(
        response.content)["error"]


def test_a_token_in_the_query_is_never_echoed(api):
    response = api.get("/api/v1/sessions?token=secret-value")
    assert response.status_code in (400, 401)
    assert b"secret-value" not in response.content


def test_ids_keeps_only_those_sessions(api):
    one = api.json(f"/api/v1/sessions?ids={RICH}")
    assert [s["id"] for s in one["sessions"]] == [RICH] and one["total"] == 1
    two = api.json(f"/api/v1/sessions?{EVERYTHING}&ids={RICH},{CHILD}")
    assert {s["id"] for s in two["sessions"]} == {RICH, CHILD}
    assert api.json("/api/v1/sessions?ids=nope")["sessions"] == []
    many = ",".join(f"id{i}" for i in range(101))
    assert api.json(f"/api/v1/sessions?ids={many}", 400)["error"].startswith("at most 100 ids")


def _order(api, query: str) -> list[str]:
    return [s["id"] for s in api.json(f"/api/v1/sessions?{EVERYTHING}&limit=500&{query}")
            ["sessions"]]


def test_descending_flips_the_default_direction(api):
    newest = _order(api, "")
    assert _order(api, "descending=true") == list(reversed(newest))
    by_messages = _order(api, "order_by=messages")
    assert _order(api, "order_by=messages&descending=true") == list(reversed(by_messages))
    # an explicit direction wins
    assert _order(api, "order_by=messages:asc&descending=true") == by_messages


def test_include_children_lists_every_child(api):
    listed = {s["id"] for s in api.json("/api/v1/sessions?include_children=true&limit=500")
              ["sessions"]}
    children = set(Session.objects.using("default").filter(
        parent_session_id__isnull=False, message_count__gt=0, is_automated=False,
        deleted_at__isnull=True).values_list("id", flat=True))
    assert children and children <= listed
    assert CHILD in listed
    # one-shot top-level sessions still need include_one_shot
    assert not {s.id for s in Session.objects.using("default").filter(
        parent_session_id__isnull=True, user_message_count__lte=1)} & listed


def _column(session: dict, key: str):
    return {"retries": session["tool_retry_count"], "edit-churn": session["edit_churn_count"],
            "compactions": session["compaction_count"],
            "messages": session["message_count"]}[key]


@pytest.mark.parametrize("key", ["retries", "edit-churn", "compactions"])
def test_the_counter_orders(api, key):
    rows = api.json(f"/api/v1/sessions?{EVERYTHING}&limit=500&order_by={key}:desc")["sessions"]
    values = [_column(s, key) for s in rows]
    assert values == sorted(values, reverse=True)


def test_unscored_sessions_sort_last_both_ways(api):
    for order in ("health", "health:desc", "context-pressure", "context-pressure:desc"):
        rows = api.json(f"/api/v1/sessions?{EVERYTHING}&limit=500&order_by={order}")["sessions"]
        field = "health_score" if order.startswith("health") else "context_pressure_max"
        scored = [s.get(field) is not None for s in rows]
        assert scored == sorted(scored, reverse=True), order  # every scored one first
        values = [s[field] for s in rows if s.get(field) is not None]
        assert values == sorted(values, reverse=order.endswith(":desc")), order


@pytest.mark.parametrize("order", ["messages:desc,started:asc", "user-messages,recent",
                                   "health:desc,messages:asc,id:desc", "context-pressure,id"])
def test_multi_key_orders_page_every_session_once(api, order):
    everything = _order(api, f"order_by={order}")
    paged, cursor = [], None
    while True:
        page = api.json(f"/api/v1/sessions?{EVERYTHING}&order_by={order}&limit=3"
                        + (f"&cursor={cursor}" if cursor else ""))
        paged += [s["id"] for s in page["sessions"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert paged == everything and len(set(paged)) == len(paged)


def test_multi_key_order_sorts_by_each_key_in_turn(api):
    rows = api.json(f"/api/v1/sessions?{EVERYTHING}&limit=500&order_by=messages:desc,"
                    "started:asc")["sessions"]
    keys = [(-s["message_count"], s["started_at"] or "") for s in rows]
    assert keys == sorted(keys)


@pytest.mark.parametrize("query", ["order_by=messages,nope", "order_by=messages,messages",
                                   "order_by=messages:up", "order_by=a,b,c,d,e"])
def test_bad_orders_are_400(api, query):
    assert "(query.order_by:" in api.json(f"/api/v1/sessions?{query}", 400)["error"]


@pytest.mark.parametrize("limit", ["0", "-5", "501", "5000"])
def test_a_limit_out_of_range_means_the_default(api, limit):
    data = api.json(f"/api/v1/sessions?{EVERYTHING}&limit={limit}")
    assert len(data["sessions"]) == min(data["total"], 200)
    assert api.json("/api/v1/sessions?limit=abc", 400) == {
        "error": "invalid integer (query.limit: abc)"}


# --- the routes AgentsView's clients call that we lacked -------------------------------------


def _without_ids(value):
    """A golden document without AgentsView's database row ids (ours equal the ordinal)."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "message_id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_timing_is_the_reference(api):
    ours = api.json(f"/api/v1/sessions/{RICH}/timing")
    assert _without_ids(ours) == _without_ids(golden("timing.json"))
    assert [t["message_id"] for t in ours["turns"]] == [t["ordinal"] for t in ours["turns"]]
    assert api.json("/api/v1/sessions/nope/timing", 404) == {"error": "session not found"}


def test_activity_is_the_reference(api):
    assert api.json(f"/api/v1/sessions/{RICH}/activity") == golden("activity-session.json")
    assert api.json("/api/v1/sessions/nope/activity", 404) == {"error": "session not found"}


def test_session_search_gives_ordinals(api):
    assert api.json(f"/api/v1/sessions/{RICH}/search?q=vitest") == {"ordinals": [16]}
    assert api.json(f"/api/v1/sessions/{RICH}/search?q=zzznothere") == {"ordinals": []}
    assert api.json(f"/api/v1/sessions/{RICH}/search", 400) == {
        "error": "required query parameter is missing (query.q: )"}
    assert api.json("/api/v1/sessions/nope/search?q=x", 404) == {"error": "session not found"}


def test_branches_shape_and_tokens(api):
    reference = golden("branches.json")["branches"][0]
    data = api.json("/api/v1/branches?include_one_shot=true&include_automated=true")
    assert all(list(b) == list(reference) for b in data["branches"])
    assert {"project": "webapp", "branch": "feature/login-redirect",
            "token": "webapp\x1ffeature/login-redirect"} in data["branches"]
    pairs = [(b["project"], b["branch"]) for b in data["branches"]]
    assert pairs == sorted(set(pairs))
    # the token is what the git_branch filter takes
    token = "webapp\x1ffeature/login-redirect"
    assert RICH in {s["id"] for s in api.json(
        f"/api/v1/sessions?git_branch={token}")["sessions"]}


def test_sidebar_index_lists_children_as_skinny_rows(api):
    data = api.json("/api/v1/sessions/sidebar-index")
    rows = {s["id"]: s for s in data["sessions"]}
    assert data["total"] == len(rows)
    assert CHILD in rows and rows[CHILD]["parent_session_id"] == RICH
    assert set(rows[RICH]) <= {"id", "parent_session_id", "relationship_type", "project",
                               "machine", "agent", "display_name", "started_at", "ended_at",
                               "created_at", "termination_status", "message_count",
                               "user_message_count", "is_automated", "is_teammate"}
    assert rows[RICH]["is_teammate"] is False
    listed = api.json("/api/v1/sessions?include_children=true&limit=500")["sessions"]
    assert [s["id"] for s in data["sessions"]] == [s["id"] for s in listed]
    top = api.json("/api/v1/sessions/sidebar-index?include_children=false&project=webapp")
    assert [s["id"] for s in top["sessions"]] == [RICH]
    assert api.get("/api/v1/sessions/sidebar-index?cursor=x").status_code == 400


def test_content_search_matches_the_reference_locations(api):
    data = api.json("/api/v1/search/content?pattern=redirect&include_one_shot=true"
                    "&include_children=true")
    reference = golden("search-content.json")
    assert set(data) == set(reference)
    assert list(data["matches"][0]) == [k for k in reference["matches"][0]]

    def places(matches, session_id):
        return [(m["location"], m["ordinal"], m["ordinal_range"], m.get("tool_name"))
                for m in matches if m["session_id"] == session_id]

    for session_id in (RICH, CHILD):
        assert places(data["matches"], session_id) == places(reference["matches"], session_id)
    rich = [m for m in data["matches"] if m["session_id"] == RICH]
    assert rich[0]["snippet"].startswith("Fix the login redirect loop")
    assert data["next_cursor"] == 0


def test_content_search_locations_modes_and_pages(api):
    base = "/api/v1/search/content?include_one_shot=true&include_children=true"
    thinking = api.json(f"{base}&pattern=redirect&in=thinking")["matches"]
    assert {m["location"] for m in thinking} == {"thinking"}
    regex = api.json(f"{base}&pattern=redirect%5CW%2B/login&mode=regex&in=tool_input")
    assert {m["session_id"] for m in regex["matches"]} >= {CHILD}
    fts = api.json(f"{base}&pattern=guard%20skips&mode=fts&in=messages")["matches"]
    assert fts and all("guard" in m["snippet"] for m in fts)
    everything = api.json(f"{base}&pattern=redirect&limit=500")["matches"]
    paged, cursor = [], 0
    while True:
        page = api.json(f"{base}&pattern=redirect&limit=4&cursor={cursor}")
        paged += page["matches"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == everything
    for query, name in (("pattern=x&mode=semantic", "mode"), ("pattern=(&mode=regex", "pattern"),
                        ("pattern=x&in=files", "in"), ("", "pattern")):
        error = api.json(f"/api/v1/search/content?{query}", 400)["error"]
        assert f"(query.{name}:" in error, query


def test_transcript_revision_on_sessions(api):
    session = api.json(f"/api/v1/sessions/{RICH}")
    listed = api.json(f"/api/v1/sessions?ids={RICH}")["sessions"][0]
    assert session["transcript_revision"] == listed["transcript_revision"] != ""
    keys = list(session)
    assert keys.index("labels") + 1 == keys.index("transcript_revision")


def test_session_stats_is_the_stats_document(api):
    data = api.json("/api/v1/session-stats?since=2024-01-01&timezone=UTC&include_one_shot=true"
                    "&include_automated=true")
    for key in ("schema_version", "window", "filters", "totals", "distributions", "velocity",
                "tool_mix", "model_mix"):
        assert key in data, key
    assert data["window"]["since"] == "2024-01-01T00:00:00Z"
    assert data["totals"]["sessions_all"] > 0
    assert "(query.since: soon)" in api.json("/api/v1/session-stats?since=soon", 400)["error"]
    assert "(query.from:" in api.json("/api/v1/session-stats?from=2024-01-01", 400)["error"]


def test_version_has_the_capability_flags_clients_read(api):
    data = api.json("/api/v1/version")
    assert data["session_stats_available"] is True
    assert data["content_search_available"] is True
    assert data["insight_generation_available"] is False
    assert data["archive_only"] is False
    assert data["events_available"] is True
    assert isinstance(data["api_version"], int)


FORKED = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def test_markdown_depth_nests_every_child(api):
    fork = f"{FORKED}-e0000000-0000-4000-8000-000000000011"
    alone = api.get(f"/api/v1/sessions/{FORKED}/md").content.decode()
    assert "<subagent_session" not in alone
    deep = api.get(f"/api/v1/sessions/{FORKED}/md?depth=1").content.decode()
    assert f'<subagent_session id="{fork}" parent_session_id="{FORKED}" relationship="fork"' \
        in deep
    assert deep.index("</subagent_session>") < deep.index("</session>")
    codex = api.get(f"/api/v1/sessions/{CODEX}/md?depth=all").content.decode()
    assert '<subagent_session id="codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a70"' in codex
    # every child once, also the one a tool call spawned
    rich = api.get(f"/api/v1/sessions/{RICH}/md?depth=all").content.decode()
    assert rich.count(f'<subagent_session id="{CHILD}"') == 1


def test_session_search_cli_prints_the_api_json(shared, client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.AGENTSVIEW_API_DATABASE = "default"
    out = StringIO()
    call_command("session", "search", "redirect", "--include-children", "--in",
                 "tool_input,tool_result", "--limit", "3", "--format", "json", stdout=out)
    expected = Api(client).json("/api/v1/search/content?pattern=redirect&include_children=true"
                                "&in=tool_input,tool_result&limit=3")
    assert orjson.loads(out.getvalue()) == expected and expected["next_cursor"] == 3
    human = StringIO()
    call_command("session", "search", "redirect", "--fts", "--exclude-system", stdout=human)
    lines = human.getvalue().splitlines()
    assert lines[0].split() == ["SESSION", "ORD", "WHERE", "SNIPPET"] and RICH in lines[1]


def test_search_ranks_stems_and_best_hits(api):
    data = api.json("/api/v1/search?q=redirect")
    hits = {r["session_id"]: r for r in data["results"]}
    order = [r["session_id"] for r in data["results"]]
    reference = {r["session_id"]: r for r in golden("search.json")["results"]}
    for session_id in (CHILD, RICH):  # AgentsView's best message of each session
        assert hits[session_id]["ordinal"] == reference[session_id]["ordinal"], session_id
        assert hits[session_id]["snippet"] == reference[session_id]["snippet"], session_id
    assert order.index(CHILD) < order.index(RICH)  # the better rank first (relevance)
    ranks = [r["rank"] for r in data["results"]]
    assert ranks == sorted(ranks) and all(r < 0 for r in ranks)
    recency = [r["session_id"] for r in api.json("/api/v1/search?q=redirect&sort=recency")
               ["results"]]
    assert recency.index(RICH) < recency.index(CHILD)
    # a word is searched by its stem: every inflection finds the same sessions
    for word in ("redirects", "redirected", "redirecting"):
        found = {r["session_id"] for r in api.json(f"/api/v1/search?q={word}")["results"]}
        assert found == set(hits), word
    assert "(query.sort: best)" in api.json("/api/v1/search?q=x&sort=best", 400)["error"]
    page = api.json("/api/v1/search?q=redirect&limit=1")
    assert page["next"] == 1 and page["results"][0]["session_id"] == order[0]


def test_a_single_valued_parameter_twice_is_400(api):
    assert api.json("/api/v1/sessions?limit=2&limit=3", 400) == {
        "error": "given more than once (query.limit: 3)"}
    assert api.json("/api/v1/analytics/summary?dow=x&dow=3", 400)["error"].startswith(
        "given more than once (query.dow:")
    # list parameters may repeat
    both = api.json("/api/v1/sessions?project=webapp&project=api_server&include_one_shot=1")
    assert {s["project"] for s in both["sessions"]} == {"webapp", "api_server"}


def test_session_list_cli_takes_ids_and_descending(shared, client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.AGENTSVIEW_API_DATABASE = "default"
    out = StringIO()
    call_command("session", "list", "--include-one-shot", "--include-children",
                 "--order-by", "messages", "--descending", "--ids", f"{RICH},{CHILD}",
                 "--format", "json", stdout=out, stderr=StringIO())
    expected = Api(client).json(f"/api/v1/sessions?include_one_shot=true&include_children=true"
                                f"&order_by=messages&descending=true&ids={RICH},{CHILD}")
    assert orjson.loads(out.getvalue()) == expected
    assert [s["id"] for s in expected["sessions"]] == [RICH, CHILD]  # 13 messages, then 3
