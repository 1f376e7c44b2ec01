"""``pg service``: the systemd unit and the launchd agent it writes, checked by the real
``systemd-analyze verify`` where there is one, and the commands it runs, through a stand-in
``systemctl`` on PATH (never the machine's own service manager; HOME is a temporary dir)."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agentsview.config import load_config
from agentsview.durations import format_duration, parse_duration
from sync_app.services.push_service import Launchd, ServiceError, ServiceSpec, Systemd, service_spec
from sync_app.services.watch import WatchOptions


@pytest.fixture
def home(tmp_path, monkeypatch, agent_env):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("AGENTSVIEW_PG_URL", "postgresql://agentsview@db.internal:5432/team"
                                            "?sslmode=require")
    return home


@pytest.fixture
def fake_manager(tmp_path, monkeypatch):
    """systemctl, journalctl and launchctl that record their arguments and succeed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for name in ("systemctl", "journalctl", "launchctl"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\necho "{name} says hi"\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return calls


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("pg_service", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_durations():
    assert parse_duration("5m").total_seconds() == 300
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration(" 2H ").total_seconds() == 7200
    assert parse_duration("0.5s").total_seconds() == 0.5
    for bad in ("5", "", "m", "0s", "-5m", "5 m", "1w", "5m3"):
        with pytest.raises(ValueError, match="expected a duration such as 30s"):
            parse_duration(bad)
    assert [format_duration(s) for s in (30, 300, 5400, 86400, 0.5, 3725)] == [
        "30s", "5m", "1h30m", "1d", "0.5s", "1h2m5s"]


def test_the_watcher_backs_off_exponentially_up_to_a_cap():
    options = WatchOptions(interval=300, debounce=30)
    assert [options.backoff(n) for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 300,
                                                           300]
    assert [WatchOptions(interval=5).backoff(n) for n in (1, 2, 3, 50)] == [2, 4, 5, 5]
    assert WatchOptions(interval=3600).backoff(1000) == 300  # never more than five minutes
    assert (WatchOptions(debounce=30).poll, WatchOptions(debounce=2).poll,
            WatchOptions(debounce=0.1).poll) == (5, 1, 0.5)


def spec_with(tmp_path: Path) -> ServiceSpec:
    """A command and environment with everything a unit file must escape."""
    python = tmp_path / "my tools" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    return ServiceSpec(
        command=(str(python), "-m", "agentsview", "pg", "push", "--watch"),
        environment=(("AGENTSVIEW_DATA_DIR", str(tmp_path / "data 100%")),
                     ("CLAUDE_PROJECTS_DIR", '/home/a/"quoted" $HOME\\x')),
    )


def test_the_systemd_unit(tmp_path):
    unit = Systemd(tmp_path, {}).render(spec_with(tmp_path))
    lines = unit.splitlines()
    assert f'ExecStart="{tmp_path}/my tools/bin/python" -m agentsview pg push --watch' in lines
    assert f'Environment="AGENTSVIEW_DATA_DIR={tmp_path}/data 100%%"' in lines
    assert 'Environment="CLAUDE_PROJECTS_DIR=/home/a/\\"quoted\\" $$HOME\\\\x"' in lines
    for line in ("Type=exec", "Restart=on-failure", "TimeoutStopSec=120",
                 "WantedBy=default.target"):
        assert line in lines
    assert Systemd(tmp_path, {}).path == tmp_path / ".config/systemd/user/agentsview-push.service"
    assert Systemd(tmp_path, {"XDG_CONFIG_HOME": "/x"}).path == Path(
        "/x/systemd/user/agentsview-push.service")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here to verify the unit")
    path = tmp_path / "agentsview-push.service"
    path.write_text(unit)
    proc = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    path.write_text(unit.replace("Type=exec", "Type=sometimes"))  # the check is real
    assert "Failed to parse service type" in subprocess.run(
        [analyze, "verify", str(path)], capture_output=True, text=True, timeout=60).stderr


def test_the_launchd_agent(tmp_path):
    agent = Launchd(tmp_path, {})
    document = plistlib.loads(agent.render(spec_with(tmp_path)).encode())
    assert document["Label"] == "agentsview-push"
    assert document["ProgramArguments"][0] == str(tmp_path / "my tools" / "bin" / "python")
    assert document["ProgramArguments"][1:] == ["-m", "agentsview", "pg", "push", "--watch"]
    assert document["EnvironmentVariables"]["AGENTSVIEW_DATA_DIR"] == str(tmp_path / "data 100%")
    assert document["RunAtLoad"] is True and document["KeepAlive"] == {"SuccessfulExit": False}
    assert document["StandardOutPath"] == str(tmp_path / "Library/Logs/agentsview/push.log")
    assert agent.path == tmp_path / "Library/LaunchAgents/agentsview-push.plist"


def test_the_spec_runs_this_python_with_the_archive_settings(home, agent_env):
    spec = service_spec(load_config(), 120, 10)
    assert spec.command == (sys.executable, "-m", "agentsview", "pg", "push", "--watch",
                            "--interval", "2m", "--debounce", "10s")
    environment = dict(spec.environment)
    assert environment["AGENTSVIEW_DATA_DIR"] == str(agent_env["data"])
    assert environment["CLAUDE_PROJECTS_DIR"] == str(agent_env["claude"])
    assert "HOME" not in environment and "PATH" not in environment


def test_a_password_is_never_written_into_a_service_file(home, agent_env, monkeypatch):
    monkeypatch.setenv("AGENTSVIEW_PG_URL", "postgresql://app:hunter2@db.internal/team")
    with pytest.raises(ServiceError, match="AGENTSVIEW_PG_URL holds a password") as caught:
        service_spec(load_config(), 300, 30)
    assert "hunter2" not in str(caught.value) and "~/.pgpass" in str(caught.value)
    monkeypatch.delenv("AGENTSVIEW_PG_URL")
    (agent_env["data"] / "config.toml").write_text(
        '[pg]\nurl = "postgresql://app:${PG_SECRET}@db.internal/team?sslmode=require"\n')
    monkeypatch.setenv("PG_SECRET", "hunter2")
    with pytest.raises(ServiceError, match=r"reads \$\{PG_SECRET\} from the environment"):
        service_spec(load_config(), 300, 30)


@pytest.mark.django_db
def test_install_status_logs_uninstall(home, fake_manager):
    unit = home / ".config/systemd/user/agentsview-push.service"
    out, _ = run("install", "--dry-run", "--manager", "systemd", "--interval", "10m")
    assert out.startswith(f"# {unit}\n") and "--interval 10m --debounce 30s" in out
    assert "# then: systemctl --user enable agentsview-push.service" in out
    assert not unit.exists() and not fake_manager.exists()

    out, _ = run("install", "--manager", "systemd")
    assert unit.exists() and "ExecStart=" in unit.read_text()
    assert fake_manager.read_text().splitlines() == [
        "systemctl --user daemon-reload", "systemctl --user enable agentsview-push.service",
        "systemctl --user restart agentsview-push.service"]
    assert "Installed and started agentsview-push.service" in out

    out, _ = run("status", "--manager", "systemd")
    assert f"File:      {unit} (installed)" in out and "Last push: never" in out
    assert fake_manager.read_text().splitlines()[-1] == (
        "systemctl --user status --no-pager agentsview-push.service")
    run("logs", "--manager", "systemd", "-n", "5")
    assert fake_manager.read_text().splitlines()[-1] == (
        "journalctl --user -u agentsview-push.service -n 5 --no-pager")

    out, _ = run("uninstall", "--manager", "systemd")
    assert not unit.exists() and f"Stopped and removed {unit}" in out
    assert fake_manager.read_text().splitlines()[-2:] == [
        "systemctl --user disable --now agentsview-push.service",
        "systemctl --user daemon-reload"]
    with pytest.raises(CommandError, match="not installed") as caught:
        run("status", "--manager", "systemd")
    assert caught.value.returncode == 3


def test_install_needs_the_shared_database(home, fake_manager, monkeypatch):
    monkeypatch.delenv("AGENTSVIEW_PG_URL")
    with pytest.raises(CommandError, match="pg service install: url not configured"):
        run("install")
    assert not fake_manager.exists()


def test_a_failing_service_manager_is_one_line(home, tmp_path, monkeypatch):
    bin_dir = tmp_path / "failing"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho 'Failed to connect to bus' >&2\n"
                                       "exit 1\n")
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with pytest.raises(CommandError) as caught:
        run("install", "--manager", "systemd")
    assert str(caught.value) == ("pg service install: 'systemctl --user daemon-reload' failed"
                                 " (exit 1): Failed to connect to bus")


def test_watch_flags_need_watch(agent_env):
    with pytest.raises(CommandError, match="--interval and --debounce go with --watch") as caught:
        call_command("pg_push", "--interval", "5m", stdout=StringIO(), stderr=StringIO())
    assert caught.value.returncode == 2
