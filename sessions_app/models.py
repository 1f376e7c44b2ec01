"""Sessions, their messages and tool calls (both databases), and local sync bookkeeping."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from sessions_app.choices import HealthGrade, Outcome, OutcomeConfidence, TombstoneKind

# When a session was last active, and when it started, as every list, filter and index of
# sessions reads them (an index serves a query only if the expressions are the same).
LAST_ACTIVE = Coalesce("ended_at", "started_at", "created_at")
STARTED = Coalesce("started_at", "created_at")
# When it was first active: the date filters keep the sessions whose active window
# [ACTIVE_FROM, LAST_ACTIVE] overlaps the days asked for.
ACTIVE_FROM = Coalesce("started_at", "ended_at", "created_at")
# What the sessions list sorts by cost on: an unknown cost (None) below every known one.
COST = Coalesce("cost_microdollars", Value(-1), output_field=models.BigIntegerField())
# The per-session rollups kept as compact text (a large session's run to tens of KB, stored
# compressed): read by the analytics and usage queries, never shown with the session itself.
ROLLUP_TEXT_COLUMNS = ("turn_cycles_ms", "rollup_models", "rollup_tools", "message_quarters",
                       "rollup_skills", "usage_rollup")
# The prompt-quality signals stored on a session (section 4.5), one column each: the API's
# quality_signals object and the analytics' quality totals list them in this order.
QUALITY_SIGNAL_COLUMNS = (
    "short_prompt_count", "unstructured_start", "missing_success_criteria_count",
    "missing_verification_count", "duplicate_prompt_count", "no_code_context_count",
    "runaway_tool_loop_count",
)


class Session(models.Model):
    """One agent conversation. The id is global: bare for Claude, ``<agent>:<id>`` otherwise."""

    id = models.CharField(primary_key=True, max_length=512)
    project = models.CharField(max_length=255)
    machine = models.CharField(max_length=255)  # a readable machine name, never an opaque key
    agent = models.CharField(max_length=64)
    session_kind = models.CharField(max_length=64, blank=True, default="")
    first_message = models.TextField(blank=True, default="")
    display_name = models.TextField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    message_count = models.IntegerField(default=0)
    user_message_count = models.IntegerField(default=0)
    parent_session_id = models.CharField(max_length=512, null=True, blank=True)
    relationship_type = models.CharField(max_length=32, blank=True, default="")
    cwd = models.TextField(blank=True, default="")
    git_branch = models.CharField(max_length=255, blank=True, default="")
    source_session_id = models.CharField(max_length=512, blank=True, default="")
    source_version = models.CharField(max_length=64, blank=True, default="")
    termination_status = models.CharField(max_length=32, blank=True, default="")

    # where it was parsed from
    file_path = models.TextField(null=True, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    file_mtime = models.BigIntegerField(null=True, blank=True)  # nanoseconds since the epoch
    file_hash = models.CharField(max_length=64, blank=True, default="")  # sha256 hex
    parser_malformed_lines = models.IntegerField(default=0)
    is_truncated = models.BooleanField(default=False)
    data_version = models.IntegerField(default=0)  # parser version that wrote the rows

    # token aggregates
    total_output_tokens = models.BigIntegerField(default=0)
    peak_context_tokens = models.BigIntegerField(default=0)
    has_total_output_tokens = models.BooleanField(default=False)
    has_peak_context_tokens = models.BooleanField(default=False)
    # usage and cost (sessions_app/usage/records.py): this session's own, subagents apart;
    # cost in microdollars, None when nothing is priced or a model has no price
    usage_input_tokens = models.BigIntegerField(default=0)
    usage_output_tokens = models.BigIntegerField(default=0)
    usage_cache_read_tokens = models.BigIntegerField(default=0)
    usage_cache_write_tokens = models.BigIntegerField(default=0)
    cost_microdollars = models.BigIntegerField(null=True, blank=True)
    usage_rollup = models.TextField(blank=True, default="")  # per quarter-hour and model
    pricing_version = models.CharField(max_length=64, blank=True, default="")  # '' : not priced

    # lifecycle: the archive never forgets; deletes are soft and made by a person
    deleted_at = models.DateTimeField(null=True, blank=True)
    source_missing_at = models.DateTimeField(null=True, blank=True)
    local_modified_at = models.DateTimeField(null=True, blank=True)
    # sha256 over every parsed field of the session, its messages and tool calls
    content_digest = models.CharField(max_length=64, blank=True, default="")
    # Shared database only: which archive pushed the row (its push marker) and when.
    push_owner = models.CharField(max_length=64, blank=True, default="")
    pushed_at = models.DateTimeField(null=True, blank=True)

    # signals (computed by analytics_app)
    is_automated = models.BooleanField(default=False)
    has_tool_calls = models.BooleanField(default=False)
    has_context_data = models.BooleanField(default=False)
    tool_failure_signal_count = models.IntegerField(default=0)
    tool_retry_count = models.IntegerField(default=0)
    edit_churn_count = models.IntegerField(default=0)
    consecutive_failure_max = models.IntegerField(default=0)
    final_failure_streak = models.IntegerField(default=0)
    compaction_count = models.IntegerField(default=0)
    mid_task_compaction_count = models.IntegerField(default=0)
    context_pressure_max = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, default=Outcome.UNKNOWN)
    outcome_confidence = models.CharField(max_length=16, choices=OutcomeConfidence.choices,
                                          default=OutcomeConfidence.LOW)
    ended_with_role = models.CharField(max_length=16, blank=True, default="")
    signals_pending_since = models.DateTimeField(null=True, blank=True)
    health_score = models.IntegerField(null=True, blank=True)
    health_grade = models.CharField(max_length=2, choices=HealthGrade.choices, null=True,
                                    blank=True)
    health_score_basis = models.JSONField(default=list, blank=True)
    health_penalties = models.JSONField(default=dict, blank=True)
    quality_signal_version = models.IntegerField(default=0)
    short_prompt_count = models.IntegerField(default=0)
    unstructured_start = models.BooleanField(default=False)
    missing_success_criteria_count = models.IntegerField(default=0)
    missing_verification_count = models.IntegerField(default=0)
    duplicate_prompt_count = models.IntegerField(default=0)
    no_code_context_count = models.IntegerField(default=0)
    runaway_tool_loop_count = models.IntegerField(default=0)
    # Analytics rollups of the messages and tool calls (analytics_app/scoring/rollups.py); JSON kept
    # as compact text, decoded only by the analytics queries.
    rollup_version = models.IntegerField(default=0)
    rollup_messages = models.IntegerField(default=0)
    rollup_user_messages = models.IntegerField(default=0)
    rollup_assistant_messages = models.IntegerField(default=0)
    rollup_thinking_messages = models.IntegerField(default=0)
    rollup_tool_use_messages = models.IntegerField(default=0)
    rollup_tool_calls = models.IntegerField(default=0)
    rollup_assistant_chars = models.BigIntegerField(default=0)
    active_ms = models.BigIntegerField(default=0)
    first_response_ms = models.BigIntegerField(null=True, blank=True)
    turn_cycles_ms = models.TextField(blank=True, default="")
    rollup_models = models.TextField(blank=True, default="")
    rollup_tools = models.TextField(blank=True, default="")
    message_quarters = models.TextField(blank=True, default="")
    rollup_skills = models.TextField(blank=True, default="")
    frustration_marker_count = models.IntegerField(default=0)

    class Meta:
        db_table = "sessions"
        indexes = [
            models.Index(fields=["-ended_at", "id"], name="sessions_ended_id"),
            models.Index(fields=["-started_at", "id"], name="sessions_started_id"),
            # the list's "recent" and "started" orders (selectors.SORT_EXPRESSIONS): a page is
            # an index walk instead of a sort of every browsable session
            models.Index(LAST_ACTIVE.desc(), F("id").desc(), name="sessions_recent_order"),
            models.Index(STARTED.desc(), F("id").desc(), name="sessions_started_order"),
            models.Index(fields=["project"], name="sessions_project"),
            models.Index(fields=["machine"], name="sessions_machine"),
            models.Index(fields=["agent"], name="sessions_agent"),
            models.Index(fields=["message_count"], name="sessions_msg_count"),
            # the sessions list's order by cost (selectors.SORT_EXPRESSIONS)
            models.Index(COST.desc(), F("id").desc(), name="sessions_cost_order"),
            models.Index(fields=["user_message_count"], name="sessions_user_msg_count"),
            models.Index(fields=["cwd"], name="sessions_cwd"),
            models.Index(fields=["project", "git_branch"], name="sessions_project_branch"),
            models.Index(fields=["local_modified_at"], name="sessions_local_modified"),
            models.Index(
                fields=["parent_session_id"],
                name="sessions_parent",
                condition=Q(parent_session_id__isnull=False),
            ),
            models.Index(
                fields=["file_path"],
                name="sessions_file_path",
                condition=Q(file_path__isnull=False),
            ),
            # the shared database: a machine's sessions (its push marker's count, deleting a
            # machine); empty in a local archive, where push_owner is always ''
            models.Index(
                fields=["push_owner"],
                name="sessions_push_owner",
                condition=~Q(push_owner=""),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.first_message[:80] or self.id


class Message(models.Model):
    """One stored message. Ordinals are unique per session and may have gaps (Claude drops
    tool-result-only user rows after pairing them with their calls)."""

    # no index of its own: the (session, ordinal) constraint's index serves every lookup
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages",
                                db_index=False)
    ordinal = models.IntegerField()
    role = models.CharField(max_length=16)
    content = models.TextField(blank=True, default="")
    thinking_text = models.TextField(blank=True, default="")
    timestamp = models.DateTimeField(null=True, blank=True)
    has_thinking = models.BooleanField(default=False)
    has_tool_use = models.BooleanField(default=False)
    content_length = models.IntegerField(default=0)  # bytes of UTF-8 content
    is_system = models.BooleanField(default=False)
    source_type = models.CharField(max_length=32, blank=True, default="")
    source_subtype = models.CharField(max_length=64, blank=True, default="")
    model = models.CharField(max_length=128, blank=True, default="")
    reasoning_effort = models.CharField(max_length=32, blank=True, default="")
    token_usage = models.TextField(blank=True, default="")  # raw usage JSON, '' when none
    context_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    has_context_tokens = models.BooleanField(default=False)
    has_output_tokens = models.BooleanField(default=False)
    # the cost of the usage this message records, in microdollars; None when it records none,
    # or a model without a price
    cost_microdollars = models.BigIntegerField(null=True, blank=True)
    claude_message_id = models.CharField(max_length=128, blank=True, default="")
    claude_request_id = models.CharField(max_length=128, blank=True, default="")
    source_uuid = models.CharField(max_length=128, blank=True, default="")
    source_parent_uuid = models.CharField(max_length=128, blank=True, default="")
    is_sidechain = models.BooleanField(default=False)
    is_compact_boundary = models.BooleanField(default=False)

    class Meta:
        db_table = "messages"
        constraints = [
            models.UniqueConstraint(fields=["session", "ordinal"], name="messages_session_ordinal")
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.ordinal} {self.role}"


class ToolCall(models.Model):
    """A tool invocation, keyed by its message's ordinal and its position in that message."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="tool_calls",
                                db_index=False)  # served by the tool_calls_position index
    message_ordinal = models.IntegerField()
    call_index = models.IntegerField(default=0)
    tool_name = models.CharField(max_length=255)
    category = models.CharField(max_length=32)
    tool_use_id = models.CharField(max_length=255, blank=True, default="")
    input_json = models.TextField(blank=True, default="")
    skill_name = models.CharField(max_length=255, blank=True, default="")
    file_path = models.TextField(blank=True, default="")
    result_content_length = models.IntegerField(null=True, blank=True)  # None: no result yet
    result_content = models.TextField(null=True, blank=True)  # None for blocked categories
    subagent_session_id = models.CharField(max_length=512, null=True, blank=True)

    class Meta:
        db_table = "tool_calls"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "message_ordinal", "call_index"], name="tool_calls_position"
            )
        ]
        indexes = [
            models.Index(
                fields=["subagent_session_id"],
                name="tool_calls_subagent",
                condition=Q(subagent_session_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} ({self.session_id}#{self.message_ordinal}.{self.call_index})"


class ToolResultEvent(models.Model):
    """A result delivered to a tool call (a call may get several: progress, retries)."""

    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="tool_result_events", db_index=False
    )  # served by the tool_result_events_position index
    tool_call_message_ordinal = models.IntegerField()
    call_index = models.IntegerField(default=0)
    tool_use_id = models.CharField(max_length=255, blank=True, default="")
    source = models.CharField(max_length=32)
    status = models.CharField(max_length=16, blank=True, default="")
    content = models.TextField(blank=True, default="")
    content_length = models.IntegerField(default=0)
    timestamp = models.DateTimeField(null=True, blank=True)
    event_index = models.IntegerField(default=0)

    class Meta:
        db_table = "tool_result_events"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "tool_call_message_ordinal", "call_index", "event_index"],
                name="tool_result_events_position",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool_use_id} {self.source} {self.status}".strip()


