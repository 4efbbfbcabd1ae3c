"""Received e-invoice pages, under Gastos: upload and list, the detail with the answers to the
supplier and the expense, and the supplier → category rules. Thin: every rule is
:mod:`einvoice.received`'s. Another account's invoice or rule is a 404.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from einvoice import received
from einvoice.inbound import DEFAULT_LIMITS
from einvoice.models import ReceivedInvoice, SupplierRule
from einvoice.received_forms import ConvertForm, PaidForm, RejectForm, RuleForm, UploadForm
from einvoice.status import B2BStatus, answer_deadline
from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.downloads import file_response
from factu.uploads import accepts_upload
from invoicing.taxes import format_euros, format_percent, group_thousands

PAGE_SIZE = 50


def _invoice_or_404(request: HttpRequest, received_id) -> ReceivedInvoice:
    return account_object_or_404(
        request,
        ReceivedInvoice.objects.select_related("taxpayer", "expense__category"),
        received_id,
        "No existe esa factura recibida en esta cuenta.",
    )


# EN 16931's tax categories (UNCL5305) as the pages name them.
CATEGORIES = {
    "S": "IVA",
    "Z": "IVA al 0 %",
    "E": "Exenta",
    "AE": "Inversión del sujeto pasivo",
    "K": "Entrega intracomunitaria",
    "G": "Exportación",
    "O": "No sujeta",
    "L": "IGIC",
    "M": "IPSI",
}


def decimal_es(text: str, places: int = 0) -> str:
    """An exact decimal written the Spanish way, trailing zeros dropped down to ``places``:
    ``100.00000000`` → ``100,00`` (``places=2``), ``1.0`` → ``1``."""
    try:
        value = Decimal(text)
        exponent = min(-places, value.normalize().as_tuple().exponent)
        fixed = f"{value.quantize(Decimal(1).scaleb(exponent)):f}"
    except (InvalidOperation, ValueError):  # more digits than a Decimal context holds
        return text
    whole, _, fraction = fixed.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = group_thousands(whole.lstrip("-"))
    return sign + grouped + ("," + fraction if fraction else "")


def clock(invoice: ReceivedInvoice, today) -> dict:
    """The four-day clock as the pages show it."""
    left = invoice.days_left(today)
    if invoice.answered:
        text, urgent = "", False
    elif left < 0:
        text, urgent = "Plazo vencido", True
    elif left == 0:
        text, urgent = "Último día", True
    else:
        text, urgent = f"{left} día{'s' if left != 1 else ''}", left <= 1
    return {"days_left": text, "urgent": urgent, "deadline": answer_deadline(invoice.received_on)}


def _row(invoice: ReceivedInvoice, today) -> dict:
    return {"invoice": invoice, "total": format_euros(invoice.total_cents), **clock(invoice, today)}


@accepts_upload(lambda: DEFAULT_LIMITS.max_total_bytes)
@account_view(write=True)
def received_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return views.no_taxpayer(
            request, "Facturas recibidas", "Las facturas recibidas pertenecen a un contribuyente"
        )
    form = UploadForm(request.POST or None, request.FILES or None)
    outcomes = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        outcomes = received.import_upload(
            request.account, upload.read(), upload.content_type or "", upload.name or ""
        )
        form = UploadForm()
    invoices = received.received_invoices(request.account).filter(taxpayer=request.taxpayer)
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    return render(
        request,
        "einvoice/received_list.html",
        {
            "form": form,
            "outcomes": outcomes,
            "page": page,
            "rows": [_row(invoice, today) for invoice in page.object_list],
            "query": "",
            "max_mb": DEFAULT_LIMITS.max_total_bytes // (1024 * 1024),
        },
        status=400 if form.errors else 200,
    )


@account_view()
def received_detail(request: HttpRequest, received_id) -> HttpResponse:
    invoice = _invoice_or_404(request, received_id)
    return _detail(request, invoice)


def _detail(
    request: HttpRequest, invoice: ReceivedInvoice, status: int = 200, **forms
) -> HttpResponse:
    today = timezone.localdate()
    allowed = received.allowed_answers(invoice)
    return render(
        request,
        "einvoice/received_detail.html",
        {
            "invoice": invoice,
            **clock(invoice, today),
            "allowed": allowed,
            "amounts": {
                "net": format_euros(invoice.net_cents),
                "tax": format_euros(invoice.tax_cents),
                "total": format_euros(invoice.total_cents),
                "irpf": format_euros(invoice.irpf_withheld_cents),
                "payable": format_euros(invoice.payable_cents),
            },
            "lines": [
                {
                    **line,
                    "quantity": decimal_es(line["quantity"]),
                    "unit_price": decimal_es(line["unit_price"], 2),
                    "net": format_euros(line["net_cents"]),
                    "rate": format_percent(line["rate_bp"]),
                    "tax_name": CATEGORIES.get(line["category"], line["category"]),
                }
                for line in invoice.lines
            ],
            "taxes": [
                {
                    **tax,
                    "base": format_euros(tax["base_cents"]),
                    "tax": format_euros(tax["tax_cents"]),
                    "rate": format_percent(tax["rate_bp"]),
                    "tax_name": CATEGORIES.get(tax["category"], tax["category"]),
                }
                for tax in invoice.taxes
            ],
            "events": [
                {"event": e, "paid": format_euros(e.paid_cents) if e.paid_cents is not None else ""}
                for e in invoice.events.all()
            ],
            "reject_form": forms.get("reject_form") or RejectForm(),
            "paid_form": forms.get("paid_form") or PaidForm(payable_cents=invoice.payable_cents),
            "convert_form": forms.get("convert_form") or ConvertForm(account=request.account),
            "convert_error": forms.get("convert_error", ""),
            "statuses": B2BStatus,
        },
        status=status,
    )


@account_view(write=True)
@require_POST
def received_answer(request: HttpRequest, received_id, status: str) -> HttpResponse:
    require_write(request)
    invoice = _invoice_or_404(request, received_id)
    by = request.user.get_full_name() or request.user.get_username()
    forms = {}
    kwargs = {}
    if status == B2BStatus.REJECTED:
        form = RejectForm(request.POST)
        forms["reject_form"] = form
        if not form.is_valid():
            return _detail(request, invoice, status=400, **forms)
        kwargs = {"reason": form.cleaned_data["reason"]}
    elif status == B2BStatus.PAID:
        form = PaidForm(request.POST, payable_cents=invoice.payable_cents)
        forms["paid_form"] = form
        if not form.is_valid():
            return _detail(request, invoice, status=400, **forms)
        kwargs = {
            "paid_on": form.cleaned_data["paid_on"],
            "paid_cents": form.cleaned_data["amount"],
        }
    try:
        received.answer(invoice, status, by=by, **kwargs)
    except ValidationError as error:
        target = forms.get("reject_form") or forms.get("paid_form")
        for field, texts in error.message_dict.items():
            name = {"reason": "reason", "paidOn": "paid_on", "paidAmount": "amount"}.get(field)
            if target is not None and name in target.fields:
                target.add_error(name, texts)
            else:
                for text in texts:
                    messages.error(request, text)
        return _detail(request, invoice, status=400, **forms)
    messages.success(request, f"Factura {invoice.number}: {B2BStatus(status).label.lower()}.")
    return redirect("received_detail", account_slug=request.account.slug, received_id=invoice.pk)


@account_view(write=True)
@require_POST
def received_convert(request: HttpRequest, received_id) -> HttpResponse:
    require_write(request)
    invoice = _invoice_or_404(request, received_id)
    form = ConvertForm(request.POST, account=request.account)
    if not form.is_valid():
        return _detail(request, invoice, status=400, convert_form=form)
    try:
        expense = received.convert_to_expense(invoice, form.cleaned_data.get("category"))
    except ValidationError as error:
        return _detail(
            request, invoice, status=400, convert_form=form, convert_error=" ".join(error.messages)
        )
    messages.success(request, f"Gasto «{expense.description}» creado.")
    return redirect("received_detail", account_slug=request.account.slug, received_id=invoice.pk)


@account_view()
def received_file(request: HttpRequest, received_id) -> HttpResponse:
    """The file as it was received."""
    invoice = _invoice_or_404(request, received_id)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{invoice.supplier_nif}-{invoice.number}")
    return file_response(bytes(invoice.original), "application/xml", f"{name}.xml")


@account_view(write=True)
def rule_list(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        try:
            rule = received.save_rule(
                request.account, form.cleaned_data["supplier_nif"], form.cleaned_data["category"]
            )
        except ValidationError as error:
            for field, texts in error.message_dict.items():
                form.add_error("category" if field == "categoryId" else "supplier_nif", texts)
        else:
            messages.success(
                request,
                f"Las facturas de {rule.supplier_nif} serán gastos de «{rule.category.name}».",
            )
            return redirect("received_rules", account_slug=request.account.slug)
    rules = SupplierRule.objects.filter(account=request.account).select_related("category")
    return render(
        request,
        "einvoice/rule_list.html",
        {"form": form, "rules": rules},
        status=400 if form.errors else 200,
    )


@account_view(write=True)
@require_POST
def rule_delete(request: HttpRequest, rule_id) -> HttpResponse:
    rule = account_object_or_404(
        request, SupplierRule.objects.all(), rule_id, "No existe esa regla en esta cuenta."
    )
    rule.delete()
    messages.success(request, f"Regla de {rule.supplier_nif} borrada.")
    return redirect("received_rules", account_slug=request.account.slug)
