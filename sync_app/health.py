"""What ``/health/db`` says about pushes: on the shared database, each machine's last push
(its ``PushMarker`` rows), and with ``?max_push_age=2h`` the machines that have gone quiet."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Max

from agentsview.api.params import BadParameter, Params
from agentsview.db_router import is_shared_database
from agentsview.durations import format_duration, parse_duration
from agentsview.timefmt import rfc3339
from sync_app.models import PushMarker


def push_ages(params: Params, using: str) -> tuple[dict, list[str]]:
    """``machines``: name, last push and its age in seconds, oldest first; a problem per
    machine older than ``max_push_age``. Nothing on a local archive (no one pushes to it)."""
    raw = params.data.get("max_push_age")  # present but empty is refused, like any bad value
    max_age = None
    if raw is not None:
        try:
            max_age = parse_duration(raw)
        except ValueError as exc:
            raise BadParameter("max_push_age", raw, str(exc)) from None
    if not is_shared_database(using):
        return {}, []
    now = datetime.now(UTC)
    last_pushes = (PushMarker.objects.using(using).values("machine_name")
                   .annotate(last=Max("last_push_at")).order_by("last", "machine_name"))
    machines, problems = [], []
    for row in last_pushes:
        age = max(0, int((now - row["last"]).total_seconds()))
        stale = max_age is not None and age > max_age.total_seconds()
        machines.append({"machine": row["machine_name"], "last_push_at": rfc3339(row["last"]),
                         "push_age_seconds": age, "stale": stale})
        if stale:
            problems.append(f"machine {row['machine_name']} last pushed"
                            f" {format_duration(age)} ago (max_push_age {raw})")
    fields: dict = {"machines": machines}
    if max_age is not None:
        fields["max_push_age_seconds"] = int(max_age.total_seconds())
    return fields, problems
