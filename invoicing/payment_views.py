"""Recording and undoing an invoice's payments from its page (thin: the rules are
:mod:`invoicing.payments`')."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from factu.access import account_view
from invoicing import payments, taxes
from invoicing.actions import InvalidTransition
from invoicing.detail_views import _detail_context
from invoicing.models import Payment
from invoicing.payment_forms import PaymentForm, payments_context
from invoicing.views import actor_of, apply_service_errors, invoice_or_404


@account_view(write=True)
@require_POST
def invoice_payment_add(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    form = PaymentForm(request.POST, invoice=invoice)
    if form.is_valid():
        data = form.cleaned_data
        try:
            payments.add_payment(
                invoice,
                day=data["date"],
                amount_cents=data["amount"],
                method=data["method"],
                note=data["note"],
                actor=actor_of(request),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form)
        except InvalidTransition as exc:
            form.add_error(None, str(exc))
        else:
            invoice.refresh_from_db()
            amount = taxes.format_euros(data["amount"])
            if invoice.outstanding_cents == 0:
                done = f"Cobro de {amount} registrado: la factura {invoice.number} está cobrada."
            else:
                left = taxes.format_euros(invoice.outstanding_cents)
                done = f"Cobro de {amount} registrado: quedan {left} pendientes."
            messages.success(request, done)
            return redirect("invoice_detail", request.account.slug, invoice.pk)
    payment_part = payments_context(invoice, can_write=True, form=form)
    context = _detail_context(request, invoice, payments=payment_part)
    return render(request, "invoicing/invoice_detail.html", context, status=400)


@account_view(write=True)
@require_POST
def invoice_payment_remove(request: HttpRequest, invoice_id, payment_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    payment = Payment.objects.filter(invoice=invoice, pk=payment_id).first()
    if payment is None:
        raise Http404("No existe ese cobro.")
    try:
        invoice = payments.remove_payment(payment, actor=actor_of(request))
    except Payment.DoesNotExist:
        raise Http404("No existe ese cobro.") from None
    except InvalidTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Cobro de {taxes.format_euros(payment.amount_cents)} del "
            f"{payment.date:%d/%m/%Y} deshecho: la factura queda "
            f"{invoice.get_status_display().lower()}.",
        )
    return redirect("invoice_detail", request.account.slug, invoice.pk)
