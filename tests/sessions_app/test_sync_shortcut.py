"""A plain ``sync`` with nothing to do is answered before Django starts
(``services/sync_shortcut.py``), and only then: any change a full sync would act on, or any
doubt, runs the full sync."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3

import pytest

from agentsview.config import load_config
from sessions_app.services import sync_shortcut
from sessions_app.services.sync_shortcut import nothing_to_do
from tests.helpers import cli_env, manage
from tests.layouts import build_claude, build_codex

pytestmark = pytest.mark.slow  # real processes

LINE = re.compile(r"Synced 0 sessions \(0 messages\) in \d+\.\ds; (\d+) unchanged, 0 files"
                  r" with errors")
RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


@pytest.fixture
def synced(agent_env, monkeypatch):
    """The Claude and Codex fixtures archived by a real ``manage.py sync`` in the data dir,
    with this process set to read that archive (as the app's own settings do)."""
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    first = manage("sync", env=cli_env())
    assert first.returncode == 0, first.stderr
    assert "truncated last line" in first.stderr  # a warning: this sync leaves no stamp
    assert not sync_shortcut.stamp_path(load_config()).exists()
    second = manage("sync", env=cli_env())  # nothing new and nothing to warn about: stamp
    assert second.returncode == 0 and not second.stderr, second.stderr
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", sync_shortcut.SETTINGS)
    monkeypatch.delenv("AGENTSVIEW_PG_URL", raising=False)  # as cli_env: the same config
    return agent_env


def _rich(env):
    return env["claude"] / "-home-dev-projects-webapp" / f"{RICH}.jsonl"


def test_a_no_change_sync_prints_the_full_syncs_line_without_starting_django(synced):
    full = manage("sync", "--verbosity", "1", env=cli_env())  # options: never the shortcut
    quick = manage("sync", env={**cli_env(), "PYTHONPROFILEIMPORTTIME": "1"})

    assert full.returncode == quick.returncode == 0, quick.stderr
    assert LINE.fullmatch(full.stdout.strip()) and LINE.fullmatch(quick.stdout.strip())
    assert LINE.match(quick.stdout).group(1) == LINE.match(full.stdout).group(1) != "0"
    imported = quick.stderr  # -X importtime's report: every module the run imported
    assert "sessions_app.services.sync_shortcut" in imported
    assert "django.db" not in imported and "sessions_app.parsers.claude" not in imported


def test_a_changed_transcript_is_seen_and_synced(synced):
    path = _rich(synced)
    before = path.stat()
    with path.open("ab") as f:
        f.write(b'{"type":"user","uuid":"u-new","timestamp":"2026-01-01T00:00:00Z",'
                b'"message":{"role":"user","content":"one more"}}\n')
    assert nothing_to_do(load_config()) is None

    done = manage("sync", env=cli_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Synced 1 sessions")
    assert nothing_to_do(load_config()) is not None  # the full sync left a new stamp
    assert path.stat().st_size > before.st_size


def test_each_change_a_sync_acts_on_turns_the_shortcut_off(synced):
    config = load_config()
    baseline = nothing_to_do(config)
    assert baseline is not None and baseline.sessions_unchanged > 0

    # a transcript rewritten, then put back byte for byte with its mtime: shortcut again
    path = _rich(synced)
    st, content = path.stat(), path.read_bytes()
    path.write_bytes(content + b"\n")
    assert nothing_to_do(config) is None
    path.write_bytes(content)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert nothing_to_do(config) is not None

    # a new file in an agent directory
    extra = synced["gemini"] / "new.json"
    extra.write_text("{}")
    assert nothing_to_do(config) is None
    extra.unlink()

    db = config.db_path
    with sqlite3.connect(db) as connection:  # another command rewrote a file record
        connection.execute("UPDATE source_files SET synced_at = '2030-01-01 00:00:00'"
                           " WHERE id = (SELECT min(id) FROM source_files)")
    assert nothing_to_do(config) is None


def test_signals_waiting_to_be_finalised_turn_it_off(synced):
    config = load_config()
    with sqlite3.connect(config.db_path) as connection:
        connection.execute("UPDATE sessions SET signals_pending_since = '2026-01-01 00:00:00',"
                           " ended_at = '2026-01-01 00:00:00' WHERE id = ?", [RICH])
    assert nothing_to_do(config) is None


def test_a_new_configuration_another_archive_or_no_stamp_turn_it_off(synced):
    config = load_config()
    assert nothing_to_do(config) is not None
    (config.data_dir / "config.toml").write_text('[automated]\nprefixes = ["nightly:"]\n')
    assert nothing_to_do(load_config()) is None
    (config.data_dir / "config.toml").unlink()
    assert nothing_to_do(load_config()) is not None

    copy = config.db_path.with_name("copy.db")  # a restored backup: another file
    shutil.copy(config.db_path, copy)
    os.replace(copy, config.db_path)
    assert nothing_to_do(config) is None

    sync_shortcut.forget(config)  # what a sync does before it writes
    assert nothing_to_do(config) is None


def test_the_code_identity_follows_every_file_of_the_app(tmp_path, monkeypatch):
    for package in sync_shortcut.PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(sync_shortcut, "ROOT", tmp_path)
    before = sync_shortcut.code_identity()
    assert sync_shortcut.code_identity() == before
    (tmp_path / "analytics_app" / "module.py").write_text("x = 2\n")
    assert sync_shortcut.code_identity() != before


def test_settings_other_than_the_apps_never_use_it(synced, monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    assert nothing_to_do(load_config()) is None
