"""Settings pages that read ``verifactu``, under ``/c/<account_slug>/ajustes/``."""

from django.urls import path

from desk import event_log, settings_views

urlpatterns = [
    path("certificados/", settings_views.certificate_list, name="certificate_list"),
    path("sistema/", settings_views.computer_systems, name="computer_systems"),
    path("representacion/", settings_views.representation_list, name="representation_list"),
    path(
        "representacion/<uuid:taxpayer_id>/",
        settings_views.representation_edit,
        name="representation_edit",
    ),
    path("sistema/eventos/<uuid:taxpayer_id>.xml", event_log.download, name="event_log_download"),
]
