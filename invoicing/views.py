"""Invoice pages. Thin: they parse forms, call :mod:`invoicing.services` and show the result.

Every invoice is looked up within ``request.account`` (another account's invoice is a 404);
lists and new drafts belong to the current taxpayer. Viewers see no actions, and every
POST of theirs is refused (403) by ``account_view(write=True)``.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from clients.models import Client
from factu.access import account_view, require_write
from factu.redirects import safe_next
from factu.spreadsheets import csv_response
from factu.text import search_terms
from invoicing import documents, services, taxes
from invoicing import totals as stored_totals
from invoicing.exports import invoices_csv
from invoicing.forms import (
    CancelForm,
    InvoiceFilterForm,
    InvoiceForm,
    LineFormSet,
    PaidForm,
    RectifyForm,
    SeriesForm,
    format_decimal,
    line_initial,
    parse_decimal,
)
from invoicing.models import Invoice, InvoiceStatus, Series
from verifactu import corrections, faults
from verifactu.corrections import InvalidCorrection
from verifactu.events import export_is_logged, log_export
from verifactu.models import BillingRecord, RecordStatus
from verifactu.qr import qr_svg
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
AEAT_TONES = {
    RecordStatus.QUEUED: "pending",
    RecordStatus.SENDING: "pending",
    RecordStatus.ACCEPTED: "ok",
    RecordStatus.ACCEPTED_WITH_ERRORS: "warn",
    RecordStatus.REJECTED: "bad",
    RecordStatus.ERROR: "bad",
}
PENDING = (RecordStatus.QUEUED, RecordStatus.SENDING)
EVENT_LABELS = {
    "created": "Borrador creado",
    "updated": "Borrador modificado",
    "issued": "Emitida",
    "paid": "Marcada como cobrada",
    "overdue": "Vencida",
    "cancelled": "Anulada",
    "rectified": "Rectificada",
}
STATUS_TONES = {
    InvoiceStatus.DRAFT: "",
    InvoiceStatus.SENT: "pending",
    InvoiceStatus.PAID: "ok",
    InvoiceStatus.OVERDUE: "warn",
    InvoiceStatus.CANCELLED: "bad",
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


def invoice_or_404(request: HttpRequest, invoice_id) -> Invoice:
    """An invoice of the request's account; another account's invoice does not exist."""
    try:
        return Invoice.objects.select_related(
            "series", "client", "taxpayer", "fiscal_invoice", "rectified_invoice"
        ).get(pk=invoice_id, account=request.account)
    except (Invoice.DoesNotExist, ValueError, ValidationError):
        raise Http404("No existe esa factura en esta cuenta.") from None


def _actor(request: HttpRequest) -> services.Actor:
    return services.Actor(user=request.user)


def no_taxpayer(request: HttpRequest) -> HttpResponse:
    return render(request, "invoicing/no_taxpayer.html")


def status_label(invoice: Invoice) -> str:
    if invoice.cancelled_before_issue:
        return "Anulada antes de emitir"
    return invoice.get_status_display()


def aeat_badge(status: str | None) -> dict | None:
    if not status:
        return None
    return {"label": AEAT_LABELS.get(status, status), "tone": AEAT_TONES.get(status, "")}


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}


def apply_service_errors(exc: ValidationError, form, formset=None) -> None:
    """Put each error of the service next to the field it names (``lines.0.description``
    on the first saved line's description); the rest on top of the form."""
    live = formset.live_forms() if formset is not None else []
    for key, errors in _errors_of(exc).items():
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


def _refusal_messages(exc: Exception) -> list[str]:
    if isinstance(exc, RecordRefused):
        found = [f"{p.message} (AEAT {p.code})" if p.code else p.message for p in exc.problems]
        return found or [exc.message]
    if isinstance(exc, ValidationError):
        return [m for errors in _errors_of(exc).values() for m in errors]
    return [str(exc)]


def _posted(request: HttpRequest):
    """The POST data on a POST (even when empty, so the form is bound), else None."""
    return request.POST if request.method == "POST" else None


def _aware_noon(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


# ---------------------------------------------------------------------------------------
# List
# ---------------------------------------------------------------------------------------


def _latest_record_status():
    return Subquery(
        BillingRecord.objects.filter(fiscal_invoice=OuterRef("fiscal_invoice"))
        .order_by("-position")
        .values("status")[:1]
    )


def _filtered_invoices(request: HttpRequest, filters: InvoiceFilterForm):
    invoices = Invoice.objects.filter(account=request.account, taxpayer=request.taxpayer)
    values = filters.cleaned_data if filters.is_valid() else {}
    status = values.get("estado") or ""
    if status:
        invoices = invoices.filter(status=status)
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
        invoices.select_related("client")
        .annotate(aeat_status=_latest_record_status())
        .order_by("-issue_date", "-id")
    )
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "invoice": invoice,
            "client": invoice.client_name or (invoice.client.name if invoice.client else ""),
            "status": status_label(invoice),
            "tone": STATUS_TONES.get(invoice.status, ""),
            "aeat": aeat_badge(invoice.aeat_status),
        }
        for invoice in page.object_list
    ]
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        "invoicing/invoice_list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "filtered": bool(query),
            "query": urlencode(query),
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
# Draft form
# ---------------------------------------------------------------------------------------


