from django.apps import AppConfig


class RecurringConfig(AppConfig):
    name = "recurring"
    verbose_name = "Facturas recurrentes"
