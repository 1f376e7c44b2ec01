"""The admin of the sessions (read-only detail; trash, restore, delete for good, redact) and of
the tombstones they leave. Every page costs a bounded number of queries whatever the number
of sessions: no full count, no per-row query, messages and tool calls a page at a time."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.admin.options import ShowFacets
from django.contrib.admin.views.main import ChangeList
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from agentsview.admin_site import CappedCountPaginator, admin_database
from sessions_app.models import Message, Session, Tombstone, ToolCall
from sessions_app.services import deletes

LIST_COLUMNS = ("id", "display_name", "first_message", "machine", "agent", "project",
                "started_at", "created_at", "message_count", "health_grade", "outcome",
                "deleted_at", "parent_session_id")
MESSAGES_PER_PAGE = 50
TOOL_CALLS_PER_PAGE = 50
TEXT_SHOWN = 4000  # characters of a message or tool text shown on the detail page
LISTED = 200  # sessions named on a confirmation page (the totals cover them all)


def log(request, objects, flag: int, message: str) -> None:
    """Who did what to which rows, in Django's admin log (one bulk insert)."""
    objects = list(objects)
    if objects:
        LogEntry.objects.log_actions(request.user.pk, objects, flag, message)


def stand_ins(rows: list[dict]) -> list[Session]:
    """Unsaved sessions naming deleted rows, for the admin log."""
    return [Session(id=row["id"], display_name=row.get("display_name"),
                    first_message=row.get("first_message") or "") for row in rows]


def selection_context(request) -> dict:
    """What a confirmation page posts back so that the action applies to the same sessions
    (the changelist's filters ride in the URL)."""
    return {
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }


