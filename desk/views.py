"""The accountant's desk ("Mesa AEAT"): thin views over :mod:`desk.services`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from desk import overview, resubmission, services, worklist
from desk import rows as desk_rows
from desk.forms import BreakdownFormSet, CorrectionForm, field_label
from einvoice import received
from factu import views
from factu.access import account_view, require_write, taxpayer_or_404
from factu.redirects import safe_next
from factu.text import NoControlCharactersForm
from verifactu import corrections, representation
from verifactu.models import Chain, FiscalInvoice
from verifactu.pacing import retry_now

INBOX_LIMIT = 200
REMIND_LIMIT = 20
REFUSALS = services.REFUSALS


class CancelForm(NoControlCharactersForm, forms.Form):
    reason = forms.CharField(
        label="Motivo (opcional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _invoice_url(request: HttpRequest, invoice) -> str:
    if invoice is None:
        return ""
    try:
        return reverse(
            "invoice_detail",
            kwargs={"account_slug": request.account.slug, "invoice_id": invoice.pk},
        )
    except NoReverseMatch:
        return ""


def _back(request: HttpRequest) -> HttpResponse:
    target = safe_next(request)
    return redirect(target or reverse("desk", kwargs={"account_slug": request.account.slug}))


def _fiscal_invoice_or_404(request: HttpRequest, fiscal_invoice_id) -> FiscalInvoice:
    return get_object_or_404(
        FiscalInvoice.objects.select_related("taxpayer"),
        pk=fiscal_invoice_id,
        account=request.account,
    )


def _to_answer(request: HttpRequest, chosen) -> list[dict]:
    """The received e-invoices still to accept or reject, with the days left of their four:
    the reminder before the clock runs out (Ley 18/2022)."""
    today = timezone.localdate()
    return [
        {"invoice": invoice, "days_left": invoice.days_left(today)}
        for invoice in received.awaiting_answer(request.account, today, chosen)[:REMIND_LIMIT]
    ]


@account_view()
def desk(request: HttpRequest) -> HttpResponse:
    chosen = None
    taxpayer_id = request.GET.get("contribuyente", "")
    if taxpayer_id:
        chosen = taxpayer_or_404(request, taxpayer_id)
    summary = worklist.desk_summary(request.account)
    items = worklist.inbox(request.account, taxpayer=chosen, limit=INBOX_LIMIT)
    rows = desk_rows.inbox_rows(items, request.account.slug)
    blocked = worklist.blocked_chains(request.account)
    in_scope = [s for s in summary if chosen is None or s.taxpayer == chosen]
    pending = sum(s.needs_action for s in in_scope)
    any_resubmittable = any(row.resubmittable for row in rows)
    can_write = request.membership.can_write
    page = desk_rows.InboxPage(
        can_write=can_write,
        selectable=can_write and any_resubmittable,
        csrf_input=format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
        ),
        full_path=request.get_full_path(),
        next_query=desk_rows.next_query(request.get_full_path()),
    )
    return render(
        request,
        "desk/desk.html",
        {
            "summary": desk_rows.summary_rows(summary, chosen, blocked),
            "rows": rows,
            "rows_html": [desk_rows.inbox_html(row, page) for row in rows],
            "chosen": chosen,
            "pending": pending,
            "truncated": pending > len(rows),
            "errors_in_scope": sum(s.error for s in in_scope),
            "any_resubmittable": any_resubmittable,
            "blocked": blocked,
            "held": representation.held_taxpayers(request.account.pk, chosen),
            "to_answer": _to_answer(request, chosen),
        },
    )


@require_POST
@account_view(write=True)
def retry_chain(request: HttpRequest, chain_id: int) -> HttpResponse:
    """The blocked chain's «Intentar ahora»: flush it now instead of at its next attempt
    after AEAT faults. Another account's chain is a 404."""
    chain = get_object_or_404(Chain, pk=chain_id, account=request.account)
    if retry_now(chain):
        messages.success(
            request,
            "Se intenta el envío a la AEAT ahora mismo. Si sigue sin responder, Factu lo "
            "volverá a intentar por sí solo.",
        )
    else:
        messages.info(request, "No queda nada pendiente de enviar en esa cadena.")
    return _back(request)


def _fix(request: HttpRequest, fiscal_invoice_id, action) -> HttpResponse:
    fiscal_invoice = _fiscal_invoice_or_404(request, fiscal_invoice_id)
    number = fiscal_invoice.invoice_number
    try:
        record = action(fiscal_invoice)
    except REFUSALS as exc:
        messages.error(
            request, f"{number}: no se ha hecho. {services.refusal_reason(exc, fiscal_invoice)}"
        )
    else:
        messages.success(request, _done_message(number, record))
    return _back(request)


def _done_message(number: str, record) -> str:
    return f"{number}: {services.done_message(record)}"


@require_POST
@account_view(write=True)
def subsanar(request: HttpRequest, fiscal_invoice_id) -> HttpResponse:
    return _fix(request, fiscal_invoice_id, services.subsanar)


@require_POST
@account_view(write=True)
def reintentar(request: HttpRequest, fiscal_invoice_id) -> HttpResponse:
    return _fix(request, fiscal_invoice_id, services.reintentar)


