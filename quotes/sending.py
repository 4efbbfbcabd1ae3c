"""Sending a quote to its client by email, its PDF attached (as invoices are sent).

The message is the account's ``quote`` template (:mod:`mailing.texts`) filled with the
quote's values; the PDF is made when the email goes (:func:`quote_attachments`, registered
with :mod:`mailing.attachments` in :class:`quotes.apps.QuotesConfig`). Sending a draft marks
it sent (:func:`quotes.services.mark_sent`); sending a sent quote again is history only.
Each sending's history row names its delivery, whose outcome shows on the quote's page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from factu.models import Account
from invoicing import taxes
from mailing import texts
from mailing.attachments import Attachment
from mailing.models import EmailDelivery, Kind
from mailing.services import Draft, Sender, deliveries_about, queue_email, reply_to_for
from quotes import documents, services
from quotes.models import Quote, QuoteEvent, QuoteStatus

SENDABLE = (QuoteStatus.DRAFT, QuoteStatus.SENT)
EMAIL_ACTIONS = {QuoteStatus.SENT.value, "emailed"}


def placeholder_values(quote: Quote) -> dict[str, str]:
    return {
        "numero": quote.number,
        "cliente": quote.client.name,
        "emisor": quote.taxpayer.name,
        "importe": taxes.format_euros(quote.total_cents),
        "fecha": quote.issue_date.strftime("%d/%m/%Y"),
        "vencimiento": quote.valid_until.strftime("%d/%m/%Y"),
    }


def email_defaults(quote: Quote) -> dict[str, str]:
    """The send form's starting values: the client's address and the filled template."""
    subject, body = texts.render(quote.account, Kind.QUOTE, placeholder_values(quote))
    return {"to": quote.client.email or "", "subject": subject, "message": body}


def check_sendable(quote: Quote) -> None:
    """Only a draft or sent quote still valid goes to the client (``InvalidTransition``)."""
    today = timezone.localdate()
    status = QuoteStatus(quote.status_on(today))
    if status not in SENDABLE:
        raise services.InvalidTransition(f"Un presupuesto {status.label.lower()} no se envía.")
    if quote.valid_until < today:
        raise services.InvalidTransition(
            "Su validez ya ha pasado: cambie la fecha antes de enviarlo."
        )


def send_quote(
    quote: Quote,
    *,
    to: str,
    subject: str,
    message: str,
    actor: services.Actor,
    cc: Iterable[str] | str = (),
) -> EmailDelivery:
    """Email ``quote`` (its PDF attached) to ``to`` (and ``cc``); a draft becomes sent.

    Raises ``InvalidTransition`` for a quote that may not be sent, ``ValidationError`` for
    bad addresses or subject (fields ``to``, ``cc``, ``subject``) and
    ``mailing.services.SendingLimitReached`` past the account's hourly limit.
    """
    check_sendable(quote)
    cc = tuple(cc.replace(";", ",").split(",")) if isinstance(cc, str) else tuple(cc)
    with transaction.atomic():
        delivery = queue_email(
            quote.account,
            kind=Kind.QUOTE,
            object_id=quote.pk,
            draft=Draft(to=to, cc=cc, subject=subject, body=message),
            reply_to=reply_to_for(quote.account, quote.taxpayer),
            taxpayer=quote.taxpayer,
            sender=Sender(user=actor.user, token_label=actor.token_label),
        )
        detail = {"to": delivery.to, "cc": delivery.cc, "delivery": str(delivery.pk)}
        if quote.status == QuoteStatus.DRAFT:
            services.mark_sent(quote, actor=actor, **detail)
        else:
            QuoteEvent.objects.create(
                quote=quote,
                user=actor.user,
                token_label=actor.token_label,
                action="emailed",
                detail=detail,
            )
    return delivery


def quote_attachments(account: Account, object_id: uuid.UUID) -> list[Attachment]:
    """The quote's PDF, made now (registered for quote emails)."""
    quote = Quote.objects.select_related("client", "taxpayer").get(pk=object_id, account=account)
    filename, mimetype, data = documents.render_pdf(quote)
    return [Attachment(filename, data, mimetype)]


def deliveries_by_id(quote: Quote) -> dict[str, EmailDelivery]:
    return {str(d.pk): d for d in deliveries_about(quote.account, quote.pk)}
