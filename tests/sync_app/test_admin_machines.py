"""The admin's machines (push markers) on the real shared PostgreSQL: each one's last push,
sessions and marker; delete all of one machine's sessions and forget it, or only forget it."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, Tombstone
from sync_app.models import PushMarker

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

MACHINES = "/admin/sync_app/pushmarker/"
BOB = "b" * 32


@pytest.fixture
def team(archive, settings):
    """This machine's fixtures pushed, and bob's three sessions (one pushed before owners
    were recorded) with his marker."""
    settings.AGENTSVIEW_API_DATABASE = "pg"
    call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    now = datetime.now(UTC)
    for index, owner in enumerate((BOB, BOB, "")):
        Session.objects.using("pg").create(
            id=f"bob-{index}", project="bobs", machine="bob-desktop", agent="claude",
            created_at=now, started_at=now, message_count=2, user_message_count=2,
            push_owner=owner, first_message=f"bob's prompt {index}")
        Message.objects.using("pg").bulk_create(
            [Message(session_id=f"bob-{index}", ordinal=o, role="user", content="hi")
             for o in range(2)])
    PushMarker.objects.using("pg").create(marker_id=BOB, machine_name="bob-desktop",
                                          last_push_at=now, sessions=2)
    root = get_user_model().objects.create_superuser("root", password="pw-for-tests")
    client = Client()
    client.force_login(root)
    return client


def mine() -> set[str]:
    return set(Session.objects.using("pg").exclude(machine="bob-desktop")
               .values_list("id", flat=True))


def test_machines_are_listed_with_their_last_push_sessions_and_marker(team):
    page = team.get(MACHINES)
    assert page.status_code == 200
    rows = {m.machine_name: m for m in page.context["cl"].result_list}
    assert set(rows) == {"bob-desktop", "test-machine"}
    assert rows["bob-desktop"].live == 2  # owned by the marker (the third claims no owner)
    assert rows["test-machine"].live == len(mine())
    text = page.content.decode()
    assert BOB in text and "Machines" in text


def test_delete_a_machine_with_all_its_sessions(team):
    before = mine()
    confirm = team.post(MACHINES, {"action": "delete_machine", "_selected_action": [BOB]})
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "bob-desktop" in text and "3 session(s)" in text and "bob-2" in text
    assert Session.objects.using("pg").filter(machine="bob-desktop").count() == 3
    done = team.post(MACHINES, {"action": "delete_machine", "_selected_action": [BOB],
                                "post": "yes"})
    assert done.status_code == 302
    assert not Session.objects.using("pg").filter(machine="bob-desktop").exists()
    bobs = ["bob-0", "bob-1", "bob-2"]
    assert not Message.objects.using("pg").filter(session_id__in=bobs).exists()
    assert mine() == before  # nobody else's session went
    assert not PushMarker.objects.using("pg").filter(marker_id=BOB).exists()
    stones = Tombstone.objects.using("pg").all()
    assert {(t.session_id, t.kind) for t in stones} == {
        (f"bob-{i}", TombstoneKind.DELETED) for i in range(3)}
    logged = set(LogEntry.objects.filter(action_flag=DELETION).values_list(
        "object_id", "change_message"))
    assert (BOB, "Deleted its sessions and forgot it") in logged
    assert ("bob-0", "Deleted with its machine (a push does not bring it back)") in logged
    note = " ".join(str(m) for m in team.get(MACHINES).context["messages"])
    assert "Deleted 3 session(s) of bob-desktop and forgot the machine(s)." in note


def test_forget_a_machine_keeps_its_sessions(team):
    confirm = team.post(MACHINES, {"action": "forget_machine", "_selected_action": [BOB]})
    assert confirm.status_code == 200 and b"3 session(s)</strong> stay" in confirm.content
    team.post(MACHINES, {"action": "forget_machine", "_selected_action": [BOB], "post": "yes"})
    assert not PushMarker.objects.using("pg").filter(marker_id=BOB).exists()
    assert Session.objects.using("pg").filter(machine="bob-desktop").count() == 3
    assert not Tombstone.objects.using("pg").exists()
