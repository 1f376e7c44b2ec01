"""An archive served by the API, on SQLite ("default") or PostgreSQL ("pg").

Read-only tests share one archive per module (``shared_archive``): synced once into SQLite
and pushed once into PostgreSQL, then every test reads it inside its own rolled-back
transaction, and the module removes it at the end. Tests that change the archive build their
own with ``load_archive``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connections
from django.test import Client

from sessions_app.parsers.registry import AGENTS
from tests.layouts import build_claude, build_codex

BACKENDS = ["default", pytest.param("pg", marks=pytest.mark.pg)]
HOST = "127.0.0.1:8080"


class Api:
    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, **extra):
        return self.client.get(path, HTTP_HOST=HOST, **extra)

    def json(self, path: str, status: int = 200):
        response = self.get(path)
        assert response.status_code == status, (path, response.status_code, response.content)
        return orjson.loads(response.content)


def available_backends() -> tuple[str, ...]:
    """The databases a shared archive can be loaded into (PostgreSQL when it answers; when it
    does not, the tests that need it skip or fail on their own, with the reason)."""
    from tests.conftest import pg_problem

    return ("default", "pg") if pg_problem() is None else ("default",)


def load_archive(agent_env, backend: str, settings, extra=None) -> None:
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    if extra:
        extra(agent_env)
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    if backend == "pg":
        call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    settings.AGENTSVIEW_API_DATABASE = backend


@contextmanager
def isolated_machine(root: Path) -> Iterator[dict[str, Path]]:
    """Agent directories, a data dir and HOME under *root*, set in the environment for as
    long as the context lasts (what the ``agent_env`` fixture does for one test)."""
    with pytest.MonkeyPatch.context() as patch:
        dirs: dict[str, Path] = {}
        for key, spec in AGENTS.items():
            path = root / "agents" / key
            path.mkdir(parents=True)
            patch.setenv(spec.env_var, str(path))
            dirs[key] = path
        dirs["data"] = root / "data"
        dirs["data"].mkdir()
        patch.setenv("AGENTSVIEW_DATA_DIR", str(dirs["data"]))
        patch.setenv("HOME", str(root / "home"))
        yield dirs


def clear_archive(alias: str) -> None:
    """Remove every row our apps wrote to *alias* (children first)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for label in ("sync_app", "sessions_app"):
            models = list(apps.get_app_config(label).get_models())
            for model in sorted(models, key=lambda m: m._meta.db_table == "sessions"):
                table = model._meta.db_table
                if table in tables:
                    cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


@contextmanager
def shared_archive(root: Path, django_db_blocker, *, backends: tuple[str, ...],
                   extra: Callable[[dict[str, Path]], None] | None = None,
                   after: Callable[[str], None] | None = None) -> Iterator[dict[str, Path]]:
    """The fixture archive synced (and, with "pg" among *backends*, pushed) once, committed,
    then removed from every database when the context ends. *after* runs on each backend's
    database once the archive is there (tests that set signal columns by hand)."""
    with isolated_machine(root) as env, django_db_blocker.unblock():
        build_claude(env["claude"])
        build_codex(env["codex"])
        if extra:
            extra(env)
        try:
            call_command("sync", stdout=StringIO(), stderr=StringIO())
            if "pg" in backends:
                call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
            for alias in backends:
                if after:
                    after(alias)
            yield env
        finally:
            for alias in ("default", *(b for b in backends if b != "default")):
                clear_archive(alias)
