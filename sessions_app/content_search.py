"""Content search (``/api/v1/search/content``, ``session search``) and the search inside one
session (``/sessions/{id}/search``): every place a pattern occurs in messages, thinking, tool
inputs and tool results, with its location, snippet and turn.

The session search (``sessions_app.search``) answers one hit per session; this one answers
each occurrence, so a script can tell where a word is. Patterns match case-insensitively:
``substring`` (the default) anywhere, ``regex`` as a regular expression, ``fts`` when every
word of the query is in the text. The same rows and order on SQLite and PostgreSQL: the
databases only narrow the candidates, the matching and the snippets are done here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from agentsview.api.params import BadParameter
from sessions_app.export.segments import message_segments
from sessions_app.models import Message, Session, ToolCall
from sessions_app.search import parse_terms
from sessions_app.selectors import SORT_EXPRESSIONS, filtered_sessions

MODES = ("substring", "regex", "fts")
UNAVAILABLE_MODES = ("semantic", "hybrid")  # AgentsView's embeddings: not served here
LOCATIONS = ("messages", "thinking", "tool_input", "tool_result")
SNIPPET_RADIUS = 60
MESSAGE_FIELDS = ("session_id", "ordinal", "role", "timestamp", "content", "thinking_text",
                  "has_thinking", "has_tool_use")
SESSION_CHUNK = 200  # sessions scanned per round, newest first, until the page is full


@dataclass(frozen=True)
class Matcher:
    """A compiled pattern: where it occurs in a text, and how a database narrows rows."""

    mode: str
    pattern: str
    regex: re.Pattern
    words: tuple[str, ...] = ()

    def find(self, text: str) -> tuple[int, int] | None:
        """(start, end) of the first occurrence in *text*, None when it does not match."""
        if not text:
            return None
        if self.mode == "fts":
            folded = text.casefold()
            spans = [(folded.find(w.casefold()), len(w)) for w in self.words]
            if any(start < 0 for start, _ in spans):
                return None
            start, length = min(spans)
            return start, start + length
        found = self.regex.search(text)
        return (found.start(), found.end()) if found else None

    def narrow(self, column: str) -> Q:
        """Rows whose *column* may match (the database's own case-insensitive test)."""
        if self.mode == "regex":
            return Q(**{f"{column}__iregex": self.pattern})
        words = self.words if self.mode == "fts" else (self.pattern,)
        match = Q()
        for word in words:
            match &= Q(**{f"{column}__icontains": word})
        return match


def matcher(pattern: str, mode: str) -> Matcher:
    if mode in UNAVAILABLE_MODES:
        raise BadParameter("mode", mode, "semantic search is not available on this server")
    if mode == "regex":
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise BadParameter("pattern", pattern, f"invalid regular expression: {exc}") from None
        return Matcher(mode, pattern, compiled)
    if mode == "fts":
        words = tuple(parse_terms(pattern))
        if not words:
            raise BadParameter("pattern", pattern, "no words to search for")
        return Matcher(mode, pattern, re.compile("|".join(map(re.escape, words)), re.I), words)
    return Matcher(mode, pattern, re.compile(re.escape(pattern), re.IGNORECASE))


def snippet(text: str, span: tuple[int, int]) -> str:
    """About 60 characters either side of the match, as written (newlines kept)."""
    start, end = span
    return text[max(0, start - SNIPPET_RADIUS): end + SNIPPET_RADIUS]


def prose(role: str, content: str, has_thinking: bool, has_tool_use: bool,
          tool_names: Iterable[str]) -> str:
    """What a message says in its own words: its content without the thinking blocks
    (searched as ``thinking``) and the tool label lines (their calls are searched as
    ``tool_input`` and ``tool_result``), read by the exports' own splitter."""
    segments = message_segments({
        "role": role, "content": content, "has_thinking": has_thinking,
        "has_tool_use": has_tool_use,
        "tool_calls": [{"tool_name": name} for name in tool_names]})
    return "\n\n".join(seg.text for seg in segments if seg.kind == "text")


@dataclass
class ContentMatch:
    session: Session
    location: str  # message, thinking, tool_input, tool_result
    role: str
    ordinal: int
    timestamp: Any
    snippet: str
    ordinal_range: tuple[int, int]
    tool_name: str = ""


def _turns(session_id: str, using: str) -> list[tuple[int, str]]:
    return list(Message.objects.using(using).filter(session_id=session_id)
                .order_by("ordinal").values_list("ordinal", "role"))


def turn_range(turns: list[tuple[int, str]], ordinal: int) -> tuple[int, int]:
    """The ordinals of the turn holding *ordinal*: a user message alone, or the run of other
    messages between two user messages."""
    index = next((i for i, (o, _) in enumerate(turns) if o == ordinal), None)
    if index is None or turns[index][1] == "user":
        return ordinal, ordinal
    first = last = index
    while first > 0 and turns[first - 1][1] != "user":
        first -= 1
    while last + 1 < len(turns) and turns[last + 1][1] != "user":
        last += 1
    return turns[first][0], turns[last][0]


def _session_matches(session: Session, found: Matcher, locations: Iterable[str],
                     messages: dict, calls: dict, using: str) -> list[ContentMatch]:
    """Every occurrence in one session, by ordinal, then message, thinking, each tool call's
    input and result."""
    spots: list[tuple[int, int, int, str, str, str, Any, str]] = []
    names: dict[int, list[str]] = {}
    for (ordinal, _, name, _, _) in calls.get(session.id, ()):
        names.setdefault(ordinal, []).append(name)
    for (ordinal, role, timestamp, content, thinking, has_thinking, has_tool_use
         ) in messages.get(session.id, ()):
        if "messages" in locations and content:
            text = prose(role, content, has_thinking, has_tool_use, names.get(ordinal, ()))
            span = found.find(text)
            if span:
                spots.append((ordinal, 0, 0, "message", role, snippet(text, span),
                              timestamp, ""))
        if "thinking" in locations:
            span = found.find(thinking)
            if span:
                spots.append((ordinal, 1, 0, "thinking", role, snippet(thinking, span),
                              timestamp, ""))
    times = {m[0]: (m[1], m[2]) for m in messages.get(session.id, ())}
    for (ordinal, index, name, input_json, result) in calls.get(session.id, ()):
        role, timestamp = times.get(ordinal, ("assistant", None))
        if "tool_input" in locations:
            span = found.find(input_json)
            if span:
                spots.append((ordinal, 2, index * 2, "tool_input", role,
                              snippet(input_json, span), timestamp, name))
        if "tool_result" in locations and result:
            span = found.find(result)
            if span:
                spots.append((ordinal, 2, index * 2 + 1, "tool_result", role,
                              snippet(result, span), timestamp, ""))
    if not spots:
        return []
    spots.sort(key=lambda s: s[:3])
    turns = _turns(session.id, using)
    return [ContentMatch(session, location, role, ordinal, timestamp, text,
                         turn_range(turns, ordinal), tool)
            for ordinal, _, _, location, role, text, timestamp, tool in spots]


def _candidates(found: Matcher, locations: tuple[str, ...], ids: list[str], using: str,
                exclude_system: bool) -> tuple[dict, dict]:
    """The messages and tool calls of sessions *ids* that may match."""
    messages: dict[str, list] = {}
    text_match = Q(pk__in=[])
    if "messages" in locations:
        text_match |= found.narrow("content")
    if "thinking" in locations:
        text_match |= found.narrow("thinking_text")
    if "messages" in locations or "thinking" in locations:
        rows = Message.objects.using(using).filter(session_id__in=ids).filter(text_match)
        if exclude_system:
            rows = rows.filter(is_system=False)
        rows = rows.values_list(*MESSAGE_FIELDS)
        for sid, *row in rows:
            messages.setdefault(sid, []).append(tuple(row))
    # the role and time of every message that made a matching call
    calls: dict[str, list] = {}
    call_match = Q(pk__in=[])
    if "tool_input" in locations:
        call_match |= found.narrow("input_json")
    if "tool_result" in locations:
        call_match |= found.narrow("result_content")
    if "tool_input" in locations or "tool_result" in locations:
        rows = (ToolCall.objects.using(using).filter(session_id__in=ids).filter(call_match)
                .values_list("session_id", "message_ordinal", "call_index", "tool_name",
                             "input_json", "result_content"))
        wanted: set[tuple[str, int]] = set()
        for sid, ordinal, index, name, input_json, result in rows:
            calls.setdefault(sid, []).append((ordinal, index, name, input_json or "",
                                              result or ""))
            wanted.add((sid, ordinal))
        have = {(sid, m[0]) for sid, rows_ in messages.items() for m in rows_}
        missing = wanted - have
        if missing:
            extra = Message.objects.using(using).filter(
                session_id__in={s for s, _ in missing}, ordinal__in={o for _, o in missing})
            for sid, *row in extra.values_list("session_id", "ordinal", "role", "timestamp"):
                if (sid, row[0]) in missing:
                    # the message itself did not match: only its role and time are used
                    messages.setdefault(sid, []).append((*row, "", "", False, False))
    for rows_ in messages.values():
        rows_.sort(key=lambda row: row[0])
    return messages, calls


def search_content(pattern: str, mode: str, locations: tuple[str, ...], filters: Any, *,
                   using: str, limit: int, offset: int, exclude_system: bool = False
                   ) -> tuple[list[ContentMatch], bool]:
    """A page of occurrences (sessions newest first) and whether there are more."""
    found = matcher(pattern, mode)
    sessions: QuerySet = (filtered_sessions(filters, using=using)
                          .annotate(_recent=SORT_EXPRESSIONS["recent"])
                          .order_by("-_recent", "-id"))
    wanted = offset + limit + 1
    out: list[ContentMatch] = []
    start = 0
    while len(out) < wanted:
        chunk = list(sessions[start: start + SESSION_CHUNK])
        if not chunk:
            break
        start += SESSION_CHUNK
        messages, calls = _candidates(found, locations, [s.id for s in chunk], using,
                                      exclude_system)
        for session in chunk:
            if session.id in messages or session.id in calls:
                out.extend(_session_matches(session, found, locations, messages, calls, using))
    page = out[offset: offset + limit]
    return page, len(out) > offset + limit


def session_ordinals(session_id: str, q: str, *, using: str) -> list[int]:
    """Ordinals of the session's messages containing every word of *q* (content or
    thinking), in order: what the transcript view highlights."""
    words = parse_terms(q)
    if not words:
        return []
    qs = Message.objects.using(using).filter(session_id=session_id)
    for word in words:
        qs = qs.filter(Q(content__icontains=word) | Q(thinking_text__icontains=word))
    return list(qs.order_by("ordinal").values_list("ordinal", flat=True))
