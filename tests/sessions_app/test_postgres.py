"""The session tables on the real PostgreSQL: created by migrations in the configured schema,
and written by the same ingest code as SQLite."""

from __future__ import annotations

import pytest
from django.db import connections

from sessions_app.models import Message, Session, ToolCall
from sessions_app.parsers.registry import parser_for
from sessions_app.services.ingest import SourceInfo, write_session
from tests.layouts import AGENT_FIXTURES

pytestmark = pytest.mark.django_db(databases=["default", "pg"])


def test_connection_uses_the_schema_and_utc():
    with connections["pg"].cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == "agentsview"
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"


def test_local_bookkeeping_is_not_created_in_the_shared_schema():
    with connections["pg"].cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'agentsview'"
        )
        tables = {row[0] for row in cursor.fetchall()}
    assert {"sessions", "messages", "tool_calls", "tool_result_events", "push_markers",
            "auth_user", "authtoken_token"} <= tables
    assert not tables & {"source_files", "push_targets", "pushed_sessions"}


def _parse(name: str):
    path = AGENT_FIXTURES / "claude" / "synthetic" / "projects" / "-home-dev-projects-webapp" / name
    result = parser_for("claude").parse(path, path.parents[1])
    return result, SourceInfo(path=str(path), size=result.size, mtime_ns=1, sha256=result.sha256)


def test_ingest_writes_the_same_rows_to_postgresql():
    result, source = _parse("7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")
    parsed = result.sessions[0]
    write_session(parsed, source, machine="pg-box", using="pg")
    write_session(parsed, source, machine="sqlite-box", using="default")
    for alias in ("pg", "default"):
        session = Session.objects.using(alias).get(pk=parsed.id)
        assert session.message_count == 13
        assert session.started_at == parsed.started_at
        rows = list(
            Message.objects.using(alias).filter(session_id=parsed.id).order_by("ordinal")
            .values_list("ordinal", "role", "content", "timestamp", "has_thinking")
        )
        assert rows == [
            (m.ordinal, m.role, m.content, m.timestamp, m.has_thinking) for m in parsed.messages
        ]
        assert ToolCall.objects.using(alias).filter(session_id=parsed.id).count() == 7


def test_postgresql_gets_text_without_nul_bytes():
    result, source = _parse("7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")
    parsed = result.sessions[0]
    parsed.messages[0].content = "before\x00after\x07bell\ttab"
    write_session(parsed, source, machine="m", using="pg")
    stored = Message.objects.using("pg").get(session_id=parsed.id, ordinal=0).content
    assert stored == "beforeafterbell\ttab"
