from django.apps import AppConfig
from django.db.models.signals import post_migrate

from factu.triggers import ensure_after_migrate


class FactuConfig(AppConfig):
    name = "factu"
    verbose_name = "Factu"

    def ready(self) -> None:
        post_migrate.connect(ensure_after_migrate, sender=self, dispatch_uid="factu.triggers")
