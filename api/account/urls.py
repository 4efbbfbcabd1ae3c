from django.urls import path

from api.account import payments, views

urlpatterns = [
    path("invoices", views.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<uuid:invoice_id>", views.InvoiceDetailView.as_view(), name="api-invoice"),
    path(
        "invoices/<uuid:invoice_id>/status",
        views.InvoiceStatusView.as_view(),
        name="api-invoice-status",
    ),
    path(
        "invoices/<uuid:invoice_id>/payments",
        payments.InvoicePaymentsView.as_view(),
        name="api-invoice-payments",
    ),
    path(
        "invoices/<uuid:invoice_id>/payments/<uuid:payment_id>",
        payments.InvoicePaymentView.as_view(),
        name="api-invoice-payment",
    ),
    path("invoices/<uuid:invoice_id>/pdf", views.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    path("clients", views.ClientListView.as_view(), name="api-clients"),
    path("series", views.SeriesListView.as_view(), name="api-series"),
    path("expenses", views.ExpenseListView.as_view(), name="api-expenses"),
    path(
        "expenses/categories",
        views.ExpenseCategoryListView.as_view(),
        name="api-expense-categories",
    ),
]
