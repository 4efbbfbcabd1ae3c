"""The draft pages: a new draft, its editing, and the live totals of the form (the server's
arithmetic, returned as a partial for htmx).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clients.forms import quick_client_form
from clients.models import Client
from factu.access import account_view, require_write
from invoicing import documents, draft_lines, services, taxes
from invoicing.forms import (
    InvoiceForm,
    LineFormSet,
    line_initial,
    parse_decimal,
)
from invoicing.models import Series
from invoicing.views import (
    actor_of,
    apply_service_errors,
    errors_of,
    invoice_or_404,
    no_taxpayer,
    posted_data,
)

# ---------------------------------------------------------------------------------------
# Draft form
# ---------------------------------------------------------------------------------------


def _render_form(request, form, formset, *, invoice=None, status=200) -> HttpResponse:
    taxpayer = invoice.taxpayer if invoice else request.taxpayer
    return render(
        request,
        "invoicing/invoice_form.html",
        {
            "form": form,
            "formset": formset,
            "object": invoice,
            "new_client_form": quick_client_form(taxpayer),
        },
        status=status,
    )


def _draft_fields(request: HttpRequest, form: InvoiceForm, formset: LineFormSet) -> dict:
    """A valid invoice form's fields as create_draft and update_draft both take them."""
    data = form.cleaned_data
    return {
        "client": data["client"],
        "issue_date": data["issue_date"],
        "due_date": data["due_date"],
        "operation_date": data["operation_date"],
        "issued_by": data["issued_by"],
        "third_party_nif": data["third_party_nif"],
        "third_party_name": data["third_party_name"],
        "replaced_invoices": list(data["replaced_invoices"]),
        "lines": formset.draft_lines(),
        "irpf_bp": data["irpf_rate"],
        "description": data["description"],
        "notes": data["notes"],
        "payment_details": data["payment_details"],
        "actor": actor_of(request),
    }


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
    form = InvoiceForm(posted_data(request), taxpayer=taxpayer, initial=initial)
    formset = LineFormSet(posted_data(request), prefix="lines")
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                invoice = services.create_draft(
                    taxpayer,
                    series=form.cleaned_data["series"],
                    **_draft_fields(request, form, formset),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            else:
                messages.success(request, "Borrador guardado. El número se asigna al emitirlo.")
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
        posted_data(request),
        taxpayer=invoice.taxpayer,
        with_series=False,
        client=invoice.client,
        draft=invoice,
        initial=initial,
    )
    formset = LineFormSet(
        posted_data(request), prefix="lines", initial=line_initial(invoice.lines.all())
    )
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                services.update_draft(invoice, **_draft_fields(request, form, formset))
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            except services.InvalidTransition as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Borrador guardado. El número se asigna al emitirlo.")
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
        totals = draft_lines.preview_totals(
            readable,
            irpf_bp=irpf_bp,
            client=client,
            rectificativa=bool(series and series.kind == Series.Kind.RECTIFYING),
        )
    except ValidationError as exc:
        problems = sorted({m for errors in errors_of(exc).values() for m in errors})
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
