"""An archive served by the API, on SQLite ("default") or PostgreSQL ("pg")."""

from __future__ import annotations

from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.test import Client

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


def load_archive(agent_env, backend: str, settings, extra=None) -> None:
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    if extra:
        extra(agent_env)
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    if backend == "pg":
        call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    settings.AGENTSVIEW_API_DATABASE = backend
