"""Full-text search over message content: the same answer on SQLite and PostgreSQL.

A query is one or more terms (whitespace-separated; "quoted phrases" stay whole); a message
matches when it contains every term, case-insensitively, anywhere (substring semantics, so
``login.ts`` and ``TypeError:`` work). A plain word is searched by its stem (``redirects``,
``redirected`` and ``redirecting`` all find ``redirect``): English suffixes are cut, which
substring matching then widens back to every inflection. SQLite answers from an FTS5 trigram
index, PostgreSQL from a pg_trgm GIN index (on the content with ``_ . / -`` as letters);
both are created by migrations. A common term is looked up session by session, newest first,
until enough sessions match. One hit per session: its best message (the highest rank),
sessions by relevance (AgentsView's default) or by recency, with a snippet built here,
identically for both.

The rank is BM25 over the message's words (each term's whole-word occurrences, damped,
against the message's length in words), negated as SQLite FTS5 reports it: lower is better.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from dataclasses import dataclass

from django.db import connections

from sessions_app.filters import SessionFilters
from sessions_app.models import Session
from sessions_app.selectors import SORT_EXPRESSIONS, filtered_sessions

SNIPPET_RADIUS = 60
MAX_TERMS = 8


@dataclass
class SearchHit:
    session: Session
    ordinal: int
    snippet: str
    rank: float = 0.0


SUFFIXES = (("sses", "ss"), ("ies", ""), ("edly", ""), ("ingly", ""), ("ing", ""),
            ("ed", ""), ("es", ""), ("ly", ""), ("s", ""))
MIN_STEM = 4  # a shorter stem matches too much (``us`` from ``uses``)
WORD = re.compile(r"[A-Za-z]+")
SORTS = ("relevance", "recency")
RELEVANCE_POOL = 500  # sessions ranked for sort=relevance: the most recent that match
COMMON_ROWS = 2000  # matching messages from which a term is looked up session by session
WALK_CHUNK = 100  # the fewest sessions looked up at once (the chunk doubles each time)
K1, B, AVERAGE_WORDS = 1.2, 0.75, 8  # BM25's constants; a short message's words
TOKEN = re.compile(r"\w+")
# pg_trgm cuts words at anything not a letter or digit: its index (migration 0013) is built on
# the content with these four characters as uncased letters, so ``filter_auth.iter`` is one
# word whose trigrams across the joins are rare, not three common ones. A term is searched
# through the same expression, character for character (a substring stays a substring).
# replace() four times costs a quarter of one translate() (which a scan pays on every row).
PG_JOINED_LETTERS = "ǀǁǂǃ"
PG_JOINS = str.maketrans("_./-", PG_JOINED_LETTERS)
PG_INDEXED = "replace(replace(replace(replace(content, '_', 'ǀ'), '.', 'ǁ'), '/', 'ǂ'), '-', 'ǃ')"


def stem(word: str) -> str:
    """A plain word without its English inflection (``redirects`` -> ``redirect``); anything
    else (a phrase, a path, a short word) as it is."""
    if not WORD.fullmatch(word) or word.endswith("ss") and not word.endswith("sses"):
        return word
    lower = word.lower()
    for suffix, replacement in SUFFIXES:
        if lower.endswith(suffix) and len(lower) - len(suffix) + len(replacement) >= MIN_STEM:
            return word[: len(word) - len(suffix)] + replacement
    return word


def parse_terms(q: str) -> list[str]:
    """The terms of a query, each plain word by its stem."""
    try:
        terms = shlex.split(q)
    except ValueError:  # an unbalanced quote: take the words as they are
        terms = q.split()
    quoted = '"' in q or "'" in q
    out = [t for t in (term.strip() for term in terms) if t][:MAX_TERMS]
    return [t if quoted and " " in t else stem(t) for t in out]


def rank(content: str, terms: list[str]) -> float:
    """BM25 over the message's words: each term's occurrences as a whole word (a path or a
    phrase: as written), damped, against the message's length in words; negated (lower is
    better, as FTS5 reports it). An inflection a stem found matches without adding rank."""
    folded = content.casefold()
    tokens = TOKEN.findall(folded)
    norm = K1 * (1 - B + B * max(len(tokens), 1) / AVERAGE_WORDS)
    score = 0.0
    for term in terms:
        term = term.casefold()
        tf = tokens.count(term) if WORD.fullmatch(term) else folded.count(term)
        score += tf * (K1 + 1) / (tf + norm) if tf else 0.0
    return -round(score, 6)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _pg_where(terms: list[str]) -> tuple[str, list[str]]:
    """The PostgreSQL condition for every term and its parameters: each term through the
    trigram index's expression (``PG_INDEXED``: identifiers and paths stay one word); a term
    with one of the joined characters then on the content itself, which decides. (Without
    them the two conditions match the same messages: a scan need not pay for both.)"""
    where, params = [], []
    for term in terms:
        joined = term.translate(PG_JOINS)
        where.append(f"{PG_INDEXED} ILIKE %s")
        params.append(_like(joined))
        if joined != term or any(c in term for c in PG_JOINED_LETTERS):
            where.append("content ILIKE %s")
            params.append(_like(term))
    return " AND ".join(where), params


def _sqlite_where(terms: list[str]) -> tuple[str, list[str]]:
    """The SQLite condition for every term and its parameters. FTS5 answers a LIKE from its
    index only without an ESCAPE clause (with one it reads every row: ~260 ms at 600,000
    messages), so the index is asked with the term's ``%`` and ``_`` left as wildcards (a
    superset), and a term holding one is then checked, escaped, on the content itself."""
    where, params = [], []
    for term in terms:
        where.append("f.content LIKE %s")
        params.append(f"%{term}%")
        if "%" in term or "_" in term:
            where.append("m.content LIKE %s ESCAPE '\\'")
            params.append(_like(term))
    return " AND ".join(where), params


def matching_session_ids(using: str, terms: list[str]) -> set[str]:
    """Sessions with a message containing every term, answered from the search index alone
    (a query of its own, so the plan never depends on how fresh the table statistics are)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        where, params = _pg_where(terms)
        sql = f"SELECT DISTINCT session_id FROM messages WHERE {where}"
    else:
        where, params = _sqlite_where(terms)
        sql = (f"SELECT DISTINCT m.session_id FROM messages_fts f JOIN messages m"
               f" ON m.id = f.rowid WHERE {where}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _recent_matching_ids(using: str, terms: list[str], filters: SessionFilters,
                         want: int) -> set[str]:
    """Session ids holding the ``want`` most recent filtered sessions that match (or all of
    them), and no session that does not match.

    A common term (COMMON_ROWS matching messages or more) is not collected from every message
    that holds it: the filtered sessions are walked newest first, a growing chunk at a time,
    each read through the messages' session index up to its first match, until ``want``
    match. (The search index's LIKE is the content's own LIKE once candidates are found, so
    both ask the same question.)"""
    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        where, params = _pg_where(terms)
        probe = f"SELECT session_id FROM messages WHERE {where} LIMIT {COMMON_ROWS}"
        like = "ILIKE %s"
        # unnest(), not ANY(list): with a literal list the planner scanned every message
        ids = "unnest(%s::varchar[]) AS s(id)"
    else:
        where, params = _sqlite_where(terms)
        probe = (f"SELECT m.session_id FROM messages_fts f JOIN messages m ON m.id = f.rowid"
                 f" WHERE {where} LIMIT {COMMON_ROWS}")
        like = "LIKE %s ESCAPE '\\'"
        ids = "(SELECT value AS id FROM json_each(%s)) AS s"
    with connection.cursor() as cursor:
        cursor.execute(probe, params)
        rows = cursor.fetchall()
    if len(rows) < COMMON_ROWS:
        return {row[0] for row in rows}
    newest = list(filtered_sessions(filters, using=using)
                  .annotate(_recent=SORT_EXPRESSIONS["recent"]).order_by("-_recent", "-id")
                  .values_list("id", flat=True))
    where = " AND ".join([f"m.content {like}"] * len(terms))
    sql = (f"SELECT s.id FROM {ids} WHERE EXISTS"
           f" (SELECT 1 FROM messages m WHERE m.session_id = s.id AND {where})")
    found: set[str] = set()
    start, size = 0, max(2 * want, WALK_CHUNK)
    with connection.cursor() as cursor:
        while start < len(newest) and len(found) < want:
            chunk = newest[start: start + size]
            cursor.execute(sql, [chunk if postgresql else json.dumps(chunk),
                                 *[_like(t) for t in terms]])
            found.update(row[0] for row in cursor.fetchall())
            start, size = start + size, size * 2
    return found


