from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Agent sessions"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from agentsview.databases import fast_timestamps

        connection_created.connect(fast_timestamps, dispatch_uid="fast_timestamps")
