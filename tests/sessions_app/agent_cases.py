"""What the tests of one agent's parser share: parsing a file as the sync would, syncing the
agent's directory through the real command, and asking the API for the agent's sessions."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import orjson
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from agentsview.config import load_config
from sessions_app.parsers.base import ParseOptions, ParseResult
from sessions_app.parsers.registry import parser_for
from sessions_app.rows import fit_to_columns
from sessions_app.services.sync import SyncReport, run_sync
from tests.layouts import AGENT_FIXTURES

OPTIONS = ParseOptions()
EVERYTHING = "include_one_shot=true&include_automated=true&include_children=true&limit=500"


def fixture(agent: str, *parts: str) -> Path:
    return AGENT_FIXTURES.joinpath(agent, *parts)


def parse(agent: str, path: Path, root: Path | None = None) -> ParseResult:
    parser = parser_for(agent)
    result = parser.parse(path, root if root is not None else parser.root_of(path), OPTIONS)
    fit_to_columns(result)
    return result


def place(src: Path, dst: Path) -> Path:
    """Copy a fixture file or tree to *dst*, writable."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
        for path in [dst, *dst.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    else:
        shutil.copyfile(src, dst)
        dst.chmod(0o644)
    return dst


def sync_command(*args: str) -> tuple[str, str, int]:
    """``agentsview sync`` through the real command: (stdout, stderr, exit code)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("sync", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    return out.getvalue(), err.getvalue(), code


def sync_report() -> SyncReport:
    return run_sync(load_config())


def api_sessions(agent: str) -> list[dict]:
    """The agent's sessions as ``GET /api/v1/sessions?agent=`` lists them (nothing left out)."""
    response = Client().get(f"/api/v1/sessions?agent={agent}&{EVERYTHING}",
                            HTTP_HOST="127.0.0.1:8080")
    assert response.status_code == 200, response.content
    return orjson.loads(response.content)["sessions"]
