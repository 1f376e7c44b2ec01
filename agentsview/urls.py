"""URL configuration: the JSON API, the health probe, the admin and each app's pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.negotiation import DefaultContentNegotiation

from agentsview import web
from agentsview.api.views import health_db
from analytics_app.api.views import SessionStatsView

urlpatterns = [
    # the schema alone offers formats (YAML, or JSON with ?format=json)
    path("api/schema/", SpectacularAPIView.as_view(
        content_negotiation_class=DefaultContentNegotiation), name="schema"),
    path("api/v1/analytics/", include("analytics_app.api.urls")),
    path("api/v1/session-stats", SessionStatsView.as_view()),
    path("api/v1/usage/", include("analytics_app.api.usage_urls")),
    path("api/", include("sessions_app.api.urls")),
    path("health/db", health_db),
    path("admin/", admin.site.urls),
    path("login", web.login_page, name="login"),
    path("logout", web.logout_page, name="logout"),
    path("", include("analytics_app.pages.urls")),
    path("", include("sessions_app.pages.urls")),
]

# pages that are not there, and our own errors, in the app's frame (agentsview.web)
handler404 = "agentsview.web.not_found"
handler500 = "agentsview.web.server_error"
