"""The session filters as declared once (sessions_app/filters.py): what each keeps, on SQLite
and on PostgreSQL, with the edge cases stated by the factories; and that the API's OpenAPI,
the CLI's flags, the dashboard form and the analytics filters all come from the declaration."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from drf_spectacular.generators import SchemaGenerator

from agentsview.api.params import BadParameter
from analytics_app.endpoints.filters import ANALYTICS_FILTERS
from sessions_app.filters import BRANCH_TOKEN_SEPARATOR, SEARCH_FILTERS, SESSION_FILTERS
from sessions_app.parsers.registry import AGENTS
from sessions_app.selectors import filtered_sessions
from tests.factories import SessionFactory
from tests.sessions_app.api_fixtures import BACKENDS

pytestmark = pytest.mark.django_db(databases=["default", "pg"])


@pytest.fixture(params=BACKENDS)
def db(request):
    """``db(**fields)`` saves a session in the database under test; ``db.ids(query)`` lists
    the ids the filters of *query* keep there."""
    alias = request.param

    class Db:
        def __call__(self, **fields):
            session = SessionFactory.build(**fields)
            session.save(using=alias)
            return session

        def ids(self, query: str = "") -> set[str]:
            values = SESSION_FILTERS.parse(QueryDict(query))
            return set(filtered_sessions(values, using=alias).values_list("id", flat=True))

    return Db()


def test_default_exclusions_and_the_flags_that_lift_them(db):
    db(id="plain")
    db(id="one-shot", one_shot=True)
    db(id="automated", automated=True)
    db(id="child", child=True)
    db(id="deleted", deleted=True)
    db(id="empty", empty=True)
    assert db.ids() == {"plain"}
    assert db.ids("include_one_shot=true") == {"plain", "one-shot"}
    assert db.ids("include_one_shot=1&include_automated=yes") == {"plain", "one-shot",
                                                                  "automated"}
    assert db.ids("include_children=on") == {"plain", "child"}
    everything = "include_one_shot=true&include_automated=true&include_children=true"
    assert db.ids(everything) == {"plain", "one-shot", "automated", "child"}  # never the others


def test_automated_scope_wins_over_include_automated(db):
    db(id="plain")
    db(id="bot", automated=True)
    shots = "include_one_shot=true"
    assert db.ids(f"{shots}&automated_scope=automated") == {"bot"}
    assert db.ids(f"{shots}&automated_scope=all") == {"plain", "bot"}
    assert db.ids(f"{shots}&automated_scope=human&include_automated=true") == {"plain"}


def test_a_day_keeps_every_session_active_on_it_in_its_time_zone(db):
    night = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    db(id="overnight", started_at=night, ended_at=night + timedelta(hours=1))
    db(id="morning", started_at=datetime(2026, 3, 3, 9, tzinfo=UTC))
    db(id="never-started", unstarted=True, created_at=datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert db.ids("date=2026-03-02") == {"overnight", "never-started"}
    assert db.ids("date=2026-03-03") == {"overnight", "morning"}
    # in Auckland (UTC+13) the overnight session runs on the 3rd, local time
    assert db.ids("date=2026-03-02&timezone=Pacific/Auckland") == set()
    assert db.ids("date_from=2026-03-03&timezone=Pacific/Auckland") == {
        "overnight", "morning", "never-started"}
    assert db.ids("date_to=2026-03-02") == {"overnight", "never-started"}
    assert db.ids("active_since=2026-03-03T00:15:00Z") == {"overnight", "morning"}


def test_counts_lists_and_branches(db):
    db(id="short", message_count=3, user_message_count=2)
    db(id="long", message_count=40, user_message_count=9, tool_failure_signal_count=4,
       outcome="errored", health_grade="D", git_branch="main", project="api",
       termination_status="awaiting_user")
    db(id="other-main", git_branch="main", project="cli", machine="desktop", agent="codex")
    assert db.ids("min_messages=4") == {"long", "other-main"}
    assert db.ids("max_messages=3") == {"short"}
    assert db.ids("min_messages=3&max_messages=3") == {"short"}
    assert db.ids("min_user_messages=9") == {"long"}
    assert db.ids("min_tool_failures=4") == {"long"}
    assert db.ids("outcome=errored,abandoned") == {"long"}
    assert db.ids("health_grade=D&health_grade=F") == {"long"}  # repeated, like a comma list
    assert db.ids("termination=awaiting_user") == {"long"}
    assert db.ids("exclude_project=api,cli") == {"short"}
    assert db.ids("machine=desktop") == {"other-main"}
    assert db.ids("agent=codex,claude&project=api") == {"long"}
    assert db.ids("git_branch=main") == {"long", "other-main"}
    assert db.ids(f"git_branch=api{BRANCH_TOKEN_SEPARATOR}main") == {"long"}


@pytest.mark.parametrize(("query", "error"), [
    ("date=2026-03-02&date_from=2026-03-01", "date excludes date_from/date_to (query.date: "
                                             "2026-03-02)"),
    ("min_messages=5&max_messages=2", "min_messages exceeds max_messages (query.min_messages: "
                                      "5)"),
    ("outcome=done", 'expected values among "completed, abandoned, errored, unknown" '
                     "(query.outcome: done)"),
    ("automated_scope=bots", 'expected value to be one of "human, all, automated" '
                             "(query.automated_scope: bots)"),
    ("timezone=Mars/Base", "unknown IANA time zone (query.timezone: Mars/Base)"),
])
def test_bad_values_name_the_parameter(query, error):
    with pytest.raises(BadParameter) as raised:
        SESSION_FILTERS.parse(QueryDict(query))
    assert str(raised.value) == error


def test_search_includes_every_browsable_session_unless_narrowed():
    values = SEARCH_FILTERS.parse({})
    assert (values.include_one_shot, values.include_automated, values.include_children) == (
        True, True, True)
    assert SEARCH_FILTERS.parse({"include_children": "false"}).include_children is False
    assert SESSION_FILTERS.parse({}).include_children is False


# --- one declaration, every consumer ----------------------------------------------------------


def test_every_filter_is_a_documented_parameter_a_flag_and_maybe_a_form_field():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {p["name"] for p in schema["paths"]["/api/v1/sessions"]["get"]["parameters"]}
    parser = argparse.ArgumentParser()
    SESSION_FILTERS.add_arguments(parser)
    flags = {a.dest for a in parser._actions}
    form = {f["name"] for f in SESSION_FILTERS.form({})}
    for f in SESSION_FILTERS.parameters:
        assert f.name in documented, f.name
        assert f.name in flags, f.name
        assert (f.name in form) == bool(f.widget), f.name


def test_cli_options_become_the_api_parameters():
    parser = argparse.ArgumentParser()
    SESSION_FILTERS.add_arguments(parser)
    options = vars(parser.parse_args(["--project", "a,b", "--min-messages", "3",
                                      "--include-children", "--grade", "A"]))
    assert SESSION_FILTERS.params_of(options) == {
        "project": "a,b", "min_messages": "3", "include_children": "true",
        "health_grade": "A"}


def test_the_analytics_filters_extend_the_session_filters():
    session = {f.name for f in SESSION_FILTERS.parameters}
    analytics = {f.name for f in ANALYTICS_FILTERS.parameters}
    replaced = {"date", "date_from", "date_to", "include_children"}  # the window, no children
    assert analytics == (session - replaced) | {"from", "to", "model", "dow", "hour"}
    for name in session - replaced:  # the same declaration, not a copy
        assert ANALYTICS_FILTERS[name] is SESSION_FILTERS[name]
    values = ANALYTICS_FILTERS.parse({"from": "2026-03-01", "to": "2026-03-02",
                                      "include_children": "true"})
    assert values.include_children is False  # not a parameter here: always its default


def test_every_agent_is_offered_by_its_key_and_shown_by_its_display_name():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    agent = next(p for p in schema["paths"]["/api/v1/sessions"]["get"]["parameters"]
                 if p["name"] == "agent")
    parser = argparse.ArgumentParser()
    SESSION_FILTERS.add_arguments(parser)
    flag_help = next(a.help for a in parser._actions if a.dest == "agent")
    for spec in AGENTS.values():
        assert f"{spec.key} ({spec.display_name})" in agent["description"], spec.key
        assert f"{spec.key} ({spec.display_name})" in flag_help, spec.key
    for filters in (SESSION_FILTERS, ANALYTICS_FILTERS):  # the dashboard and the analytics
        form = {f["name"]: f for f in filters.form(
            QueryDict("agent=vscode-copilot"),
            options={"agent": [("claude", 2), ("vscode-copilot", 1), ("gone", 1)],
                     "project": [], "machine": []})}
        assert [(o["value"], o["label"], o["selected"]) for o in form["agent"]["options"]] == [
            ("claude", "Claude Code", False), ("vscode-copilot", "VS Code Copilot", True),
            ("gone", "gone", False)]


def test_the_form_shows_what_the_query_chose():
    form = {f["name"]: f for f in SESSION_FILTERS.form(
        QueryDict("outcome=errored&machine=a&machine=b&include_one_shot=true&date_from=2026-03-01"),
        options={"machine": [("a", 3), ("b", 1), ("c", 2)], "project": [], "agent": []})}
    assert [o["value"] for o in form["outcome"]["options"] if o["selected"]] == ["errored"]
    assert [(o["value"], o["count"], o["selected"]) for o in form["machine"]["options"]] == [
        ("a", 3, True), ("b", 1, True), ("c", 2, False)]
    assert form["include_one_shot"]["checked"] and not form["include_children"]["checked"]
    assert form["date_from"]["value"] == "2026-03-01"