@account_view(write=True)
def corregir(request: HttpRequest, fiscal_invoice_id) -> HttpResponse:
    """GET shows the record's data to correct; POST chains the subsanación with them."""
    require_write(request)
    fiscal_invoice = _fiscal_invoice_or_404(request, fiscal_invoice_id)
    fix = corrections.correction_for(fiscal_invoice)
    invoice = services.factu_invoice_of(fiscal_invoice)
    initial, lines = services.correction_initial(fiscal_invoice)
    bound = request.method == "POST"
    form = CorrectionForm(request.POST if bound else None, initial=initial)
    formset = BreakdownFormSet(request.POST if bound else None, initial=lines, prefix="linea")
    if invoice is not None:
        for name, field in form.fields.items():
            field.disabled = name not in services.CORRECTABLE_ON_FACTU_INVOICES
        for line_form in formset.forms:
            for field in line_form.fields.values():
                field.disabled = True
    refusal = ""
    problems: list[str] = []
    if bound and form.is_valid() and formset.is_valid():
        lines = [f.cleaned_data for f in formset.forms if f not in formset.deleted_forms]
        data = form.cleaned_data
        try:
            record = services.subsanar(
                fiscal_invoice,
                services.corrected_facts(fiscal_invoice, data, lines),
                reason=data["reason"],
                user=request.user,
                matches_delivered_invoice=data["matches_delivered_invoice"],
            )
        except corrections.CorrectionRefused as exc:
            refusal = services.refusal_reason(exc, fiscal_invoice)
            if exc.field in form.fields:
                form.add_error(exc.field, refusal)
                refusal = ""
        except REFUSALS as exc:
            problems = services.problem_texts(exc, field_label) or [
                services.refusal_reason(exc, fiscal_invoice)
            ]
        else:
            messages.success(request, _done_message(fiscal_invoice.invoice_number, record))
            return _back(request)
    return render(
        request,
        "desk/correct.html",
        {
            "object": fiscal_invoice,
            "fix": fix,
            "latest": fiscal_invoice.latest_record,
            "explanation": services.explain(fiscal_invoice.latest_record),
            "invoice": invoice,
            "invoice_url": _invoice_url(request, invoice),
            "form": form,
            "formset": formset,
            "refusal": refusal,
            "problems": problems,
            "census_error": services.census_error(fiscal_invoice.latest_record),
            "next": safe_next(request),
        },
        status=400 if bound else 200,
    )


@account_view(write=True)
def anular(request: HttpRequest, fiscal_invoice_id) -> HttpResponse:
    """GET explains and asks for confirmation; POST chains the anulación."""
    require_write(request)
    fiscal_invoice = _fiscal_invoice_or_404(request, fiscal_invoice_id)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        return _fix(
            request,
            fiscal_invoice_id,
            lambda fi: services.anular(fi, user=request.user, reason=reason),
        )
    latest = fiscal_invoice.latest_record
    invoice = services.factu_invoice_of(fiscal_invoice)
    return render(
        request,
        "desk/confirm_cancel.html",
        {
            "object": fiscal_invoice,
            "latest": latest,
            "invoice": invoice,
            "invoice_url": _invoice_url(request, invoice),
            "form": form,
            "next": safe_next(request),
        },
        status=400 if form.is_bound else 200,
    )


def _selection(request: HttpRequest, data) -> resubmission.Selection:
    everything = data.get("todos") == "1"
    taxpayer_id = data.get("contribuyente", "")
    taxpayer = taxpayer_or_404(request, taxpayer_id) if everything and taxpayer_id else None
    return resubmission.select(
        request.account,
        fiscal_invoice_ids=data.getlist("registro"),
        everything=everything,
        taxpayer=taxpayer,
    )


@account_view(write=True)
def resubmit(request: HttpRequest) -> HttpResponse:
    """Send many records again as one background job.

    The desk's form (the ticked records) or the "every record in error" link shows this
    confirmation first; its POST with ``confirmar`` starts the job and goes to its progress.
    Viewers are refused (403) on GET too: it is a page to start a change.
    """
    require_write(request)
    data = request.POST if request.method == "POST" else request.GET
    selection = _selection(request, data)
    if request.method == "POST" and data.get("confirmar") == "1":
        try:
            job = resubmission.start(request.account, request.user, selection)
        except resubmission.NothingToResubmit:
            messages.error(
                request,
                "No se ha reenviado nada: ninguno de los registros elegidos sigue con error "
                "o rechazado. Compruebe la mesa.",
            )
            return redirect("desk", request.account.slug)
        return redirect("transfers_job", request.account.slug, job.pk)
    back = reverse("desk", kwargs={"account_slug": request.account.slug})
    if selection.taxpayer is not None:
        back += f"?contribuyente={selection.taxpayer.pk}"
    return render(
        request,
        "desk/confirm_resubmit.html",
        {
            "selection": selection,
            "back": back,
            "shown": selection.records[:INBOX_LIMIT],
            "reintentar": services.REINTENTAR,
        },
    )


@account_view()
def taxpayer_overview(request: HttpRequest) -> HttpResponse:
    """The current taxpayer's figures; ``?fragment=1`` (htmx, the dashboard) omits the page."""
    if request.taxpayer is None:
        return views.no_taxpayer(request, "Resumen", "Las cifras son de un contribuyente")
    figures = overview.build(request.taxpayer, timezone.localdate())
    fragment = request.GET.get("fragment") == "1"
    template = "desk/_overview.html" if fragment else "desk/overview.html"
    held = representation.held_taxpayers(request.account.pk, request.taxpayer)
    context = {
        "overview": figures,
        "fragment": fragment,
        "held": held,
        "to_answer": _to_answer(request, request.taxpayer),
    }
    return render(request, template, context)
