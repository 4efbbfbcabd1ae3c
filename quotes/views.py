"""Quote pages. Thin: they parse forms, call :mod:`quotes.services` and show the result.

Every quote is looked up within ``request.account`` (another account's quote is a 404); the
list and new quotes belong to the current taxpayer. The lines are edited with the invoice
form's line editing (its formset, its partial and its live totals endpoint).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.downloads import file_response
from invoicing import documents as invoice_documents
from invoicing.detail_views import amounts_context
from invoicing.forms import LineFormSet, line_initial
from invoicing.sending_views import run_send_form
from invoicing.views import actor_of, apply_service_errors, posted_data, refusal_messages
from quotes import documents, sending, services
from quotes.forms import ConvertForm, QuoteFilterForm, QuoteForm
from quotes.models import Quote, QuoteStatus

PAGE_SIZE = 50
DEFAULT_VALIDITY_DAYS = 30
STATUS_TONES = {
    QuoteStatus.DRAFT: "",
    QuoteStatus.SENT: "pending",
    QuoteStatus.ACCEPTED: "ok",
    QuoteStatus.REJECTED: "bad",
    QuoteStatus.EXPIRED: "warn",
}
EVENT_LABELS = {
    "created": "Borrador creado",
    "updated": "Borrador modificado",
    QuoteStatus.SENT: "Marcado como enviado",
    QuoteStatus.ACCEPTED: "Aceptado",
    QuoteStatus.REJECTED: "Rechazado",
    QuoteStatus.EXPIRED: "Caducado",
    "converted": "Convertido en factura",
    "emailed": "Enviado de nuevo por correo",
}


def quote_or_404(request: HttpRequest, quote_id) -> Quote:
    """A quote of the request's account; another account's quote does not exist."""
    return account_object_or_404(
        request,
        Quote.objects.select_related("client", "taxpayer", "invoice"),
        quote_id,
        "No existe ese presupuesto en esta cuenta.",
    )


def _badge(quote: Quote, today) -> dict:
    status = QuoteStatus(quote.status_on(today))
    return {"label": status.label, "tone": STATUS_TONES[status], "value": status.value}


@account_view()
def quote_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return views.no_taxpayer(
            request, "Presupuestos", "Los presupuestos los hace un contribuyente"
        )
    today = timezone.localdate()
    filters = QuoteFilterForm(request.GET or None)
    quotes = Quote.objects.filter(account=request.account, taxpayer=request.taxpayer)
    any_quote = quotes.exists()
    status = filters.cleaned_data.get("estado") if filters.is_valid() else ""
    if status:
        quotes = services.with_status(quotes, status, today)
    page = Paginator(quotes.select_related("client", "invoice"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [{"quote": quote, "badge": _badge(quote, today)} for quote in page.object_list]
    return render(
        request,
        "quotes/quote_list.html",
        {**views.list_context(request, filters, page, rows), "any_quote": any_quote},
    )


def _render_form(request, form, formset, *, quote=None, status=200) -> HttpResponse:
    return render(
        request,
        "quotes/quote_form.html",
        {"form": form, "formset": formset, "object": quote},
        status=status,
    )


def _quote_fields(request: HttpRequest, form: QuoteForm, formset) -> dict:
    data = form.cleaned_data
    return {
        "client": data["client"],
        "issue_date": data["issue_date"],
        "valid_until": data["valid_until"],
        "lines": formset.draft_lines(),
        "irpf_bp": data["irpf_rate"],
        "notes": data["notes"],
        "actor": actor_of(request),
    }


@account_view(write=True)
def quote_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    taxpayer = request.taxpayer
    if taxpayer is None:
        return views.no_taxpayer(
            request, "Presupuestos", "Los presupuestos los hace un contribuyente"
        )
    today = timezone.localdate()
    initial = {
        "issue_date": today,
        "valid_until": today + timedelta(days=DEFAULT_VALIDITY_DAYS),
        "irpf_rate": taxpayer.default_irpf_bp,
    }
    form = QuoteForm(posted_data(request), taxpayer=taxpayer, initial=initial)
    formset = LineFormSet(posted_data(request), prefix="lines")
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                quote = services.create_quote(taxpayer, **_quote_fields(request, form, formset))
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            else:
                messages.success(request, f"Presupuesto {quote.number} guardado.")
                return redirect("quote_detail", request.account.slug, quote.pk)
        return _render_form(request, form, formset, status=400)
    return _render_form(request, form, formset)


@account_view(write=True)
def quote_edit(request: HttpRequest, quote_id) -> HttpResponse:
    require_write(request)
    quote = quote_or_404(request, quote_id)
    if not quote.is_draft:
        messages.error(request, "Solo se modifican los presupuestos en borrador.")
        return redirect("quote_detail", request.account.slug, quote.pk)
    initial = {
        "client": quote.client_id,
        "issue_date": quote.issue_date,
        "valid_until": quote.valid_until,
        "irpf_rate": quote.irpf_bp,
        "notes": quote.notes,
    }
    form = QuoteForm(
        posted_data(request), taxpayer=quote.taxpayer, client=quote.client, initial=initial
    )
    formset = LineFormSet(
        posted_data(request), prefix="lines", initial=line_initial(quote.lines.all())
    )
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                services.update_quote(quote, **_quote_fields(request, form, formset))
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            except services.InvalidTransition as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Presupuesto {quote.number} guardado.")
                return redirect("quote_detail", request.account.slug, quote.pk)
        quote.refresh_from_db()
        return _render_form(request, form, formset, quote=quote, status=400)
    return _render_form(request, form, formset, quote=quote)


def _events(quote: Quote) -> list[dict]:
    """The quote's history; an email's with its delivery (sent, or failed and why)."""
    events = list(quote.events.select_related("user"))
    emailed = any(e.action in sending.EMAIL_ACTIONS and e.detail.get("delivery") for e in events)
    deliveries = sending.deliveries_by_id(quote) if emailed else {}
    return [
        {
            "event": e,
            "label": "Enviado por correo"
            if e.action == QuoteStatus.SENT and e.detail.get("delivery")
            else EVENT_LABELS.get(e.action, e.action),
            "delivery": deliveries.get(str(e.detail.get("delivery", ""))),
        }
        for e in events
    ]


def _detail_context(request: HttpRequest, quote: Quote, **extra) -> dict:
    today = timezone.localdate()
    lines = list(quote.lines.all())
    computed = quote.recomputed(lines)
    can_write = request.membership.can_write
    status = quote.status_on(today)
    series = services.invoice_series(quote.taxpayer)
    return {
        "object": quote,
        "badge": _badge(quote, today),
        "issuer": invoice_documents.taxpayer_party(quote.taxpayer),
        "client_party": invoice_documents.current_client_party(quote.client),
        **amounts_context(quote, lines, computed),
        "events": _events(quote),
        "can_edit": can_write and quote.is_draft,
        "can_send": can_write and status == QuoteStatus.DRAFT,
        "can_email": can_write and status in sending.SENDABLE and quote.valid_until >= today,
        "can_accept": can_write and status in (QuoteStatus.DRAFT, QuoteStatus.SENT),
        "can_reject": can_write and status in (QuoteStatus.DRAFT, QuoteStatus.SENT),
        "can_convert": can_write and not quote.is_invoiced and status in services.CONVERTIBLE,
        "convert_form": ConvertForm(series=series),
        "has_series": series.exists(),
        "other_taxpayer": request.taxpayer is not None and quote.taxpayer_id != request.taxpayer.pk,
        **extra,
    }


@account_view()
def quote_detail(request: HttpRequest, quote_id) -> HttpResponse:
    quote = quote_or_404(request, quote_id)
    return render(request, "quotes/quote_detail.html", _detail_context(request, quote))


def _transition(request: HttpRequest, quote_id, action, done: str) -> HttpResponse:
    """Run a status action on the quote; its refusal is shown on the quote's page."""
    require_write(request)
    quote = quote_or_404(request, quote_id)
    try:
        action(quote, actor=actor_of(request))
    except (ValidationError, services.InvalidTransition) as exc:
        for message in refusal_messages(exc):
            messages.error(request, message)
    else:
        messages.success(request, done.format(number=quote.number))
    return redirect("quote_detail", request.account.slug, quote.pk)


