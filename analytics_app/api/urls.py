"""Routes of /api/v1/analytics/ (mounted by agentsview/urls.py). Other paths under it fall
through to the API's JSON 404."""

from django.urls import path

from analytics_app.api import views

urlpatterns = [
    path("summary", views.SummaryView.as_view()),
    path("activity", views.ActivityView.as_view()),
    path("heatmap", views.HeatmapView.as_view()),
    path("projects", views.ProjectsView.as_view()),
    path("tools", views.ToolsView.as_view()),
    path("velocity", views.VelocityView.as_view()),
    path("top-sessions", views.TopSessionsView.as_view()),
    path("sessions", views.SessionShapesView.as_view()),
    path("hour-of-week", views.HourOfWeekView.as_view()),
    path("signals", views.SignalsView.as_view()),
    path("signal-sessions", views.SignalSessionsView.as_view()),
    path("skills", views.SkillsView.as_view()),
]
