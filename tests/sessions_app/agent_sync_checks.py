"""What every agent's end-to-end test checks: a real ``sync`` stores the agent's sessions,
the API's ``agent`` filter selects them, and a second sync with nothing changed re-reads
nothing."""

from __future__ import annotations

from io import StringIO

import orjson
from django.core.management import call_command
from django.test import Client

from agentsview.config import load_config
from sessions_app.models import Session
from sessions_app.services.sync import run_sync
from tests.sessions_app.api_fixtures import HOST


def sync_command() -> tuple[str, str]:
    """``sync`` through the real command: (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("sync", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def api_session_ids(agent: str) -> set[str]:
    """The ids the API lists for ``agent=<agent>``, every default exclusion lifted."""
    response = Client().get(
        f"/api/v1/sessions?agent={agent}&include_one_shot=1&include_children=1"
        "&automated_scope=all&limit=500", HTTP_HOST=HOST)
    assert response.status_code == 200, response.content
    return {s["id"] for s in orjson.loads(response.content)["sessions"]}


def assert_synced_end_to_end(agent: str, expected_ids: set[str]) -> tuple[str, str]:
    """Sync, check the archive and the API hold *expected_ids* for *agent*, and that an
    unchanged second sync parses no file. Returns the first sync's (stdout, stderr)."""
    out, err = sync_command()
    stored = dict(Session.objects.filter(agent=agent).values_list("id", "agent"))
    assert set(stored) == expected_ids, (out, err)
    assert api_session_ids(agent) == expected_ids
    again = run_sync(load_config())
    assert again.files_parsed == 0
    assert again.files_unchanged >= 1
    return out, err
