"""Full-text search over message content: the same answer on SQLite and PostgreSQL.

A query is one or more terms (whitespace-separated; "quoted phrases" stay whole); a message
matches when it contains every term, case-insensitively, anywhere (substring semantics, so
``login.ts`` and ``TypeError:`` work). SQLite answers from an FTS5 trigram index, PostgreSQL
from a pg_trgm GIN index; both are created by migrations. One hit per session (its first
matching message), newest sessions first, with a snippet built here, identically for both.
"""

from __future__ import annotations

import html
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


def parse_terms(q: str) -> list[str]:
    try:
        terms = shlex.split(q)
    except ValueError:  # an unbalanced quote: take the words as they are
        terms = q.split()
    return [t for t in (term.strip() for term in terms) if t][:MAX_TERMS]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching_session_ids(using: str, terms: list[str]) -> set[str]:
    """Sessions with a message containing every term, answered from the search index alone
    (a query of its own, so the plan never depends on how fresh the table statistics are)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        where = " AND ".join(["content ILIKE %s"] * len(terms))
        sql = f"SELECT DISTINCT session_id FROM messages WHERE {where}"
    else:
        where = " AND ".join(["f.content LIKE %s ESCAPE '\\'"] * len(terms))
        sql = (f"SELECT DISTINCT m.session_id FROM messages_fts f JOIN messages m"
               f" ON m.id = f.rowid WHERE {where}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [_like(t) for t in terms])
        return {row[0] for row in cursor.fetchall()}


def _first_matches(using: str, session_ids: list[str], terms: list[str]) -> dict[str, tuple]:
    """``{session id: (ordinal, content)}`` of the first matching message of each session."""
    if not session_ids:
        return {}
    connection = connections[using]
    ids = ", ".join(["%s"] * len(session_ids))
    if connection.vendor == "postgresql":
        where = " AND ".join(["content ILIKE %s"] * len(terms))
        sql = (f"SELECT DISTINCT ON (session_id) session_id, ordinal, content FROM messages"
               f" WHERE session_id IN ({ids}) AND {where} ORDER BY session_id, ordinal")
    else:
        where = " AND ".join(["f.content LIKE %s ESCAPE '\\'"] * len(terms))
        sql = (f"SELECT m.session_id, MIN(m.ordinal), m.content FROM messages_fts f"
               f" JOIN messages m ON m.id = f.rowid WHERE m.session_id IN ({ids}) AND {where}"
               f" GROUP BY m.session_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*session_ids, *[_like(t) for t in terms]])
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


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
           offset: int = 0) -> tuple[list[SearchHit], bool]:
    """A page of hits and whether there are more."""
    terms = parse_terms(q)
    if not terms:
        return [], False
    matching = matching_session_ids(using, terms)
    if not matching:
        return [], False
    sessions = list(
        filtered_sessions(filters, using=using)
        .filter(id__in=matching)
        .annotate(_recent=SORT_EXPRESSIONS["recent"])
        .order_by("-_recent", "-id")[offset: offset + limit + 1]
    )
    more = len(sessions) > limit
    sessions = sessions[:limit]
    firsts = _first_matches(using, [s.id for s in sessions], terms)
    hits = []
    for session in sessions:
        ordinal, content = firsts.get(session.id, (0, ""))
        hits.append(SearchHit(session, ordinal, snippet(content, terms)))
    return hits, more
