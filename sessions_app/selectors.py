"""Reads of the session tables, shared by the HTTP API, the session CLI and the pages.

Every function takes ``using`` (the database this process serves) and returns model rows or
plain data; turning them into JSON is ``sessions_app.serializers``' job.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Count, F, FloatField, IntegerField, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from sessions_app import pagination
from sessions_app.filters import SESSION_FILTERS, SessionQuery
from sessions_app.models import (
    COST,
    LAST_ACTIVE,
    ROLLUP_TEXT_COLUMNS,
    STARTED,
    Message,
    Session,
    ToolCall,
    ToolResultEvent,
)

MESSAGES_DEFAULT_LIMIT = 100
MESSAGES_MAX_LIMIT = 1000

# The value each order key sorts on, by direction (ascending, descending); never NULL, so
# keyset comparisons stay simple. A session without a health score or context pressure sorts
# last whichever the direction (AgentsView's rule).
UNSCORED_HIGH, UNSCORED_LOW = 1_000_000, -1


def _unscored_last(column: str, output_field) -> tuple:
    return (Coalesce(column, Value(UNSCORED_HIGH), output_field=output_field),
            Coalesce(column, Value(UNSCORED_LOW), output_field=output_field))


def _same(expression) -> tuple:
    return expression, expression


SORT_EXPRESSIONS_BY_DIRECTION = {
    "recent": _same(LAST_ACTIVE),
    "started": _same(STARTED),
    "messages": _same(F("message_count")),
    "user-messages": _same(F("user_message_count")),
    "output-tokens": _same(F("total_output_tokens")),
    "peak-context": _same(F("peak_context_tokens")),
    "failures": _same(F("tool_failure_signal_count")),
    "retries": _same(F("tool_retry_count")),
    "edit-churn": _same(F("edit_churn_count")),
    "compactions": _same(F("compaction_count")),
    "context-pressure": _unscored_last("context_pressure_max", FloatField()),
    "health": _unscored_last("health_score", IntegerField()),
    "secrets": _same(Value(0, output_field=IntegerField())),  # no secret scanning: all equal
    "cost": _same(COST),
    "id": _same(F("id")),
}
SORT_EXPRESSIONS = {key: pair[0] for key, pair in SORT_EXPRESSIONS_BY_DIRECTION.items()}


def sort_expression(key: str, descending: bool):
    return SORT_EXPRESSIONS_BY_DIRECTION[key][1 if descending else 0]


# Columns no list row shows (file bookkeeping, push state, the analytics rollups, the
# detail-only health basis): not loaded for a page of sessions.
LIST_DEFERRED = (
    "file_path", "file_size", "file_mtime", "file_hash", "data_version", "local_modified_at",
    "push_owner", "pushed_at", "signals_pending_since",
    "health_score_basis", "health_penalties", "rollup_version", "rollup_messages",
    "rollup_user_messages", "rollup_assistant_messages", "rollup_thinking_messages",
    "rollup_tool_use_messages", "rollup_tool_calls", "rollup_assistant_chars", "active_ms",
    "first_response_ms", "turn_cycles_ms", "rollup_models", "rollup_tools", "message_quarters",
    "rollup_skills", "frustration_marker_count", "usage_rollup",
)


def browsable_sessions(*, using: str = "default") -> QuerySet:
    """Sessions a person can browse: never soft-deleted or empty."""
    return Session.objects.using(using).filter(deleted_at__isnull=True, message_count__gt=0)


def filtered_sessions(filters: Any, *, using: str = "default") -> QuerySet:
    """The browsable sessions that *filters* (values of ``filters.SESSION_FILTERS`` or of a
    set extending it) keep."""
    return SESSION_FILTERS.apply(browsable_sessions(using=using), filters)


def visible_sessions(*, using: str = "default", include_children: bool = False,
                     include_one_shot: bool = True, include_automated: bool = True) -> QuerySet:
    """Browsable sessions; children, one-shots and automated runs only when asked."""
    return filtered_sessions(SESSION_FILTERS.defaults(
        include_children=include_children, include_one_shot=include_one_shot,
        include_automated=include_automated), using=using)


# The columns a list row loads: every column but the deferred ones.
LIST_COLUMNS = tuple(f.attname for f in Session._meta.concrete_fields
                     if f.attname not in LIST_DEFERRED)


class Row:
    """A row as the API and the pages read it: its columns (and any annotation) as
    attributes, no model behind it. Building model instances cost more than the queries: 200
    sessions with deferred fields (Django's from_db matches the loaded names against every
    column, per row) ~11 of a first page's 18 ms in-process, a page of 100 messages with
    their tool calls ~2 ms; the shapes and the pages only read attributes."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values


