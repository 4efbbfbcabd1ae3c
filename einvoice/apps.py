from django.apps import AppConfig


class EinvoiceConfig(AppConfig):
    name = "einvoice"
    verbose_name = "Factura electrónica"
