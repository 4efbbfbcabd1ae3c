from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        from factu.signals import signed_up
        from invoicing.receivers import create_first_series

        signed_up.connect(create_first_series, dispatch_uid="invoicing.first_series")
