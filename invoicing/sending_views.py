"""Sending invoices by email from the pages: one from its page, several from the list."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from factu.access import account_view, require_write
from factu.text import NoControlCharactersForm
from invoicing import sending
from invoicing.models import Invoice
from invoicing.services import InvalidTransition
from invoicing.views import actor_of, invoice_or_404
from mailing.models import EmailDelivery
from mailing.services import MAX_CC, SendingLimitReached

MAX_BULK = 100


class SendForm(NoControlCharactersForm, forms.Form):
    to = forms.CharField(label="Para", max_length=254)
    cc = forms.CharField(
        label="Copia (CC)",
        required=False,
        max_length=1000,
        help_text=f"Opcional: hasta {MAX_CC} direcciones separadas por comas.",
    )
    subject = forms.CharField(label="Asunto", max_length=200)
    message = forms.CharField(label="Mensaje", widget=forms.Textarea(attrs={"rows": 10}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].widget.input_type = "email"
        self.fields["to"].widget.attrs["autocomplete"] = "email"


def run_send_form(
    request: HttpRequest,
    *,
    initial: dict[str, str],
    send: Callable[..., EmailDelivery],
    done: str,
) -> SendForm | None:
    """The "Enviar por correo" form of an invoice or a quote: ``send(to=, cc=, subject=,
    message=, actor=)`` on a valid POST, then ``done`` and the address as a message, and
    None; else the form to show, the service's refusals on their fields."""
    if request.method != "POST":
        return SendForm(initial=initial)
    form = SendForm(request.POST)
    if not form.is_valid():
        return form
    try:
        delivery = send(**form.cleaned_data, actor=actor_of(request))
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    except (SendingLimitReached, InvalidTransition) as exc:
        form.add_error(None, str(exc))
    else:
        messages.success(request, f"{done} {delivery.to}.")
        return None
    return form


@account_view(write=True)
def invoice_send(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    require_write(request)  # the form too: a read-only member sends nothing
    back = redirect("invoice_detail", request.account.slug, invoice.pk)
    try:
        sending.check_sendable(invoice)
    except InvalidTransition as exc:
        messages.error(request, str(exc))
        return back
    form = run_send_form(
        request,
        initial=sending.email_defaults(invoice),
        send=partial(sending.send_invoice, invoice),
        done=f"La factura {invoice.number} se está enviando a",
    )
    if form is None:
        return back
    return render(request, "invoicing/invoice_send.html", {"object": invoice, "form": form})


@account_view(write=True)
@require_POST
def invoice_send_bulk(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("invoice")[:MAX_BULK]
    back = redirect("invoice_list", request.account.slug)
    invoices = []
    for raw in ids:
        try:
            invoices.append(
                Invoice.objects.select_related("client", "taxpayer", "account").get(
                    pk=raw, account=request.account
                )
            )
        except (Invoice.DoesNotExist, ValueError, ValidationError):
            continue
    if not invoices:
        messages.error(request, "Seleccione al menos una factura emitida para enviarla.")
        return back
    try:
        result = sending.send_invoices(invoices, actor=actor_of(request))
    except SendingLimitReached as exc:
        messages.error(request, str(exc))
        return back
    if result.sent:
        count = len(result.sent)
        messages.success(
            request,
            f"Se está enviando {count} factura a su cliente."
            if count == 1
            else f"Se están enviando {count} facturas, cada una a su cliente.",
        )
    for invoice, reason in result.skipped:
        messages.warning(request, f"La factura {invoice.number} no se ha enviado: {reason}.")
    return back
