"""The session store: the Claude Agent SDK's ``SessionStore`` on our archive's database.

    from sync_app.store import open_store
    store = await open_store()  # agentsview's configuration: [pg], else the local archive

or, without Django, a store that only keeps entries (nothing parsed into the archive):

    store = await ArchiveSessionStore.connect_pg("postgresql://...", schema="agentsview")
"""

from sync_app.store.backends import StoreSchemaError, StoreUnavailable
from sync_app.store.entries import StoreInputError, TranscriptKey
from sync_app.store.opening import open_store
from sync_app.store.store import ArchiveSessionStore

__all__ = ["ArchiveSessionStore", "StoreInputError", "StoreSchemaError", "StoreUnavailable",
           "TranscriptKey", "open_store"]