def _best_matches(using: str, session_ids: list[str], terms: list[str]
                  ) -> dict[str, tuple[float, int, str]]:
    """``{session id: (rank, ordinal, content)}`` of the best matching message of each session
    (the lowest rank, then the first)."""
    best: dict[str, tuple[float, int, str]] = {}
    if not session_ids:
        return best
    connection = connections[using]
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start: start + 500]
        ids = ", ".join(["%s"] * len(chunk))
        if connection.vendor == "postgresql":  # these sessions' messages, by their index
            where = " AND ".join(["content ILIKE %s"] * len(terms))
            sql = (f"SELECT session_id, ordinal, content FROM messages"
                   f" WHERE session_id IN ({ids}) AND {where}")
        else:
            where = " AND ".join(["f.content LIKE %s ESCAPE '\\'"] * len(terms))
            sql = (f"SELECT m.session_id, m.ordinal, m.content FROM messages_fts f"
                   f" JOIN messages m ON m.id = f.rowid WHERE m.session_id IN ({ids})"
                   f" AND {where}")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*chunk, *[_like(t) for t in terms]])
            for session_id, ordinal, content in cursor.fetchall():
                found = (rank(content, terms), ordinal, content)
                if session_id not in best or found[:2] < best[session_id][:2]:
                    best[session_id] = found
    return best


