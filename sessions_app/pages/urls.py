"""Routes of the session pages (mounted at the site root)."""

from django.urls import path

from sessions_app.pages import views

app_name = "sessions"

urlpatterns = [
    path("", views.sessions_page, name="list"),
    path("sessions/<str:session_id>", views.session_page, name="session"),
    path("sessions/<str:session_id>/more", views.messages_fragment, name="messages"),
    path("search", views.search_page, name="search"),
]
