from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Importar y exportar"

    def ready(self) -> None:
        """Name the task of each kind of job transfers runs (factu.jobs knows no app)."""
        from factu import jobs
        from factu.models import Job
        from transfers import tasks  # noqa: F401 - registered in every process (sent by name)

        jobs.register(Job.Kind.IMPORT_CLIENTS, "transfers.import_clients")
        jobs.register(Job.Kind.IMPORT_INVOICES, "transfers.import_invoices")
        jobs.register(
            Job.Kind.EXPORT_ZIP,
            "transfers.export_zip",
            failure="Error inesperado al preparar el ZIP: {error}.",
        )
        jobs.register(
            Job.Kind.EXPORT_QUARTER,
            "transfers.export_quarter",
            failure="Error inesperado al preparar el ZIP: {error}. No se ha generado nada.",
        )
