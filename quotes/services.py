"""What people do with quotes: the service functions every page, task (and a future API)
calls. Each is one transaction that also writes the quote's history (:class:`QuoteEvent`).

Statuses: ``draft`` → ``sent`` (:func:`mark_sent`) → ``accepted`` / ``rejected``
(:func:`accept_quote`, :func:`reject_quote`), or ``expired`` once its valid-until date has
passed without an answer. Expiry is computed wherever a status is read
(:meth:`Quote.status_on`, :func:`with_status`) and stored by the periodic task
``quotes.expire`` (:func:`expire_quotes`, which also writes the history), so a quote never
shows as sent past its date, whether or not beat has run yet. :func:`convert_to_invoice`
makes the invoice draft through :func:`invoicing.services.create_draft`, once per quote
(again only if that draft was discarded).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from clients.models import Client
from factu.models import Taxpayer
from invoicing import draft_lines, taxes
from invoicing.models import Invoice, Series
from invoicing.services import Actor, DraftLine, InvalidTransition, create_draft
from quotes.models import Quote, QuoteCounter, QuoteEvent, QuoteLine, QuoteStatus, format_number

__all__ = [
    "Actor",
    "DraftLine",
    "InvalidTransition",
    "accept_quote",
    "convert_to_invoice",
    "create_quote",
    "expire_quotes",
    "mark_sent",
    "reject_quote",
    "update_quote",
    "with_status",
]

TRANSITIONS = {
    QuoteStatus.DRAFT: {QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.REJECTED},
    QuoteStatus.SENT: {QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED},
    QuoteStatus.ACCEPTED: set(),
    QuoteStatus.REJECTED: set(),
    QuoteStatus.EXPIRED: set(),
}
CONVERTIBLE = (QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.ACCEPTED)


def _log(quote: Quote, actor: Actor, action: str, **detail) -> None:
    QuoteEvent.objects.create(
        quote=quote, user=actor.user, token_label=actor.token_label, action=action, detail=detail
    )


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def with_status(quotes: QuerySet[Quote], status: str, today: date) -> QuerySet[Quote]:
    """The quotes among ``quotes`` whose status as of ``today`` is ``status`` (a sent quote
    past its date counts as expired: :meth:`Quote.status_on`)."""
    past = Q(status=QuoteStatus.SENT, valid_until__lt=today)
    if status == QuoteStatus.EXPIRED:
        return quotes.filter(Q(status=QuoteStatus.EXPIRED) | past)
    if status == QuoteStatus.SENT:
        return quotes.filter(status=QuoteStatus.SENT).exclude(past)
    return quotes.filter(status=status)


def _check_transition(quote: Quote, target: str, today: date) -> None:
    current = QuoteStatus(quote.status_on(today))
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"Un presupuesto {current.label.lower()} no puede pasar a "
            f"{QuoteStatus(target).label.lower()}."
        )


def _checked(
    taxpayer: Taxpayer,
    client: Client | None,
    issue_date: date,
    valid_until: date | None,
    lines: Sequence[DraftLine],
    irpf_bp: int,
) -> taxes.InvoiceTotals:
    """The totals of a quote's lines by the invoice's arithmetic; every problem of the header
    and the lines at once, as a ``ValidationError`` keyed as the invoice services key theirs."""
    errors: dict[str, list[str]] = {}
    if client is None:
        errors["client"] = ["Elija el cliente del presupuesto."]
    elif client.taxpayer_id != taxpayer.pk:
        errors["client"] = ["Ese cliente es de otro contribuyente."]
    elif client.archived_at is not None:
        errors["client"] = ["Ese cliente está archivado."]
    if valid_until is None:
        errors["validUntil"] = ["Indique hasta cuándo es válido."]
    elif valid_until < issue_date:
        errors["validUntil"] = ["La validez no puede acabar antes de la fecha del presupuesto."]
    try:
        totals = draft_lines.preview_totals(
            lines, irpf_bp=irpf_bp, client=None if "client" in errors else client
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    except ValueError as exc:
        errors["irpfRate"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return totals


def _store(quote: Quote, lines: Sequence[DraftLine], totals: taxes.InvoiceTotals) -> None:
    draft_lines.apply_totals(quote, totals)
    quote.surcharge = bool(quote.client.recargo_equivalencia)  # as preview_totals took it
    quote.save()
    QuoteLine.objects.filter(quote=quote).delete()
    QuoteLine.objects.bulk_create(
        QuoteLine(quote=quote, **columns) for columns in draft_lines.line_columns(lines, totals)
    )


def create_quote(
    taxpayer: Taxpayer,
    *,
    client: Client | None,
    issue_date: date,
    valid_until: date | None,
    lines: Sequence[DraftLine],
    irpf_bp: int = 0,
    notes: str = "",
    actor: Actor,
) -> Quote:
    """A draft quote, its number (``P-2026-001``) taken from the taxpayer's locked counter."""
    totals = _checked(taxpayer, client, issue_date, valid_until, lines, irpf_bp)
    with transaction.atomic():
        sequence = QuoteCounter.take(taxpayer, issue_date.year)
        quote = Quote(
            account=taxpayer.account,
            taxpayer=taxpayer,
            year=issue_date.year,
            sequence=sequence,
            number=format_number(issue_date.year, sequence),
            client=client,
            issue_date=issue_date,
            valid_until=valid_until,
            irpf_bp=irpf_bp,
            notes=notes,
            created_by=actor.user,
        )
        _store(quote, lines, totals)
        _log(quote, actor, "created", number=quote.number, total_cents=quote.total_cents)
    return quote


