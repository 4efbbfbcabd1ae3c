from django.urls import path

from einvoice import views

urlpatterns = [
    path("estados/", views.status_report, name="einvoice_status_report"),
    path("<uuid:invoice_id>/respuesta/", views.record_answer, name="einvoice_record_answer"),
    path(
        "<uuid:invoice_id>/respuesta-ubl/",
        views.upload_response,
        name="einvoice_upload_response",
    ),
]