def plain_rows(qs: QuerySet, names: tuple[str, ...]) -> list[Row]:
    """*qs*'s rows as ``Row`` objects of the columns *names* (the database's converters
    applied, as for models)."""
    return [Row(dict(zip(names, values, strict=True))) for values in qs.values_list(*names)]


# per connection (each thread has its own): queries compiled once, by the caller's key
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


COMPILED_PER_CONNECTION = 256  # distinct query shapes kept; past that the cache starts over


def _compiled(using: str, key: tuple, build: Callable[[], QuerySet],
              expected: list | None = None) -> tuple:
    """``(connection, sql, params, converters)`` of *build*'s query, compiled once per
    connection and *key* (Django's compiling of a small query cost more than running it);
    at that compile its parameters must equal *expected*, if given."""
    connection = connections[using]
    cache = _COMPILED.setdefault(connection, {})
    compiled = cache.get(key)
    if compiled is None:
        compiler = build().query.get_compiler(using)
        sql, params = compiler.as_sql()
        if expected is not None and list(params) != list(expected):
            raise AssertionError(f"compiled query {key}: its parameters are {params!r}, not"
                                 f" {expected!r}")
        converters = list(compiler.get_converters(
            [column for column, _, _ in compiler.select[: compiler.col_count]]).items())
        if len(cache) >= COMPILED_PER_CONNECTION:
            cache.clear()
        compiled = cache[key] = (sql, tuple(params), converters)
    return (connection, *compiled)


