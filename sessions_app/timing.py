"""Where a session's time went (``/sessions/{id}/timing``) and when its messages came
(``/sessions/{id}/activity``), from its stored messages and tool calls.

A tool turn is an assistant message that made calls: it lasts until the next message. A
call's own duration is known only for a subagent call (its session's span); the others are
null, as in AgentsView. A prompt's span runs from a user message to the next one (the last to
the session's end).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import orjson

from agentsview.timefmt import rfc3339
from sessions_app.models import Message, Session, ToolCall

PREVIEW_KEYS = ("file_path", "command", "path", "pattern", "url", "query", "notebook_path")
PREVIEW_LENGTH = 200
# activity buckets: the smallest interval that gives at most MAX_BUCKETS
INTERVALS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 120


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds() * 1000))


def input_preview(input_json: str) -> str:
    """The one value that says what a call was about (a file, a command), else ''."""
    try:
        data = orjson.loads(input_json) if input_json else None
    except orjson.JSONDecodeError:
        return ""
    if isinstance(data, dict):
        for key in PREVIEW_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:PREVIEW_LENGTH]
    return ""


def session_timing(session: Session, using: str) -> dict:
    messages = list(Message.objects.using(using).filter(session_id=session.id)
                    .order_by("ordinal").values_list("ordinal", "role", "timestamp",
                                                     "is_system"))
    calls = list(ToolCall.objects.using(using).filter(session_id=session.id)
                 .order_by("message_ordinal", "call_index"))
    children = {c.subagent_session_id for c in calls if c.subagent_session_id}
    spans = {sid: _ms(start, end) for sid, start, end in Session.objects.using(using)
             .filter(pk__in=children).values_list("id", "started_at", "ended_at")}
    end = session.ended_at
    next_time: dict[int, datetime | None] = {}
    for (ordinal, *_), following in zip(messages, [*messages[1:], None], strict=True):
        next_time[ordinal] = following[2] if following else end
    by_message: dict[int, list[ToolCall]] = defaultdict(list)
    for call in calls:
        by_message[call.message_ordinal].append(call)
    times = {ordinal: ts for ordinal, _, ts, _ in messages}
    turns, all_calls = [], []
    for ordinal, group in by_message.items():
        parallel = len(group) > 1
        rendered = []
        for call in group:
            item = {"tool_use_id": call.tool_use_id, "tool_name": call.tool_name,
                    "category": call.category}
            if call.subagent_session_id:
                item["subagent_session_id"] = call.subagent_session_id
            item.update(duration_ms=spans.get(call.subagent_session_id or ""),
                        is_parallel=parallel, input_preview=input_preview(call.input_json))
            rendered.append(item)
        all_calls += rendered
        categories = defaultdict(int)
        for item in rendered:
            categories[item["category"]] += 1
        started = times.get(ordinal)
        turns.append({"message_id": ordinal, "ordinal": ordinal,
                      "started_at": rfc3339(started) if started else None,
                      "duration_ms": _ms(started, next_time.get(ordinal)),
                      "primary_category": max(sorted(categories), key=categories.get),
                      "calls": rendered})
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in all_calls:
        by_category[item["category"]][0] += item["duration_ms"] or 0
        by_category[item["category"]][1] += 1
    timed = [c for c in all_calls if c["duration_ms"] is not None]
    slowest = max(timed, key=lambda c: c["duration_ms"], default=None)
    tool_ms = sum(c["duration_ms"] for c in timed)
    activity = _prompt_spans(messages, by_message, all_calls, end)
    return {
        "session_id": session.id,
        "total_duration_ms": _ms(session.started_at, end) or 0,
        "tool_duration_ms": tool_ms,
        "turn_count": len(turns),
        "tool_call_count": len(all_calls),
        "subagent_count": len(children),
        "slowest_call": slowest,
        "by_category": [{"category": name, "duration_ms": ms, "call_count": n}
                        for name, (ms, n) in sorted(by_category.items(),
                                                    key=lambda kv: (-kv[1][0], kv[0]))],
        "running": False,
        "turns": turns,
        "activity": activity,
        "activity_totals": {"tool_ms": sum(a["tool_ms"] for a in activity),
                            "unattributed_ms": sum(a["unattributed_ms"] for a in activity)},
    }


def _prompt_spans(messages: list, by_message: dict, calls: list, end: datetime | None
                  ) -> list[dict]:
    prompts = [(o, ts) for o, role, ts, system in messages
               if role == "user" and not system and ts is not None]
    durations = {c["tool_use_id"]: c["duration_ms"] or 0 for c in calls}
    out = []
    for i, (ordinal, started) in enumerate(prompts):
        upto = prompts[i + 1][0] if i + 1 < len(prompts) else None
        until = prompts[i + 1][1] if i + 1 < len(prompts) else end
        duration = _ms(started, until) or 0
        tool = sum(durations.get(c.tool_use_id, 0) for o, group in by_message.items()
                   if o > ordinal and (upto is None or o < upto) for c in group)
        tool = min(tool, duration)
        out.append({"message_id": ordinal, "ordinal": ordinal, "started_at": rfc3339(started),
                    "duration_ms": duration, "tool_ms": tool, "unattributed_ms": duration - tool,
                    "running": False})
    return out


def _second(moment: datetime) -> str:
    return rfc3339(moment.replace(microsecond=0))


def session_activity(session: Session, using: str) -> dict:
    """Messages per interval from the session's start: user and assistant counts (system
    rows not counted) and each bucket's first ordinal; buckets without messages are left
    out."""
    rows = list(Message.objects.using(using).filter(session_id=session.id)
                .order_by("ordinal").values_list("ordinal", "role", "timestamp", "is_system"))
    stamped = [r[:3] for r in rows if r[2] is not None and not r[3]]
    if not stamped:
        return {"buckets": [], "interval_seconds": INTERVALS[0], "total_messages": len(rows)}
    first = min(ts for _, _, ts in stamped)
    origin = min(session.started_at or first, first)
    last = max(ts for _, _, ts in stamped)
    span = (last - origin).total_seconds()
    interval = next((i for i in INTERVALS if span / i < MAX_BUCKETS), INTERVALS[-1])
    buckets: dict[int, dict] = {}
    for ordinal, role, ts in stamped:
        index = int((ts - origin).total_seconds() // interval)
        bucket = buckets.get(index)
        if bucket is None:
            start = origin + timedelta(seconds=index * interval)
            bucket = buckets[index] = {
                "start_time": _second(start),
                "end_time": _second(start + timedelta(seconds=interval)),
                "user_count": 0, "assistant_count": 0, "first_ordinal": ordinal}
        if role == "user":
            bucket["user_count"] += 1
        elif role == "assistant":
            bucket["assistant_count"] += 1
        bucket["first_ordinal"] = min(bucket["first_ordinal"], ordinal)
    return {"buckets": [buckets[i] for i in sorted(buckets)], "interval_seconds": interval,
            "total_messages": len(rows)}
