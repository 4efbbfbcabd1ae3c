from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "quotes"
    verbose_name = "Presupuestos"

    def ready(self) -> None:
        from mailing import attachments
        from mailing.models import Kind
        from quotes.sending import quote_attachments

        attachments.register(Kind.QUOTE, quote_attachments)
