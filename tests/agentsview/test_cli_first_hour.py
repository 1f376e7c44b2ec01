"""Issue 17, the first hour at the terminal: groups, typos, help, bad flag values, empty
listings (the console script's main(), in-process)."""

from __future__ import annotations

import pytest

from agentsview.cli import main
from agentsview.command import flag_error

pytestmark = pytest.mark.django_db


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_group_alone_lists_its_commands(agent_env, capsys):
    for argv in (("pg",), ("pg", "--help"), ("pg", "-h")):
        code, out, err = run(capsys, *argv)
        assert code == 0, (argv, err)
        assert out.startswith("usage: agentsview pg <command>")
        assert "  pg push " in out and "  pg serve " in out and "  sync " not in out


def test_a_typo_gets_a_suggestion(agent_env, capsys):
    assert run(capsys, "snyc")[::2] == (2, "agentsview: unknown command 'snyc'; did you mean"
                                           " 'sync'?\n")
    assert "did you mean 'pg push'?" in run(capsys, "pg", "pussh")[2]
    assert "did you mean 'session'?" in run(capsys, "sesion", "list")[2]
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and err == ("agentsview: unknown command 'frobnicate'; see"
                                 " 'agentsview --help'\n")


def test_help_shows_the_commands_own_options_and_django_s_behind_help_all(agent_env, capsys):
    code, out, _ = run(capsys, "sync", "--help")
    assert code == 0 and "--full" in out and "--help-all" in out
    for django in ("--settings", "--pythonpath", "--traceback", "--no-color", "--version"):
        assert django not in out
    code, out, _ = run(capsys, "sync", "--help-all")
    assert code == 0 and "--settings SETTINGS" in out and "--traceback" in out
    assert out.index("--full") < out.index("--settings")


def test_a_bad_flag_value_names_the_flag_and_exits_2(agent_env, capsys):
    code, _, err = run(capsys, "session", "list", "--date", "2026-99-01")
    assert code == 2
    assert err.strip() == "error: --date 2026-99-01: expected a date YYYY-MM-DD"
    code, _, err = run(capsys, "stats", "--since", "bogus")
    assert code == 2 and err.startswith("error: --since bogus: expected 28d")


def test_flag_error_leaves_other_messages_alone():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--limit")
    assert flag_error("expected an integer (query.limit: 0)", parser) == \
        "--limit 0: expected an integer"
    assert flag_error("watch: bad (query.limit: x)", parser) == "watch: --limit x: bad"
    assert flag_error("bad cursor (query.cursor: abc)", parser) is None  # not a flag here
    assert flag_error("session not found: x", parser) is None


def test_token_list_says_when_there_are_none(agent_env, capsys):
    code, out, err = run(capsys, "token", "list")
    assert code == 0 and out == ""
    assert err.strip() == ("No tokens yet in this archive. Create one with"
                           " 'agentsview token create <user>'.")
