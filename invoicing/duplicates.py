"""Duplicar: a new draft made from any invoice (issued, draft or cancelled), dated today.

It takes the client, the lines, the description, the IRPF, the notes, the payment details
and who expedites it; never the number (a draft's is provisional), the dates of the original,
the parties frozen at its issue, or the simplified invoices an F3 replaced (those are taken).
A rectificativa's copy rectifies the same invoice, in the same way.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoicing.draft_lines import DraftLine
from invoicing.models import Invoice, InvoiceEvent, Series
from invoicing.services import Actor, create_draft


def draft_lines_of(invoice: Invoice) -> list[DraftLine]:
    """The lines of ``invoice`` as a new draft takes them."""
    return [line.as_draft_line() for line in invoice.lines.all()]


def series_for_copy(invoice: Invoice) -> Series:
    """The invoice's series, or, archived, the first active series of the same kind."""
    if not invoice.series.archived:
        return invoice.series
    other = (
        invoice.taxpayer.series.filter(archived=False, kind=invoice.series.kind)
        .order_by("code")
        .first()
    )
    if other is None:
        raise ValidationError(
            {
                "series": [
                    f"La serie {invoice.series.code} está archivada y no hay otra activa de "
                    "ese tipo: cree una para duplicar esta factura."
                ]
            }
        )
    return other


def duplicate_invoice(invoice: Invoice, *, actor: Actor, today: date | None = None) -> Invoice:
    """A draft copied from ``invoice``, dated ``today`` (by default the local date).

    The due date keeps the original's distance from the issue date. ``ValidationError`` when
    the copy cannot be a draft as it stands (an archived client, a series archived without
    another of its kind): the messages name the field, as for any draft.
    """
    today = today or timezone.localdate()
    series = series_for_copy(invoice)
    due_date = today + (invoice.due_date - invoice.issue_date) if invoice.due_date else None
    rectifies = series.kind == Series.Kind.RECTIFYING and invoice.rectified_invoice_id
    with transaction.atomic():
        draft = create_draft(
            invoice.taxpayer,
            series=series,
            client=invoice.client,
            issue_date=today,
            lines=draft_lines_of(invoice),
            due_date=due_date,
            irpf_bp=invoice.irpf_bp,
            description=invoice.description,
            notes=invoice.notes,
            payment_details=invoice.payment_details,
            actor=actor,
            rectified_invoice=invoice.rectified_invoice if rectifies else None,
            rectification_type=invoice.rectification_type if rectifies else "",
            invoice_type=invoice.invoice_type if rectifies else None,
            issued_by=invoice.issued_by,
            third_party_nif=invoice.third_party_nif,
            third_party_name=invoice.third_party_name,
        )
        InvoiceEvent.objects.create(
            invoice=draft,
            user=actor.user,
            token_label=actor.token_label,
            action="duplicated",
            detail={"source": invoice.number, "source_id": str(invoice.pk)},
        )
    return draft
