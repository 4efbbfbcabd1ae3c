from django.apps import AppConfig


class FactuConfig(AppConfig):
    name = "factu"
    verbose_name = "Factu"
