"""The shared PostgreSQL's Django backend: Django's own, with a cheaper health check.

``pg serve`` keeps connections across requests with health checks on, and Django's check is a
``SELECT 1`` before each request's first query: a round trip (~0.1 ms, a sixth of answering
one session). An idle connection in autocommit has nothing to read, so a socket with nothing
to read is taken as alive; anything there (the server ending the session, a notification)
falls back to Django's ``SELECT 1``. A connection the server closed is therefore still found
before a request uses it."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()