class Tombstone(models.Model):
    """A session that must not come back as it was.

    In a local archive: a session deleted for good here (``prune``, ``trash empty``); sync
    does not re-import it while its transcript is still on disk, and the next push deletes it
    from the shared database. In the shared database: a session a person deleted, trashed or
    redacted there (the admin, ``pg prune``); a push does not undo it.
    """

    session_id = models.CharField(max_length=512)
    kind = models.CharField(max_length=16, choices=TombstoneKind.choices,
                            default=TombstoneKind.DELETED)
    # what the session was, for the people reading the list (the rows are gone)
    machine = models.CharField(max_length=255, blank=True, default="")
    push_owner = models.CharField(max_length=64, blank=True, default="")
    project = models.CharField(max_length=255, blank=True, default="")
    first_message = models.TextField(blank=True, default="")
    message_count = models.IntegerField(default=0)
    file_path = models.TextField(blank=True, default="")  # what a local restore re-imports
    # the session deleted along with its parent names that parent (a restore brings both)
    taken_with = models.CharField(max_length=512, blank=True, default="")
    # redacted: the content digest the session had, so a push can tell a changed transcript
    content_digest = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True, default="")  # a user, a command
    reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        db_table = "session_tombstones"
        constraints = [
            models.UniqueConstraint(fields=["session_id", "kind"], name="tombstone_once")
        ]
        indexes = [
            models.Index(fields=["taken_with"], name="tombstones_taken_with",
                         condition=~Q(taken_with="")),
            models.Index(fields=["-created_at"], name="tombstones_created"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} ({self.kind})"


class SourceFile(models.Model):
    """Local sync bookkeeping: one row per agent file seen, so unchanged files are skipped
    by size and mtime, and files that yield no session are not re-read every time."""

    path = models.TextField(unique=True)
    agent = models.CharField(max_length=64)
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True, default="")
    parser_version = models.IntegerField(default=0)
    session_ids = models.JSONField(default=list, blank=True)
    malformed_lines = models.IntegerField(default=0)
    error = models.TextField(blank=True, default="")  # why the file yielded nothing, if so
    synced_at = models.DateTimeField()
    missing_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "source_files"

    def __str__(self) -> str:
        return self.path
