"""The engine's app config.

:meth:`VerifactuConfig.ready` imports what needs the app registry ready (the models), so its
imports sit inside it, as Django asks; none of them hides an import cycle.
"""

from django.apps import AppConfig


class VerifactuConfig(AppConfig):
    name = "verifactu"

    def ready(self) -> None:
        from factu.signals import verifactu_mode_checked, verifactu_mode_requested
        from verifactu import tasks  # noqa: F401 - registers the tasks (see below)
        from verifactu.aeat import sweep_stale_key_files
        from verifactu.modes import on_mode_checked, on_mode_requested

        verifactu_mode_requested.connect(on_mode_requested, dispatch_uid="verifactu.modes")
        verifactu_mode_checked.connect(on_mode_checked, dispatch_uid="verifactu.modes")
        sweep_stale_key_files()
        # The tasks are registered in every process, not only the worker's: verifactu.pacing
        # sends the flush by its name, from requests and commands too.
