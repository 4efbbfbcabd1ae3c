"""The pages of the B2B statuses: recording an answer or an ApplicationResponse from the
invoice's page, and the provisional statuses report. Thin: the rules are
:mod:`einvoice.answers`, :mod:`einvoice.application_response` and :mod:`einvoice.reporting`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from einvoice import answers, reporting
from einvoice.application_response import MAX_BYTES, record_application_response
from einvoice.forms import AnswerForm, PeriodForm, ResponseUploadForm
from einvoice.models import AnswerSource
from einvoice.panels import ANSWER_FORM, UPLOAD_FORM
from factu.access import account_view
from factu.downloads import file_response
from invoicing.detail_views import _detail_context
from invoicing.models import Invoice
from invoicing.views import actor_of, apply_service_errors, invoice_or_404

ANCHOR = "#estado-electronica"


def _back(request: HttpRequest, invoice: Invoice) -> HttpResponse:
    return redirect(reverse("invoice_detail", args=[request.account.slug, invoice.pk]) + ANCHOR)


def _page_again(request: HttpRequest, invoice: Invoice) -> HttpResponse:
    invoice = invoice_or_404(request, invoice.pk, with_payments=True)
    context = _detail_context(request, invoice)
    return render(request, "invoicing/invoice_detail.html", context, status=400)


@account_view(write=True)
@require_POST
def record_answer(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    form = AnswerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            event = answers.record_client_answer(
                invoice,
                status=data["status"],
                actor=actor_of(request),
                source=AnswerSource.UI,
                reason=data["reason"],
                paid_on=data["paid_on"],
                paid_cents=data["paid_amount"],
                at=answers.answered_at(data["answered_on"]),
            )
        except answers.NotAnswerable as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            apply_service_errors(exc, form)
        else:
            messages.success(
                request, f"Respuesta del cliente registrada: {event.get_status_display()}."
            )
            return _back(request, invoice)
    setattr(request, ANSWER_FORM, form)
    return _page_again(request, invoice)


@account_view(write=True)
@require_POST
def upload_response(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_or_404(request, invoice_id)
    form = ResponseUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_BYTES:
                raise ValidationError({"file": ["El fichero es demasiado grande (máximo 1 MB)."]})
            event = record_application_response(
                request.account.pk, upload.read(), actor=actor_of(request), expected=invoice
            )
        except answers.NotAnswerable as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                for message in errors:
                    form.add_error("file" if key == "file" else None, message)
        else:
            messages.success(
                request,
                f"Respuesta {event.response_id} ({event.response_code}) registrada: "
                f"{event.get_status_display()}.",
            )
            return _back(request, invoice)
    setattr(request, UPLOAD_FORM, form)
    return _page_again(request, invoice)


@account_view()
def status_report(request: HttpRequest) -> HttpResponse:
    """The taxpayer's e-invoice statuses of a period, and their provisional export."""
    taxpayer = request.taxpayer
    today = timezone.localdate()
    initial = {"start": today.replace(day=1), "end": today}
    form = PeriodForm(request.GET or None, initial=initial)
    records = []
    status = 200
    if taxpayer is not None:
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            if request.GET.get("descargar"):
                report = reporting.reporter().report(taxpayer, start, end)
                return file_response(report.content, report.mimetype, report.filename)
            records = reporting.status_records(taxpayer, start, end)
        elif form.is_bound:
            status = 400
        else:
            records = reporting.status_records(taxpayer, initial["start"], initial["end"])
    return render(
        request,
        "einvoice/status_report.html",
        {
            "form": form,
            "records": records,
            "taxpayer": taxpayer,
            "provisional": reporting.PROVISIONAL,
        },
        status=status,
    )
