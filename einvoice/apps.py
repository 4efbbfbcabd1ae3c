from django.apps import AppConfig


class EinvoiceConfig(AppConfig):
    name = "einvoice"
    verbose_name = "Factura electrónica"

    def ready(self) -> None:
        from einvoice import outbound, panels, tasks  # noqa: F401 - the task, sent by name
        from invoicing import einvoices

        einvoices.register_issue_hook(outbound.on_issue)
        einvoices.register_file_source(outbound.offered_file)
        einvoices.register_detail_panel(panels.invoice_panel)
