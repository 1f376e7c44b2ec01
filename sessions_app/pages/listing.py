"""What the session list page adds to a page of sessions: sortable column headers, a pager
that goes back as well as forward (the keyset cursors only go forward, so the page carries
the cursors it came through), and the sessions the default exclusions hide."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from django.db.models import Count, Q
from django.http import QueryDict

from sessions_app.filters import SessionOrder
from sessions_app.models import Session
from sessions_app.selectors import filtered_sessions

FIRST_PAGE = "-"  # the cursor of the first page in the ``back`` trail
# (column, sort key, the direction a first click asks for)
SORTABLE = {
    "started": ("started", True),
    "active": ("recent", True),
    "messages": ("messages", True),
    "tokens": ("output-tokens", True),
    "health": ("health", False),
    "failures": ("failures", True),
    "cost": ("cost", True),  # an unknown cost (a model without a price) sorts last
}
# The kinds of session the list leaves out unless asked: (filter, words for one, for many)
EXCLUSIONS = (
    ("include_one_shot", Q(user_message_count__lte=1), "one-shot"),
    ("include_automated", Q(is_automated=True), "automated"),
    ("include_children", Q(parent_session_id__isnull=False), "subagent or fork"),
)


def sort_links(params: QueryDict, order: SessionOrder) -> dict[str, dict]:
    """Per column: the link that sorts by it (the other direction when it is the current
    sort) and the arrow it shows."""
    links = {}
    for column, (key, descending) in SORTABLE.items():
        current = order.key == key
        wanted = (not order.descending) if current else descending
        query = params.copy()
        for name in ("cursor", "back"):
            query.pop(name, None)
        query["order_by"] = f"{key}:{'desc' if wanted else 'asc'}"
        arrow = ("↓" if order.descending else "↑") if current else ""
        links[column] = {"url": f"?{query.urlencode()}", "arrow": arrow,
                         "sort": ("descending" if order.descending else "ascending")
                         if current else "none"}
    return links


def pager(params: QueryDict, next_cursor: str | None, shown: int, limit: int,
          total: int) -> dict[str, Any]:
    """Previous and next links and "51–100 of 319": the trail of cursors (``back``) says
    which page this is and where the previous one starts."""
    trail = params.getlist("back")
    here = params.get("cursor") or FIRST_PAGE
    start = len(trail) * limit + 1 if shown else 0
    out: dict[str, Any] = {"first": start, "last": start + shown - 1 if shown else 0,
                           "total": total, "prev_url": "", "next_url": ""}
    if trail:
        query = params.copy()
        query.setlist("back", trail[:-1])
        if trail[-1] == FIRST_PAGE:
            query.pop("cursor", None)
        else:
            query["cursor"] = trail[-1]
        out["prev_url"] = f"?{query.urlencode()}"
    if next_cursor:
        query = params.copy()
        query.setlist("back", [*trail, here])
        query["cursor"] = next_cursor
        out["next_url"] = f"?{query.urlencode()}"
    return out


def hidden_sessions(filters: Any, shown_total: int, using: str) -> dict[str, Any] | None:
    """How many sessions the filters match only because of the default exclusions: in all,
    and per kind left out (a session may be of two kinds), from one query; None when the
    exclusions hide nothing."""
    left_out = [(name, match, words) for name, match, words in EXCLUSIONS
                if not getattr(filters, name)
                and not (name == "include_automated" and filters.automated_scope)]
    if not left_out:
        return None
    everything = replace(filters, **{name: True for name, _, _ in left_out})
    counts = filtered_sessions(everything, using=using).aggregate(
        all=Count("id"), **{name: Count("id", filter=match) for name, match, _ in left_out})
    hidden = counts["all"] - shown_total
    if hidden <= 0:
        return None
    return {"count": hidden, "include": [name for name, _, _ in left_out],
            "kinds": [{"count": counts[name], "words": words}
                      for name, _, words in left_out if counts[name]]}


def models_of(sessions: list[Session], using: str) -> dict[str, list[str]]:
    """The models that answered in each listed session (the list query leaves the rollups
    out: one more query for the page)."""
    ids = [s.id for s in sessions]
    rows = Session.objects.using(using).filter(id__in=ids).values_list("id", "rollup_models")
    return {sid: orjson.loads(text) if text else [] for sid, text in rows}
