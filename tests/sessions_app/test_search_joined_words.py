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


@pytest.fixture
def many(archive):
    """Forty sessions a minute apart (one in three without the word), each message once."""
    from datetime import timedelta

    from tests.factories import T0

    for alias in ("default", "pg"):
        for i in range(40):
            session = SessionFactory.build(id=f"walk-{i:02d}",
                                           started_at=T0 + timedelta(minutes=i))
            session.save(using=alias)
            words = "auth token" if i % 3 else "nothing here"
            for ordinal in range(i % 4 + 1):
                content = f"{words} {'auth ' * ordinal}step {ordinal}"
                MessageFactory.build(session=session, ordinal=ordinal, content=content).save(
                    using=alias)


def answer_on(alias: str, query: str, sort: str, limit: int, offset: int) -> list[tuple]:
    from sessions_app.filters import SESSION_FILTERS

    hits, more = search.search(query, SESSION_FILTERS.defaults(include_one_shot=True),
                               using=alias, limit=limit, offset=offset, sort=sort)
    return [(h.session.id, h.ordinal, h.snippet, h.rank) for h in hits] + [more]


@pytest.mark.parametrize("alias", ["default", "pg"])
@pytest.mark.parametrize("sort", search.SORTS)
def test_a_common_word_walked_session_by_session_gives_the_same_answer(many, monkeypatch, sort,
                                                                       alias):
    pages = [(5, 0), (5, 5), (10, 20), (50, 0), (3, 30)]
    queries = ["auth", "auth token", "step 2", "filter_auth.iter", "h.i", "AUTH"]

    def answer(q: str, sort: str, limit: int, offset: int) -> list[tuple]:
        return answer_on(alias, q, sort, limit, offset)

    expected = {(q, p): answer(q, sort, *p) for q in queries for p in pages}
    monkeypatch.setattr(search, "COMMON_ROWS", 1)
    monkeypatch.setattr(search, "WALK_CHUNK", 2)
    monkeypatch.setattr(search, "RELEVANCE_POOL", 12)
    walked = {(q, p): answer(q, sort, *p) for q in queries for p in pages}
    monkeypatch.setattr(search, "COMMON_ROWS", 10_000)
    pooled = {(q, p): answer(q, sort, *p) for q in queries for p in pages}
    assert walked == pooled
    assert expected[("auth", (5, 0))][0][0].startswith("walk-")
    if sort == "recency":
        assert walked == expected


def test_the_migration_goes_back_to_the_plain_index_and_forth():
    migration = importlib.import_module("sessions_app.migrations.0013_search_index_joined_words")
    operation = migration.Migration.operations[0]

    def definition() -> str:
        with connections["pg"].cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s"
                           " AND schemaname = current_schema()", [migration.INDEX])
            return cursor.fetchone()[0]

    assert "replace(" in definition() and "fastupdate='on'" in definition()  # 0014's list
    with connections["pg"].schema_editor() as editor:
        operation.reverse_code(None, editor)
    assert "gin (content " in definition() and "fastupdate=off" in definition()
    with connections["pg"].schema_editor() as editor:
        operation.code(None, editor)
    assert "replace(" in definition()
