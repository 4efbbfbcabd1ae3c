from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        from factu.signals import signed_up
        from invoicing import tasks  # noqa: F401 - registered in every process (sent by name)
        from invoicing.receivers import create_first_series

        signed_up.connect(create_first_series, dispatch_uid="invoicing.first_series")

        from invoicing.sending import invoice_attachments, invoice_email_attachments
        from mailing import attachments
        from mailing.models import Kind

        attachments.register(Kind.INVOICE, invoice_email_attachments)
        for kind in (Kind.REMINDER_BEFORE, Kind.REMINDER_AFTER):
            attachments.register(kind, invoice_attachments)
