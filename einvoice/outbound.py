"""The e-invoices of an issued invoice: made once, validated, stored, then only read.

:func:`stored_einvoices` is the one way in: it returns the invoice's rows, making the missing
ones first (at issue through the task :data:`STORE_TASK`, or on the first request for an
invoice issued before, e.g. demo or imported data). Making one is building the file
(:func:`einvoice.ubl.build_ubl`, :func:`facturae_content`) and validating it
(:mod:`einvoice.validation`); only a valid file is offered. One that cannot be made (no
e-invoice is due, the client has no Peppol address, the rules refuse it) is stored as not
offered, with the reason in Spanish, so the answer is the same every time. Two requests
racing to make the same row meet at the unique constraint: the loser reads the winner's row.
"""

from __future__ import annotations

import hashlib
import logging
import re

from django.db import IntegrityError, transaction

from clients.models import EInvoiceFormat
from einvoice import facturae, signing, ubl
from einvoice.findings import ValidationReport
from einvoice.models import IssuedEInvoice
from einvoice.status import not_due
from einvoice.validation import validate_facturae, validate_ubl
from factu.queue import enqueue_after_commit
from invoicing.einvoices import EInvoiceFile
from invoicing.models import Invoice

logger = logging.getLogger(__name__)

STORE_TASK = "einvoice.store_issued"
MIMETYPE = "application/xml"
FORMATS = (EInvoiceFormat.UBL, EInvoiceFormat.FACTURAE)
INVALID = "No supera la validación de {what}, así que no se ofrece: {errors}"
MAX_ERRORS_NAMED = 3


def facturae_content(invoice: Invoice) -> tuple[bytes, bool, str]:
    """The Facturae file of ``invoice`` as stored, whether it is signed, and, unsigned, why.

    Signed XAdES-EPES with the taxpayer's certificate when it has a usable one
    (:func:`einvoice.signing.signed_facturae`)."""
    made = signing.signed_facturae(invoice)
    return made.content, made.signed, "" if made.signed else made.reason


def filename(invoice: Invoice, format: str) -> str:
    """``<número>.ubl.xml`` / ``<número>.facturae.xml``, the number made safe for a file."""
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number).strip("-") or "factura"
    return f"{number}.{format}.xml"


def _build(invoice: Invoice, format: str) -> tuple[bytes, bool, str, ValidationReport]:
    if format == EInvoiceFormat.UBL:
        content = ubl.build_ubl(invoice)
        return content, False, "", validate_ubl(content)
    content, signed, unsigned_reason = facturae_content(invoice)
    return content, signed, unsigned_reason, validate_facturae(content)


def _made(invoice: Invoice, format: str) -> IssuedEInvoice:
    """A new, unsaved row of ``invoice`` in ``format``: the file offered, or the reason not."""
    row = IssuedEInvoice(account_id=invoice.account_id, invoice=invoice, format=format)
    why = not_due(invoice)
    if why:
        row.reason = why
        return row
    try:
        content, signed, unsigned_reason, report = _build(invoice, format)
    except (ubl.NotRepresentable, facturae.NotRepresentable) as exc:
        row.reason = str(exc)
        return row
    row.findings = [
        {"rule": f.rule, "flag": f.flag, "message": f.message, "location": f.location}
        for f in (*report.errors, *report.warnings)
    ]
    if not report.valid:
        named = "; ".join(f"{f.rule}: {f.message}" for f in report.errors[:MAX_ERRORS_NAMED])
        more = len(report.errors) - MAX_ERRORS_NAMED
        row.reason = INVALID.format(
            what=EInvoiceFormat(format).label,
            errors=named + (f" (y {more} más)" if more > 0 else ""),
        )
        return row
    row.content = content
    row.sha256 = hashlib.sha256(content).hexdigest()
    row.filename = filename(invoice, format)
    row.signed = signed
    row.reason = unsigned_reason
    row.offered = True
    return row


def _store(row: IssuedEInvoice) -> IssuedEInvoice:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return IssuedEInvoice.objects.get(invoice_id=row.invoice_id, format=row.format)
    return row


def stored_einvoices(invoice: Invoice) -> dict[str, IssuedEInvoice]:
    """The rows of an issued ``invoice`` by format, each made and stored the first time it
    is asked for; never made again. ``{}`` for a draft (it has no e-invoice yet)."""
    if not invoice.is_issued:
        return {}
    rows = {row.format: row for row in IssuedEInvoice.objects.filter(invoice_id=invoice.pk)}
    for format in FORMATS:
        if format not in rows:
            rows[format] = _store(_made(invoice, format))
    return rows


def stored_einvoice(invoice: Invoice, format: str) -> IssuedEInvoice | None:
    """The row of ``invoice`` in ``format`` (made the first time), None for a draft or an
    unknown format."""
    if format not in FORMATS:
        return None
    return stored_einvoices(invoice).get(format)


def offered_file(invoice: Invoice, format: str) -> EInvoiceFile | None:
    """The file source of :mod:`invoicing.einvoices`: the stored file, if it is offered."""
    row = stored_einvoice(invoice, format)
    if row is None or not row.offered:
        return None
    return EInvoiceFile(
        format=row.format,
        filename=row.filename,
        content=bytes(row.content),
        mimetype=MIMETYPE,
        signed=row.signed if row.format == EInvoiceFormat.FACTURAE else None,
    )


def store_issued(invoice_id: str) -> int:
    """The task's work: make and store the e-invoices of a just-issued invoice; how many
    rows it made (0 when they were there already, or the invoice is gone or a draft)."""
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or not invoice.is_issued:
        return 0
    before = IssuedEInvoice.objects.filter(invoice_id=invoice.pk).count()
    return len(stored_einvoices(invoice)) - before


def on_issue(invoice: Invoice) -> None:
    """The issue hook: the files are made in the background, once the issue has committed."""
    enqueue_after_commit(STORE_TASK, str(invoice.pk))
