"""The request guards of agentsview/middleware.py on the real URL configuration: a NUL byte
gets one answer on SQLite and PostgreSQL, and only the forms and the API's own views take
anything but a read."""

from __future__ import annotations

import re

import orjson
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.sessions_app.api_fixtures import (
    BACKENDS,
    HOST,
    Api,
    available_backends,
    shared_archive,
)

pytestmark = pytest.mark.django_db(databases=["default", "pg"])

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
WRITES = ("POST", "PUT", "PATCH", "DELETE", "TRACE")


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=available_backends()) as env:
        yield env


@pytest.fixture(params=BACKENDS)
def api(request, shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = request.param
    return Api(client)


# --- NUL bytes: a 400 naming the parameter, or (in the path) not found ----------------------

NUL_PARAMETERS = [  # (request, the parameter the 400 names): one of each kind of parameter
    ("/api/v1/sessions?project=a%00", "project"),  # comma list
    ("/api/v1/sessions?project=a,b%00c", "project"),
    ("/api/v1/sessions?git_branch=main%00", "git_branch"),  # repeated
    ("/api/v1/sessions?termination=x%00", "termination"),
    ("/api/v1/sessions?timezone=UTC%00", "timezone"),  # typed ones
    ("/api/v1/sessions?limit=5%00", "limit"),
    ("/api/v1/sessions?date=2026-03-02%00", "date"),
    ("/api/v1/sessions?include_one_shot=true%00", "include_one_shot"),
    ("/api/v1/sessions?order_by=recent%00", "order_by"),
    ("/api/v1/sessions?cursor=%00", "cursor"),
    ("/api/v1/sessions?unknown%00=1", "unknown\\x00"),  # even one the API ignores
    ("/api/v1/search?q=a%00", "q"),  # free text
    ("/api/v1/search?q=a&project=a%00", "project"),
    (f"/api/v1/sessions/{RICH}/messages?from=1%00", "from"),
    (f"/api/v1/sessions/{RICH}/md?depth=1%00", "depth"),
    ("/api/v1/analytics/summary?model=m%00", "model"),
    ("/api/v1/analytics/signal-sessions?signal=tool_failures%00", "signal"),
    ("/?project=a%00", "project"),  # the dashboard
    ("/search?q=a%00", "q"),
    ("/analytics?project=a%00", "project"),
    ("/analytics/signal?signal=a%00", "signal"),
    (f"/sessions/{RICH}?from=%00", "from"),
    (f"/sessions/{RICH}/more?from=1%00", "from"),
]
NUL_PATHS = [  # a session id holding a NUL names no session
    "/api/v1/sessions/a%00", f"/api/v1/sessions/{RICH}%00", "/api/v1/sessions/a%00/messages",
    "/api/v1/sessions/a%00/tool-calls", "/api/v1/sessions/a%00/children",
    "/api/v1/sessions/a%00/export", "/api/v1/sessions/a%00/md", "/api/v1/sessions/a%00/watch",
    "/sessions/a%00", "/sessions/a%00/more",
]


@pytest.mark.parametrize(("path", "name"), NUL_PARAMETERS)
def test_a_nul_byte_in_a_parameter_is_a_400_naming_it(api, path, name):
    response = api.get(path)
    assert response.status_code == 400, (path, response.status_code, response.content)
    error = orjson.loads(response.content)["error"]
    assert error.startswith(f"NUL byte not allowed (query.{name}: "), error


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_byte_in_the_path_is_not_found(api, path):
    response = api.get(path)
    assert response.status_code == 404, (path, response.status_code, response.content)
    if path.startswith("/api/"):
        assert orjson.loads(response.content) == {"error": "not found"}


def test_the_same_requests_without_the_nul_still_answer(api):
    assert api.json("/api/v1/sessions?project=a")["sessions"] == []
    assert api.json(f"/api/v1/sessions/{RICH}")["id"] == RICH
    assert api.get(f"/sessions/{RICH}").status_code == 200


# --- methods: only reads reach a page ---------------------------------------------------------


def page_paths() -> list[str]:
    """Every route of agentsview/urls.py outside /api/, the admin and the sign-in forms, with
    a real session id for its converters."""
    paths = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(("api/", "admin/")):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and pattern.name not in ("login", "logout"):
                paths.append("/" + re.sub(r"<(?:\w+:)?\w+>", RICH, route))

    walk(get_resolver().url_patterns, "")
    return paths


def test_the_page_routes_are_found():
    assert set(page_paths()) == {"/", f"/sessions/{RICH}", f"/sessions/{RICH}/more", "/search",
                                 "/analytics", "/analytics/signal", "/usage", "/health/db"}


@pytest.fixture
def browser(shared, settings):
    """A client that checks CSRF tokens as a browser's requests are checked, holding one."""
    settings.AGENTSVIEW_API_DATABASE = "default"
    client = Client(enforce_csrf_checks=True, HTTP_HOST=HOST)
    client.get("/login")
    return client, client.cookies["csrftoken"].value


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("path", page_paths())
def test_every_write_method_and_trace_on_a_page_is_405(browser, path, method):
    client, token = browser
    response = client.generic(method, path, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 405, (method, path, response.status_code)
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert orjson.loads(response.content) == {
        "error": f"method {method} not allowed here"}
    assert Client(HTTP_HOST=HOST).generic(method, path).status_code == 405  # no token either


@pytest.mark.parametrize("path", ["/login", "/logout", "/admin/"])
def test_the_forms_and_the_admin_take_post_but_nothing_else(browser, path):
    client, token = browser
    assert client.post(path, HTTP_X_CSRFTOKEN=token).status_code != 405
    for method in ("PUT", "PATCH", "DELETE", "TRACE"):
        response = client.generic(method, path, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 405, (method, path)
        assert response["Allow"] == "GET, HEAD, OPTIONS, POST"


@pytest.mark.parametrize("method", WRITES)
def test_the_api_answers_its_own_405(browser, method):
    client, token = browser
    response = client.generic(method, "/api/v1/sessions", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 405
    assert orjson.loads(response.content)["error"].endswith("the API is read-only")
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_reads_still_reach_the_pages(browser):
    client, _ = browser
    for path in page_paths():
        assert client.get(path).status_code in (200, 400), path  # signal: 400 without one
        assert client.head(path).status_code in (200, 400), path


# --- messages: built only where used --------------------------------------------------------


def test_a_request_that_uses_no_message_never_builds_their_storage(shared):
    from django.utils.functional import empty

    for path in ("/api/ping", f"/api/v1/sessions/{RICH}", "/"):
        response = Client(HTTP_HOST=HOST).get(path)
        assert response.status_code == 200, path
        assert response.wsgi_request._messages._wrapped is empty, path
        assert "messages" not in response.cookies, path


def test_a_message_added_in_one_request_is_shown_by_the_next():
    from django.contrib import messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.http import HttpResponse
    from django.test import RequestFactory

    from agentsview.middleware import LazyMessageMiddleware

    def add_one(request):
        messages.info(request, "Deleted 2 session(s)")
        assert isinstance(request._messages, FallbackStorage)  # built on use
        return HttpResponse("ok")

    request = RequestFactory().get("/admin/")
    request.session = {}  # the cookie storage takes a short message first
    response = LazyMessageMiddleware(add_one)(request)
    cookie = response.cookies["messages"].value
    assert cookie

    def show(request):
        return HttpResponse(" ".join(str(m) for m in messages.get_messages(request)))

    later = RequestFactory().get("/admin/")
    later.COOKIES["messages"] = cookie
    later.session = {}
    assert LazyMessageMiddleware(show)(later).content == b"Deleted 2 session(s)"