class TrashedFilter(admin.SimpleListFilter):
    title = "trashed"
    parameter_name = "trashed"

    def lookups(self, request, model_admin):
        return (("yes", "In the trash"), ("no", "Not in the trash"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class SessionChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # a row shows a few columns: the transcript texts and JSON stay in the database
        return super().get_queryset(request, exclude_parameters).only(*LIST_COLUMNS)


class RedactForm(forms.Form):
    text = forms.CharField(label="Text to remove", strip=False, max_length=10_000,
                           widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}))
    replacement = forms.CharField(label="Replace it with", initial=deletes.REDACTED,
                                  strip=False, required=False, max_length=200)

    def clean(self):
        data = super().clean()
        text, replacement = data.get("text") or "", data.get("replacement") or ""
        if text and text in replacement:
            raise forms.ValidationError("The replacement contains the text: it would still be"
                                        " found.")
        return data


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("name", "machine", "agent", "project", "started_at", "message_count",
                    "health_grade", "outcome", "trashed")
    list_filter = ("machine", "agent", "project", "outcome", "health_grade", TrashedFilter,
                   "started_at")
    search_fields = ("id", "project", "first_message")
    ordering = ("-started_at", "id")  # the sessions_started_id index, walked
    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = ("move_to_trash", "restore_from_trash", "delete_permanently", "redact_text")
    change_form_template = "admin/sessions_app/session/change_form.html"
    fieldsets = (
        ("Session", {"fields": ("id", "display_name", "first_message", "machine", "agent",
                                "project", "cwd", "git_branch", "parent", "relationship_type",
                                "children")}),
        ("Times", {"fields": ("started_at", "ended_at", "created_at", "deleted_at",
                              "pushed_at")}),
        ("Size and health", {"fields": ("message_count", "user_message_count", "outcome",
                                        "outcome_confidence", "health_score", "health_grade",
                                        "tool_failure_signal_count", "compaction_count",
                                        "total_output_tokens", "peak_context_tokens")}),
        ("Where it came from", {"fields": ("file_path", "file_size", "parser_malformed_lines",
                                           "is_truncated", "push_owner", "content_digest",
                                           "tombstones")}),
    )

    # --- what may be done: view, and the actions; never add, edit or Django's cascade ------
    def get_queryset(self, request):
        return Session.objects.using(admin_database())

    def get_changelist(self, request, **kwargs):
        return SessionChangeList

    def get_readonly_fields(self, request, obj=None):
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # the detail page is read-only; "change" stands for the trash and the redaction
        return obj is None and request.user.has_perm("sessions_app.change_session")

    def has_delete_permission(self, request, obj=None):
        return False  # Django's cascade would load every message: delete_permanently instead

    def has_purge_permission(self, request):
        return request.user.has_perm("sessions_app.delete_session")

    # --- columns ---------------------------------------------------------------------------
    @admin.display(description="session", ordering="id")
    def name(self, obj):
        text = obj.display_name or obj.first_message or "(no prompt)"
        text = text if len(text) <= 60 else text[:59] + "…"
        return format_html('{}<br><span class="quiet">{}</span>', text, obj.id)

    @admin.display(boolean=True, description="trashed", ordering="deleted_at")
    def trashed(self, obj):
        return obj.deleted_at is not None

    @admin.display(description="parent")
    def parent(self, obj):
        if not obj.parent_session_id:
            return "-"
        url = reverse("admin:sessions_app_session_change", args=[obj.parent_session_id])
        return format_html('<a href="{}">{}</a>', url, obj.parent_session_id)

    @admin.display(description="children (first 50)")
    def children(self, obj):
        ids = list(Session.objects.using(admin_database()).filter(parent_session_id=obj.id)
                   .order_by("id").values_list("id", flat=True)[:50])
        if not ids:
            return "-"
        links = [format_html('<a href="{}">{}</a>',
                             reverse("admin:sessions_app_session_change", args=[sid]), sid)
                 for sid in ids]
        return mark_safe(", ".join(links))  # noqa: S308 - each link built by format_html

    @admin.display(description="on the server")
    def tombstones(self, obj):
        found = list(Tombstone.objects.using(admin_database()).filter(session_id=obj.id)
                     .order_by("kind").values_list("kind", "created_by", "created_at"))
        if not found:
            return "-"
        return "; ".join(f"{kind} by {who or 'unknown'} at {at:%Y-%m-%d %H:%M} UTC"
                         for kind, who, at in found)

    # --- the detail page: messages and tool calls, a page at a time -------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        db = admin_database()
        message_start = _offset(request, "messages_from")
        rows = list(Message.objects.using(db).filter(session_id=object_id)
                    .order_by("ordinal")[message_start:message_start + MESSAGES_PER_PAGE + 1])
        call_start = _offset(request, "tools_from")
        calls = list(ToolCall.objects.using(db).filter(session_id=object_id)
                     .order_by("message_ordinal", "call_index")
                     [call_start:call_start + TOOL_CALLS_PER_PAGE + 1])
        context.update(
            session_messages=[_shown_message(m) for m in rows[:MESSAGES_PER_PAGE]],
            messages_from=message_start,
            messages_to=message_start + min(len(rows), MESSAGES_PER_PAGE),
            messages_prev=max(0, message_start - MESSAGES_PER_PAGE) if message_start else None,
            messages_next=message_start + MESSAGES_PER_PAGE
            if len(rows) > MESSAGES_PER_PAGE else None,
            tool_calls=[_shown_call(c) for c in calls[:TOOL_CALLS_PER_PAGE]],
            tools_from=call_start,
            tools_to=call_start + min(len(calls), TOOL_CALLS_PER_PAGE),
            tools_prev=max(0, call_start - TOOL_CALLS_PER_PAGE) if call_start else None,
            tools_next=call_start + TOOL_CALLS_PER_PAGE
            if len(calls) > TOOL_CALLS_PER_PAGE else None,
        )
        return super().change_view(request, object_id, form_url, context)

    # --- actions ---------------------------------------------------------------------------
    @admin.action(description="Move the selected sessions to the trash", permissions=["change"])
    def move_to_trash(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        moved = deletes.trash(ids, using=queryset.db, by=request.user.get_username())
        log(request, stand_ins(_names(queryset.db, moved)), CHANGE, "Moved to the trash")
        self.message_user(request, f"Moved {len(moved)} session(s) to the trash (their"
                                   " descendants included); a push does not take them out.")

    @admin.action(description="Restore the selected sessions from the trash",
                  permissions=["change"])
    def restore_from_trash(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        restored = deletes.restore(ids, using=queryset.db)
        log(request, stand_ins(_names(queryset.db, restored)), CHANGE, "Restored from the trash")
        self.message_user(request, f"Restored {len(restored)} session(s) from the trash.")

    @admin.action(description="Delete the selected sessions permanently…",
                  permissions=["purge"])
    def delete_permanently(self, request, queryset):
        db = queryset.db
        ids = list(queryset.values_list("id", flat=True))
        going = deletes.deletion_set(ids, using=db)
        if request.POST.get("post") == "yes":
            rows = _names(db, list(going))
            log(request, stand_ins(rows), DELETION, "Deleted permanently (a push does not"
                                                    " bring it back)")
            purged = deletes.purge(ids, using=db, by=request.user.get_username(),
                                   reason="deleted in the admin", chosen=going)
            self.message_user(
                request, f"Deleted {len(purged.sessions)} session(s) permanently"
                         f" ({purged.children} along with their parent, {purged.messages}"
                         " messages); a push from their machine does not bring them back.")
            return None
        rows = deletes.describe(dict(list(going.items())[:LISTED]), using=db)
        totals = _totals(db, going)
        return TemplateResponse(request, "admin/sessions_app/session/delete_permanently.html", {
            **self.admin_site.each_context(request),
            **selection_context(request),
            "opts": self.model._meta,
            "title": "Delete sessions permanently",
            "rows": rows,
            "more": max(0, len(going) - LISTED),
            "totals": totals,
        })

    @admin.action(description="Redact a text in the selected sessions…", permissions=["change"])
    def redact_text(self, request, queryset):
        db = queryset.db
        form = RedactForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            ids = list(queryset.values_list("id", flat=True))
            done = deletes.redact(ids, form.cleaned_data["text"], using=db,
                                  replacement=form.cleaned_data["replacement"],
                                  by=request.user.get_username())
            if not done.replacements:
                self.message_user(request, "The text was not found in the selected sessions;"
                                           " nothing changed.", messages.WARNING)
                return None
            # the log says how long the text was, never the text: it may be a secret
            log(request, stand_ins(_names(db, done.sessions)), CHANGE,
                f"Redacted a text of {len(form.cleaned_data['text'])} characters")
            self.message_user(request, f"Replaced {done.replacements} occurrence(s) in"
                                       f" {len(done.sessions)} session(s).")
            return None
        count = queryset.count() if request.POST.get("select_across") == "1" else len(
            request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        return TemplateResponse(request, "admin/sessions_app/session/redact.html", {
            **self.admin_site.each_context(request),
            **selection_context(request),
            "opts": self.model._meta,
            "title": "Redact a text",
            "form": form,
            "count": count,
        })


def _offset(request, name: str) -> int:
    try:
        return max(0, int(request.GET.get(name, "0")))
    except ValueError:
        return 0


def _cut(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN] + f"… ({len(text)} characters)"


def _shown_message(message: Message) -> dict:
    return {"ordinal": message.ordinal, "role": message.role, "timestamp": message.timestamp,
            "content": _cut(message.content), "thinking": _cut(message.thinking_text),
            "is_system": message.is_system}


def _shown_call(call: ToolCall) -> dict:
    return {"ordinal": call.message_ordinal, "index": call.call_index, "tool": call.tool_name,
            "category": call.category, "input": _cut(call.input_json),
            "result": _cut(call.result_content)}


def _names(db: str, ids: list[str]) -> list[dict]:
    rows: list[dict] = []
    for chunk in deletes.chunks(ids):
        rows.extend(Session.objects.using(db).filter(pk__in=chunk)
                    .values("id", "display_name", "first_message"))
    return rows


def _totals(db: str, going: dict[str, str]) -> dict:
    sessions = messages_ = children = 0
    for chunk in deletes.chunks(list(going)):
        for sid, count in Session.objects.using(db).filter(pk__in=chunk).values_list(
                "id", "message_count"):
            sessions += 1
            messages_ += count
            children += bool(going[sid])
    return {"sessions": sessions, "messages": messages_, "children": children}


@admin.register(Tombstone)
class TombstoneAdmin(admin.ModelAdmin):
    """What a person deleted, trashed or redacted here; deleting a tombstone lets a push
    bring the session back as its machine has it."""

    list_display = ("session_id", "kind", "machine", "project", "message_count", "created_at",
                    "created_by", "reason")
    list_filter = ("kind", "machine")
    search_fields = ("session_id", "project")
    ordering = ("-created_at", "id")
    list_per_page = 100
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = ("forget",)

    def get_queryset(self, request):
        return Tombstone.objects.using(admin_database())

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Tombstone._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # "forget" below: one query, and the admin log

    def has_forget_permission(self, request):
        return request.user.has_perm("sessions_app.delete_tombstone")

    @admin.action(description="Forget the selected tombstones (a push may then bring the"
                              " sessions back)", permissions=["forget"])
    def forget(self, request, queryset):
        stones = list(queryset)
        log(request, stones, DELETION, "Forgotten: a push may bring the session back")
        queryset.model.objects.using(queryset.db).filter(
            pk__in=[s.pk for s in stones]).delete()
        self.message_user(request, f"Forgot {len(stones)} tombstone(s).")
