"""Reads of the session tables, shared by the CLI, the API and the pages."""

from __future__ import annotations

from django.db.models import QuerySet

from sessions_app.models import Session

DEFAULT_LIMIT = 200
MAX_LIMIT = 500


def visible_sessions(*, using: str = "default", include_children: bool = False) -> QuerySet:
    """Sessions a person browses: not soft-deleted, not empty, top-level unless asked."""
    qs = Session.objects.using(using).filter(deleted_at__isnull=True, message_count__gt=0)
    if not include_children:
        qs = qs.filter(parent_session_id__isnull=True)
    return qs


def list_sessions(
    *, using: str = "default", include_children: bool = False, limit: int = DEFAULT_LIMIT
) -> list[Session]:
    """Most recently active first, ties broken by id so the order is stable."""
    limit = max(1, min(limit, MAX_LIMIT))
    return list(
        visible_sessions(using=using, include_children=include_children)
        .order_by("-ended_at", "-id")
        .only(
            "id", "project", "agent", "machine", "display_name", "first_message",
            "started_at", "ended_at", "message_count", "parent_session_id",
        )[:limit]
    )


def count_sessions(*, using: str = "default", include_children: bool = False) -> int:
    return visible_sessions(using=using, include_children=include_children).count()
