"""The read-only JSON API, every endpoint on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from django.db import connections

from sessions_app.models import Message, Session
from tests.layouts import golden
from tests.sessions_app.api_fixtures import BACKENDS, Api, available_backends, shared_archive

# Read-only tests: one archive for the module, each test in a rolled-back transaction.
pytestmark = pytest.mark.django_db(databases=["default", "pg"])

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
TIED = 12


def add_ties(env) -> None:
    """Twelve sessions identical in every sort value (times, counts): only ids differ."""
    root = env["claude"] / "-home-dev-projects-ties"
    root.mkdir(parents=True)
    for i in range(TIED):
        lines = [
            {"type": "user", "timestamp": "2026-01-15T10:00:00Z", "cwd": "/home/dev/ties",
             "message": {"role": "user", "content": f"tie prompt {i}"}},
            {"type": "assistant", "timestamp": "2026-01-15T10:00:05Z",
             "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}},
            {"type": "user", "timestamp": "2026-01-15T10:00:10Z",
             "message": {"role": "user", "content": "again"}},
            {"type": "assistant", "timestamp": "2026-01-15T10:00:15Z",
             "message": {"role": "assistant", "content": [{"type": "text", "text": "done"}]}},
        ]
        (root / f"tie-{i:02d}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n"
                                                          for x in lines))


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=available_backends(), extra=add_ties) as env:
        yield env


@pytest.fixture(params=BACKENDS)
def api(request, shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = request.param
    return Api(client)


def walk(api: Api, query: str) -> list[str]:
    ids, cursor, pages = [], None, 0
    while True:
        page = api.json(f"/api/v1/sessions?{query}" + (f"&cursor={cursor}" if cursor else ""))
        ids += [s["id"] for s in page["sessions"]]
        pages += 1
        cursor = page.get("next_cursor")
        if not cursor:
            return ids
        assert pages < 100


def test_list_shape_and_default_exclusions(api):
    data = api.json("/api/v1/sessions")
    assert list(data) == ["sessions", "total"]  # no next_cursor on a single page
    ids = {s["id"] for s in data["sessions"]}
    assert data["total"] == len(ids)
    # one-shot sessions, children and empty sessions are left out by default
    everything = Session.objects.using("default").all()
    expected = {s.id for s in everything
                if s.user_message_count > 1 and not s.parent_session_id and not s.is_automated}
    assert ids == expected
    rich = next(s for s in data["sessions"] if s["id"] == RICH)
    reference = golden("session.json")
    for key in ("first_message", "display_name", "started_at", "ended_at", "message_count",
                "user_message_count", "cwd", "git_branch", "source_session_id",
                "source_version", "termination_status", "total_output_tokens",
                "peak_context_tokens"):
        assert rich[key] == reference[key], key
    assert rich["machine"] == "test-machine"
    assert rich["pr_links"] == [] and rich["labels"] == []


def test_include_flags_and_filters(api):
    every = {s.id for s in Session.objects.using("default").filter(message_count__gt=0)}
    data = api.json("/api/v1/sessions?include_one_shot=true&include_children=true"
                    "&include_automated=true&limit=500")
    assert {s["id"] for s in data["sessions"]} == every
    automated = api.json("/api/v1/sessions?include_one_shot=true&include_children=true")
    assert "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60" not in {s["id"] for s in
                                                                automated["sessions"]}
    one = api.json("/api/v1/sessions?include_one_shot=1&project=webapp")
    assert {s["project"] for s in one["sessions"]} == {"webapp"}
    not_webapp = api.json("/api/v1/sessions?include_one_shot=1&exclude_project=webapp,cli_tool")
    assert not {s["project"] for s in not_webapp["sessions"]} & {"webapp", "cli_tool"}
    codex = api.json("/api/v1/sessions?include_one_shot=1&agent=codex")
    assert {s["agent"] for s in codex["sessions"]} == {"codex"}
    assert api.json("/api/v1/sessions?machine=nobody")["sessions"] == []
    assert api.json("/api/v1/sessions?machine=test-machine")["total"] > 0
    day = api.json("/api/v1/sessions?include_one_shot=1&date=2026-03-02")
    assert {s["id"] for s in day["sessions"]} == {RICH}
    span = api.json("/api/v1/sessions?include_one_shot=1&date_from=2026-03-02&date_to=2026-03-04")
    assert RICH in {s["id"] for s in span["sessions"]} and CODEX in {s["id"] for s in
                                                                      span["sessions"]}
    tz = api.json("/api/v1/sessions?include_one_shot=1&date=2026-03-01&timezone=Pacific/Kiritimati"
                  "&project=webapp")
    assert tz["sessions"] == []
    since = api.json("/api/v1/sessions?include_one_shot=1&active_since=2026-03-04T14:06:00Z")
    assert CODEX not in {s["id"] for s in since["sessions"]}
    big = api.json("/api/v1/sessions?include_one_shot=1&min_messages=10&max_messages=13")
    assert {s["message_count"] for s in big["sessions"]} <= set(range(10, 14))
    assert big["total"] >= 2
    users = api.json("/api/v1/sessions?min_user_messages=3")
    assert all(s["user_message_count"] >= 3 for s in users["sessions"])


def ids(api, query: str) -> set[str]:
    return {s["id"] for s in api.json(f"/api/v1/sessions?limit=500&{query}")["sessions"]}


def test_branch_termination_and_automated_scope_filters(api):
    # RICH and its subagent are on feature/login-redirect in webapp
    assert ids(api, "include_one_shot=1&git_branch=feature/login-redirect") == {RICH}
    assert ids(api, "include_one_shot=1&include_children=1&git_branch=webapp%1F"
                    "feature/login-redirect") == {RICH, "agent-a1b2c3d"}
    assert ids(api, "include_one_shot=1&git_branch=cli_tool%1Ffeature/login-redirect") == set()
    both = ids(api, "include_one_shot=1&git_branch=main&git_branch=feature/login-redirect")
    assert RICH in both and CODEX in both
    truncated = ids(api, "include_one_shot=1&termination=truncated")
    assert truncated and all(
        Session.objects.using("default").get(pk=i).termination_status == "truncated"
        for i in truncated)
    review = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"
    kids = "include_one_shot=1&include_children=1"
    assert ids(api, f"{kids}&automated_scope=automated") == {review}
    assert review not in ids(api, f"{kids}&include_automated=1&automated_scope=human")
    assert review in ids(api, f"{kids}&automated_scope=all")


@pytest.mark.parametrize("order", ["recent", "started:asc", "messages", "messages:desc",
                                   "user-messages", "output-tokens:desc", "id", "health"])
def test_keyset_pages_return_every_session_exactly_once_with_ties(api, order):
    query = f"include_one_shot=true&include_children=true&include_automated=true&order_by={order}"
    everything = walk(api, f"{query}&limit=500")
    paged = walk(api, f"{query}&limit=2")
    assert paged == everything
    assert len(paged) == len(set(paged)) == Session.objects.filter(message_count__gt=0).count()


def test_the_tie_sessions_tie_on_every_sort_value(api):
    values = set(Session.objects.using("default").filter(project="ties").values_list(
        "started_at", "ended_at", "message_count", "user_message_count", "total_output_tokens"))
    assert len(values) == 1
    assert Session.objects.using("default").filter(project="ties").count() == TIED


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("limit=abc", "invalid integer (query.limit: abc)"),
        ("date=2026-13-99", "expected a date YYYY-MM-DD (query.date: 2026-13-99)"),
        ("date_from=2026-03-05&date_to=2026-03-01",
         "date_from is after date_to (query.date_from: 2026-03-05)"),
        ("active_since=yesterday", "expected an RFC 3339 time (query.active_since: yesterday)"),
        ("min_messages=-1", "expected an integer in [0, 2147483647] (query.min_messages: -1)"),
        ("max_messages=x", "invalid integer (query.max_messages: x)"),
        ("min_user_messages=1.5", "invalid integer (query.min_user_messages: 1.5)"),
        ("min_tool_failures=no", "invalid integer (query.min_tool_failures: no)"),
        ("include_one_shot=maybe", "expected true or false (query.include_one_shot: maybe)"),
        ("include_children=2", "expected true or false (query.include_children: 2)"),
        ("outcome=great", 'expected values among "completed, abandoned, errored, unknown"'
                          " (query.outcome: great)"),
        ("health_grade=Z", 'expected values among "A, B, C, D, F" (query.health_grade: Z)'),
        ("order_by=nope", "(query.order_by: nope)"),
        ("order_by=recent:up", "expected :asc or :desc after the key (query.order_by: recent:up)"),
        ("timezone=Mars/Base", "unknown IANA time zone (query.timezone: Mars/Base)"),
        ("cursor=garbage", "invalid cursor (query.cursor: garbage)"),
        ("automated_scope=bots", 'expected value to be one of "human, all, automated" '
                                 "(query.automated_scope: bots)"),
    ],
)
def test_bad_parameters_are_400_naming_parameter_and_value(api, query, error):
    response = api.get(f"/api/v1/sessions?{query}")
    assert response.status_code == 400
    assert error in orjson.loads(response.content)["error"]


def test_cursor_is_tied_to_its_query(api):
    first = api.json("/api/v1/sessions?include_one_shot=true&limit=2")
    cursor = first["next_cursor"]
    assert api.json(f"/api/v1/sessions?include_one_shot=true&limit=2&cursor={cursor}")
    other = api.get(f"/api/v1/sessions?include_one_shot=true&project=webapp&cursor={cursor}")
    assert other.status_code == 400
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert api.get(f"/api/v1/sessions?include_one_shot=true&limit=2&cursor={tampered}"
                   ).status_code == 400


def test_session_detail_and_404(api):
    data = api.json(f"/api/v1/sessions/{RICH}")
    assert data["display_name"] == "Login redirect fix"
    assert api.json("/api/v1/sessions/nope-not-here", 404) == {"error": "session not found"}
    for suffix in ("md", "export", "watch", "timing", "activity"):
        response = api.get(f"/api/v1/sessions/nope-not-here/{suffix}")
        assert response.status_code == 404, suffix
        assert "session not found" in orjson.loads(response.content)["error"]
    # AgentsView's contract: the lists of an unknown session are empty
    assert api.json("/api/v1/sessions/nope-not-here/messages") == golden("messages-missing.json")
    assert api.json("/api/v1/sessions/nope-not-here/tool-calls") == {"tool_calls": [],
                                                                     "count": 0}
    assert api.json("/api/v1/sessions/nope-not-here/children") == []
    revision = api.json(f"/api/v1/sessions/{RICH}")["transcript_revision"]
    assert api.json(f"/api/v1/sessions/{RICH}/messages?limit=1")["transcript_revision"] == \
        revision


def test_messages_match_the_reference(api):
    data = api.json(f"/api/v1/sessions/{RICH}/messages")
    assert data["count"] == 13 and data["first_ordinal"] == 0 and data["last_ordinal"] == 19
    first, second = data["messages"][0], data["messages"][1]
    assert list(first) == ["id", "session_id", "ordinal", "role", "content", "thinking_text",
                           "timestamp", "has_thinking", "has_tool_use", "content_length",
                           "model", "context_tokens", "output_tokens", "has_context_tokens",
                           "has_output_tokens", "is_system", "source_type", "source_uuid",
                           "is_sidechain", "is_compact_boundary"]
    assert second["token_usage"] == {"input_tokens": 12, "cache_creation_input_tokens": 1500,
                                     "cache_read_input_tokens": 18000, "output_tokens": 180}
    call = second["tool_calls"][0]
    assert call == {
        "tool_name": "Read", "category": "Read", "tool_use_id": "toolu_01READ",
        "input_json": '{"file_path":"/home/dev/projects/webapp/src/auth/login.ts"}',
        "result_content_length": 90,
        "result_events": [{"tool_use_id": "toolu_01READ", "source": "tool_result",
                           "status": "", "content": "", "content_length": 90,
                           "timestamp": "2026-03-02T09:00:07Z", "event_index": 0}],
    }
    codex = api.json(f"/api/v1/sessions/{CODEX}/messages")
    reference = golden("messages-codex.json")["messages"]
    for ours, ref in zip(codex["messages"], reference, strict=True):
        for key in ("ordinal", "role", "content", "timestamp", "model", "token_usage",
                    "context_tokens", "tool_calls", "is_system"):
            assert ours.get(key) == ref.get(key), key


def test_message_paging(api):
    url = f"/api/v1/sessions/{RICH}/messages"
    assert [m["ordinal"] for m in api.json(f"{url}?limit=3")["messages"]] == [0, 1, 3]
    assert [m["ordinal"] for m in api.json(f"{url}?from=5&limit=3")["messages"]] == [5, 7, 9]
    newest = api.json(f"{url}?direction=desc&limit=3")["messages"]
    assert [m["ordinal"] for m in newest] == [19, 17, 16]
    assert [m["ordinal"] for m in api.json(f"{url}?direction=desc&from=0")["messages"]] == [0]
    around = api.json(f"{url}?around=9&before=2&after=1")["messages"]
    assert [m["ordinal"] for m in around] == [5, 7, 9, 11]
    for query, error in (("direction=sideways", "query.direction: sideways"),
                         ("limit=1001", "query.limit: 1001"), ("from=-1", "query.from: -1"),
                         ("around=3&from=1", "cannot be combined with around")):
        response = api.get(f"{url}?{query}")
        assert response.status_code == 400 and error in orjson.loads(response.content)["error"]


def test_tool_calls_children_and_exports(api):
    calls = api.json(f"/api/v1/sessions/{RICH}/tool-calls")
    assert calls["count"] == 7
    task = next(c for c in calls["tool_calls"] if c["tool_name"] == "Task")
    assert task == {"ordinal": 5, "timestamp": "2026-03-02T09:00:40Z", "tool_use_id":
                    "toolu_03TASK", "tool_name": "Task", "category": "Task",
                    "input_json": task["input_json"], "subagent_session_id": "agent-a1b2c3d",
                    "result_length": 68}
    children = api.json(f"/api/v1/sessions/{RICH}/children")
    assert [c["id"] for c in children] == ["agent-a1b2c3d"]
    assert api.json(f"/api/v1/sessions/{CODEX}/children")[0]["relationship_type"] == "subagent"
    md = api.get(f"/api/v1/sessions/{RICH}/md")
    assert md.status_code == 200 and md["Content-Type"] == "text/markdown; charset=utf-8"
    assert md.content.decode().startswith("# Session: webapp\n")
    assert md["Content-Disposition"] == 'inline; filename="webapp-20260302.md"'
    deep = api.get(f"/api/v1/sessions/{RICH}/md?depth=all").content.decode()
    assert '<subagent_session id="agent-a1b2c3d"' in deep
    assert api.get(f"/api/v1/sessions/{RICH}/md?depth=2").status_code == 400
    page = api.get(f"/api/v1/sessions/{RICH}/export")
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert page["Content-Disposition"] == 'attachment; filename="webapp-20260302.html"'
    assert b"<script" not in page.content


def test_search_hits_and_errors(api):
    data = api.json("/api/v1/search?q=redirect")
    ids = [r["session_id"] for r in data["results"]]
    assert RICH in ids and "agent-a1b2c3d" in ids
    hit = next(r for r in data["results"] if r["session_id"] == RICH)
    assert "<mark>redirect</mark>" in hit["snippet"].lower()
    assert hit["name"] == "Login redirect fix"
    assert api.json("/api/v1/search?q=redirect&project=api_server")["results"] == []
    # every term in the same message: "npm test" and "passes" share one Codex row only
    two = api.json('/api/v1/search?q="npm test" passes')
    assert [r["session_id"] for r in two["results"]] == [CODEX]
    assert api.json('/api/v1/search?q="npm test" READMEE')["results"] == []  # two messages
    assert api.json("/api/v1/search?q=zzzznotthere")["results"] == []
    assert api.json("/api/v1/search", 400) == {
        "error": "required query parameter is missing (query.q: )"}
    page = api.json("/api/v1/search?q=e&limit=1")
    assert page["count"] == 1 and page["next"] == 1


def test_stats_projects_agents_machines(api):
    stats = api.json("/api/v1/stats")
    assert set(stats) == {"session_count", "message_count", "project_count", "machine_count",
                          "earliest_session"}
    listed = api.json("/api/v1/sessions")["total"]
    assert stats["session_count"] == listed
    projects = api.json("/api/v1/projects?include_one_shot=true")["projects"]
    assert [p["name"] for p in projects] == sorted(p["name"] for p in projects)
    listed_agents = api.json("/api/v1/agents?include_one_shot=true")["agents"]
    agents = {a["name"]: a["session_count"] for a in listed_agents}
    assert set(agents) == {"claude", "codex"}
    assert {a["name"]: a["display_name"] for a in listed_agents} == {
        "claude": "Claude Code", "codex": "Codex"}
    machines = api.json("/api/v1/machines")
    assert machines["machines"] == ["test-machine"]


def test_session_agents_lists_every_agent_by_key_and_display_name(shared, client, settings):
    from io import StringIO

    from django.core.management import call_command

    from sessions_app.parsers.registry import AGENTS

    settings.AGENTSVIEW_API_DATABASE = "default"
    out = StringIO()
    call_command("session", "agents", "--format", "json", stdout=out)
    assert orjson.loads(out.getvalue()) == Api(client).json(
        "/api/v1/agents?include_one_shot=true&include_automated=true")
    human = StringIO()
    call_command("session", "agents", stdout=human)
    header, *lines = human.getvalue().splitlines()
    assert header.split() == ["AGENT", "NAME", "SESSIONS"]
    rows = {line.split()[0]: line for line in lines}
    assert list(rows) == list(AGENTS)  # every agent, those without sessions too
    assert "Claude Code" in rows["claude"] and rows["claude"].split()[-1] != "0"
    assert "VS Code Copilot" in rows["vscode-copilot"]
    assert rows["vscode-copilot"].split()[-1] == "0"


def test_every_write_method_on_every_route_is_refused(api):
    before = (Session.objects.using("default").count(), Message.objects.using("default").count())
    routes = ["/api/ping", "/api/v1/version", "/api/v1/sessions", f"/api/v1/sessions/{RICH}",
              f"/api/v1/sessions/{RICH}/messages", f"/api/v1/sessions/{RICH}/tool-calls",
              f"/api/v1/sessions/{RICH}/children", f"/api/v1/sessions/{RICH}/export",
              f"/api/v1/sessions/{RICH}/md", f"/api/v1/sessions/{RICH}/watch",
              "/api/v1/search", "/api/v1/stats", "/api/v1/projects", "/api/v1/agents",
              "/api/v1/machines", "/api/v1/sync", f"/api/v1/sessions/{RICH}/star"]
    unknown = {"/api/v1/sync", f"/api/v1/sessions/{RICH}/star"}  # no such route: 404
    for route in routes:
        for method in ("post", "put", "patch", "delete"):
            response = getattr(api.client, method)(route, HTTP_HOST="127.0.0.1")
            expected = 404 if route in unknown else 405
            assert response.status_code == expected, (method, route, response.status_code)
            assert "error" in orjson.loads(response.content)
    after = (Session.objects.using("default").count(), Message.objects.using("default").count())
    assert after == before


def test_list_and_messages_need_a_fixed_number_of_queries(api, settings,
                                                         django_assert_num_queries):
    served = connections[settings.AGENTSVIEW_API_DATABASE]  # the database the request reads
    with django_assert_num_queries(2, connection=served):  # count, page
        api.json("/api/v1/sessions?limit=500&include_one_shot=true")
    with django_assert_num_queries(4, connection=served):  # exists, messages, calls, events
        api.json(f"/api/v1/sessions/{RICH}/messages")


def test_times_are_rfc3339_utc(api):
    session = api.json(f"/api/v1/sessions/{RICH}")
    for key in ("started_at", "ended_at", "created_at"):
        assert session[key].endswith("Z")
        datetime.fromisoformat(session[key])
    assert session["started_at"] == "2026-03-02T09:00:00.5Z"


def test_search_keeps_repeated_parameters(api):
    both = api.json("/api/v1/search?q=e&project=webapp&project=api_server&limit=500")
    assert {r["project"] for r in both["results"]} == {"webapp", "api_server"}


def test_unknown_api_paths_are_404_for_every_method(api):
    for method in ("get", "post", "put", "patch", "delete", "options"):
        response = getattr(api.client, method)("/api/v1/nothing-here", HTTP_HOST="127.0.0.1")
        assert response.status_code == 404, method


def test_cursors_are_deterministic(api):
    first = api.json("/api/v1/sessions?include_one_shot=true&limit=2")["next_cursor"]
    import time

    time.sleep(1.1)
    assert api.json("/api/v1/sessions?include_one_shot=true&limit=2")["next_cursor"] == first
