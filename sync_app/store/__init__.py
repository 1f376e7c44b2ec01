"""The session store: the Claude Agent SDK's ``SessionStore`` on our archive's database.

    from sync_app.store import ArchiveSessionStore
    store = await ArchiveSessionStore.connect_pg("postgresql://...", schema="agentsview")
"""

from sync_app.store.backends import StoreSchemaError, StoreUnavailable
from sync_app.store.entries import StoreInputError, TranscriptKey
from sync_app.store.store import ArchiveSessionStore

__all__ = ["ArchiveSessionStore", "StoreInputError", "StoreSchemaError", "StoreUnavailable",
           "TranscriptKey"]