def _fetch(connection, sql: str, params, converters: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for position, (functions, expression) in converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
    return rows


def compiled_rows(using: str, key: tuple, build: Callable[[], QuerySet], params: list,
                  names: tuple[str, ...]) -> list[Row]:
    """``plain_rows(build(), names)`` with the SQL compiled once per connection and *key*.
    *params* are the values *build* puts in the query, in the order of its SQL; the first
    compile checks that they are, and how the backend adapts each (PostgreSQL's integers are
    typed), so later calls send theirs the same way. *key* names everything else the SQL
    depends on (a LIMIT is written into it)."""
    connection, sql, built, converters = _compiled(
        using, key, lambda: build().values_list(*names), params)
    values = [v if type(b) in (str, int) else type(b)(v)
              for v, b in zip(params, built, strict=True)]
    return [Row(dict(zip(names, row, strict=True)))
            for row in _fetch(connection, sql, values, converters)]


def _columns(model) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


MESSAGE_COLUMNS, TOOL_CALL_COLUMNS, EVENT_COLUMNS = (
    _columns(Message), _columns(ToolCall), _columns(ToolResultEvent))


@dataclass
class SessionPage:
    sessions: list[Row]
    total: int
    next_cursor: str | None


def _after(keys: list[tuple[str, bool]], values: list, last_id: str, id_descending: bool) -> Q:
    """Rows strictly after the row whose sort values are *values* (then its id), each key in
    its own direction: (k1 beyond) or (k1 equal and k2 beyond) or ... or (all equal, id
    beyond)."""
    match = Q(pk__in=[])
    equal = Q()
    for i, ((_, descending), value) in enumerate(zip(keys, values, strict=True)):
        name = f"_sort{i}"
        match |= equal & Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
        equal &= Q(**{name: value})
    return match | (equal & Q(**{f"id__{'lt' if id_descending else 'gt'}": last_id}))


def list_sessions(query: SessionQuery, *, using: str = "default") -> SessionPage:
    """One page of sessions in the requested order; raises ``pagination.InvalidCursor``."""
    order = query.order
    keys = [(k, d) for k, d in order.keys if k != "id"]
    id_descending = next((d for k, d in order.keys if k == "id"), order.descending)
    qhash = pagination.query_hash(query.filters.key())
    sort_names = [f"_sort{i}" for i in range(len(keys))]
    ordering = [f"{'-' if d else ''}_sort{i}" for i, (_, d) in enumerate(keys)]
    ordering.append("-id" if id_descending else "id")
    names = (*LIST_COLUMNS, *sort_names)

    def sessions() -> QuerySet:
        return filtered_sessions(query.filters, using=using).annotate(
            **{name: sort_expression(k, d)
               for name, (k, d) in zip(sort_names, keys, strict=True)})

    if not query.cursor:
        # a first page's two queries depend on nothing but the filters' values (absolute
        # ones: days come with their zone), the order and the limit: compiled once
        shape = (query.filters.key(), tuple(order.keys), order.descending, query.limit)
        connection, sql, params, _ = _compiled(
            using, ("count", shape), lambda: sessions().order_by().values_list("pk"))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) counted", params)
            total = cursor.fetchone()[0]
        connection, sql, params, converters = _compiled(
            using, ("first page", shape), lambda: sessions().order_by(*ordering)
            .values_list(*names)[: query.limit + 1])
        rows = [Row(dict(zip(names, row, strict=True)))
                for row in _fetch(connection, sql, params, converters)]
        return _page(rows, query, keys, total, qhash)
    qs = sessions()
    cursor = pagination.decode(query.cursor, key=order.text(), descending=order.descending,
                               query=qhash)
    total = cursor.total
    values = cursor.value if isinstance(cursor.value, list) else [cursor.value]
    if len(values) != len(keys):
        raise pagination.InvalidCursor(query.cursor)
    page_qs = qs.filter(_after(keys, values, cursor.last_id, id_descending))
    if total is None:
        total = qs.count()
    rows = plain_rows(page_qs.order_by(*ordering)[: query.limit + 1], names)
    return _page(rows, query, keys, total, qhash)


def _page(rows: list[Row], query: SessionQuery, keys: list, total: int, qhash: str
          ) -> SessionPage:
    """The page of the first ``query.limit`` rows (one more was read: there is a next
    page), with the cursor that continues after it."""
    order = query.order
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        next_cursor = pagination.encode(pagination.Cursor(
            order.text(), order.descending,
            [getattr(last, f"_sort{i}") for i in range(len(keys))], last.id, total, qhash
        ))
    return SessionPage(rows, total, next_cursor)


# the columns one session loads: every column but its rollup texts
SESSION_COLUMNS = tuple(f.attname for f in Session._meta.concrete_fields
                        if f.attname not in ROLLUP_TEXT_COLUMNS)


def get_session(session_id: str, *, using: str = "default") -> Row | None:
    """One session as a ``Row`` of ``SESSION_COLUMNS``: its rollup texts
    (``ROLLUP_TEXT_COLUMNS``) are left out, a large session's being tens of KB to fetch and
    decompress, and nothing that shows a session reads them. The SQL is compiled once per
    connection (``compiled_rows``): compiling the 80-column SELECT cost more than running it.
    A model instance (``from_db``) cost a quarter of answering one session over the API:
    620,000 instructions, the row 40,000."""
    rows = compiled_rows(using, ("session",), lambda: Session.objects.using(using).filter(
        pk=session_id).order_by()[:1], [session_id], SESSION_COLUMNS)
    return rows[0] if rows else None


