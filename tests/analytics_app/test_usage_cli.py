"""``agentsview usage daily`` and ``agentsview session usage``: the API's JSON, tables and
lines for a terminal, and AgentsView's exit codes (2: no such session, 3: no token data)."""

from __future__ import annotations

from datetime import date
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import Session
from tests.sessions_app.test_usage_api import (
    CODEX_COST,
    OPUS_46,
    RICH,
    RICH_COST,
    SUBAGENT_COST,
)

pytestmark = pytest.mark.django_db(databases=["default"])
WINDOW = ("--since", "2026-02-01", "--until", "2026-03-31", "--timezone", "UTC")


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_session_usage_json_and_human(archive, client):
    data = orjson.loads(run("session", "usage", RICH, "--format", "json"))
    assert data["cost"] == {"microdollars": RICH_COST + SUBAGENT_COST}
    assert data["subagent_count"] == 1 and data["server_running"] is False
    api = orjson.loads(client.get(f"/api/v1/sessions/{RICH}/usage?breakdown=true"
                                  "&subagents=true", HTTP_HOST="127.0.0.1:8080").content)
    assert data == {**api, "server_running": False}
    human = run("session", "usage", RICH)
    assert "Subagents:     1 (included)" in human
    assert ("Cost:          $0.116966 (claude-haiku-4-5-20251001, claude-sonnet-4-5-20250929)"
            in human)
    own = run("session", "usage", RICH, "--own-only")
    assert "Subagents" not in own and "$0.114516" in own
    unpriced = run("session", "usage", OPUS_46)
    assert "Cost:          unknown (no price for: claude-opus-4-6)" in unpriced


def test_session_usage_exit_codes(archive):
    with pytest.raises(CommandError) as missing:
        run("session", "usage", "nope")
    assert missing.value.returncode == 2 and "session not found" in str(missing.value)
    quiet = Session.objects.filter(usage_rollup="", message_count__gt=0).values_list(
        "id", flat=True).first()
    with pytest.raises(SystemExit) as none:
        run("session", "usage", quiet)
    assert none.value.code == 3


def test_usage_daily(archive, client):
    data = orjson.loads(run("usage", "daily", *WINDOW, "--format", "json"))
    api = orjson.loads(client.get("/api/v1/usage/summary?from=2026-02-01&to=2026-03-31"
                                  "&timezone=UTC", HTTP_HOST="127.0.0.1:8080").content)
    assert data == api
    assert data["totals"]["cost"] == {"microdollars": RICH_COST + SUBAGENT_COST + CODEX_COST}
    human = run("usage", "daily", *WINDOW)
    lines = human.splitlines()
    assert lines[0].split() == ["DATE", "INPUT", "OUTPUT", "CACHE", "READ", "CACHE", "WRITE",
                                "COST", "MODELS"]
    assert any(line.startswith("2026-03-02") and "$0.12" in line for line in lines)
    assert any(line.startswith("2026-03-03") and "unknown" in line for line in lines)
    assert any(line.startswith("TOTAL") and "$0.13 +unpriced" in line for line in lines)
    assert "No price for: claude-opus-4-6" in human
    by_model = run("usage", "daily", *WINDOW, "--by", "model")
    assert any(line.startswith("2026-03-04") and "gpt-5-codex" in line and "$0.01" in line
               for line in by_model.splitlines())
    by_machine = run("usage", "daily", *WINDOW, "--by", "machine", "--agent", "codex")
    assert "test-machine" in by_machine and "claude" not in by_machine


def test_usage_daily_errors(archive):
    with pytest.raises(CommandError) as bad:
        run("usage", "daily", "--since", "yesterday")
    assert bad.value.returncode == 2 and "--since yesterday" in str(bad.value)
    assert run("usage", "daily", "--since", "2020-01-01", "--until", "2020-01-02").startswith(
        "No token usage from 2020-01-01 to 2020-01-02")



def test_usage_daily_without_a_window_opens_on_the_newest_sessions(archive):
    """The fixture sessions are months old: with no --since or --until the window is the 30
    days up to the newest session (as stats and the Usage page do), not an empty month."""
    data = orjson.loads(run("usage", "daily", "--timezone", "UTC", "--format", "json"))
    assert data["to"] < date.today().isoformat()
    assert data["daily"] and data["daily"][-1]["date"] == data["to"] == "2026-03-04"
    assert data["totals"]["cost"] is not None
    # --since alone still counts back from today
    since = orjson.loads(run("usage", "daily", "--since", "30d", "--format", "json"))
    assert since["to"] == date.today().isoformat() and not since["daily"]
