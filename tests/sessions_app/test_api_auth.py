"""Auth, host and subnet guards, and the SSE watch stream."""

from __future__ import annotations

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from agentsview import access
from agentsview.slots import SharedSlots
from sessions_app.filters import SessionFilters
from sessions_app.models import Session
from sessions_app.search import search
from tests.sessions_app.api_fixtures import HOST, Api, load_archive

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
SERVER_TOKEN = "server-token-for-tests"


@pytest.fixture
def secured(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = SERVER_TOKEN
    return Api(client)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_without_a_token_every_api_route_is_401(secured):
    for route in ("/api/ping", "/api/schema/", "/api/v1/sessions", f"/api/v1/sessions/{RICH}",
                  f"/api/v1/sessions/{RICH}/messages", "/api/v1/search?q=x", "/api/v1/stats",
                  f"/api/v1/sessions/{RICH}/watch"):
        response = secured.get(route)
        assert response.status_code == 401, route
        assert response["WWW-Authenticate"] == 'Bearer realm="agentsview"'
        if route != "/api/schema/":  # the schema view answers in its own media type
            assert "error" in orjson.loads(response.content)


@pytest.mark.django_db
def test_server_token_and_wrong_tokens(secured):
    assert secured.get("/api/v1/sessions", **bearer(SERVER_TOKEN)).status_code == 200
    wrong = secured.get("/api/v1/sessions", **bearer("nope"))
    assert wrong.status_code == 401
    assert orjson.loads(wrong.content) == {"error": "invalid or revoked token"}
    malformed = secured.get("/api/v1/sessions", HTTP_AUTHORIZATION="Basic abc")
    assert malformed.status_code == 401
    assert "Bearer <token>" in orjson.loads(malformed.content)["error"]


@pytest.mark.django_db
def test_person_tokens_work_until_revoked(secured):
    user = get_user_model().objects.create_user("alice")
    token = Token.objects.create(user=user)
    assert secured.get("/api/v1/stats", **bearer(token.key)).status_code == 200
    user.is_active = False
    user.save()
    assert secured.get("/api/v1/stats", **bearer(token.key)).status_code == 401
    user.is_active = True
    user.save()
    token.delete()  # revoked
    assert secured.get("/api/v1/stats", **bearer(token.key)).status_code == 401


@pytest.mark.django_db
def test_query_token_only_on_watch(secured, settings):
    settings.AGENTSVIEW_SSE_POLL_SECONDS = 0.01
    assert secured.get(f"/api/v1/sessions?token={SERVER_TOKEN}").status_code == 401
    response = secured.get(f"/api/v1/sessions/{RICH}/watch?token={SERVER_TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert next(iter(response.streaming_content)) == f"event: session_ready\ndata: {RICH}\n\n" \
        .encode()
    response.close()


@pytest.mark.django_db
def test_no_auth_on_loopback_by_default(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    api = Api(client)
    assert api.get("/api/v1/sessions").status_code == 200
    # with auth off a stale or odd header changes nothing
    assert api.get("/api/v1/sessions", **bearer("stale")).status_code == 200
    assert api.get("/api/v1/sessions", HTTP_AUTHORIZATION="Basic x").status_code == 200


@pytest.mark.django_db
def test_unknown_host_is_403_with_the_fix(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    response = client.get("/api/ping", HTTP_HOST="evil.example.com")
    assert response.status_code == 403
    assert "--public-url" in orjson.loads(response.content)["error"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "team.example.com"]
    assert client.get("/api/ping", HTTP_HOST="team.example.com").status_code == 200


@pytest.mark.django_db
def test_allowed_subnets(agent_env, settings):
    load_archive(agent_env, "default", settings)
    settings.AGENTSVIEW_ALLOWED_SUBNETS = ["10.0.0.0/8"]
    outside = Client(REMOTE_ADDR="127.0.0.1")
    assert outside.get("/api/ping", HTTP_HOST="127.0.0.1").status_code == 403
    inside = Client(REMOTE_ADDR="10.1.2.3")
    assert inside.get("/api/ping", HTTP_HOST="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_watch_sends_updates_and_heartbeats(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    settings.AGENTSVIEW_SSE_POLL_SECONDS = 0.01
    settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS = 0.05
    # what a browser's EventSource sends
    response = Api(client).get(f"/api/v1/sessions/{RICH}/watch", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    events = iter(response.streaming_content)
    assert next(events).startswith(b"event: session_ready")
    timing = next(events)  # AgentsView's session.timing after ready and after each change
    assert timing.startswith(b'event: session.timing\ndata: {"session_id":"' + RICH.encode())
    assert orjson.loads(timing.split(b"data: ", 1)[1]) == Api(client).json(
        f"/api/v1/sessions/{RICH}/timing")
    Session.objects.filter(pk=RICH).update(message_count=99)  # what a sync or push does
    received = [next(events) for _ in range(4)]
    assert f"event: session_updated\ndata: {RICH}\n\n".encode() in received
    assert received[received.index(f"event: session_updated\ndata: {RICH}\n\n".encode()) + 1
                    ].startswith(b"event: session.timing\n")
    assert any(e.startswith(b"event: heartbeat\ndata: 20") for e in received)
    response.close()


@pytest.mark.django_db
def test_watch_unknown_session_is_404_before_streaming(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    response = Api(client).get("/api/v1/sessions/nope/watch")
    assert response.status_code == 404
    assert orjson.loads(response.content) == {"error": "session not found: nope"}


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
@pytest.mark.pg
def test_search_gives_the_same_sessions_on_both_databases(agent_env, settings):
    load_archive(agent_env, "pg", settings)  # synced to SQLite, pushed to PostgreSQL
    everything = SessionFilters(include_one_shot=True, include_automated=True,
                                include_children=True)
    queries = ["redirect", "REDIRECT", "login.ts", '"npm test"', "TypeError: Cannot",
               "src auth", "é", "ok", "healthz README", "describe/it", "%", "_x", "zzzz"]
    for q in queries:
        results = {}
        for alias in ("default", "pg"):
            hits, _ = search(q, everything, using=alias, limit=500)
            results[alias] = [(h.session.id, h.ordinal, h.snippet) for h in hits]
        assert results["default"] == results["pg"], q
    assert search("redirect", everything, using="pg", limit=500)[0]


@pytest.mark.django_db
def test_watch_streams_are_bounded(agent_env, settings, client, monkeypatch):
    from sessions_app.api import views

    load_archive(agent_env, "default", settings)
    settings.AGENTSVIEW_SSE_POLL_SECONDS = 0.01
    monkeypatch.setattr(views, "_watch_slots", SharedSlots(1))
    api = Api(client)
    first = api.get(f"/api/v1/sessions/{RICH}/watch")
    next(iter(first.streaming_content))
    second = api.get(f"/api/v1/sessions/{RICH}/watch")
    assert second.status_code == 503 and second["Retry-After"] == "5"
    first.close()  # a closed stream frees its slot
    unread = api.get(f"/api/v1/sessions/{RICH}/watch")
    assert unread.status_code == 200
    unread.close()  # ... and so does one closed before a byte was sent
    third = api.get(f"/api/v1/sessions/{RICH}/watch")
    assert third.status_code == 200
    third.close()


def test_shared_slots_are_counted_across_processes(tmp_path):
    """What lets a server's workers hold its watch streams together: a slot taken in one
    process is taken for the others, and comes back when that process dies."""
    import multiprocessing

    path = tmp_path / "slots"
    here = SharedSlots(2, path)
    assert here.acquire() == 0
    ready, done = multiprocessing.Event(), multiprocessing.Event()
    other = multiprocessing.get_context("fork").Process(
        target=_hold_one_slot, args=(path, ready, done))
    other.start()
    try:
        assert ready.wait(10)
        assert here.acquire() is None  # slot 1 is the other process's
    finally:
        done.set()
        other.join(10)
    assert here.acquire() == 1  # its exit gave it back
    here.release(0)
    assert here.acquire() == 0


def _hold_one_slot(path, ready, done) -> None:
    slots = SharedSlots(2, path)
    assert slots.acquire() == 1
    ready.set()
    done.wait(10)
    # exits without releasing: the kernel drops its locks


SYNC = "/api/v1/sessions/sync"


@pytest.mark.django_db
def test_writes_from_another_site_or_not_json_are_refused(agent_env, settings, client):
    """Any page the user visits may POST to a loopback server without asking first, if the
    body is a form or plain text: it names its own Origin, which is not the server's."""
    load_archive(agent_env, "default", settings)
    settings.CSRF_TRUSTED_ORIGINS = ["https://sessions.example.com"]
    body = orjson.dumps({"id": RICH})

    def sync(content_type="application/json", **headers):
        return client.post(SYNC, body, content_type=content_type, HTTP_HOST=HOST, **headers)

    for headers in ({"HTTP_ORIGIN": "http://evil.example"}, {"HTTP_ORIGIN": "null"},
                    {"HTTP_ORIGIN": "http://127.0.0.1:9999"},
                    {"HTTP_SEC_FETCH_SITE": "cross-site"}):
        for content_type in ("text/plain", "application/json"):
            refused = sync(content_type, **headers)
            assert refused.status_code == 403, (headers, content_type, refused.content)
            assert "cross-site write refused" in orjson.loads(refused.content)["error"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        refused = sync(content_type)
        assert refused.status_code == 415, (content_type, refused.content)
        assert "application/json" in orjson.loads(refused.content)["error"]
    # the server's own pages, a --public-url/--public-origin, and scripts (no Origin)
    assert sync(HTTP_ORIGIN=f"http://{HOST}").status_code == 200
    assert sync(HTTP_ORIGIN="https://sessions.example.com").status_code == 200
    assert sync(HTTP_SEC_FETCH_SITE="same-origin", HTTP_ORIGIN=f"http://{HOST}"
                ).status_code == 200
    assert orjson.loads(sync("application/json; charset=utf-8").content)["id"] == RICH


@pytest.mark.django_db
def test_a_sync_body_with_a_nul_or_nothing_is_a_400_naming_it(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    for body, error in (({"path": "a\x00b"}, "NUL byte not allowed (body.path)"),
                        ({"id": f"{RICH}\x00"}, "NUL byte not allowed (body.id)"),
                        ({}, 'expected a JSON body {"path": ...} or {"id": ...}'),
                        ({"path": "  "}, 'expected a JSON body {"path": ...} or {"id": ...}')):
        response = client.post(SYNC, orjson.dumps(body), content_type="application/json",
                               HTTP_HOST=HOST)
        assert response.status_code == 400, (body, response.content)
        assert orjson.loads(response.content) == {"error": error}


@pytest.mark.django_db
def test_ten_wrong_tokens_within_a_minute_then_429(secured, monkeypatch, access_store):
    now = [1_000.0]
    monkeypatch.setattr(access, "clock", lambda: now[0])
    for i in range(10):
        wrong = secured.get("/api/v1/stats", **bearer(f"guess-{i}"))
        assert wrong.status_code == 401, i
        now[0] += 1
    # the 11th is not even checked, the right token included, until the first ages out
    for token in ("guess-10", SERVER_TOKEN):
        blocked = secured.get("/api/v1/stats", **bearer(token))
        assert blocked.status_code == 429
        assert blocked["Retry-After"] == "50"
        assert "too many wrong tokens" in orjson.loads(blocked.content)["error"]
    watch = secured.get(f"/api/v1/sessions/{RICH}/watch?token=guess-11")
    assert watch.status_code == 429
    # counted per client address
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.get("/api/v1/stats", HTTP_HOST=HOST, **bearer(SERVER_TOKEN)).status_code == 200
    now[0] = 1_060.5  # the first failure is more than a minute old
    assert secured.get("/api/v1/stats", **bearer(SERVER_TOKEN)).status_code == 200
    assert secured.get("/api/v1/stats", **bearer("guess-12")).status_code == 401
    assert secured.get("/api/v1/stats", **bearer(SERVER_TOKEN)).status_code == 429
    # only counts per address are kept, never a token
    stored = b"".join(p.read_bytes() for p in access_store.parent.glob("access.sqlite3*"))
    assert b"guess-" not in stored and SERVER_TOKEN.encode() not in stored


@pytest.mark.django_db
def test_right_tokens_and_missing_ones_are_not_counted(secured):
    for _ in range(15):
        assert secured.get("/api/v1/stats", **bearer(SERVER_TOKEN)).status_code == 200
        assert secured.get("/api/v1/stats").status_code == 401  # no token: nothing guessed
    assert secured.get("/api/v1/stats", **bearer("guess")).status_code == 401
