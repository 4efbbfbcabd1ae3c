from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "desk"
    verbose_name = "Mesa AEAT"

    def ready(self) -> None:
        """Name the task of the desk's re-submission jobs (factu.jobs knows no app)."""
        from desk import tasks  # noqa: F401 - registered in every process (sent by name)
        from factu import jobs
        from factu.models import Job

        jobs.register(
            Job.Kind.RESUBMIT,
            "desk.resubmit",
            failure=(
                "Error inesperado al reenviar: {error}. Los registros ya reenviados siguen en "
                "cola; los demás siguen en la mesa para volver a intentarlo."
            ),
        )
