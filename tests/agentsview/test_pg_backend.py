"""The shared PostgreSQL's backend: its health check needs no query while the connection is
quiet, and still finds a connection the server ended."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connections
from django.db.backends.postgresql import base as django_base

from agentsview.pg_backend.base import DatabaseWrapper


@pytest.mark.django_db(databases=["pg"])
def test_health_check_without_a_query_and_a_server_ended_connection(monkeypatch):
    wrapper = connections.create_connection("pg")
    assert isinstance(wrapper, DatabaseWrapper)
    try:
        wrapper.ensure_connection()
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
        pid = wrapper.connection.info.backend_pid
        asked = []
        original = django_base.DatabaseWrapper.is_usable

        def select_one(self):
            asked.append(True)
            return original(self)

        monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable", select_one)
        assert wrapper.is_usable() is True
        assert asked == []  # quiet: no SELECT 1

        info = wrapper.connection.info
        with psycopg.connect(host=info.host, port=info.port, user=info.user,
                             dbname=info.dbname, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while wrapper.is_usable() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert wrapper.is_usable() is False
        assert asked  # the server's goodbye was read by Django's own check
        wrapper.close_if_health_check_failed()  # what a request does first
    finally:
        wrapper.close()
