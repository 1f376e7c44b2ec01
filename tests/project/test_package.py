"""The package users install: the sdist is built from a copy of the source tree, the wheel
from that sdist (``python -m build``), and the wheel installed in a fresh venv outside the
repository, where ``agentsview`` syncs fixtures and serves them, locally and from PostgreSQL.

The fresh venv takes its third-party libraries from the test venv (a ``.pth`` line), so the
test runs offline and fast; the program itself comes only from the wheel."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from agentsview import __version__
from sessions_app.parsers.registry import AGENTS
from tests.helpers import REPO
from tests.layouts import build_claude, build_codex
from tests.pg_processes import throwaway_schema, wait_for

pytestmark = pytest.mark.slow

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"  # a fixture session with a page worth showing
NOT_SHIPPED = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache",
               "bench"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel built from it, from a copy of the working tree."""
    root = tmp_path_factory.mktemp("package")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=lambda d, names: [
        n for n in names if n in NOT_SHIPPED or n.endswith((".egg-info", ".db", ".pyc"))])
    dist = root / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    return {"root": root, "sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def venv(built) -> Path:
    """A fresh venv, outside the repository, with the wheel installed."""
    target = built["root"] / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True,
                   timeout=120)
    python = target / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig;"
                              " print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # the libraries (Django, gunicorn, ...) of the test venv; not its editable agentsview,
    # whose hook is a .pth file there, which Python does not run for a path added this way
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--no-deps", "--no-index", "-q", str(built["wheel"])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return target


@pytest.fixture
def machine(tmp_path) -> dict[str, str]:
    """The environment of a user with fixture transcripts, nothing of this repository."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGENTSVIEW_", "DJANGO_", "PYTHON")) and k != "DATABASE_URL"}
    empty = tmp_path / "empty"
    empty.mkdir()
    env.update({spec.env_var: str(empty) for spec in AGENTS.values()})
    env.update(HOME=str(tmp_path / "home"), AGENTSVIEW_DATA_DIR=str(tmp_path / "data"),
               CLAUDE_PROJECTS_DIR=str(build_claude(tmp_path / "claude")),
               CODEX_SESSIONS_DIR=str(build_codex(tmp_path / "codex")))
    (tmp_path / "home").mkdir()
    return env


def run(venv: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "agentsview"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def serving(venv: Path, command: list[str], env: dict[str, str], cwd: Path):
    port = free_port()
    state = Path(env["AGENTSVIEW_DATA_DIR"]) / f"server.{port}.json"
    proc = subprocess.Popen([str(venv / "bin" / "agentsview"), *command, "--port", str(port)],
                            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert wait_for(lambda: state.exists() or proc.poll() is not None, 90)
        assert proc.poll() is None, proc.stdout.read()
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def assert_dashboard(port: int) -> None:
    status, body = get(port, "/")
    assert status == 200, body[:2000]
    assert b"dashboard/app.css" in body and b"Login redirect fix" in body
    status, body = get(port, f"/sessions/{RICH}")
    assert status == 200, body[:2000]
    for asset in ("dashboard/app.css", "dashboard/app.js", "dashboard/favicon.svg"):
        status, body = get(port, f"/static/{asset}")
        assert status == 200 and body, asset


def test_the_wheel_and_the_sdist_carry_everything(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
    for path in ("agentsview/templates/base.html", "agentsview/templates/login.html",
                 "agentsview/static/dashboard/app.css", "agentsview/static/dashboard/favicon.svg",
                 "sessions_app/templates/sessions/session.html",
                 "sessions_app/templates/export/session.css",
                 "analytics_app/templates/analytics/page.html", "agentsview/__main__.py",
                 "sessions_app/usage/prices.toml"):
        assert path in names, path
    for app in ("sessions_app", "sync_app", "analytics_app"):
        for migration in (REPO / app / "migrations").glob("0*.py"):
            assert f"{app}/migrations/{migration.name}" in names
    folders = {str(p.parent.relative_to(REPO)) for p in REPO.glob("*_app/**/*.py")}
    folders |= {str(p.parent.relative_to(REPO)) for p in REPO.glob("agentsview/**/*.py")}
    assert {f for f in folders if "__pycache__" not in f} <= {str(Path(n).parent) for n in names}
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "bench/"))]
    assert f"agentsview_django-{__version__}.dist-info/METADATA" in names

    with tarfile.open(built["sdist"]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    for path in ("setup.py", "pyproject.toml", "templates/base.html",
                 "static/dashboard/app.js", "sessions_app/migrations/0001_initial.py"):
        assert path in members, path


def test_the_installed_wheel_serves_without_the_source_tree(venv, machine, tmp_path):
    python = venv / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import agentsview, importlib.metadata as m;"
                            " print(agentsview.__file__, agentsview.__version__,"
                            " m.version('agentsview-django'))"],
                           capture_output=True, text=True, cwd=tmp_path, env=machine, check=True)
    module, version, metadata_version = where.stdout.split()
    assert module.startswith(str(venv)) and version == metadata_version == __version__

    data = Path(machine["AGENTSVIEW_DATA_DIR"])
    for args in (["--help"], ["pg", "push", "--help"], ["serve", "--help"], ["--version"]):
        proc = run(venv, *args, env=machine, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
    assert not data.exists() and not any(Path(machine["HOME"]).iterdir())
    module_run = subprocess.run([str(python), "-m", "agentsview", "--version"], env=machine,
                                cwd=tmp_path, capture_output=True, text=True)
    assert module_run.stdout.strip() == f"agentsview {__version__}"

    synced = run(venv, "sync", env=machine, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    with serving(venv, ["serve"], machine, tmp_path) as port:
        assert_dashboard(port)


@pytest.mark.pg
def test_the_installed_wheel_pushes_and_serves_postgresql(venv, machine, tmp_path):
    with throwaway_schema() as (url, schema):
        env = {**machine, "AGENTSVIEW_PG_URL": url, "AGENTSVIEW_PG_SCHEMA": schema,
               "AGENTSVIEW_PG_MACHINE": "packaged"}
        pushed = run(venv, "pg", "push", env=env, cwd=tmp_path)
        assert pushed.returncode == 0, pushed.stderr
        with serving(venv, ["pg", "serve"], env, tmp_path) as port:
            assert_dashboard(port)
            status, body = get(port, "/health/db")
            assert status == 200 and json.loads(body)["migrations_pending"] is False
