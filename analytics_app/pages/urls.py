"""Routes of the analytics pages (mounted at the site root)."""

from django.urls import path

from analytics_app.pages import usage, views

app_name = "analytics"

urlpatterns = [
    path("analytics", views.analytics_page, name="page"),
    path("analytics/signal", views.signal_page, name="signal"),
    path("usage", usage.usage_page, name="usage"),
]
