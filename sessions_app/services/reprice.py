"""Re-price the archive from its stored rows when the price table in force (its version,
which covers config.toml's ``[pricing]`` overrides) or the usage code
(``records.USAGE_VERSION``) is not the one a session was priced with: its messages' costs and
its usage columns are recomputed, and the next push carries them."""

from __future__ import annotations

from datetime import datetime

from django.db import connections, transaction

from sessions_app.models import STARTED, Message, Session
from sessions_app.usage import records as usage
from sessions_app.usage.pricing import PriceTable


def reprice_session(session_id: str, prices: PriceTable, now: datetime, *,
                    using: str = "default") -> None:
    """Recompute one session's costs and usage columns from its stored messages."""
    start = Session.objects.using(using).filter(pk=session_id).values_list(
        STARTED, flat=True).first()
    rows = list(Message.objects.using(using).filter(session_id=session_id)
                .exclude(token_usage="").values_list(*usage.MESSAGE_FIELDS))
    found = usage.records(rows, prices)
    costs = usage.message_costs(found)
    connection = connections[using]
    table = connection.ops.quote_name(Message._meta.db_table)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET cost_microdollars = NULL WHERE session_id = %s"
                       " AND cost_microdollars IS NOT NULL", [session_id])
        priced = [(cost, session_id, ordinal) for ordinal, cost in costs.items()
                  if cost is not None]
        if priced:
            cursor.executemany(f"UPDATE {table} SET cost_microdollars = %s"
                               " WHERE session_id = %s AND ordinal = %s", priced)
        Session.objects.using(using).filter(pk=session_id).update(
            **usage.session_columns(found, prices, start), local_modified_at=now)


def reprice_outdated(prices: PriceTable, now: datetime, *, using: str = "default") -> int:
    """Re-price every session priced by another table version (or never priced: archived
    before costs existed). Returns how many."""
    outdated = list(Session.objects.using(using).exclude(pricing_version=usage.priced_with(prices))
                    .values_list("id", flat=True))
    for session_id in outdated:
        reprice_session(session_id, prices, now, using=using)
    return len(outdated)
