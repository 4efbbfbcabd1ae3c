from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "mailing"
    verbose_name = "Correo"

    def ready(self) -> None:
        # Registered in every process, not only the worker's: services send them by name.
        from mailing import tasks  # noqa: F401
