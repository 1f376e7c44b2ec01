"""``/health/db``: the schema version, pending migrations and, on the shared database, each
machine's last push; 503 naming what is wrong. Also the trigram index it relies on."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from sync_app.models import PushMarker


def _latest_two(app: str) -> tuple[str, str]:
    """The app's newest migration on disk and the one before it (the health check must name
    whatever the newest is, so a new migration does not need this test edited)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    (leaf,) = graph.leaf_nodes(app)
    (parent,) = [p for p in graph.node_map[leaf].parents if p[0] == app]
    return leaf[1], parent[1]


LATEST, BEFORE_LATEST = _latest_two("sessions_app")
FASTUPDATE_OFF = "0010_search_index_fastupdate_off"
PENDING_LIST = "0014_search_index_pending_list"


@pytest.mark.django_db
def test_the_local_archive_reports_its_schema_and_no_machines(client):
    response = client.get("/health/db")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "connected"
    assert body["schema_version"]["sessions_app"] == LATEST
    assert body["schema_version"]["sync_app"] == "0005_store_ended"
    assert body["migrations_pending"] is False and body["pending_migrations"] == []
    assert "machines" not in body and "error" not in body


@pytest.mark.django_db
def test_a_bad_max_push_age_is_a_400(client):
    response = client.get("/health/db?max_push_age=soon")
    assert response.status_code == 400
    assert response.json() == {"error": "expected a duration such as 30s, 5m, 2h, 1d or 1h30m"
                                        " (query.max_push_age: soon)"}
    assert client.get("/health/db?max_push_age=").status_code == 400  # present, so must be valid


def markers(**ages: timedelta) -> None:
    now = datetime.now(UTC)
    for index, (machine, age) in enumerate(ages.items()):
        PushMarker.objects.using("pg").create(marker_id=f"m{index}", machine_name=machine,
                                              last_push_at=now - age)


@pytest.mark.django_db(databases=["default", "pg"])
@override_settings(AGENTSVIEW_API_DATABASE="pg")
def test_machines_and_their_push_age_on_the_shared_database(client):
    markers(alice=timedelta(minutes=10), bob=timedelta(hours=3))
    # bob's second archive (another data dir on the same machine) pushed even earlier
    PushMarker.objects.using("pg").create(marker_id="old", machine_name="bob",
                                          last_push_at=datetime.now(UTC) - timedelta(days=9))
    body = client.get("/health/db").json()
    assert body["status"] == "ok" and body["schema_version"]["sessions_app"] == LATEST
    assert [m["machine"] for m in body["machines"]] == ["bob", "alice"]  # oldest first
    bob, alice = body["machines"]
    assert 3 * 3600 <= bob["push_age_seconds"] < 3 * 3600 + 60
    assert 600 <= alice["push_age_seconds"] < 660 and alice["stale"] is False
    assert bob["last_push_at"].endswith("Z")
    assert set(bob) == {"machine", "last_push_at", "push_age_seconds", "stale"}


@pytest.mark.django_db(databases=["default", "pg"])
@override_settings(AGENTSVIEW_API_DATABASE="pg")
def test_a_machine_older_than_max_push_age_is_a_503_naming_it(client):
    markers(alice=timedelta(minutes=10), bob=timedelta(hours=3))
    ok = client.get("/health/db?max_push_age=4h")
    assert ok.status_code == 200 and ok.json()["max_push_age_seconds"] == 4 * 3600
    stale = client.get("/health/db?max_push_age=2h")
    assert stale.status_code == 503
    body = stale.json()
    assert body["status"] == "error" and body["database"] == "connected"
    assert body["error"].startswith("machine bob last pushed 3h")
    assert body["error"].endswith("ago (max_push_age 2h)") and "alice" not in body["error"]
    assert [m["stale"] for m in body["machines"]] == [True, False]


@pytest.mark.django_db(databases=["default", "pg"])
@override_settings(AGENTSVIEW_API_DATABASE="pg")
def test_pending_migrations_are_a_503(client):
    with connections["pg"].cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'sessions_app' AND name = %s",
                       [LATEST])
    response = client.get("/health/db")
    assert response.status_code == 503
    body = response.json()
    assert body["migrations_pending"] is True
    assert body["pending_migrations"] == [f"sessions_app.{LATEST}"]
    assert body["error"] == f"1 migration(s) pending: sessions_app.{LATEST}"
    assert body["schema_version"]["sessions_app"] == BEFORE_LATEST


def trigram_options() -> list[str] | None:
    with connections["pg"].cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)",
                       ["messages_content_trgm"])
        return cursor.fetchone()[0]


@pytest.mark.django_db(databases=["default", "pg"])
def test_the_trigram_index_keeps_a_bounded_pending_list_and_the_migrations_set_it():
    bounded = {"fastupdate=on", "gin_pending_list_limit=4096"}
    assert set(trigram_options()) == bounded  # 0014
    pending_list = importlib.import_module(f"sessions_app.migrations.{PENDING_LIST}")
    with connections["pg"].schema_editor() as editor:
        pending_list.backwards(None, editor)
    assert trigram_options() == ["fastupdate=off"]  # as 0010 made it
    with connections["pg"].cursor() as cursor:
        cursor.execute("ALTER INDEX messages_content_trgm SET (fastupdate = on)")
    fastupdate_off = importlib.import_module(f"sessions_app.migrations.{FASTUPDATE_OFF}")
    with connections["pg"].schema_editor() as editor:
        fastupdate_off.forwards(None, editor)
    assert trigram_options() == ["fastupdate=off"]
    with connections["pg"].schema_editor() as editor:
        pending_list.forwards(None, editor)
    assert set(trigram_options()) == bounded
