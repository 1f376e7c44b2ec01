"""URL configuration. The API and the dashboard arrive with their issues."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
