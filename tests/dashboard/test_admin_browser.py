"""The admin in a real browser on a real ``pg serve``: a staff member deletes a teammate's
machine with all its sessions, and that machine's next push does not bring them back."""

from __future__ import annotations

import os

import pytest

from tests.agentsview.test_server import running
from tests.dashboard.browser import launch, screenshot
from tests.layouts import build_claude, build_codex
from tests.pg_processes import Machine, query, throwaway_schema

pytestmark = [pytest.mark.pg, pytest.mark.slow]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "a-long-admin-password"


def test_delete_a_machine_in_the_admin(tmp_path):
    from playwright.sync_api import sync_playwright

    with throwaway_schema() as (url, schema):
        alice = Machine(tmp_path / "alice", "alice-laptop", url, schema)
        build_claude(alice.claude)
        bob = Machine(tmp_path / "bob", "bob-desktop", url, schema)
        bob.env["CODEX_SESSIONS_DIR"] = str(bob.root / "codex")
        build_codex(bob.root / "codex")
        for machine in (alice, bob):
            assert machine.run("pg_push").returncode == 0
        server = Machine(tmp_path / "server", "team-server", url, schema)
        made = server.run("createsuperuser", "--noinput", "--database", "pg", "--username",
                          "lead", "--email", "lead@example.com",
                          DJANGO_SUPERUSER_PASSWORD=PASSWORD)
        assert made.returncode == 0, made.stderr
        (marker,) = query(url, schema, "SELECT marker_id FROM push_markers WHERE"
                                       " machine_name = 'bob-desktop'")[0]
        bobs = query(url, schema, "SELECT count(*) FROM sessions WHERE machine = %s",
                     ["bob-desktop"])[0][0]
        assert bobs > 0

        with running(server, "pg_serve") as served, sync_playwright() as playwright:
            base = f"http://127.0.0.1:{served.port}"
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/admin/")
            page.wait_for_url("**/admin/login/**")
            page.fill("input[name=username]", "lead")
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(base + "/admin/")
            page.click("text=Machines")
            page.wait_for_url("**/admin/sync_app/pushmarker/")
            assert "bob-desktop" in page.inner_text("#result_list")
            page.check(f"input[name=_selected_action][value='{marker}']")
            page.select_option("select[name=action]", "delete_machine")
            page.click("button[name=index]")
            page.wait_for_selector("#summary")
            summary = page.inner_text("#summary")
            assert f"{bobs} session(s)" in summary
            assert "bob-desktop" in page.inner_text("#machines")
            screenshot(page, "admin-delete-machine-confirm")
            page.click("input[type=submit][value^='Yes, delete']")
            page.wait_for_url("**/admin/sync_app/pushmarker/")
            assert f"Deleted {bobs} session(s) of bob-desktop" in page.inner_text(
                ".messagelist")
            assert "bob-desktop" not in page.inner_text("#content")
            assert "alice-laptop" in page.inner_text("#result_list")
            screenshot(page, "admin-delete-machine-done")
            browser.close()

            listed = served.json("/api/v1/sessions?machine=bob-desktop&include_one_shot=true"
                                 "&include_children=true&include_automated=true")
            assert listed["total"] == 0
            assert served.json("/api/v1/machines")["machines"] == ["alice-laptop"]

        again = bob.run("pg_push", "--full")
        assert again.returncode == 0, again.stderr
        assert f"{bobs} deleted on the server (not sent again)" in again.stdout
        assert query(url, schema, "SELECT count(*) FROM sessions WHERE machine = %s",
                     ["bob-desktop"])[0][0] == 0
        logged = query(url, schema, "SELECT object_repr, change_message FROM django_admin_log"
                                    " WHERE action_flag = 3 AND object_id = %s", [marker])
        assert logged and logged[0][1] == "Deleted its sessions and forgot it"
