"""Sending an issued invoice to its client by email, alone or several at once.

The message is the account's template (:mod:`mailing.texts`) filled with the invoice's
values; the PDF is attached when the email is sent, and to an invoice's email the stored
e-invoice its client asks for (:func:`invoice_email_attachments`; the reminders'
:func:`invoice_attachments`, both registered with :mod:`mailing.attachments`). Each sending
writes an event on the invoice's history naming the delivery, whose outcome (sent, failed
and why) shows there. Sending changes no status: "sent by email" is history.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from factu.models import Account
from invoicing import documents, einvoices, taxes
from invoicing.models import Invoice, InvoiceEvent, InvoiceStatus
from invoicing.services import Actor, InvalidTransition
from mailing import texts
from mailing.attachments import Attachment
from mailing.models import EmailDelivery, Kind
from mailing.services import Draft, Sender, queue_email, queue_emails, reply_to_for

EMAIL_ACTIONS = {"emailed", "reminded"}


def recipient_email(invoice: Invoice) -> str:
    """The client's email frozen at issue, else the client's email today."""
    return invoice.client_email or (invoice.client.email if invoice.client_id else "")


def placeholder_values(invoice: Invoice, days: int | None = None) -> dict[str, str]:
    values = {
        "numero": invoice.number,
        "cliente": invoice.recipient_name,
        "emisor": invoice.issuer_name or invoice.taxpayer.name,
        "importe": taxes.format_euros(invoice.total_cents),
        "pendiente": taxes.format_euros(invoice.outstanding_cents),
        "fecha": invoice.issue_date.strftime("%d/%m/%Y"),
        "vencimiento": invoice.due_date.strftime("%d/%m/%Y") if invoice.due_date else "—",
    }
    if days is not None:
        values["dias"] = str(days)
    return values


def email_defaults(invoice: Invoice) -> dict[str, str]:
    """The send form's starting values: the client's address and the filled template."""
    subject, body = texts.render(invoice.account, Kind.INVOICE, placeholder_values(invoice))
    return {"to": recipient_email(invoice), "subject": subject, "message": body}


def check_sendable(invoice: Invoice) -> None:
    if not invoice.is_issued or invoice.status == InvoiceStatus.CANCELLED:
        raise InvalidTransition(
            "Solo se envían facturas emitidas: un borrador aún no es una factura."
            if not invoice.is_issued
            else "Una factura anulada no se envía."
        )


def _sender(actor: Actor) -> Sender:
    return Sender(user=actor.user, token_label=actor.token_label)


def log_sending(invoice: Invoice, actor: Actor, action: str, delivery: EmailDelivery) -> None:
    InvoiceEvent.objects.create(
        invoice=invoice,
        user=actor.user,
        token_label=actor.token_label,
        action=action,
        detail={"to": delivery.to, "cc": delivery.cc, "delivery": str(delivery.pk)},
    )


def send_invoice(
    invoice: Invoice,
    *,
    to: str,
    subject: str,
    message: str,
    actor: Actor,
    cc: Iterable[str] | str = (),
) -> EmailDelivery:
    """Email the issued ``invoice`` (its PDF attached) to ``to`` (and ``cc``).

    Raises ``InvalidTransition`` for a draft or a cancelled invoice, ``ValidationError`` for
    bad addresses or a subject on several lines (fields ``to``, ``cc``, ``subject``) and
    ``mailing.services.SendingLimitReached`` past the account's hourly limit.
    """
    check_sendable(invoice)
    cc = tuple(cc.replace(";", ",").split(",")) if isinstance(cc, str) else tuple(cc)
    with transaction.atomic():
        delivery = queue_email(
            invoice.account,
            kind=Kind.INVOICE,
            object_id=invoice.pk,
            draft=Draft(to=to, cc=cc, subject=subject, body=message),
            reply_to=reply_to_for(invoice.account, invoice.taxpayer),
            taxpayer=invoice.taxpayer,
            sender=_sender(actor),
        )
        log_sending(invoice, actor, "emailed", delivery)
    return delivery


@dataclass(frozen=True)
class BulkResult:
    sent: list[Invoice]
    skipped: list[tuple[Invoice, str]]  # the invoice and why it was not sent


def send_invoices(invoices: Iterable[Invoice], *, actor: Actor) -> BulkResult:
    """Email each issued invoice to its own client with the account's template, from its own
    taxpayer (Reply-To and brand): all those that can go, counted together in the hourly
    limit (none if they would pass it)."""
    ready, skipped = [], []
    for invoice in invoices:
        if not invoice.is_issued or invoice.status == InvoiceStatus.CANCELLED:
            skipped.append((invoice, "no está emitida" if not invoice.is_issued else "anulada"))
        elif not recipient_email(invoice):
            skipped.append((invoice, "su cliente no tiene correo electrónico"))
        else:
            ready.append(invoice)
    if not ready:
        return BulkResult([], skipped)
    account = ready[0].account
    by_taxpayer: dict[uuid.UUID, list[Invoice]] = {}
    for invoice in ready:
        by_taxpayer.setdefault(invoice.taxpayer_id, []).append(invoice)
    with transaction.atomic():
        # One queueing per taxpayer (its Reply-To and brand); the limit counts them all.
        for group in by_taxpayer.values():
            items = []
            for invoice in group:
                defaults = email_defaults(invoice)
                draft = Draft(
                    to=defaults["to"], subject=defaults["subject"], body=defaults["message"]
                )
                items.append((Kind.INVOICE, invoice.pk, draft, ""))
            taxpayer = group[0].taxpayer
            deliveries = queue_emails(
                account,
                items,
                reply_to=reply_to_for(account, taxpayer),
                taxpayer=taxpayer,
                sender=_sender(actor),
            )
            for invoice, delivery in zip(group, deliveries, strict=True):
                log_sending(invoice, actor, "emailed", delivery)
    return BulkResult(ready, skipped)


def _pdf(invoice: Invoice) -> Attachment:
    filename, mimetype, data = documents.render_pdf(invoice)
    return Attachment(filename, data, mimetype)


def invoice_attachments(account: Account, object_id: uuid.UUID) -> list[Attachment]:
    """The invoice's PDF, made now (registered for the reminders)."""
    return [_pdf(Invoice.objects.get(pk=object_id, account=account))]


def invoice_email_attachments(account: Account, object_id: uuid.UUID) -> list[Attachment]:
    """The invoice's PDF and, when its client asks for one (``Client.einvoice_format``), its
    stored e-invoice in that format beside it, if it is offered (registered for invoices)."""
    invoice = Invoice.objects.select_related("client").get(pk=object_id, account=account)
    attachments = [_pdf(invoice)]
    wanted = invoice.client.einvoice_format if invoice.client_id else ""
    if wanted and invoice.is_issued:
        found = einvoices.stored_file(invoice, wanted)
        if found is not None:
            attachments.append(Attachment(found.filename, found.content, found.mimetype))
    return attachments


def deliveries_by_id(invoice: Invoice) -> dict[str, EmailDelivery]:
    return {
        str(d.pk): d
        for d in EmailDelivery.objects.filter(account_id=invoice.account_id, object_id=invoice.pk)
    }
