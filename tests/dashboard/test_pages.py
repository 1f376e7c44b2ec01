"""Dashboard pages rendered by Django: content, safety, auth, and query counts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.dashboard.hostile import HOSTILE_ID, write_hostile
from tests.sessions_app.api_fixtures import HOST, shared_archive

# The pages only read: one archive for the module, each test in a rolled-back transaction.
pytestmark = pytest.mark.django_db

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=("default",),
                        extra=lambda env: write_hostile(env["claude"])) as env:
        yield env


@pytest.fixture
def site(shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = "default"
    return client


def get(client, path, **extra):
    return client.get(path, HTTP_HOST=HOST, **extra)


def test_sessions_page_lists_filters_and_pages(site):
    page = get(site, "/?include_one_shot=true&limit=2")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<td class="name">') == 2  # the first page of two
    assert 'rel="next"' in html and "cursor=" in html
    assert page["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")
    webapp = get(site, "/?project=webapp&include_one_shot=true").content.decode()
    assert "Login redirect fix" in webapp and "healthz" not in webapp
    bad = get(site, "/?date=2026-99-99").content.decode()
    assert "expected a date YYYY-MM-DD (query.date: 2026-99-99)" in bad


def test_the_agent_select_shows_display_names_and_sends_keys(site):
    for path in ("/?agent=codex", "/analytics?agent=codex"):
        html = get(site, path).content.decode()
        assert '<option value="claude">Claude Code (' in html, path
        assert '<option value="codex" selected>Codex (' in html, path


def test_session_page_shows_header_messages_tools_and_links(site):
    html = get(site, f"/sessions/{RICH}").content.decode()
    assert "<h1>Login redirect fix</h1>" in html
    assert 'id="m19"' in html and 'id="m2"' not in html  # ordinals keep their gaps
    assert '<details class="thinking">' in html
    assert "toolu_" not in html  # tool calls show their names, not the agent's call ids
    assert '<span class="tool-name">Bash</span>' in html
    assert '/sessions/agent-a1b2c3d"' in html  # subagent link from the Task call
    child = get(site, "/sessions/agent-a1b2c3d").content.decode()
    assert f'/sessions/{RICH}"' in child  # and back to the parent
    assert "/api/v1/sessions/7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b/export" in html
    assert get(site, "/sessions/nope").status_code == 404


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser would build them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_hostile_transcript_is_inert(site):
    html = get(site, f"/sessions/{HOSTILE_ID}").content.decode()
    parsed = Elements()
    parsed.feed(html)
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert scripts == [{"src": "/static/dashboard/app.js", "defer": None}]  # only our own
    assert not [tag for tag, _ in parsed.tags if tag in ("img", "iframe", "object", "embed")]
    for tag, attrs in parsed.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    assert "&lt;script&gt;window.__pwned = 1" in html  # shown, as text


def test_search_page_links_to_the_message(site):
    html = get(site, "/search?q=redirect").content.decode()
    assert "<mark>" in html
    assert f"/sessions/{RICH}?around=" in html and "#m" in html
    around = get(site, f"/sessions/{RICH}?around=12").content.decode()
    assert 'id="m12"' in around


def test_fragment_of_new_messages(site):
    response = get(site, f"/sessions/{RICH}/more?from=16")
    assert response["X-Last-Ordinal"] == "19"
    assert 'id="m16"' in response.content.decode() and 'id="m15"' not in \
        response.content.decode()


WINDOW = "from=2024-01-01&to=2026-03-31&include_one_shot=true"


def test_analytics_signals_link_to_the_sessions_they_mark(site):
    html = get(site, f"/analytics?{WINDOW}").content.decode()
    calibration = orjson.loads(get(site, f"/api/v1/analytics/signals?{WINDOW}").content)[
        "calibration"]
    marked = [name for name, entry in calibration.items() if entry["affected_sessions"]]
    assert marked  # the fixture archive has sessions with signals
    for name in calibration:
        link = f'data-signal="{name}"'
        assert (link in html) == (name in marked), name
    name = marked[0]
    listed = orjson.loads(get(site, f"/api/v1/analytics/signal-sessions?{WINDOW}"
                                    f"&signal={name}").content)
    signal = get(site, f"/analytics/signal?{WINDOW}&signal={name}")
    body = signal.content.decode()
    assert signal.status_code == 200
    assert f'{listed["total"]} session' in body
    for session in listed["sessions"]:
        assert f'/sessions/{session["id"]}"' in body
    assert "/analytics?from=2024-01-01&amp;to=2026-03-31&amp;include_one_shot=true" in body
    bad = get(site, f"/analytics/signal?{WINDOW}&signal=tool_failures")
    assert bad.status_code == 400 and "unsupported signal" in bad.content.decode()


def test_no_n_plus_one(site, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # count, page, projects, agents, machines
        get(site, "/?include_one_shot=true&include_children=true")
    with django_assert_max_num_queries(10):
        get(site, f"/sessions/{RICH}")
    with django_assert_max_num_queries(3):  # count, page (and the session of the auth check)
        get(site, f"/analytics/signal?{WINDOW}&signal=short_prompt_count")


def test_sign_in_when_auth_is_on(site, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    assert get(site, "/").status_code == 302
    assert get(site, "/")["Location"].startswith("/login?next=")
    wrong = site.post("/login", {"token": "nope", "next": "/"}, HTTP_HOST=HOST)
    assert wrong.status_code == 401 and b"not valid" in wrong.content
    ok = site.post("/login", {"token": "server-token", "next": f"/sessions/{RICH}"},
                   HTTP_HOST=HOST)
    assert ok.status_code == 302 and ok["Location"] == f"/sessions/{RICH}"
    assert get(site, "/").status_code == 200
    # the page's own API calls ride the same sign-in
    assert get(site, f"/api/v1/sessions/{RICH}").status_code == 200
    site.get("/logout", HTTP_HOST=HOST)
    assert get(site, "/").status_code == 302


def test_sign_in_with_a_person_token_or_an_account(site, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    user = get_user_model().objects.create_user("alice", password="s3cret-pass")
    token = Token.objects.create(user=user)
    assert site.post("/login", {"token": token.key}, HTTP_HOST=HOST).status_code == 302
    site.get("/logout", HTTP_HOST=HOST)
    assert site.post("/login", {"username": "alice", "password": "wrong"},
                     HTTP_HOST=HOST).status_code == 401
    assert site.post("/login", {"username": "alice", "password": "s3cret-pass"},
                     HTTP_HOST=HOST).status_code == 302
    assert get(site, "/").status_code == 200


def test_sign_in_never_redirects_off_site(site, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    response = site.post("/login", {"token": "server-token", "next": "https://evil.example/"},
                         HTTP_HOST=HOST)
    assert response["Location"] == "/"


def signed_in(cookie: str, settings) -> bool:
    """Whether a browser holding this session cookie reads the pages and the API."""
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = cookie
    page = get(browser, "/")
    api = get(browser, f"/api/v1/sessions/{RICH}")
    assert (page.status_code, api.status_code) in ((200, 200), (302, 401)), (page, api)
    if page.status_code == 302:
        assert page["Location"].startswith("/login?next=")
    return page.status_code == 200


def sign_in(settings, **form) -> str:
    """A fresh browser's sign-in; returns its session cookie."""
    browser = Client()
    assert browser.post("/login", form, HTTP_HOST=HOST).status_code == 302
    return browser.cookies[settings.SESSION_COOKIE_NAME].value


