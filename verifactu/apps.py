from django.apps import AppConfig


class VerifactuConfig(AppConfig):
    name = "verifactu"
