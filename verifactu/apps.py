from django.apps import AppConfig


class VerifactuConfig(AppConfig):
    name = "verifactu"

    def ready(self) -> None:
        from factu.signals import verifactu_mode_requested
        from verifactu.aeat import sweep_stale_key_files
        from verifactu.modes import on_mode_requested

        verifactu_mode_requested.connect(on_mode_requested, dispatch_uid="verifactu.modes")
        sweep_stale_key_files()
