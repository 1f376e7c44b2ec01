"""Push state. ``PushTarget`` and ``PushedSession`` live only in the local archive;
``PushMarker`` lives in the shared PostgreSQL (one row per archive that pushes there)."""

from __future__ import annotations

from django.db import models


class PushTarget(models.Model):
    """One shared database (identified by host, port, database, user and schema) and one
    project scope this archive pushes to."""

    target = models.CharField(max_length=64)  # sha256 of the target's identity, never the URL
    scope = models.CharField(max_length=512, default="all")  # all | projects:a,b | exclude:x
    description = models.CharField(max_length=512)  # host:port/db schema, no credentials
    marker_id = models.CharField(max_length=64)  # this archive's identity as a pusher there
    last_push_at = models.DateTimeField(null=True, blank=True)  # the watermark

    class Meta:
        db_table = "push_targets"
        constraints = [
            models.UniqueConstraint(fields=["target", "scope"], name="push_target_scope")
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.scope})"


class PushedSession(models.Model):
    """The fingerprint of a session as it was at its last successful push to a target."""

    target = models.CharField(max_length=64)
    session_id = models.CharField(max_length=512)
    fingerprint = models.CharField(max_length=64)
    pushed_at = models.DateTimeField()

    class Meta:
        db_table = "pushed_sessions"
        constraints = [
            models.UniqueConstraint(fields=["target", "session_id"], name="pushed_session_once")
        ]

    def __str__(self) -> str:
        return self.session_id


class PushMarker(models.Model):
    """Shared database: an archive that has pushed here, written after each successful push.
    A local archive that remembers pushing but finds no marker knows the database was reset."""

    marker_id = models.CharField(primary_key=True, max_length=64)
    machine_name = models.CharField(max_length=255)
    last_push_at = models.DateTimeField()
    sessions = models.IntegerField(default=0)  # sessions this archive holds there

    class Meta:
        db_table = "push_markers"
        verbose_name = "machine"  # what the admin lists: each archive that pushes here

    def __str__(self) -> str:
        return f"{self.machine_name} ({self.marker_id[:8]})"


class StoreTranscript(models.Model):
    """The session store (the Claude Agent SDK's ``SessionStore``): one appended transcript,
    a session's main one (``subpath`` '') or a subagent's, keyed as the SDK keys it."""

    project_key = models.CharField(max_length=512)
    session_id = models.CharField(max_length=512)
    subpath = models.CharField(max_length=1024, blank=True, default="")
    host = models.CharField(max_length=255)  # the machine that last appended
    next_seq = models.BigIntegerField(default=0)  # seq of the next entry appended
    mtime = models.BigIntegerField()  # epoch ms of the last write, the storage clock
    summary = models.TextField(blank=True, default="")  # the SDK's folded summary (JSON)
    archived_seq = models.BigIntegerField(default=0)  # next_seq when last parsed into sessions
    # set by the seed's close(key) or a result entry: the session is over, its outcome final
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "store_transcripts"
        constraints = [
            models.UniqueConstraint(fields=["project_key", "session_id", "subpath"],
                                    name="store_transcript_key")
        ]
        indexes = [models.Index(fields=["updated_at"], name="store_transcript_updated")]

    def __str__(self) -> str:
        return "/".join(filter(None, [self.project_key, self.session_id, self.subpath]))


class StoreEntry(models.Model):
    """One transcript line as the SDK appended it (the JSON text, returned as it came)."""

    id = models.BigAutoField(primary_key=True)
    transcript = models.ForeignKey(StoreTranscript, on_delete=models.CASCADE,
                                   db_index=False, related_name="+")
    seq = models.BigIntegerField()
    uuid = models.CharField(max_length=256, null=True, blank=True)  # the idempotency key
    data = models.TextField()

    class Meta:
        db_table = "store_entries"
        constraints = [
            models.UniqueConstraint(fields=["transcript", "seq"], name="store_entry_seq"),
            models.UniqueConstraint(fields=["transcript", "uuid"], name="store_entry_uuid",
                                    condition=models.Q(uuid__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.transcript_id}#{self.seq}"


class SessionChange(models.Model):
    """Shared database: one row per committed change of a session (a store append, a push, an
    admin action), written by a trigger on ``sessions`` that also NOTIFYs its id; the watch
    streams' event ids, so a client reconnecting with ``Last-Event-ID`` misses nothing."""

    id = models.BigAutoField(primary_key=True)
    session_id = models.CharField(max_length=512)
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "session_changes"
        indexes = [models.Index(fields=["session_id", "id"], name="session_changes_session"),
                   models.Index(fields=["changed_at"], name="session_changes_time")]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.id}"