def session_exists(session_id: str, *, using: str = "default") -> bool:
    connection = connections[using]
    table = connection.ops.quote_name(Session._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s", [session_id])
        return cursor.fetchone() is not None


def session_revision(session_id: str, *, using: str = "default") -> str | None:
    """The session's transcript revision (see ``serializers.transcript_revision``); None when
    there is no such session. One query, as ``session_exists``."""
    from sessions_app.serializers import transcript_revision

    rows = compiled_rows(using, ("revision",), lambda: Session.objects.using(using).filter(
        pk=session_id).order_by()[:1], [session_id], ("content_digest",))
    return transcript_revision(rows[0]) if rows else None


def source_file_of(session_id: str, *, using: str = "default") -> str | None:
    """The transcript file a session was parsed from: None when there is no such session,
    '' when it has no file."""
    row = (Session.objects.using(using).filter(pk=session_id)
           .values_list("file_path", flat=True))
    for file_path in row:
        return file_path or ""
    return None


def child_sessions(session_id: str, *, using: str = "default") -> list[Session]:
    return list(
        Session.objects.using(using)
        .filter(parent_session_id=session_id, deleted_at__isnull=True)
        .order_by(STARTED, "id")
    )


@dataclass
class MessagePage:
    messages: list[Row]  # Message columns
    tool_calls: dict[int, list[Row]] = field(default_factory=dict)  # by message ordinal
    events: dict[tuple[int, int], list[Row]] = field(default_factory=dict)
    revision: str = ""  # the session's transcript revision, when the caller knows it


def _with_tool_calls(session_id: str, messages: list[Row], using: str) -> MessagePage:
    """Attach tool calls and their result events: two queries whatever the page size."""
    page = MessagePage(messages)
    ordinals = [m.ordinal for m in messages if m.has_tool_use]
    if not ordinals:
        return page
    # A page is a contiguous run of ordinals: a range rides the (session, ordinal, ...)
    # unique indexes, where a long IN list made PostgreSQL filter every call of the session.
    low, high = min(ordinals), max(ordinals)
    calls = compiled_rows(using, ("page calls",), lambda: ToolCall.objects.using(using).filter(
        session_id=session_id, message_ordinal__gte=low, message_ordinal__lte=high
    ).order_by("message_ordinal", "call_index"), [low, high, session_id], TOOL_CALL_COLUMNS)
    for call in calls:
        page.tool_calls.setdefault(call.message_ordinal, []).append(call)
    events = compiled_rows(using, ("page events",), lambda: ToolResultEvent.objects.using(
        using).filter(
        session_id=session_id, tool_call_message_ordinal__gte=low,
        tool_call_message_ordinal__lte=high,
    ).order_by("tool_call_message_ordinal", "call_index", "event_index"),
        [session_id, low, high], EVENT_COLUMNS)
    for event in events:
        page.events.setdefault((event.tool_call_message_ordinal, event.call_index), []).append(
            event
        )
    return page


def session_messages(session_id: str, *, using: str = "default",
                     limit: int = MESSAGES_DEFAULT_LIMIT, descending: bool = False,
                     from_ordinal: int | None = None) -> MessagePage:
    """A page of messages in ordinal order (or reverse). ``from_ordinal`` is inclusive;
    without it an ascending page starts at the beginning, a descending one at the end."""
    def build() -> QuerySet:
        qs = Message.objects.using(using).filter(session_id=session_id)
        if from_ordinal is not None:
            qs = qs.filter(**{"ordinal__lte" if descending else "ordinal__gte": from_ordinal})
        return qs.order_by("-ordinal" if descending else "ordinal")[:limit]

    params = [session_id] if from_ordinal is None else [session_id, from_ordinal]
    rows = compiled_rows(using, ("page", descending, from_ordinal is None, limit), build,
                         params, MESSAGE_COLUMNS)
    return _with_tool_calls(session_id, rows, using)


def messages_around(session_id: str, anchor: int, *, before: int, after: int,
                    using: str = "default") -> MessagePage:
    """The message at (or just after) ordinal *anchor*, with *before*/*after* messages."""
    qs = Message.objects.using(using).filter(session_id=session_id)
    earlier = plain_rows(qs.filter(ordinal__lt=anchor).order_by("-ordinal")[:before],
                         MESSAGE_COLUMNS)
    later = plain_rows(qs.filter(ordinal__gte=anchor).order_by("ordinal")[: after + 1],
                       MESSAGE_COLUMNS)
    return _with_tool_calls(session_id, [*reversed(earlier), *later], using)


def page_neighbours(session_id: str, first: int, last: int, *, back: int,
                    using: str = "default") -> tuple[int | None, bool]:
    """Around a page of ordinals *first*..*last*: where the page of *back* messages before it
    starts (None when nothing comes before), and whether any message comes after it. Reads
    ordinals only: the pages' previous and next links, without the messages themselves."""
    messages = Message.objects.using(using).filter(session_id=session_id)
    earlier = list(messages.filter(ordinal__lt=first).order_by("-ordinal")
                   .values_list("ordinal", flat=True)[:back])
    later = messages.filter(ordinal__gt=last).exists()
    return (earlier[-1] if earlier else None), later


def session_tool_calls(session_id: str, *, using: str = "default") -> list[ToolCall]:
    """Every tool call of a session in order, each with its message's time
    (``message_timestamp``) and the status of its last result event (``result_status``,
    ``''`` when none: ``errored`` and ``cancelled`` are failures)."""
    calls = list(ToolCall.objects.using(using).filter(session_id=session_id)
                 .order_by("message_ordinal", "call_index"))
    times = dict(
        Message.objects.using(using)
        .filter(session_id=session_id, ordinal__in={c.message_ordinal for c in calls})
        .values_list("ordinal", "timestamp")
    )
    statuses = {
        (ordinal, index): status  # ordered by event: the last one wins
        for ordinal, index, status in ToolResultEvent.objects.using(using)
        .filter(session_id=session_id)
        .order_by("tool_call_message_ordinal", "call_index", "event_index")
        .values_list("tool_call_message_ordinal", "call_index", "status")
    } if calls else {}
    for call in calls:
        call.message_timestamp = times.get(call.message_ordinal)
        call.result_status = statuses.get((call.message_ordinal, call.call_index), "")
    return calls


def stats(*, using: str = "default", include_one_shot: bool = False,
          include_automated: bool = False) -> dict:
    qs = visible_sessions(using=using, include_one_shot=include_one_shot,
                          include_automated=include_automated)
    return qs.aggregate(
        session_count=Count("id"),
        message_count=Coalesce(Sum("message_count"), 0),
        project_count=Count("project", distinct=True),
        machine_count=Count("machine", distinct=True),
        earliest=Min(STARTED),
    )


def counts_by(column: str, *, using: str = "default", include_one_shot: bool = False,
              include_automated: bool = False) -> list[tuple[str, int]]:
    """``[(value, sessions)]`` of *column* over the browsable sessions, sorted by value."""
    qs = visible_sessions(using=using, include_one_shot=include_one_shot,
                          include_automated=include_automated)
    return list(qs.values_list(column).annotate(n=Count("id")).order_by(column))


def facet_counts(columns: tuple[str, ...], *, using: str = "default",
                 include_one_shot: bool = False, include_automated: bool = False
                 ) -> dict[str, list[tuple[str, int]]]:
    """``counts_by`` of several columns from one scan: grouped by all of them together (a
    few hundred combinations at most), then summed per column here."""
    qs = visible_sessions(using=using, include_one_shot=include_one_shot,
                          include_automated=include_automated)
    sums: dict[str, dict[str, int]] = {column: defaultdict(int) for column in columns}
    for *values, n in qs.values_list(*columns).annotate(n=Count("id")).order_by():
        for column, value in zip(columns, values, strict=True):
            sums[column][value] += n
    return {column: sorted(found.items()) for column, found in sums.items()}


def filter_options(*, using: str = "default") -> dict[str, list[tuple[str, int]]]:
    """The choices of the dashboard filters that have no fixed ones, by filter name, with
    their session counts (every browsable top-level session, one-shot and automated runs
    included), from a single query."""
    return facet_counts(("project", "agent", "machine"), using=using, include_one_shot=True,
                        include_automated=True)


def count_sessions(*, using: str = "default", include_children: bool = False) -> int:
    return visible_sessions(using=using, include_children=include_children).count()


def messages_by_session(session_ids: list[str], *, using: str = "default"
                        ) -> dict[str, list[Message]]:
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in Message.objects.using(using).filter(session_id__in=session_ids).order_by(
            "session_id", "ordinal"):
        grouped[message.session_id].append(message)
    return grouped
