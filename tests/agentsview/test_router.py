"""Every routing decision of the database router."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentsview.db_router import AgentsViewRouter

router = AgentsViewRouter()


@pytest.mark.parametrize(
    ("db", "app", "model", "allowed"),
    [
        # session data lives in both databases
        ("pg", "sessions_app", "session", True),
        ("pg", "sessions_app", "message", True),
        ("pg", "sessions_app", "toolcall", True),
        ("pg", "sessions_app", "toolresultevent", True),
        ("default", "sessions_app", "session", True),
        # local sync bookkeeping never goes to the shared database
        ("pg", "sessions_app", "sourcefile", False),
        ("default", "sessions_app", "sourcefile", True),
        # accounts, tokens and Django's own tables: only the database this process serves
        ("pg", "auth", "user", False),
        ("pg", "authtoken", "token", False),
        ("pg", "contenttypes", "contenttype", False),
        ("pg", "admin", "logentry", False),
        ("default", "auth", "user", True),
        # PostgreSQL-only index migrations of the session tables (no model named)
        ("pg", "sessions_app", None, True),
        ("pg", "auth", None, False),
    ],
)
def test_allow_migrate(db, app, model, allowed):
    assert router.allow_migrate(db, app, model_name=model) is allowed


def test_local_only_operations_can_opt_out_of_pg():
    assert router.allow_migrate("pg", "sessions_app", None, shared=False) is False


def test_reads_and_writes_use_default_unless_named():
    assert router.db_for_read(object) is None
    assert router.db_for_write(object) is None


def test_relations_only_within_one_database():
    a = SimpleNamespace(_state=SimpleNamespace(db="default"))
    b = SimpleNamespace(_state=SimpleNamespace(db="pg"))
    assert router.allow_relation(a, a) is True
    assert router.allow_relation(a, b) is False