def update_quote(
    quote: Quote,
    *,
    client: Client | None,
    issue_date: date,
    valid_until: date | None,
    lines: Sequence[DraftLine],
    irpf_bp: int = 0,
    notes: str = "",
    actor: Actor,
) -> Quote:
    """Change a draft quote. Its number stays, and so does its year (the number carries it)."""
    if not quote.is_draft:
        raise InvalidTransition("Solo se modifican los presupuestos en borrador.")
    if issue_date.year != quote.year:
        raise ValidationError({"issueDate": [f"El número {quote.number} es del año {quote.year}."]})
    totals = _checked(quote.taxpayer, client, issue_date, valid_until, lines, irpf_bp)
    with transaction.atomic():
        locked = Quote.objects.select_for_update().get(pk=quote.pk)
        if not locked.is_draft:
            raise InvalidTransition("Solo se modifican los presupuestos en borrador.")
        quote.client = client
        quote.issue_date = issue_date
        quote.valid_until = valid_until
        quote.irpf_bp = irpf_bp
        quote.notes = notes
        _store(quote, lines, totals)
        _log(quote, actor, "updated", total_cents=quote.total_cents)
    return quote


def _move(quote: Quote, target: str, actor: Actor, today: date | None, **detail) -> Quote:
    """Move a quote to ``target`` under its row lock, with its history row."""
    today = _today(today)
    with transaction.atomic():
        quote = Quote.objects.select_for_update().get(pk=quote.pk)
        _check_transition(quote, target, today)
        quote.status = target
        now = timezone.now()
        fields = ["status", "updated_at"]
        if target == QuoteStatus.SENT:
            quote.sent_at = now
            fields.append("sent_at")
        elif target in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
            quote.answered_at = now
            fields.append("answered_at")
        quote.save(update_fields=fields)
        _log(quote, actor, target, **detail)
    return quote


def mark_sent(quote: Quote, *, actor: Actor, today: date | None = None, **detail) -> Quote:
    """A draft quote is now with the client (``Marcar como enviado``).

    The seam for sending by email: once the mailing app has sent the PDF
    (:func:`quotes.documents.render_pdf`) it calls this with what to record, e.g.
    ``mark_sent(quote, actor=actor, to="a@b.es")``; sending again a sent quote is its own
    history, not a status, so it calls this only for a draft.
    """
    if quote.valid_until < _today(today):
        raise ValidationError(
            {"validUntil": ["Su validez ya ha pasado: cambie la fecha antes de enviarlo."]}
        )
    return _move(quote, QuoteStatus.SENT, actor, today, **detail)


def accept_quote(quote: Quote, *, actor: Actor, today: date | None = None) -> Quote:
    return _move(quote, QuoteStatus.ACCEPTED, actor, today)


def reject_quote(quote: Quote, *, actor: Actor, today: date | None = None) -> Quote:
    return _move(quote, QuoteStatus.REJECTED, actor, today)


def expire_quotes(today: date | None = None) -> int:
    """Store ``expired`` on sent quotes past their valid-until date (the periodic task calls
    this); each is claimed by a conditional update, so two runs never log one twice."""
    today = _today(today)
    count = 0
    due = Quote.objects.filter(status=QuoteStatus.SENT, valid_until__lt=today)
    for quote in due.iterator():
        with transaction.atomic():
            claimed = Quote.objects.filter(pk=quote.pk, status=QuoteStatus.SENT).update(
                status=QuoteStatus.EXPIRED, updated_at=timezone.now()
            )
            if claimed:
                _log(quote, Actor(), QuoteStatus.EXPIRED, valid_until=quote.valid_until.isoformat())
                count += 1
    return count


def invoice_series(taxpayer: Taxpayer) -> QuerySet[Series]:
    """The series an invoice made from a quote may take: ordinary ones, not archived."""
    return taxpayer.series.filter(archived=False).exclude(kind=Series.Kind.RECTIFYING)


def convert_to_invoice(
    quote: Quote,
    *,
    series: Series,
    actor: Actor,
    issue_date: date | None = None,
) -> Invoice:
    """ "Convertir en factura": an invoice draft with the quote's client, lines and IRPF (so
    its totals are the quote's), made by :func:`invoicing.services.create_draft`; the quote
    is linked to it and accepted. Once per quote (the row lock and the one-to-one link),
    unless that draft was discarded: then the quote is linked to the new draft instead."""
    issue_date = _today(issue_date)
    if not invoice_series(quote.taxpayer).filter(pk=series.pk).exists():
        raise ValidationError({"series": ["Elija una serie ordinaria de este contribuyente."]})
    with transaction.atomic():
        quote = Quote.objects.select_for_update().select_related("client").get(pk=quote.pk)
        if quote.is_invoiced:
            raise InvalidTransition(f"El presupuesto {quote.number} ya es una factura.")
        current = quote.status_on(issue_date)
        if current not in CONVERTIBLE:
            raise InvalidTransition(
                f"Un presupuesto {QuoteStatus(current).label.lower()} no se convierte en factura."
            )
        invoice = create_draft(
            quote.taxpayer,
            series=series,
            client=quote.client,
            issue_date=issue_date,
            lines=[line.as_draft_line() for line in quote.lines.all()],
            irpf_bp=quote.irpf_bp,
            actor=actor,
        )
        quote.invoice = invoice
        quote.status = QuoteStatus.ACCEPTED
        quote.answered_at = quote.answered_at or timezone.now()
        quote.save(update_fields=["invoice", "status", "answered_at", "updated_at"])
        _log(quote, actor, "converted", invoice=invoice.number)
    return invoice
