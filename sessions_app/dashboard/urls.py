from django.urls import path

from sessions_app.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.sessions_page, name="sessions"),
    path("sessions/<str:session_id>", views.session_page, name="session"),
    path("sessions/<str:session_id>/more", views.messages_fragment, name="messages"),
    path("search", views.search_page, name="search"),
    path("analytics", views.analytics_page, name="analytics"),
    path("analytics/signal", views.signal_page, name="signal"),
    path("login", views.login_page, name="login"),
    path("logout", views.logout_page, name="logout"),
]
