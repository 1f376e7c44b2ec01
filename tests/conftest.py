"""Shared fixtures. PostgreSQL tests skip with a reason when it is unreachable, and fail
instead when AGENTSVIEW_REQUIRE_PG=1 (CI sets it)."""

from __future__ import annotations

import os
from functools import cache

import psycopg
import pytest
from django.conf import settings

from agentsview.redact import redact_url
from sessions_app.parsers.registry import AGENTS

REQUIRE_PG = os.environ.get("AGENTSVIEW_REQUIRE_PG") == "1"


@cache
def pg_problem() -> str | None:
    """None when the test PostgreSQL answers, else why not."""
    db = settings.DATABASES.get("pg")
    if db is None:
        return "no pg database configured"
    try:
        psycopg.connect(
            host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
            password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        url = redact_url(os.environ.get("AGENTSVIEW_PG_URL", ""))
        return f"PostgreSQL unreachable at {url}: {str(exc).splitlines()[0]}"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and "pg" in (marker.kwargs.get("databases") or ()):
            item.add_marker(pytest.mark.pg)
            if pg_problem() is not None:
                # pytest-django sets up every database any collected test names, once, for
                # the session: keep an unreachable PostgreSQL out of it, so the SQLite tests
                # still run; these tests are then skipped (or failed) with the reason.
                item.add_marker(pytest.mark.django_db(databases=["default"]))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("pg") is None:
        return
    problem = pg_problem()
    if problem is None:
        return
    if REQUIRE_PG:
        pytest.fail(f"AGENTSVIEW_REQUIRE_PG=1 but {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(autouse=True)
def access_store(tmp_path, settings):
    """Each test its own sign-outs and failed-credential counts (every test client is
    127.0.0.1: one test's wrong tokens must not lock the next one out)."""
    settings.AGENTSVIEW_ACCESS_STORE = tmp_path / "access.sqlite3"
    return settings.AGENTSVIEW_ACCESS_STORE


@pytest.fixture
def agent_env(tmp_path, monkeypatch):
    """Fresh, empty agent directories and data dir for one test; returns their paths."""
    dirs = {}
    for key, spec in AGENTS.items():
        path = tmp_path / "agents" / key
        path.mkdir(parents=True)
        monkeypatch.setenv(spec.env_var, str(path))
        dirs[key] = path
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("AGENTSVIEW_DATA_DIR", str(data))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    dirs["data"] = data
    return dirs


@pytest.fixture
def archive(agent_env):
    """The Claude and Codex fixture transcripts, synced into the local archive."""
    from io import StringIO

    from django.core.management import call_command

    from tests.layouts import build_claude, build_codex

    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    return agent_env


def pytest_configure(config):
    """The agent fixtures' SQLite databases are built, not committed: build them before the
    modules that list the fixtures are collected."""
    from tests.fixture_databases import build_all

    build_all()
