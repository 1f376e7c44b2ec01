"""URL configuration: the JSON API, the health probe, the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from sessions_app.api.views import health_db

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("sessions_app.api.urls")),
    path("health/db", health_db),
    path("admin/", admin.site.urls),
]
