from django.apps import AppConfig


class EinvoiceConfig(AppConfig):
    name = "einvoice"
    verbose_name = "Factura electrónica"

    def ready(self) -> None:
        from einvoice import panel, reporting
        from invoicing import einvoices

        einvoices.register_detail_panel(panel.status_panel)
        reporting.register_source(reporting.issued_answers)
