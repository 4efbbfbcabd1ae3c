from django.apps import AppConfig


class EinvoiceConfig(AppConfig):
    name = "einvoice"
    verbose_name = "Factura electrónica"

    def ready(self) -> None:
        from einvoice import outbound, panels, reporting, tasks  # noqa: F401 - the task
        from invoicing import einvoices

        einvoices.register_issue_hook(outbound.on_issue)
        einvoices.register_file_source(outbound.offered_file)
        einvoices.register_detail_panel(panels.invoice_panel)
        einvoices.register_detail_panel(panels.status_panel)
        reporting.register_source(reporting.issued_answers)
        reporting.register_source(reporting.received_answers)
