from django.urls import path

from desk import views

urlpatterns = [
    path("", views.desk, name="desk"),
    path("resumen/", views.taxpayer_overview, name="taxpayer_overview"),
    path("reenviar/", views.resubmit, name="desk_resubmit"),
    path("<uuid:fiscal_invoice_id>/subsanar/", views.subsanar, name="desk_subsanar"),
    path("<uuid:fiscal_invoice_id>/corregir/", views.corregir, name="desk_corregir"),
    path("<uuid:fiscal_invoice_id>/reintentar/", views.reintentar, name="desk_reintentar"),
    path("<uuid:fiscal_invoice_id>/anular/", views.anular, name="desk_anular"),
    path("cadena/<int:chain_id>/intentar/", views.retry_chain, name="desk_retry_chain"),
]
