"""Routes of /api/v1/usage/ (mounted by agentsview/urls.py): tokens and cost over many
sessions. A session's own usage is /api/v1/sessions/{id}/usage (sessions_app)."""

from django.urls import path

from analytics_app.api import usage_views

urlpatterns = [
    path("summary", usage_views.UsageSummaryView.as_view()),
    path("top-sessions", usage_views.UsageTopSessionsView.as_view()),
]
