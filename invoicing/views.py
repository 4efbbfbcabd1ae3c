"""Invoice pages. Thin: they parse forms, call :mod:`invoicing.services` and show the result.

Every invoice is looked up within ``request.account`` (another account's invoice is a 404);
lists and new drafts belong to the current taxpayer. Viewers see no actions, and every
POST of theirs is refused (403) by ``account_view(write=True)``.
"""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.redirects import back_to_list, section_next
from factu.spreadsheets import csv_response
from factu.text import search_terms
from invoicing import services, taxes
from invoicing import totals as stored_totals
from invoicing.exports import invoices_csv
from invoicing.forms import (
    InvoiceFilterForm,
    SeriesForm,
)
from invoicing.models import Invoice, InvoiceStatus, Series, with_next_number
from invoicing.payments import with_paid
from verifactu.models import BillingRecord, RecordStatus
from verifactu.records import RecordRefused

PAGE_SIZE = 50
POLL_SECONDS = 3
BLOCKED_POLL_SECONDS = 30  # a chain backing off after AEAT faults changes seldom

# A record's AEAT status as the invoice pages say it (of a factura: feminine).
AEAT_LABELS = {
    RecordStatus.QUEUED: "En cola",
    RecordStatus.SENDING: "Enviando",
    RecordStatus.ACCEPTED: "Aceptada",
    RecordStatus.ACCEPTED_WITH_ERRORS: "Aceptada con errores",
    RecordStatus.REJECTED: "Rechazada",
    RecordStatus.ERROR: "Error",
}
# A badge's classes: a tone shared by kindred states, and one class per state (its own look
# in factu.css), so no two states look alike; the label always says it in words.
AEAT_TONES = {
    RecordStatus.QUEUED: "pending aeat-queued",
    RecordStatus.SENDING: "pending aeat-sending",
    RecordStatus.ACCEPTED: "ok aeat-accepted",
    RecordStatus.ACCEPTED_WITH_ERRORS: "warn aeat-accepted-with-errors",
    RecordStatus.REJECTED: "bad aeat-rejected",
    RecordStatus.ERROR: "bad aeat-error",
}
PENDING = (RecordStatus.QUEUED, RecordStatus.SENDING)
EVENT_LABELS = {
    "number_released": "Numeración solo al emitir: el borrador devolvió el número",
    "created": "Borrador creado",
    "updated": "Borrador modificado",
    "issued": "Emitida",
    "paid": "Marcada como cobrada",
    "payment": "Cobro registrado",
    "payment_removed": "Cobro deshecho",
    "unpaid": "Vuelve a estar pendiente de cobro",
    "overdue": "Vencida",
    "cancelled": "Anulada",
    "discarded": "Borrador eliminado",
    "rectified": "Rectificada",
    "duplicated": "Duplicado de",
    "emailed": "Enviada por correo",
    "reminded": "Recordatorio de cobro por correo",
}
STATUS_TONES = {
    InvoiceStatus.DRAFT: "status-draft",
    InvoiceStatus.SENT: "status-sent",
    InvoiceStatus.PAID: "ok status-paid",
    InvoiceStatus.OVERDUE: "warn status-overdue",
    InvoiceStatus.CANCELLED: "bad status-cancelled",
}
LINE_FIELDS = {
    "description": "description",
    "quantity": "quantity",
    "unitPrice": "unit_price",
    "ivaType": "iva_type",
}


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def invoice_or_404(request: HttpRequest, invoice_id, *, with_payments: bool = False) -> Invoice:
    """An invoice of the request's account; another account's invoice does not exist.

    ``with_payments``: with what was paid of it and whether a rectificativa substitutes it
    read in the same query (:func:`invoicing.payments.with_paid`), for a page that shows
    them several times, not for one that changes them before it shows them."""
    invoices = Invoice.objects.select_related(
        "series", "client", "taxpayer", "fiscal_invoice", "rectified_invoice"
    )
    return account_object_or_404(
        request,
        with_paid(invoices) if with_payments else invoices,
        invoice_id,
        "No existe esa factura en esta cuenta.",
    )


def actor_of(request: HttpRequest) -> services.Actor:
    return services.Actor(user=request.user)


def no_taxpayer(request: HttpRequest) -> HttpResponse:
    return views.no_taxpayer(request, "Facturas", "Las facturas las emite un contribuyente")


def status_label(invoice: Invoice) -> str:
    return invoice.status_label


KEPT = {"label": "Firmado y conservado", "tone": "ok aeat-kept"}
KEPT_IN_LIST = {"label": "Conservado", "tone": "ok aeat-kept"}
UNSIGNED = {"label": "Sin firma: anomalía", "tone": "bad aeat-unsigned"}


def aeat_badge(status: str | None) -> dict | None:
    if not status:
        return None
    return {"label": AEAT_LABELS.get(status, status), "tone": AEAT_TONES.get(status, "")}


def record_badge(record) -> dict | None:
    """A billing record's badge: its AEAT status, or, NO VERI*FACTU records being kept and not
    sent, whether it holds its signature."""
    if record is None:
        return None
    if record.no_verifactu:
        return KEPT if hasattr(record, "signature") else UNSIGNED
    return aeat_badge(record.status)


def errors_of(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}