@account_view(write=True)
@require_POST
def quote_send(request: HttpRequest, quote_id) -> HttpResponse:
    return _transition(request, quote_id, services.mark_sent, "Presupuesto {number} enviado.")


@account_view(write=True)
def quote_email(request: HttpRequest, quote_id) -> HttpResponse:
    """ "Enviar por correo": the quote's PDF to its client, from the account's template."""
    require_write(request)
    quote = quote_or_404(request, quote_id)
    back = redirect("quote_detail", request.account.slug, quote.pk)
    try:
        sending.check_sendable(quote)
    except services.InvalidTransition as exc:
        messages.error(request, str(exc))
        return back
    form = run_send_form(
        request,
        initial=sending.email_defaults(quote),
        send=partial(sending.send_quote, quote),
        done=f"El presupuesto {quote.number} se está enviando a",
    )
    if form is None:
        return back
    return render(request, "quotes/quote_send.html", {"object": quote, "form": form})


@account_view(write=True)
@require_POST
def quote_accept(request: HttpRequest, quote_id) -> HttpResponse:
    return _transition(request, quote_id, services.accept_quote, "Presupuesto {number} aceptado.")


@account_view(write=True)
@require_POST
def quote_reject(request: HttpRequest, quote_id) -> HttpResponse:
    return _transition(request, quote_id, services.reject_quote, "Presupuesto {number} rechazado.")


@account_view(write=True)
@require_POST
def quote_convert(request: HttpRequest, quote_id) -> HttpResponse:
    """ "Convertir en factura": the invoice draft's page next, to review and issue it."""
    require_write(request)
    quote = quote_or_404(request, quote_id)
    form = ConvertForm(request.POST, series=services.invoice_series(quote.taxpayer))
    if not form.is_valid():
        for message in form.errors.get("series", []):
            messages.error(request, f"Serie de la factura: {message}")
        return redirect("quote_detail", request.account.slug, quote.pk)
    try:
        invoice = services.convert_to_invoice(
            quote, series=form.cleaned_data["series"], actor=actor_of(request)
        )
    except (ValidationError, services.InvalidTransition) as exc:
        for message in refusal_messages(exc):
            messages.error(request, message)
        return redirect("quote_detail", request.account.slug, quote.pk)
    messages.success(
        request,
        f"Presupuesto {quote.number} convertido en el borrador de factura {invoice.number}: "
        "revíselo y emítalo.",
    )
    return redirect("invoice_detail", request.account.slug, invoice.pk)


@account_view()
def quote_pdf(request: HttpRequest, quote_id) -> HttpResponse:
    quote = quote_or_404(request, quote_id)
    filename, mimetype, data = documents.render_pdf(quote)
    return file_response(data, mimetype, filename)
