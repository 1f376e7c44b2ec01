"""The admin of the sessions and tombstones, through Django's test client, on the real shared
PostgreSQL (the database ``pg serve`` gives the admin; accounts stay in ``default``): who may
reach it, what each action does and logs, and a bounded number of queries per page whatever
the number of sessions."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from agentsview import admin_site
from sessions_app.admin import SessionAdmin
from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, Tombstone, ToolCall, ToolResultEvent
from tests.factories import T0, MessageFactory, SessionFactory, ToolCallFactory

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CHILD = "agent-a1b2c3d"
SESSIONS = "/admin/sessions_app/session/"
TOMBSTONES = "/admin/sessions_app/tombstone/"
PASSWORD = "s3cret-pass-for-tests"


class PgSessionFactory(SessionFactory):
    class Meta:
        database = "pg"


class PgMessageFactory(MessageFactory):
    class Meta:
        database = "pg"


class PgToolCallFactory(ToolCallFactory):
    class Meta:
        database = "pg"


@pytest.fixture
def on_pg(settings):
    settings.AGENTSVIEW_API_DATABASE = "pg"  # as under pg serve


@pytest.fixture
def pushed(archive, on_pg):
    call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    return archive


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def admin(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


def action(client: Client, name: str, ids: list[str], url: str = SESSIONS, **extra):
    return client.post(url, {"action": name, "_selected_action": ids, **extra})


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def pg_ids() -> set[str]:
    return set(Session.objects.using("pg").values_list("id", flat=True))


# --- who may reach it -----------------------------------------------------------------------


def test_anonymous_non_staff_and_tokens_never_reach_the_admin(pushed, settings):
    settings.AGENTSVIEW_REQUIRE_AUTH = True
    settings.AGENTSVIEW_AUTH_TOKEN = "server-token"
    users = get_user_model().objects
    staff = users.create_user("staff", password=PASSWORD, is_staff=True, is_superuser=True)
    users.create_user("alice", password=PASSWORD)
    person = Token.objects.create(user=staff)
    browser = Client()
    for path in ("/admin/", SESSIONS, f"{SESSIONS}{RICH}/change/", TOMBSTONES,
                 "/admin/sync_app/pushmarker/"):
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer server-token"},
                        {"HTTP_AUTHORIZATION": f"Bearer {person.key}"}):
            response = browser.get(path, **headers)
            assert response.status_code == 302, (path, headers)
            assert response["Location"].startswith("/admin/login/?next=")
    # an action posted without an admin login changes nothing
    response = action(browser, "delete_permanently", [RICH], post="yes",
                      HTTP_AUTHORIZATION=f"Bearer {person.key}")
    assert response.status_code == 302 and RICH in pg_ids()
    # the dashboard's sign-in, even a staff member's, is not the admin's login
    assert browser.post("/login", {"username": "staff", "password": PASSWORD}).status_code == 302
    assert browser.get("/").status_code == 200
    assert browser.get(SESSIONS).status_code == 302
    # a valid account that is not staff cannot sign in to the admin
    refused = browser.post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 200 and b"staff account" in refused.content
    assert browser.get(SESSIONS).status_code == 302
    signed = browser.post("/admin/login/?next=/admin/", {"username": "staff",
                                                           "password": PASSWORD})
    assert signed.status_code == 302 and browser.get(SESSIONS).status_code == 200


def test_staff_without_permissions_sees_nothing_and_changes_nothing(pushed):
    clerk = get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True)
    browser = Client()
    browser.force_login(clerk)
    assert browser.get(SESSIONS).status_code == 403
    assert action(browser, "move_to_trash", [RICH]).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_session",
                                                      content_type__app_label="sessions_app"))
    browser.force_login(get_user_model().objects.get(pk=clerk.pk))
    page = browser.get(SESSIONS)
    assert page.status_code == 200
    assert b"move_to_trash" not in page.content and b"delete_permanently" not in page.content
    assert not Session.objects.using("pg").filter(deleted_at__isnull=False).exists()


def test_admin_sign_in_is_slowed_down_after_ten_failures(db):
    browser = Client()
    for _ in range(10):
        assert browser.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 200
    blocked = browser.post("/admin/login/", {"username": "x", "password": "y"})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0


# --- the list and the detail --------------------------------------------------------------------


def test_the_list_filters_and_searches(pushed, admin):
    page = admin.get(SESSIONS)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Login redirect fix" in text and RICH in text
    assert page.context["cl"].list_display[1:] == [
        "name", "machine", "agent", "project", "started_at", "message_count", "health_grade",
        "outcome", "trashed"]
    count = Session.objects.using("pg").count()
    assert f"{count} sessions" in text
    codex = admin.get(SESSIONS + "?agent=codex").context["cl"].result_list
    assert {s.agent for s in codex} == {"codex"} and codex
    assert {s.id for s in admin.get(SESSIONS + "?q=login+redirect").context["cl"].result_list} \
        == {RICH, CHILD}
    assert [s.id for s in admin.get(SESSIONS + f"?q={RICH[:13]}").context["cl"].result_list] \
        == [RICH]
    webapp = admin.get(SESSIONS + "?project=webapp").context["cl"].result_list
    assert {s.id for s in webapp} == {RICH, CHILD}
    Session.objects.using("pg").filter(pk=RICH).update(deleted_at=Session.objects.using(
        "pg").get(pk=RICH).started_at)
    assert [s.id for s in admin.get(SESSIONS + "?trashed=yes").context["cl"].result_list] \
        == [RICH]


def test_the_detail_is_read_only_and_pages_messages_and_tool_calls(on_pg, admin):
    session = PgSessionFactory(id="long", message_count=120)
    for ordinal in range(120):
        PgMessageFactory(session=session, ordinal=ordinal, content=f"message number {ordinal}")
    for index in range(60):
        PgToolCallFactory(session=session, message_ordinal=index, tool_name=f"Tool{index}")
    page = admin.get(f"{SESSIONS}long/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Messages 1–50 of 120" in text and "message number 49<" in text
    assert "message number 50<" not in text and "?messages_from=50" in text
    assert "Tool calls 1–50" in text and "Tool49" in text and "?tools_from=50" in text
    assert 'name="_save"' not in text  # nothing to edit
    last = admin.get(f"{SESSIONS}long/change/?messages_from=100&tools_from=50").content.decode()
    assert "Messages 101–120 of 120" in last and "message number 119<" in last
    assert "Tool59" in last and "Tool0<" not in last
    assert admin.post(f"{SESSIONS}long/change/", {"project": "x"}).status_code == 403
    assert admin.get(f"{SESSIONS}long/delete/").status_code == 403


# --- bounded queries, whatever the number of sessions ----------------------------------------


def queries(client: Client, method: str, path: str, data=None) -> tuple[int, object]:
    with CaptureQueriesContext(connections["default"]) as local, \
            CaptureQueriesContext(connections["pg"]) as shared:
        response = getattr(client, method)(path, data) if data else getattr(client, method)(
            path)
    assert response.status_code == 200, (path, response.status_code)
    for query in shared.captured_queries:  # a count of sessions never walks the whole table
        if re.match(r'SELECT COUNT\(\*\) .*FROM \(SELECT .* FROM "sessions"|SELECT COUNT\(\*\)'
                    r' AS "__count" FROM "sessions"', query["sql"]):
            assert "LIMIT" in query["sql"], query["sql"]
    return len(local) + len(shared), response


def populate(first: int, last: int) -> None:
    """Sessions s<first>..s<last - 1>; s0000 gets 120 messages and 60 tool calls, a child
    and a tombstone."""
    for index in range(first, last):
        PgSessionFactory(id=f"s{index:04d}", machine=f"m{index % 3}", project=f"p{index % 4}",
                         message_count=2)
        Message.objects.using("pg").bulk_create(
            [Message(session_id=f"s{index:04d}", ordinal=o, role="user", content="hi")
             for o in range(120 if index == 0 else 2)])
    if first == 0:
        Session.objects.using("pg").filter(pk="s0000").update(message_count=120)
        ToolCall.objects.using("pg").bulk_create(
            [ToolCall(session_id="s0000", message_ordinal=o, tool_name="Bash", category="Bash")
             for o in range(60)])
        PgSessionFactory(id="child-of-s0000", parent_session_id="s0000")
        Tombstone.objects.using("pg").create(session_id="gone", kind=TombstoneKind.DELETED,
                                             created_at=T0)


PAGES = [
    ("get", SESSIONS, None),
    ("get", SESSIONS + "?machine=m1&project=p1&trashed=no"
                       "&started_at__gte=2000-01-01T00:00:00%2B00:00", None),
    ("get", SESSIONS + "?q=prompt&o=5", None),
    ("get", SESSIONS + "?p=2", None),
    ("get", f"{SESSIONS}s0000/change/", None),
    ("get", f"{SESSIONS}s0000/change/?messages_from=50&tools_from=50", None),
    ("get", TOMBSTONES, None),
    ("get", "/admin/sync_app/pushmarker/", None),
    ("post", SESSIONS, {"action": "delete_permanently", "_selected_action": ["s0000", "s0001"]}),
    ("post", SESSIONS, {"action": "redact_text", "_selected_action": ["s0000", "s0001"]}),
]


def test_every_page_costs_the_same_queries_whatever_the_row_count(on_pg, admin, monkeypatch):
    monkeypatch.setattr(admin_site, "COUNT_CAP", 30)  # past it, the planner estimates
    monkeypatch.setattr(SessionAdmin, "list_per_page", 10)
    populate(0, 35)
    for method, path, data in PAGES:  # warm the caches (content types, templates)
        queries(admin, method, path, data)
    small = {f"{m} {p}": queries(admin, m, p, d)[0] for m, p, d in PAGES}
    populate(35, 150)
    large = {f"{m} {p}": queries(admin, m, p, d)[0] for m, p, d in PAGES}
    assert large == small
    assert max(large.values()) <= 10, large
    _, listing = queries(admin, "get", SESSIONS)
    assert "about " in listing.content.decode()  # past the cap: the planner's estimate


# --- actions --------------------------------------------------------------------------------


def test_trash_and_restore_are_logged_and_kept_by_tombstones(pushed, admin, root):
    response = action(admin, "move_to_trash", [RICH])
    assert response.status_code == 302
    trashed = Session.objects.using("pg").filter(deleted_at__isnull=False)
    assert set(trashed.values_list("id", flat=True)) == {RICH, CHILD}
    stones = Tombstone.objects.using("pg").filter(kind=TombstoneKind.TRASHED)
    assert set(stones.values_list("session_id", flat=True)) == {RICH, CHILD}
    assert set(stones.values_list("created_by", flat=True)) == {"root"}
    entries = LogEntry.objects.filter(action_flag=CHANGE, user=root)
    assert {(e.object_id, e.change_message) for e in entries} == {
        (RICH, "Moved to the trash"), (CHILD, "Moved to the trash")}
    assert "Moved 2 session(s) to the trash" in " ".join(
        messages_of(admin.get(SESSIONS)))

    action(admin, "restore_from_trash", [RICH])
    assert not Session.objects.using("pg").filter(deleted_at__isnull=False).exists()
    assert not Tombstone.objects.using("pg").exists()
    assert LogEntry.objects.filter(change_message="Restored from the trash").count() == 2


def test_delete_permanently_confirms_with_the_children_then_deletes_and_logs(pushed, admin,
                                                                              root):
    before = pg_ids()
    confirm = action(admin, "delete_permanently", [RICH])
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "2 session(s)</strong>" in text and "16 message(s)" in text
    assert RICH in text and CHILD in text and f"<td>{RICH}</td>" in text  # goes with its parent
    assert RICH in pg_ids()  # nothing yet
    done = action(admin, "delete_permanently", [RICH], post="yes")
    assert done.status_code == 302
    assert pg_ids() == before - {RICH, CHILD}
    for model in (Message, ToolCall, ToolResultEvent):
        assert not model.objects.using("pg").filter(session_id__in=[RICH, CHILD]).exists()
    stones = {t.session_id: t for t in Tombstone.objects.using("pg").all()}
    assert set(stones) == {RICH, CHILD} and stones[CHILD].taken_with == RICH
    assert {t.kind for t in stones.values()} == {TombstoneKind.DELETED}
    assert {t.created_by for t in stones.values()} == {"root"}
    assert set(LogEntry.objects.filter(action_flag=DELETION, user=root)
               .values_list("object_id", flat=True)) == {RICH, CHILD}
    assert "Deleted 2 session(s) permanently (1 along with their parent, 16 messages)" in " ".join(
        messages_of(admin.get(SESSIONS)))


def test_delete_permanently_across_every_page_of_a_filter(pushed, admin):
    before = pg_ids()
    codex = set(Session.objects.using("pg").filter(agent="codex").values_list("id", flat=True))
    url = SESSIONS + "?agent=codex"
    confirm = action(admin, "delete_permanently", [next(iter(codex))], url=url,
                     select_across="1")
    assert confirm.status_code == 200
    assert 'name="select_across" value="1"' in confirm.content.decode()
    action(admin, "delete_permanently", [next(iter(codex))], url=url, select_across="1",
           post="yes")
    assert pg_ids() == before - codex


def test_redact_replaces_the_text_everywhere_counts_and_never_logs_it(pushed, admin, client):
    secret = "regression test for the redirect guard"
    hits = client.get(f"/api/v1/search?q={secret}").json()["results"]
    assert {h["session_id"] for h in hits} == {RICH}
    form = action(admin, "redact_text", [RICH, CHILD])
    assert form.status_code == 200 and b'name="text"' in form.content
    assert b"2 selected session(s)" in form.content
    refused = action(admin, "redact_text", [RICH], apply="yes", text="RED",
                     replacement="[REDACTED]")
    assert refused.status_code == 200 and b"The replacement contains the text" in refused.content
    done = action(admin, "redact_text", [RICH, CHILD], apply="yes", text=secret,
                  replacement="[REDACTED]")
    assert done.status_code == 302
    note = " ".join(messages_of(admin.get(SESSIONS)))
    found = re.search(r"Replaced (\d+) occurrence\(s\) in 1 session\(s\)", note)
    assert found and int(found.group(1)) >= 1
    assert client.get(f"/api/v1/search?q={secret}").json()["results"] == []
    texts = " ".join(Message.objects.using("pg").filter(session_id=RICH)
                     .values_list("content", flat=True))
    assert secret not in texts and "[REDACTED]" in texts
    stone = Tombstone.objects.using("pg").get(session_id=RICH)
    assert stone.kind == TombstoneKind.REDACTED and stone.content_digest
    entry = LogEntry.objects.get(action_flag=CHANGE)
    assert entry.object_id == RICH and secret not in entry.change_message
    assert entry.change_message == f"Redacted a text of {len(secret)} characters"
    nothing = action(admin, "redact_text", [RICH], apply="yes", text=secret,
                     replacement="[REDACTED]")
    assert nothing.status_code == 302
    assert "not found" in " ".join(messages_of(admin.get(SESSIONS)))


def test_tombstones_are_listed_and_can_be_forgotten(pushed, admin, root):
    action(admin, "delete_permanently", [RICH], post="yes")
    listing = admin.get(TOMBSTONES).content.decode()
    assert RICH in listing and CHILD in listing and "root" in listing
    stone = Tombstone.objects.using("pg").get(session_id=CHILD)
    action(admin, "forget", [str(stone.pk)], url=TOMBSTONES)
    assert set(Tombstone.objects.using("pg").values_list("session_id", flat=True)) == {RICH}
    assert LogEntry.objects.filter(action_flag=DELETION, object_id=str(stone.pk)).exists()
    # forgotten: its machine's next push brings it back
    out = StringIO()
    call_command("pg_push", "--no-sync", "--full", stdout=out, stderr=StringIO())
    assert CHILD in pg_ids() and RICH not in pg_ids()
    assert "1 deleted on the server" in out.getvalue()