def apply_service_errors(exc: ValidationError, form, formset=None) -> None:
    """Put each error of the service next to the field it names (``lines.0.description``
    on the first saved line's description); the rest on top of the form."""
    live = formset.live_forms() if formset is not None else []
    for key, errors in errors_of(exc).items():
        for message in errors:
            if key.startswith("lines") and formset is not None:
                parts = key.split(".")
                if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(live):
                    line_form = live[int(parts[1])]
                    field = LINE_FIELDS.get(parts[2], parts[2]) if len(parts) > 2 else None
                    line_form.add_error(field if field in line_form.fields else None, message)
                else:
                    formset.non_form_errors().append(message)
                continue
            field = form.SERVICE_FIELDS.get(key)
            form.add_error(field if field in form.fields else None, message)


def refusal_messages(exc: Exception) -> list[str]:
    if isinstance(exc, RecordRefused):
        found = [f"{p.message} (AEAT {p.code})" if p.code else p.message for p in exc.problems]
        return found or [exc.message]
    if isinstance(exc, ValidationError):
        return [m for errors in errors_of(exc).values() for m in errors]
    return [str(exc)]


def posted_data(request: HttpRequest):
    """The POST data on a POST (even when empty, so the form is bound), else None."""
    return request.POST if request.method == "POST" else None


def aware_noon(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


# ---------------------------------------------------------------------------------------
# List
# ---------------------------------------------------------------------------------------


def _latest_record(column: str):
    return Subquery(
        BillingRecord.objects.filter(fiscal_invoice=OuterRef("fiscal_invoice"))
        .order_by("-position")
        .values(column)[:1]
    )


def _filtered_invoices(request: HttpRequest, filters: InvoiceFilterForm):
    invoices = Invoice.objects.filter(account=request.account, taxpayer=request.taxpayer)
    values = filters.cleaned_data if filters.is_valid() else {}
    status = values.get("estado") or ""
    if status:
        invoices = invoices.filter(status=status)
    else:
        # Deleted drafts ("Eliminar borrador") only under "Anuladas".
        invoices = invoices.exclude(status=InvoiceStatus.CANCELLED, sequence__isnull=True)
    if values.get("desde"):
        invoices = invoices.filter(issue_date__gte=values["desde"])
    if values.get("hasta"):
        invoices = invoices.filter(issue_date__lte=values["hasta"])
    for term in search_terms((values.get("q") or "").strip()):
        invoices = invoices.filter(search_text__contains=term)
    return invoices


@account_view()
def invoice_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV for Excel (the same filters as the list page)."""
    if request.taxpayer is None:
        return no_taxpayer(request)
    invoices = _filtered_invoices(request, InvoiceFilterForm(request.GET or None))
    rows = invoices.select_related("client").order_by("-issue_date", "-id")
    return csv_response(invoices_csv(rows.iterator()), f"facturas-{request.taxpayer.nif}.csv")


@account_view()
def invoice_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    filters = InvoiceFilterForm(request.GET or None)
    any_invoice = Invoice.objects.filter(
        account=request.account, taxpayer=request.taxpayer
    ).exists()
    invoices = _filtered_invoices(request, filters)
    sums = stored_totals.declared_sums(invoices)
    invoices = (
        with_paid(invoices.select_related("client"))
        .annotate(aeat_status=_latest_record("status"), aeat_kept=_latest_record("no_verifactu"))
        .order_by("-issue_date", "-id")
    )
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "invoice": invoice,
            "client": invoice.recipient_name,
            "status": status_label(invoice),
            "tone": STATUS_TONES.get(invoice.status, ""),
            "aeat": KEPT_IN_LIST if invoice.aeat_kept else aeat_badge(invoice.aeat_status),
            "outstanding": taxes.format_euros(invoice.outstanding_cents)
            if invoice.partly_paid
            else "",
        }
        for invoice in page.object_list
    ]
    return render(
        request,
        "invoicing/invoice_list.html",
        {
            **views.list_context(request, filters, page, rows),
            "any_invoice": any_invoice,
            "sums": {
                "base": taxes.format_euros(sums.base),
                "iva": taxes.format_euros(sums.iva),
                "total": taxes.format_euros(sums.total),
            },
            "sums_count": sums.count,
        },
    )


# ---------------------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------------------


@account_view()
def series_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    year = timezone.localdate().year
    series = list(
        with_next_number(request.taxpayer.series.all(), year)
        .annotate(invoice_count=Count("invoices"))
        .order_by("archived", "code")
    )
    for item in series:
        item.next_number = item.format_number(year, item.next_in_year)
    return render(request, "invoicing/series_list.html", {"series_list": series})


@account_view(write=True)
def series_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    taxpayer = request.taxpayer
    if taxpayer is None:
        return no_taxpayer(request)
    initial = {}
    if request.GET.get("tipo") in Series.Kind.values:
        initial["kind"] = request.GET["tipo"]
        if request.GET["tipo"] == Series.Kind.RECTIFYING:
            initial["code"] = "R"
    elif not taxpayer.series.exists():
        initial["code"] = "A"
    form = SeriesForm(posted_data(request), taxpayer=taxpayer, initial=initial)
    if request.method == "POST" and form.is_valid():
        series = form.save(commit=False)
        series.account = request.account
        series.taxpayer = taxpayer
        series.save()
        messages.success(
            request,
            f"Serie {series.code} creada: su primera factura será "
            f"{series.format_number(timezone.localdate().year, 1)}.",
        )
        return redirect(back_to_list(request, "facturas", "series_list"))
    return render(
        request,
        "invoicing/series_form.html",
        {"form": form, "next": section_next(request, "facturas")},
        status=400 if request.method == "POST" else 200,
    )
