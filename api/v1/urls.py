from django.urls import path

from api.v1 import actions, events, representation_views, views

urlpatterns = [
    path("taxpayers", views.TaxpayerListView.as_view(), name="v1-taxpayers"),
    path(
        "taxpayers/<str:nif>/invoices",
        views.TaxpayerInvoicesView.as_view(),
        name="v1-taxpayer-invoices",
    ),
    path(
        "taxpayers/<str:nif>/requerimiento",
        actions.TaxpayerRequerimientoView.as_view(),
        name="v1-requerimiento",
    ),
    path(
        "taxpayers/<str:nif>/events.xml",
        events.TaxpayerEventsXmlView.as_view(),
        name="v1-taxpayer-events-xml",
    ),
    path("taxpayers/<str:nif>/events", events.TaxpayerEventsView.as_view(), name="v1-events"),
    path(
        "taxpayers/<str:nif>/representation",
        representation_views.TaxpayerRepresentationView.as_view(),
        name="v1-taxpayer-representation",
    ),
    path("computer-systems", views.ComputerSystemListView.as_view(), name="v1-computer-systems"),
    path("invoices", views.InvoiceCreateView.as_view(), name="v1-invoices"),
    path("invoices/<uuid:invoice_id>", views.InvoiceDetailView.as_view(), name="v1-invoice"),
    path("invoices/<uuid:invoice_id>/status", views.InvoiceStatusView.as_view(), name="v1-status"),
    path("invoices/<uuid:invoice_id>/xml", views.InvoiceXmlView.as_view(), name="v1-xml"),
    path("invoices/<uuid:invoice_id>/qr", views.InvoiceQrView.as_view(), name="v1-qr"),
    path("invoices/<uuid:invoice_id>/pdf", views.InvoicePdfView.as_view(), name="v1-pdf"),
    path("invoices/<uuid:invoice_id>/retry", actions.InvoiceRetryView.as_view(), name="v1-retry"),
    path(
        "invoices/<uuid:invoice_id>/subsanacion",
        actions.InvoiceSubsanacionView.as_view(),
        name="v1-subsanacion",
    ),
    path(
        "invoices/<uuid:invoice_id>/cancel", actions.InvoiceCancelView.as_view(), name="v1-cancel"
    ),
]