def _render_form(request, form, formset, *, invoice=None, status=200) -> HttpResponse:
    return render(
        request,
        "invoicing/invoice_form.html",
        {"form": form, "formset": formset, "object": invoice},
        status=status,
    )


@account_view(write=True)
def invoice_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    taxpayer = request.taxpayer
    if taxpayer is None:
        return no_taxpayer(request)
    if not taxpayer.series.filter(archived=False).exclude(kind=Series.Kind.RECTIFYING).exists():
        return render(request, "invoicing/no_series.html")
    initial = {"issue_date": timezone.localdate(), "irpf_rate": taxpayer.default_irpf_bp}
    if request.GET.get("cliente"):
        initial["client"] = request.GET["cliente"]
    form = InvoiceForm(_posted(request), taxpayer=taxpayer, initial=initial)
    formset = LineFormSet(_posted(request), prefix="lines")
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                invoice = services.create_draft(
                    taxpayer,
                    series=data["series"],
                    client=data["client"],
                    issue_date=data["issue_date"],
                    due_date=data["due_date"],
                    operation_date=data["operation_date"],
                    issued_by=data["issued_by"],
                    third_party_nif=data["third_party_nif"],
                    third_party_name=data["third_party_name"],
                    replaced_invoices=list(data["replaced_invoices"]),
                    lines=formset.draft_lines(),
                    irpf_bp=data["irpf_rate"],
                    description=data["description"],
                    notes=data["notes"],
                    payment_details=data["payment_details"],
                    actor=_actor(request),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            else:
                messages.success(request, f"Borrador {invoice.number} guardado.")
                return redirect("invoice_detail", request.account.slug, invoice.pk)
        return _render_form(request, form, formset, status=400)
    return _render_form(request, form, formset)


@account_view(write=True)
def invoice_edit(request: HttpRequest, invoice_id) -> HttpResponse:
    require_write(request)
    invoice = invoice_or_404(request, invoice_id)
    if not invoice.is_draft:
        messages.error(request, "Solo se modifican los borradores: rectifique o anule la factura.")
        return redirect("invoice_detail", request.account.slug, invoice.pk)
    initial = {
        "client": invoice.client_id,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "operation_date": invoice.operation_date,
        "issued_by": invoice.issued_by,
        "third_party_nif": invoice.third_party_nif,
        "third_party_name": invoice.third_party_name,
        "replaced_invoices": list(invoice.replaced_invoices.values_list("pk", flat=True)),
        "description": invoice.description,
        "irpf_rate": invoice.irpf_bp,
        "notes": invoice.notes,
        "payment_details": invoice.payment_details,
    }
    form = InvoiceForm(
        _posted(request),
        taxpayer=invoice.taxpayer,
        with_series=False,
        client=invoice.client,
        draft=invoice,
        initial=initial,
    )
    formset = LineFormSet(
        _posted(request), prefix="lines", initial=line_initial(invoice.lines.all())
    )
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                services.update_draft(
                    invoice,
                    client=data["client"],
                    issue_date=data["issue_date"],
                    due_date=data["due_date"],
                    operation_date=data["operation_date"],
                    issued_by=data["issued_by"],
                    third_party_nif=data["third_party_nif"],
                    third_party_name=data["third_party_name"],
                    replaced_invoices=list(data["replaced_invoices"]),
                    lines=formset.draft_lines(),
                    irpf_bp=data["irpf_rate"],
                    description=data["description"],
                    notes=data["notes"],
                    payment_details=data["payment_details"],
                    actor=_actor(request),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            except services.InvalidTransition as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Borrador {invoice.number} guardado.")
                return redirect("invoice_detail", request.account.slug, invoice.pk)
        invoice.refresh_from_db()
        return _render_form(request, form, formset, invoice=invoice, status=400)
    return _render_form(request, form, formset, invoice=invoice)


def _preview_lines(formset):
    """The lines of a form being typed, as far as they can be read: each row's prefix with
    its DraftLine (None for rows not readable yet)."""
    rows = []
    initial = formset.initial_form_count()
    for i, form in enumerate(formset.forms):
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
        if not (i < initial or form.has_changed()) or data.get("DELETE"):
            continue
        readable = {"quantity", "unit_price", "iva_type"} <= data.keys()
        if readable and not {"cause", "tobacco"} & form.errors.keys():
            data.setdefault("description", "—")
            rows.append((form.prefix, form.draft_line()))
        else:
            rows.append((form.prefix, None))
    return rows


@account_view(write=True)
@require_POST
def invoice_totals(request: HttpRequest, invoice_id=None) -> HttpResponse:
    """The live totals of the draft form: the server's arithmetic (``preview_totals``),
    returned as a partial for htmx; each line's amount rides along out of band."""
    invoice = invoice_or_404(request, invoice_id) if invoice_id else None
    taxpayer = invoice.taxpayer if invoice else request.taxpayer
    if taxpayer is None:
        raise Http404("Sin contribuyente.")
    series = None
    if request.POST.get("series"):
        series = Series.objects.filter(pk=request.POST["series"], taxpayer=taxpayer).first()
    series = series or (invoice.series if invoice else None)
    client = None
    if request.POST.get("client"):
        client = Client.objects.filter(pk=request.POST["client"], taxpayer=taxpayer).first()
    try:
        irpf_bp = parse_decimal(request.POST.get("irpf_rate") or "0")
    except ValidationError:
        irpf_bp = 0  # the form says why when it is saved
    if not 0 <= irpf_bp <= taxes.BP_DENOMINATOR:
        irpf_bp = 0
    formset = LineFormSet(request.POST, prefix="lines")
    rows = _preview_lines(formset)
    readable = [line for _, line in rows if line is not None]
    totals, problems = None, []
    try:
        totals = services.preview_totals(
            readable,
            irpf_bp=irpf_bp,
            client=client,
            rectificativa=bool(series and series.kind == Series.Kind.RECTIFYING),
        )
    except ValidationError as exc:
        problems = sorted({m for errors in _errors_of(exc).values() for m in errors})
    amounts = iter(totals.lines if totals else [])
    line_amounts = [
        (prefix, taxes.format_euros(next(amounts)) if line is not None and totals else "")
        for prefix, line in rows
    ]
    groups = [
        {
            "label": documents.tax_label(g.iva_type, g.cause, g.rate_bp),
            "base": taxes.format_euros(g.base_cents),
            "iva": taxes.format_euros(g.iva_cents),
            "surcharge": taxes.format_euros(g.surcharge_cents) if g.surcharge_cents else "",
            "surcharge_rate": taxes.format_percent(g.surcharge_rate_bp),
        }
        for g in (totals.groups if totals else ())
    ]
    return render(
        request,
        "invoicing/_totals.html",
        {
            "totals": _money(totals) if totals else None,
            "groups": groups,
            "problems": problems,
            "unreadable": sum(1 for _, line in rows if line is None),
            "line_amounts": line_amounts,
            "oob": True,
        },
    )


def _money(totals: taxes.InvoiceTotals) -> dict:
    return {
        "subtotal": taxes.format_euros(totals.subtotal_cents),
        "iva": taxes.format_euros(totals.iva_cents),
        "surcharge": taxes.format_euros(totals.surcharge_cents) if totals.surcharge_cents else "",
        "irpf": taxes.format_euros(-totals.irpf_cents) if totals.irpf_bp else "",
        "irpf_rate": taxes.format_percent(totals.irpf_bp),
        "total": taxes.format_euros(totals.total_cents),
        "tax_label": documents.tax_total_label(totals.groups),
    }


# ---------------------------------------------------------------------------------------
# Detail and actions
# ---------------------------------------------------------------------------------------


def _qr_markup(url: str) -> str:
    svg = qr_svg(url).decode()
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    return mark_safe(svg)  # noqa: S308 (generated by qrcode from our own URL)


def _records_context(invoice: Invoice) -> dict:
    records = []
    latest = None
    if invoice.fiscal_invoice_id:
        found = list(invoice.fiscal_invoice.records.order_by("position"))
        latest = found[-1] if found else None
        for record in found:
            records.append(
                {
                    "record": record,
                    "badge": aeat_badge(record.status),
                    "huella": f"{record.huella[:8]}…{record.huella[-8:]}",
                }
            )
    polling = latest is not None and latest.status in PENDING
    fix = corrections.correction_for(invoice.fiscal_invoice) if invoice.fiscal_invoice_id else None
    blockage = faults.blockage_of(latest) if polling else None
    return {
        "fix": fix,
        "versions": corrections.versions(invoice.fiscal_invoice) if fix or latest else [],
        "records": records,
        "latest": latest,
        "latest_badge": aeat_badge(latest.status) if latest else None,
        "polling": polling,
        "poll_seconds": BLOCKED_POLL_SECONDS if blockage else POLL_SECONDS,
        "blockage": blockage,
    }


def _detail_context(request: HttpRequest, invoice: Invoice, **extra) -> dict:
    lines = list(invoice.lines.all())
    totals = stored_totals.recomputed(invoice, lines)
    can_write = request.membership.can_write
    is_open = invoice.status != InvoiceStatus.CANCELLED
    context = {
        "object": invoice,
        "status": status_label(invoice),
        "tone": STATUS_TONES.get(invoice.status, ""),
        "issuer": documents.issuer_party(invoice),
        "client_party": documents.client_party(invoice),
        "lines": [
            {
                "line": line,
                "quantity": _quantity(line.quantity),
                "unit_price": taxes.format_euros(line.unit_price_cents),
                "discount": taxes.format_percent(line.discount_bp) if line.discount_bp else "",
                "tax": documents.tax_label(
                    line.iva_type, line.cause, taxes.TAX_RATES_BP[line.iva_type]
                ),
                "amount": taxes.format_euros(line.amount_cents),
            }
            for line in lines
        ],
        "groups": [
            {
                "label": documents.tax_label(g.iva_type, g.cause, g.rate_bp),
                "base": taxes.format_euros(g.base_cents),
                "iva": taxes.format_euros(g.iva_cents),
                "surcharge": taxes.format_euros(g.surcharge_cents) if g.surcharge_cents else "",
                "surcharge_rate": taxes.format_percent(g.surcharge_rate_bp),
            }
            for g in totals.groups
        ],
        "totals": {
            "subtotal": taxes.format_euros(invoice.subtotal_cents),
            "iva": taxes.format_euros(invoice.iva_cents),
            "surcharge": taxes.format_euros(invoice.surcharge_cents)
            if invoice.surcharge_cents
            else "",
            "irpf": taxes.format_euros(-invoice.irpf_cents) if invoice.irpf_bp else "",
            "irpf_rate": taxes.format_percent(invoice.irpf_bp),
            "total": taxes.format_euros(invoice.total_cents),
            "tax_label": documents.tax_total_label(totals.groups),
        },
        "events": [
            {"event": e, "label": EVENT_LABELS.get(e.action, e.action)}
            for e in invoice.events.select_related("user")
        ],
        "rectifications": list(invoice.rectifications.order_by("issue_date", "number")),
        "qr": None,
        "can_edit": can_write and invoice.is_draft,
        "can_issue": can_write and invoice.is_draft,
        "can_pay": can_write and invoice.status in (InvoiceStatus.SENT, InvoiceStatus.OVERDUE),
        "can_cancel": can_write and is_open,
        "can_rectify": can_write and invoice.is_issued and is_open,
        "paid_form": PaidForm(initial={"paid_on": timezone.localdate()}),
        "other_taxpayer": request.taxpayer is not None
        and invoice.taxpayer_id != request.taxpayer.pk,
    }
    context.update(_records_context(invoice))
    if invoice.is_issued and invoice.fiscal_invoice_id:
        url = invoice.fiscal_invoice.qr_url
        if url:
            context["qr"] = _qr_markup(url)
            context["qr_url"] = url
    context.update(extra)
    return context


def _quantity(hundredths: int) -> str:
    return format_decimal(hundredths)


@account_view()
def invoice_detail(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    return render(request, "invoicing/invoice_detail.html", _detail_context(request, invoice))


@account_view()
@require_GET
def invoice_status(request: HttpRequest, invoice_id) -> HttpResponse:
    """The AEAT status fragment; it keeps polling itself while a record is on its way."""
    invoice = invoice_or_404(request, invoice_id)
    context = {"object": invoice}
    context.update(_records_context(invoice))
    return render(request, "invoicing/_aeat_status.html", context)


@account_view(write=True)
@require_POST
def invoice_issue(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    try:
        services.issue_invoice(invoice, actor=_actor(request))
    except (ValidationError, RecordRefused, services.InvalidTransition) as exc:
        invoice = invoice_or_404(request, invoice_id)
        context = _detail_context(request, invoice, issue_errors=_refusal_messages(exc))
        return render(request, "invoicing/invoice_detail.html", context, status=400)
    messages.success(
        request,
        f"Factura {invoice.number} emitida: su registro está en cola para enviarse a la AEAT.",
    )
    return redirect("invoice_detail", request.account.slug, invoice.pk)


@account_view(write=True)
@require_POST
def invoice_pay(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    form = PaidForm(request.POST)
    if form.is_valid():
        try:
            services.mark_paid(
                invoice, paid_at=_aware_noon(form.cleaned_data["paid_on"]), actor=_actor(request)
            )
        except (ValidationError, services.InvalidTransition) as exc:
            form.add_error(None, _refusal_messages(exc))
        else:
            messages.success(request, f"Factura {invoice.number} marcada como cobrada.")
            return redirect("invoice_detail", request.account.slug, invoice.pk)
    context = _detail_context(request, invoice, paid_form=form)
    return render(request, "invoicing/invoice_detail.html", context, status=400)


@account_view(write=True)
def invoice_cancel(request: HttpRequest, invoice_id) -> HttpResponse:
    """GET explains and asks for confirmation; POST cancels."""
    require_write(request)
    invoice = invoice_or_404(request, invoice_id)
    form = CancelForm(_posted(request))
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_invoice(
                invoice, actor=_actor(request), reason=form.cleaned_data["reason"]
            )
        except (services.InvalidTransition, InvalidCorrection, RecordRefused) as exc:
            errors = _refusal_messages(exc)
        else:
            if invoice.is_issued:
                text = (
                    f"Factura {invoice.number} anulada: su registro de anulación está en cola "
                    "para enviarse a la AEAT."
                )
            else:
                text = f"Borrador {invoice.number} anulado antes de emitir; el número se conserva."
            messages.success(request, text)
            return redirect("invoice_detail", request.account.slug, invoice.pk)
    return render(
        request,
        "invoicing/invoice_confirm_cancel.html",
        {"object": invoice, "form": form, "errors": errors},
        status=400 if errors else 200,
    )


@account_view(write=True)
def invoice_rectify(request: HttpRequest, invoice_id) -> HttpResponse:
    require_write(request)
    original = invoice_or_404(request, invoice_id)
    if not original.is_issued or original.status == InvoiceStatus.CANCELLED:
        messages.error(request, "Solo se rectifican facturas emitidas y no anuladas.")
        return redirect("invoice_detail", request.account.slug, original.pk)
    mode = request.POST.get("rectification_type") or request.GET.get("tipo") or "S"
    mode = mode if mode in ("S", "I") else "S"
    has_series = original.taxpayer.series.filter(
        archived=False, kind=Series.Kind.RECTIFYING
    ).exists()
    form = RectifyForm(
        _posted(request),
        original=original,
        initial={
            "rectification_type": mode,
            "issue_date": timezone.localdate(),
            "description": f"Rectificación de la factura {original.number}",
        },
    )
    initial_lines = line_initial(original.lines.all()) if mode == "S" else []
    formset = LineFormSet(_posted(request), prefix="lines", initial=initial_lines)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                draft = services.rectify_invoice(
                    original,
                    series=data["series"],
                    rectification_type=data["rectification_type"],
                    lines=formset.draft_lines(),
                    issue_date=data["issue_date"],
                    invoice_type=data["invoice_type"],
                    description=data["description"],
                    actor=_actor(request),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            except services.InvalidTransition as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"Borrador de rectificativa {draft.number} creado: revíselo y emítalo.",
                )
                return redirect("invoice_detail", request.account.slug, draft.pk)
    return render(
        request,
        "invoicing/invoice_rectify.html",
        {
            "object": original,
            "form": form,
            "formset": formset,
            "mode": mode,
            "has_series": has_series,
        },
        status=status,
    )


@account_view()
def invoice_pdf(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    filename, mimetype, data = documents.render_pdf(invoice)
    response = HttpResponse(data, content_type=mimetype)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@account_view()
def invoice_xml(request: HttpRequest, invoice_id) -> HttpResponse:
    """The XML of the invoice's latest billing record, as stored (and hashed), signed when
    the taxpayer keeps its records (NO VERI*FACTU).

    That download is an export logged as event 08, so it is a POST (the invoice page's
    button, with CSRF); a GET of a NO VERI*FACTU record shows the button, never exports."""
    invoice = invoice_or_404(request, invoice_id)
    record = invoice.fiscal_invoice.latest_record if invoice.fiscal_invoice_id else None
    if record is None:
        raise Http404("Esta factura aún no tiene registro de facturación.")
    if request.method != "POST" and export_is_logged([record]):
        return render(
            request,
            "export_confirm.html",
            {
                "what": f"el XML de la factura {invoice.number}",
                "taxpayer_name": invoice.taxpayer.name,
                "back": reverse("invoice_detail", args=[request.account.slug, invoice.pk]),
            },
        )
    kind = "anulacion" if record.kind == BillingRecord.Kind.ANULACION else "alta"
    safe_number = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number)
    response = HttpResponse(record.exported_xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="registro-{kind}-{safe_number}-{record.position}.xml"'
    )
    log_export([record])  # event 08 when the taxpayer runs NO VERI*FACTU
    return response


# ---------------------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------------------


@account_view()
def series_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    series = list(
        request.taxpayer.series.annotate(invoice_count=Count("invoices")).order_by(
            "archived", "code"
        )
    )
    year = timezone.localdate().year
    for item in series:
        item.example = item.format_number(year, 1)
    return render(request, "invoicing/series_list.html", {"series_list": series})


def _safe_next(request: HttpRequest) -> str:
    return safe_next(request, within=f"/c/{request.account.slug}/facturas/")


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
    form = SeriesForm(_posted(request), taxpayer=taxpayer, initial=initial)
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
        return redirect(_safe_next(request) or reverse("series_list", args=[request.account.slug]))
    return render(
        request,
        "invoicing/series_form.html",
        {"form": form, "next": _safe_next(request)},
        status=400 if request.method == "POST" else 200,
    )
