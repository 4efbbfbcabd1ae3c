"""Import/export pages. Thin: they read forms, call :mod:`transfers.services` and show jobs.

Every job is looked up within ``request.account`` (another account's job, or its ZIP, is a
404); viewers see the jobs and may download, but every POST of theirs is refused (403).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from expenses.exports import csv_bytes, csv_response, csv_text
from expenses.forms import default_quarter
from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.models import Job
from factu.uploads import accepts_upload
from invoicing.imported import imported_invoices
from invoicing.taxes import format_euros
from transfers import exports, services
from transfers.client_rows import CLIENT_ALIASES
from transfers.forms import ExportForm, ImportForm, QuarterCloseForm
from transfers.invoice_rows import INVOICE_ALIASES

POLL_SECONDS = 2
ERRORS_SHOWN = 500


def _rows(*lines: str) -> list[list[str]]:
    return [line.split(";") for line in lines]


# The downloadable example files (``plantillas``): header and two rows that import cleanly.
TEMPLATES = {
    "clientes": _rows(
        "nombre;nif;email;direccion;cp;ciudad;provincia;pais;tipo_id;id_extranjero;recargo",
        "Acme SL;A28045631;admin@acme.es;Calle Mayor 1;28013;Madrid;Madrid;ES;;;no",
        "Lisboa Lda;;;Rua Augusta 10;1100-053;Lisboa;;PT;02;PT501964843;no",
    ),
    "facturas": _rows(
        "numero;fecha;nif_cliente;cliente;base;tipo_iva;cuota_iva;irpf;total;estado;fecha_cobro;"
        "concepto",
        "2025-0042;15/03/2025;A28045631;Acme SL;1000,00;21;210,00;150,00;1060,00;pagada;"
        "30/03/2025;Consultoría marzo",
        "2025-0043;20/03/2025;A28045631;Acme SL;500,00;21;105,00;0,00;605,00;emitida;;"
        "Mantenimiento",
    ),
}


def job_or_404(request: HttpRequest, job_id) -> Job:
    return account_object_or_404(
        request,
        Job.objects.select_related("taxpayer", "user"),
        job_id,
        "No existe ese trabajo en esta cuenta.",
    )


def no_taxpayer(request: HttpRequest) -> HttpResponse:
    return views.no_taxpayer(
        request, "Importar y exportar", "Los datos pertenecen a un contribuyente"
    )


@account_view()
def job_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(services.jobs_of(request.account), 30).get_page(request.GET.get("page"))
    return render(request, "transfers/job_list.html", {"page": page})


def _import(request: HttpRequest, kind: str, template: str) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require_write(request)
        if form.is_valid():
            try:
                job = services.start_import(
                    request.account,
                    request.taxpayer,
                    request.user,
                    kind,
                    form.cleaned_data["file"],
                    form.cleaned_data["mode"],
                )
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    for message in messages:
                        form.add_error(name if name in form.fields else None, message)
            else:
                return redirect("transfers_job", request.account.slug, job.pk)
    aliases = CLIENT_ALIASES if kind == Job.Kind.IMPORT_CLIENTS else INVOICE_ALIASES
    return render(
        request,
        template,
        {"form": form, "columns": [(name, names[0], names[1:]) for name, names in aliases.items()]},
    )


@accepts_upload(services.MAX_UPLOAD_BYTES)
@account_view(write=True)
def import_clients(request: HttpRequest) -> HttpResponse:
    return _import(request, Job.Kind.IMPORT_CLIENTS, "transfers/import_clients.html")


@accepts_upload(services.MAX_UPLOAD_BYTES)
@account_view(write=True)
def import_invoices(request: HttpRequest) -> HttpResponse:
    return _import(request, Job.Kind.IMPORT_INVOICES, "transfers/import_invoices.html")


@account_view(write=True)
def export_zip(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    year, quarter = default_quarter()
    form = ExportForm(request.POST or None, initial={"year": year, "quarter": quarter})
    if request.method == "POST":
        require_write(request)
        if form.is_valid():
            job = services.start_export(
                request.account,
                request.taxpayer,
                request.user,
                form.cleaned_data["year"],
                form.cleaned_data["quarter"],
                einvoices=form.cleaned_data["einvoices"],
            )
            return redirect("transfers_job", request.account.slug, job.pk)
    recent = services.jobs_of(request.account).filter(
        kind=Job.Kind.EXPORT_ZIP, taxpayer=request.taxpayer
    )[:10]
    return render(request, "transfers/export.html", {"form": form, "recent": recent})


@account_view(write=True)
def export_quarter(request: HttpRequest) -> HttpResponse:
    """The quarter close: one ZIP with every taxpayer of the account."""
    year, quarter = default_quarter()
    form = QuarterCloseForm(request.POST or None, initial={"year": year, "quarter": quarter})
    if request.method == "POST":
        require_write(request)
        if form.is_valid():
            job = services.start_quarter_close(
                request.account,
                request.user,
                form.cleaned_data["year"],
                form.cleaned_data["quarter"],
                pdfs=form.cleaned_data["pdfs"],
                einvoices=form.cleaned_data["einvoices"],
            )
            return redirect("transfers_job", request.account.slug, job.pk)
    recent = services.jobs_of(request.account).filter(kind=Job.Kind.EXPORT_QUARTER)[:10]
    count = request.account.taxpayers.count()
    return render(
        request,
        "transfers/quarter_close.html",
        {"form": form, "recent": recent, "taxpayer_count": count},
    )


def _job_context(job: Job) -> dict:
    return {
        "job": job,
        "poll_seconds": POLL_SECONDS,
        "polling": not job.is_finished,
        "export_retention_days": max(1, settings.TRANSFERS_EXPORT_RETENTION_HOURS // 24),
    }


@account_view()
def job_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = job_or_404(request, job_id)
    errors = job.errors
    context = _job_context(job)
    context.update(
        {
            "errors": errors[:ERRORS_SHOWN],
            "more_errors": max(0, len(errors) - ERRORS_SHOWN),
            "size": job.report.get("size"),
        }
    )
    return render(request, "transfers/job_detail.html", context)


@account_view()
def job_progress(request: HttpRequest, job_id) -> HttpResponse:
    """The progress fragment; it polls itself (htmx) until the job is finished."""
    job = job_or_404(request, job_id)
    response = render(request, "transfers/_progress.html", _job_context(job))
    if job.is_finished and request.headers.get("HX-Request"):
        # Reload the whole page once, to show the report and the download link.
        response["HX-Refresh"] = "true"
    return response


@account_view()
def job_download(request: HttpRequest, job_id) -> FileResponse:
    job = job_or_404(request, job_id)
    path = exports.result_file(job) if job.downloadable else None
    if path is None:
        raise Http404("Este trabajo no tiene archivo para descargar.")
    response = FileResponse(
        path.open("rb"),
        content_type="application/zip",
        as_attachment=True,
        filename=job.report.get("filename") or exports.export_filename(job),
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@account_view()
def job_errors_csv(request: HttpRequest, job_id) -> HttpResponse:
    job = job_or_404(request, job_id)
    rows = ([str(e["row"]), csv_text(e["field"]), csv_text(e["message"])] for e in job.errors)
    return csv_response(csv_bytes(["Fila", "Columna", "Error"], rows), f"errores-{job.pk}.csv")


@account_view()
def template_csv(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in TEMPLATES:
        raise Http404("No hay plantilla de ese tipo.")
    header, *rows = TEMPLATES[kind]
    return csv_response(csv_bytes(header, rows), f"plantilla-{kind}.csv")


@account_view()
def imported_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    invoices = imported_invoices(request.taxpayer).order_by("-issue_date", "-number")
    page = Paginator(invoices, 50).get_page(request.GET.get("page"))
    rows = [{"invoice": i, "total": format_euros(i.total_cents)} for i in page.object_list]
    return render(
        request,
        "transfers/imported_list.html",
        {"page": page, "rows": rows, "count": page.paginator.count},
    )
