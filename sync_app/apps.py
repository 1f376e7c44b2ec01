from django.apps import AppConfig
from django.db.models.signals import pre_migrate


class SyncAppConfig(AppConfig):
    name = "sync_app"
    verbose_name = "PostgreSQL push"

    def ready(self) -> None:
        from sync_app.schema import create_pg_schema

        # No sender filter: Django sends pre_migrate only for apps that have models, and the
        # schema must exist before the first of them migrates.
        pre_migrate.connect(create_pg_schema, dispatch_uid="create_pg_schema")
