"""Every routing decision of the database router."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings

from agentsview.db_router import AgentsViewRouter, is_shared_database

router = AgentsViewRouter()


@pytest.mark.parametrize(
    ("db", "app", "model", "allowed"),
    [
        # session data lives in both databases
        ("pg", "sessions_app", "session", True),
        ("pg", "sessions_app", "message", True),
        ("pg", "sessions_app", "toolcall", True),
        ("pg", "sessions_app", "toolresultevent", True),
        ("pg", "sync_app", "pushmarker", True),
        # the session store and the change log: in both (the shared one, or a laptop's own)
        ("pg", "sync_app", "storetranscript", True),
        ("pg", "sync_app", "storeentry", True),
        ("pg", "sync_app", "sessionchange", True),
        ("default", "sync_app", "storeentry", True),
        # tombstones: in a local archive what was deleted here, in the shared database what a
        # person deleted, trashed or redacted there
        ("pg", "sessions_app", "tombstone", True),
        ("default", "sessions_app", "tombstone", True),
        ("default", "sessions_app", "session", True),
        # local sync bookkeeping and push state never go to the shared database
        ("pg", "sessions_app", "sourcefile", False),
        ("pg", "sync_app", "pushtarget", False),
        ("pg", "sync_app", "pushedsession", False),
        ("default", "sessions_app", "sourcefile", True),
        ("default", "sync_app", "pushtarget", True),
        # accounts and tokens: pg serve keeps them in the shared database
        ("pg", "auth", "user", True),
        ("pg", "authtoken", "token", True),
        ("pg", "contenttypes", "contenttype", True),
        ("default", "auth", "user", True),
        # operations without a model (the search index migration)
        ("pg", "sessions_app", None, True),
    ],
)
def test_allow_migrate(db, app, model, allowed):
    assert router.allow_migrate(db, app, model_name=model) is allowed


def test_local_only_operations_can_opt_out_of_the_shared_database():
    assert router.allow_migrate("pg", "sync_app", None, shared=False) is False
    assert router.allow_migrate("default", "sync_app", None, shared=False) is True


def test_shared_database_is_recognised_by_its_schema_not_its_alias(settings):
    assert is_shared_database("pg") and not is_shared_database("default")
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["pg"]}}
    assert is_shared_database("default")
    assert router.allow_migrate("default", "sessions_app", "sourcefile") is False


def test_reads_and_writes_use_default_unless_named():
    assert router.db_for_read(object) is None
    assert router.db_for_write(object) is None


def test_relations_only_within_one_database():
    a = SimpleNamespace(_state=SimpleNamespace(db="default"))
    b = SimpleNamespace(_state=SimpleNamespace(db="pg"))
    assert router.allow_relation(a, a) is True
    assert router.allow_relation(a, b) is False


def test_settings_use_the_router():
    assert settings.DATABASE_ROUTERS == ["agentsview.db_router.AgentsViewRouter"]
