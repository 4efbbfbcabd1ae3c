from django.urls import path

from api.account import views

urlpatterns = [
    path("invoices", views.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<uuid:invoice_id>", views.InvoiceDetailView.as_view(), name="api-invoice"),
    path(
        "invoices/<uuid:invoice_id>/status",
        views.InvoiceStatusView.as_view(),
        name="api-invoice-status",
    ),
    path(
        "invoices/<uuid:invoice_id>/send", views.InvoiceSendView.as_view(), name="api-invoice-send"
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
