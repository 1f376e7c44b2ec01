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
