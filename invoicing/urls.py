from django.urls import path

from invoicing import detail_views, draft_views, payment_views, sending_views, views

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("exportar.csv", views.invoice_export, name="invoice_export"),
    path("nueva/", draft_views.invoice_create, name="invoice_create"),
    path("totales/", draft_views.invoice_totals, name="invoice_totals"),
    path("enviar/", sending_views.invoice_send_bulk, name="invoice_send_bulk"),
    path("series/", views.series_list, name="series_list"),
    path("series/nueva/", views.series_create, name="series_create"),
    path("<uuid:invoice_id>/", detail_views.invoice_detail, name="invoice_detail"),
    path("<uuid:invoice_id>/editar/", draft_views.invoice_edit, name="invoice_edit"),
    path("<uuid:invoice_id>/totales/", draft_views.invoice_totals, name="invoice_totals_for"),
    path("<uuid:invoice_id>/estado/", detail_views.invoice_status, name="invoice_status"),
    path("<uuid:invoice_id>/emitir/", detail_views.invoice_issue, name="invoice_issue"),
    path("<uuid:invoice_id>/cobrar/", detail_views.invoice_pay, name="invoice_pay"),
    path(
        "<uuid:invoice_id>/cobros/",
        payment_views.invoice_payment_add,
        name="invoice_payment_add",
    ),
    path(
        "<uuid:invoice_id>/cobros/<uuid:payment_id>/deshacer/",
        payment_views.invoice_payment_remove,
        name="invoice_payment_remove",
    ),
    path("<uuid:invoice_id>/anular/", detail_views.invoice_cancel, name="invoice_cancel"),
    path("<uuid:invoice_id>/duplicar/", detail_views.invoice_duplicate, name="invoice_duplicate"),
    path("<uuid:invoice_id>/rectificar/", detail_views.invoice_rectify, name="invoice_rectify"),
    path("<uuid:invoice_id>/enviar/", sending_views.invoice_send, name="invoice_send"),
    path("<uuid:invoice_id>/pdf/", detail_views.invoice_pdf, name="invoice_pdf"),
    path("<uuid:invoice_id>/xml/", detail_views.invoice_xml, name="invoice_xml"),
    path(
        "<uuid:invoice_id>/electronica/<slug:format>/",
        detail_views.invoice_einvoice,
        name="invoice_einvoice",
    ),
]
