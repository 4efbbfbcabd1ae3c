from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from factu.triggers import ensure_after_migrate, register_sql_functions


class FactuConfig(AppConfig):
    name = "factu"
    verbose_name = "Factu"

    def ready(self) -> None:
        post_migrate.connect(ensure_after_migrate, sender=self, dispatch_uid="factu.triggers")
        connection_created.connect(register_sql_functions, dispatch_uid="factu.sql_functions")