def test_revoking_the_token_or_deactivating_the_user_ends_the_sign_in(site, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    user = get_user_model().objects.create_user("alice", password="s3cret-pass")
    token = Token.objects.create(user=user)
    cookie = sign_in(settings, token=token.key)
    assert signed_in(cookie, settings)
    token.delete()  # agentsview token revoke alice
    assert not signed_in(cookie, settings)
    Token.objects.create(user=user)  # a new token for alice does not revive the old sign-in
    assert not signed_in(cookie, settings)

    cookie = sign_in(settings, token=Token.objects.get(user=user).key)
    user.is_active = False
    user.save()
    assert not signed_in(cookie, settings)
    user.is_active = True
    user.save()
    assert signed_in(cookie, settings)

    cookie = sign_in(settings, username="alice", password="s3cret-pass")
    user.is_active = False
    user.save()
    assert not signed_in(cookie, settings)
    user.is_active = True
    user.save()
    assert signed_in(cookie, settings)
    user.set_password("changed-pass")
    user.save()
    assert not signed_in(cookie, settings)


def test_a_new_server_token_ends_the_sign_ins_made_with_the_old_one(site, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    cookie = sign_in(settings, token="server-token")
    assert signed_in(cookie, settings)
    settings.AGENTSVIEW_AUTH_TOKEN = "rotated-token"
    assert not signed_in(cookie, settings)


def test_a_cookie_kept_from_before_sign_out_is_refused(site, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    assert site.post("/login", {"token": "server-token"}, HTTP_HOST=HOST).status_code == 302
    kept = site.cookies[settings.SESSION_COOKIE_NAME].value
    other = sign_in(settings, token="server-token")  # another browser, same token
    assert signed_in(kept, settings)
    site.get("/logout", HTTP_HOST=HOST)
    assert get(site, "/").status_code == 302
    assert not signed_in(kept, settings)
    assert signed_in(other, settings)  # signing out ends this sign-in only


def test_ten_failed_sign_ins_within_a_minute_then_429(site, settings, monkeypatch):
    from agentsview import access

    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    get_user_model().objects.create_user("alice", password="s3cret-pass")
    now = [5_000.0]
    monkeypatch.setattr(access, "clock", lambda: now[0])
    for i in range(10):
        form = {"token": f"guess-{i}"} if i % 2 else {"username": "alice", "password": "x"}
        assert site.post("/login", form, HTTP_HOST=HOST).status_code == 401
    for form in ({"token": "server-token"}, {"username": "alice", "password": "s3cret-pass"}):
        blocked = site.post("/login", form, HTTP_HOST=HOST)
        assert blocked.status_code == 429 and blocked["Retry-After"] == "60"
        assert b"Too many failed sign-ins" in blocked.content
    assert get(site, "/").status_code == 302  # not signed in
    # the API's bearer tokens count against the same address
    api = get(site, "/api/v1/stats", HTTP_AUTHORIZATION="Bearer server-token")
    assert api.status_code == 429
    now[0] += 60
    assert site.post("/login", {"token": "server-token"}, HTTP_HOST=HOST).status_code == 302


def test_a_session_page_links_the_pages_before_and_after_it(db, client, settings,
                                                              monkeypatch):
    """Prev and next point at the starts of the neighbouring windows, over gaps in the
    ordinals; the first page has no prev, the last no next."""
    from sessions_app.pages import views
    from tests.factories import MessageFactory, SessionFactory

    settings.AGENTSVIEW_API_DATABASE = "default"
    monkeypatch.setattr(views, "MESSAGES_PER_PAGE", 3)
    session = SessionFactory(id="gappy", message_count=8)
    for ordinal in (0, 1, 4, 5, 6, 9, 10, 12):  # gaps: records shown elsewhere
        MessageFactory(session=session, ordinal=ordinal, content=f"message {ordinal}")

    def links(query: str) -> tuple[list[str], list[str]]:
        html = get(client, f"/sessions/gappy{query}").content.decode()
        shown = [o for o in ("0", "1", "4", "5", "6", "9", "10", "12")
                 if f"message {o}<" in html]
        return shown, sorted(set(re.findall(r'href="\?from=(\d+)"', html)), key=int)

    assert links("") == (["0", "1", "4"], ["5"])
    assert links("?from=5") == (["5", "6", "9"], ["0", "10"])
    assert links("?from=6") == (["6", "9", "10"], ["1", "11"])  # next: after the last shown
    assert links("?from=10") == (["10", "12"], ["5"])
