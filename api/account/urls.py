from django.urls import path

from api.account import b2b_status, einvoices, payments, quotes, received, recurring, views

urlpatterns = [
    path("invoices", views.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<uuid:invoice_id>", views.InvoiceDetailView.as_view(), name="api-invoice"),
    path(
        "invoices/<uuid:invoice_id>/status",
        views.InvoiceStatusView.as_view(),
        name="api-invoice-status",
    ),
    path(
        "invoices/<uuid:invoice_id>/duplicate",
        views.InvoiceDuplicateView.as_view(),
        name="api-invoice-duplicate",
    ),
    path(
        "invoices/<uuid:invoice_id>/send", views.InvoiceSendView.as_view(), name="api-invoice-send"
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
    path(
        "invoices/<uuid:invoice_id>/b2b-status",
        b2b_status.InvoiceB2BStatusView.as_view(),
        name="api-invoice-b2b-status",
    ),
    path("invoices/<uuid:invoice_id>/pdf", views.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    path(
        "invoices/<uuid:invoice_id>/ubl", einvoices.InvoiceUblView.as_view(), name="api-invoice-ubl"
    ),
    path(
        "invoices/<uuid:invoice_id>/facturae",
        einvoices.InvoiceFacturaeView.as_view(),
        name="api-invoice-facturae",
    ),
    path("quotes", quotes.QuoteListView.as_view(), name="api-quotes"),
    path("quotes/<uuid:quote_id>", quotes.QuoteDetailView.as_view(), name="api-quote"),
    path(
        "quotes/<uuid:quote_id>/status",
        quotes.QuoteStatusView.as_view(),
        name="api-quote-status",
    ),
    path(
        "quotes/<uuid:quote_id>/invoice",
        quotes.QuoteInvoiceView.as_view(),
        name="api-quote-invoice",
    ),
    path("quotes/<uuid:quote_id>/send", quotes.QuoteSendView.as_view(), name="api-quote-send"),
    path("quotes/<uuid:quote_id>/pdf", quotes.QuotePdfView.as_view(), name="api-quote-pdf"),
    path("recurring", recurring.PlanListView.as_view(), name="api-recurring"),
    path("recurring/<uuid:plan_id>", recurring.PlanDetailView.as_view(), name="api-recurring-plan"),
    path(
        "recurring/<uuid:plan_id>/pause",
        recurring.PlanPauseView.as_view(),
        name="api-recurring-pause",
    ),
    path(
        "recurring/<uuid:plan_id>/resume",
        recurring.PlanResumeView.as_view(),
        name="api-recurring-resume",
    ),
    path("recurring/<uuid:plan_id>/end", recurring.PlanEndView.as_view(), name="api-recurring-end"),
    path("received-invoices", received.ReceivedListView.as_view(), name="api-received-invoices"),
    path(
        "received-invoices/<uuid:received_invoice_id>",
        received.ReceivedDetailView.as_view(),
        name="api-received-invoice",
    ),
    path(
        "received-invoices/<uuid:received_invoice_id>/answers",
        received.ReceivedAnswerView.as_view(),
        name="api-received-invoice-answers",
    ),
    path(
        "received-invoices/<uuid:received_invoice_id>/expense",
        received.ReceivedExpenseView.as_view(),
        name="api-received-invoice-expense",
    ),
    path("clients", views.ClientListView.as_view(), name="api-clients"),
    path("series", views.SeriesListView.as_view(), name="api-series"),
    path("expenses", views.ExpenseListView.as_view(), name="api-expenses"),
    path(
        "expenses/categories",
        views.ExpenseCategoryListView.as_view(),
        name="api-expense-categories",
    ),
]
