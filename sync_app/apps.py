from django.apps import AppConfig
from django.db.models.signals import pre_migrate


class SyncAppConfig(AppConfig):
    name = "sync_app"
    verbose_name = "PostgreSQL push"

    def ready(self) -> None:
        from sync_app.schema import create_pg_schema

        pre_migrate.connect(create_pg_schema, sender=self, dispatch_uid="create_pg_schema")