def snippet(content: str, terms: list[str]) -> str:
    """About 120 characters around the first match, HTML-escaped, matches in ``<mark>``."""
    folded = content.casefold()
    positions = [folded.find(t.casefold()) for t in terms]
    found = [p for p in positions if p >= 0]
    first = min(found) if found else 0
    start = max(0, first - SNIPPET_RADIUS)
    end = min(len(content), first + SNIPPET_RADIUS + max((len(t) for t in terms), default=0))
    window = content[start:end].replace("\n", " ")
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)
    pieces, cursor = [], 0
    for match in pattern.finditer(window):
        pieces.append(html.escape(window[cursor:match.start()], quote=False))
        pieces.append(f"<mark>{html.escape(match.group(0), quote=False)}</mark>")
        cursor = match.end()
    pieces.append(html.escape(window[cursor:], quote=False))
    text = "".join(pieces).strip()
    return ("…" if start > 0 else "") + text + ("…" if end < len(content) else "")


def search(q: str, filters: SessionFilters, *, using: str = "default", limit: int = 50,
           offset: int = 0, sort: str = "relevance") -> tuple[list[SearchHit], bool]:
    """A page of hits and whether there are more: by relevance (each session's best rank,
    then recency; among the RELEVANCE_POOL most recent matching sessions) or by recency."""
    terms = parse_terms(q)
    if not terms:
        return [], False
    want = RELEVANCE_POOL if sort == "relevance" else offset + limit + 1
    matching = _recent_matching_ids(using, terms, filters, want)
    if not matching:
        return [], False
    ordered = (filtered_sessions(filters, using=using).filter(id__in=matching)
               .annotate(_recent=SORT_EXPRESSIONS["recent"]).order_by("-_recent", "-id"))
    if sort == "relevance":
        pool = list(ordered[:RELEVANCE_POOL])
        best = _best_matches(using, [s.id for s in pool], terms)
        position = {s.id: i for i, s in enumerate(pool)}
        pool = [s for s in pool if s.id in best]
        pool.sort(key=lambda s: (best[s.id][0], position[s.id]))
        sessions = pool[offset: offset + limit + 1]
    else:
        sessions = list(ordered[offset: offset + limit + 1])
        best = None
    more = len(sessions) > limit
    sessions = sessions[:limit]
    if best is None:
        best = _best_matches(using, [s.id for s in sessions], terms)
    hits = []
    for session in sessions:
        score, ordinal, content = best.get(session.id, (0.0, 0, ""))
        hits.append(SearchHit(session, ordinal, snippet(content, terms), score))
    return hits, more
