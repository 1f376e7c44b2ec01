"""Routes of /api/ (mounted by agentsview/urls.py); any other path is a JSON 404."""

from django.urls import path, re_path

from agentsview.api.views import NotFoundView, PingView
from sessions_app.api import views

SESSION = "sessions/<str:session_id>"

urlpatterns = [
    path("ping", PingView.as_view()),
    path("v1/version", views.VersionView.as_view()),
    path("v1/sessions", views.SessionListView.as_view()),
    path("v1/sessions/sync", views.SessionSyncView.as_view()),
    path("v1/sessions/sidebar-index", views.SidebarIndexView.as_view()),
    path(f"v1/{SESSION}", views.SessionDetailView.as_view()),
    path(f"v1/{SESSION}/messages", views.MessagesView.as_view()),
    path(f"v1/{SESSION}/tool-calls", views.ToolCallsView.as_view()),
    path(f"v1/{SESSION}/children", views.ChildrenView.as_view()),
    path(f"v1/{SESSION}/search", views.SessionSearchView.as_view()),
    path(f"v1/{SESSION}/timing", views.TimingView.as_view()),
    path(f"v1/{SESSION}/activity", views.ActivityView.as_view()),
    path(f"v1/{SESSION}/usage", views.SessionUsageView.as_view()),
    path(f"v1/{SESSION}/export", views.ExportHtmlView.as_view(), name="api-export"),
    path(f"v1/{SESSION}/md", views.MarkdownView.as_view(), name="api-md"),
    path(f"v1/{SESSION}/watch", views.WatchView.as_view(), name="api-watch"),
    path("v1/search", views.SearchView.as_view()),
    path("v1/search/content", views.ContentSearchView.as_view()),
    path("v1/branches", views.BranchesView.as_view()),
    path("v1/events", views.EventsView.as_view(), name="api-events"),
    path("v1/stats", views.StatsView.as_view()),
    path("v1/projects", views.ProjectsView.as_view()),
    path("v1/agents", views.AgentsView.as_view()),
    path("v1/machines", views.MachinesView.as_view()),
    re_path(r"^.*$", NotFoundView.as_view()),
]
