"""PostgreSQL's search index keeps ``_ . / -`` inside a word (migration 0013): the search finds
the same messages as on SQLite, and asks through the index's own expression."""

from __future__ import annotations

import importlib

import pytest
from django.db import connections

from sessions_app import search
from tests.factories import MessageFactory, SessionFactory

pytestmark = pytest.mark.django_db(databases=["default", "pg"])

CONTENTS = {
    "joined": ["call FILTER_AUTH.ITER() here", "ok"],
    "apart": ["filter the auth, then iter", "filter auth iter"],
    "near": ["filter_auth_iter and filterXauth.iter/src-main"],
    "letters": ["a ǀ b: filterǀauth"],
}
QUERIES = {
    "filter_auth.iter": {"joined"},
    "auth": {"joined", "apart", "near", "letters"},
    "h.i": {"joined", "near"},
    "iter/src-main": {"near"},
    "filterǀauth": {"letters"},
    "ǀ": {"letters"},
    "auth.iter()": {"joined"},
}


@pytest.fixture
def archive():
    for alias in ("default", "pg"):
        for session_id, contents in CONTENTS.items():
            session = SessionFactory.build(id=session_id)
            session.save(using=alias)
            for ordinal, content in enumerate(contents):
                MessageFactory.build(session=session, ordinal=ordinal,
                                     content=content).save(using=alias)


@pytest.mark.parametrize("query", QUERIES)
def test_joined_words_match_as_on_sqlite(archive, query):
    terms = search.parse_terms(query)
    assert search.matching_session_ids("pg", terms) == QUERIES[query]
    assert search.matching_session_ids("default", terms) == QUERIES[query]


def test_the_search_asks_through_the_index_expression(archive):
    migration = importlib.import_module("sessions_app.migrations.0013_search_index_joined_words")
    assert migration.JOINED == search.PG_INDEXED
    where, params = search._pg_where(["filter_auth.iter"])
    with connections["pg"].cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT session_id FROM messages WHERE {where}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "messages_content_trgm" in plan
