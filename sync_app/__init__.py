"""Pushing the local archive to the shared PostgreSQL: push state, commands, connection policy."""
