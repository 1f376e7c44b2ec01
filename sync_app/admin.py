"""The admin of the machines that push to the shared database (their push markers): each one's
last push, sessions and marker; forget one, or delete all its sessions and forget it (a
teammate who left)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import DELETION
from django.contrib.admin.options import ShowFacets
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from agentsview.admin_site import admin_database
from sessions_app.admin import LISTED, log, selection_context, stand_ins
from sessions_app.models import Session
from sessions_app.services import deletes
from sync_app.models import PushMarker


def machines_sessions(markers: list[PushMarker], *, using: str):
    """The sessions of these machines: those their archives own there, and those of their
    names that no archive claims (pushed before owners were recorded)."""
    match = Q(pk__in=[])
    for marker in markers:
        match |= Q(push_owner=marker.marker_id) | Q(push_owner="", machine=marker.machine_name)
    return Session.objects.using(using).filter(match)


@admin.register(PushMarker)
class MachineAdmin(admin.ModelAdmin):
    list_display = ("machine_name", "last_push_at", "session_count", "sessions", "marker_id")
    search_fields = ("machine_name", "marker_id")
    ordering = ("machine_name", "marker_id")
    list_per_page = 100
    show_facets = ShowFacets.NEVER
    actions = ("delete_machine", "forget_machine")

    def get_queryset(self, request):
        # each marker's sessions now, from the push_owner index: one query for the page
        owned = (Session.objects.filter(push_owner=OuterRef("marker_id")).order_by()
                 .values("push_owner").annotate(n=Count("*")).values("n"))
        return PushMarker.objects.using(admin_database()).annotate(
            live=Coalesce(Subquery(owned, output_field=IntegerField()), 0))

    def get_readonly_fields(self, request, obj=None):
        return ("marker_id", "machine_name", "last_push_at", "sessions", "session_count")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the actions below say what happens to the sessions

    def has_purge_permission(self, request):
        return (request.user.has_perm("sync_app.delete_pushmarker")
                and request.user.has_perm("sessions_app.delete_session"))

    def has_forget_permission(self, request):
        return request.user.has_perm("sync_app.delete_pushmarker")

    @admin.display(description="sessions now", ordering="live")
    def session_count(self, obj):
        return obj.live

    @admin.action(description="Delete all sessions of the selected machines and forget them…",
                  permissions=["purge"])
    def delete_machine(self, request, queryset):
        return self._confirmed(request, queryset, purge=True)

    @admin.action(description="Forget the selected machines (keep their sessions)…",
                  permissions=["forget"])
    def forget_machine(self, request, queryset):
        return self._confirmed(request, queryset, purge=False)

    def _confirmed(self, request, queryset, *, purge: bool):
        db = queryset.db
        markers = list(queryset.order_by("machine_name"))
        sessions = machines_sessions(markers, using=db)
        if request.POST.get("post") == "yes":
            deleted = 0
            if purge:
                ids = list(sessions.values_list("id", flat=True))
                log(request, stand_ins([{"id": sid} for sid in ids]), DELETION,
                    "Deleted with its machine (a push does not bring it back)")
                # exactly these: a session of another machine never goes along
                deleted = len(deletes.purge(ids, using=db, by=request.user.get_username(),
                                            chosen={sid: "" for sid in ids},
                                            reason="its machine was deleted").sessions)
            log(request, markers, DELETION, "Deleted its sessions and forgot it" if purge
                else "Forgot it (its sessions stay)")
            PushMarker.objects.using(db).filter(
                marker_id__in=[m.marker_id for m in markers]).delete()
            names = ", ".join(m.machine_name for m in markers)
            self.message_user(request, f"Deleted {deleted} session(s) of {names} and forgot"
                                       " the machine(s)." if purge
                              else f"Forgot {names}; their sessions stay.")
            return None
        counts = sessions.aggregate(n=Count("id"), messages=Coalesce(Sum("message_count"), 0))
        rows = []
        if purge:
            first = list(sessions.order_by("id").values_list("id", flat=True)[:LISTED])
            rows = deletes.describe({sid: "" for sid in first}, using=db)
        return TemplateResponse(request, "admin/sync_app/pushmarker/delete_machine.html", {
            **self.admin_site.each_context(request),
            **selection_context(request),
            "opts": self.model._meta,
            "title": "Delete machines and their sessions" if purge else "Forget machines",
            "purge": purge,
            "markers": markers,
            "rows": rows,
            "more": max(0, counts["n"] - len(rows)) if purge else 0,
            "sessions": counts["n"],
            "message_total": counts["messages"],
        })
