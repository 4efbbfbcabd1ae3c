"""Queueing an account's email and delivering it: the one path every sending takes.

:func:`queue_email` checks the addresses and the subject (header injection is impossible: a
recipient is one plain address, a subject one line), the account's hourly limit, and writes
an :class:`~mailing.models.EmailDelivery` whose task is sent after the commit.
:func:`attempt_delivery` is what the task runs: claim the delivery once (a conditional
UPDATE), build the message with its attachments, talk SMTP, and record the outcome. A
transient failure (a 4xx answer, no connection) is retried up to ``MAILING_MAX_ATTEMPTS`` in
all; a permanent one (5xx) fails at once. Either failure stays on the delivery, visible.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from factu.branding import brand_for, branding_of
from factu.models import Account, Membership, Role, Taxpayer, User
from factu.queue import enqueue_after_commit
from mailing import attachments, branded
from mailing.models import EmailDelivery

logger = logging.getLogger(__name__)

SEND_TASK = "mailing.send_delivery"
MAX_CC = 5
LEASE = timedelta(minutes=5)
DELIVERY_HEADER = "X-Factu-Delivery"


class SendingLimitReached(Exception):
    """The account has sent its hourly allowance (a 429 for the API)."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"Esta cuenta ya ha enviado {limit} correos en la última hora, el máximo. "
            "Vuelva a intentarlo más tarde."
        )
        self.limit = limit
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sender:
    """Who asks for the email: a signed-in user, an API token (its label), or nobody (beat)."""

    user: User | None = None
    token_label: str = ""


def _address_errors(value: str) -> list[str]:
    try:
        validate_email(value)
    except ValidationError:
        return [f"«{value}» no es una dirección de correo válida."]
    return []


def clean_recipients(to: str, cc: Iterable[str] | str = ()) -> tuple[str, list[str]]:
    """One plain address in ``to`` and up to :data:`MAX_CC` in ``cc`` (a list, or a string
    separated by commas or semicolons), lower-cased host; field errors otherwise."""
    errors: dict[str, list[str]] = {}
    to = (to or "").strip()
    if not to:
        errors["to"] = ["Indique la dirección del destinatario."]
    else:
        errors["to"] = _address_errors(to)
    if isinstance(cc, str):
        cc = cc.replace(";", ",").split(",")
    cc_list = [c.strip() for c in cc if c and c.strip()]
    errors["cc"] = [e for c in cc_list for e in _address_errors(c)]
    if len(cc_list) > MAX_CC:
        errors["cc"].append(f"Como mucho {MAX_CC} direcciones en copia.")
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)
    return to, list(dict.fromkeys(cc_list))


def clean_subject(subject: str) -> str:
    """The subject as given, refused when it spans lines (a header can never be injected)."""
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": ["Escriba el asunto."]})
    if any(ch in subject for ch in "\r\n\x00"):
        raise ValidationError({"subject": ["El asunto debe ocupar una sola línea."]})
    if len(subject) > 200:
        raise ValidationError({"subject": ["El asunto admite como mucho 200 caracteres."]})
    return subject


def reply_to_for(account: Account, taxpayer: Taxpayer | None = None) -> str:
    """Where the client's answer goes: the taxpayer's contact email once it has one (its
    branding), else the account owner's email. The one place that decides it."""
    contact = branding_of(taxpayer).contact_email if taxpayer is not None else ""
    if contact:
        return contact
    owner = (
        Membership.objects.filter(account=account, role=Role.OWNER)
        .select_related("user")
        .order_by("created_at")
        .first()
    )
    return owner.user.email if owner else ""


def sent_in_last_hour(account: Account, now: datetime | None = None) -> int:
    since = (now or timezone.now()) - timedelta(hours=1)
    return EmailDelivery.objects.filter(account=account, created_at__gte=since).count()


def check_limit(account: Account, count: int = 1, now: datetime | None = None) -> None:
    """Refuse ``count`` more emails when they would pass the account's hourly limit."""
    now = now or timezone.now()
    limit = settings.MAILING_HOURLY_LIMIT
    if sent_in_last_hour(account, now) + count <= limit:
        return
    oldest = (
        EmailDelivery.objects.filter(account=account, created_at__gte=now - timedelta(hours=1))
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    wait = (oldest + timedelta(hours=1) - now).total_seconds() if oldest else 3600
    raise SendingLimitReached(limit, max(1, int(wait) + 1))


@dataclass(frozen=True)
class Draft:
    """One email to queue: its recipients, subject and body (already filled in)."""

    to: str
    subject: str
    body: str
    cc: tuple[str, ...] = ()


def queue_email(
    account: Account,
    *,
    kind: str,
    object_id: uuid.UUID,
    draft: Draft,
    reply_to: str = "",
    taxpayer: Taxpayer | None = None,
    step: str = "",
    sender: Sender | None = None,
) -> EmailDelivery:
    """Queue one email of ``account`` about ``object_id`` (its ``kind``'s attachments are
    made when it is sent); the task goes after the commit. With ``taxpayer`` the email
    carries its brand (:mod:`mailing.branded`).

    Raises ``ValidationError`` (fields ``to``, ``cc``, ``subject``) or
    :class:`SendingLimitReached`. A reminder passes its ``step``: a second one for the same
    step raises ``IntegrityError`` (callers in a savepoint).
    """
    return queue_emails(
        account,
        [(kind, object_id, draft, step)],
        reply_to=reply_to,
        taxpayer=taxpayer,
        sender=sender,
    )[0]


def queue_emails(
    account: Account,
    items: list[tuple[str, uuid.UUID, Draft, str]],
    *,
    reply_to: str = "",
    taxpayer: Taxpayer | None = None,
    sender: Sender | None = None,
) -> list[EmailDelivery]:
    """:func:`queue_email` for several at once: all or none, counted together in the limit."""
    sender = sender or Sender()
    cleaned = []
    for kind, object_id, draft, step in items:
        to, cc = clean_recipients(draft.to, draft.cc)
        subject = clean_subject(draft.subject)
        cleaned.append((kind, object_id, to, cc, subject, draft.body, step))
    now = timezone.now()
    with transaction.atomic():
        # One account's senders queue one at a time, so two requests cannot both pass the limit.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        check_limit(account, len(cleaned), now)
        deliveries = []
        for kind, object_id, to, cc, subject, body, step in cleaned:
            with transaction.atomic():
                delivery = EmailDelivery.objects.create(
                    account=account,
                    kind=kind,
                    object_id=object_id,
                    taxpayer=taxpayer,
                    step=step,
                    to=to,
                    cc=cc,
                    reply_to=reply_to,
                    subject=subject,
                    body=body,
                    next_attempt_at=now,
                    created_by=sender.user,
                    token_label=sender.token_label,
                )
            enqueue_after_commit(SEND_TASK, str(delivery.pk))
            deliveries.append(delivery)
    return deliveries


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", "retry", "failed" or "skipped" (not ours to send)
    retry_in: int = 0


def _describe(exc: Exception) -> tuple[str, bool]:
    """The failure in words, and whether it is permanent (the server said 5xx)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        words = "; ".join(
            f"{address}: {code} {message.decode(errors='replace')}"
            for address, (code, message) in exc.recipients.items()
        )
        return f"El servidor de correo rechazó el destinatario ({words}).", all(
            c >= 500 for c in codes
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"El servidor de correo respondió {exc.smtp_code} {text}.", exc.smtp_code >= 500
    return f"No se pudo hablar con el servidor de correo: {exc or type(exc).__name__}.", False


def build_message(delivery: EmailDelivery) -> EmailMessage:
    """The message as it goes: the body (signed with the taxpayer's brand, and its HTML
    alternative, when the delivery has a taxpayer) and the kind's attachments made now."""
    brand = brand_for(delivery.taxpayer) if delivery.taxpayer_id else None
    message = EmailMultiAlternatives(
        subject=delivery.subject,
        body=branded.plain_text(delivery.body, brand) if brand else delivery.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.to],
        cc=list(delivery.cc),
        reply_to=[delivery.reply_to] if delivery.reply_to else None,
        headers={DELIVERY_HEADER: str(delivery.pk)},
    )
    if brand:
        message.attach_alternative(branded.html(delivery.body, brand), "text/html")
    for item in attachments.produce(delivery.account, delivery.kind, delivery.object_id):
        message.attach(item.filename, item.content, item.mimetype)
    return message


def retry_delay(attempts: int) -> int:
    return settings.MAILING_RETRY_SECONDS * 2 ** max(0, attempts - 1)


def attempt_delivery(delivery_id: uuid.UUID | str, now: datetime | None = None) -> Outcome:
    """Try once to send the delivery (the task's body): claimed once, outcome recorded."""
    now = now or timezone.now()
    claimed = (
        EmailDelivery.objects.filter(pk=delivery_id, status=EmailDelivery.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return Outcome("skipped")
    delivery = EmailDelivery.objects.select_related("account", "taxpayer").get(pk=delivery_id)
    try:
        build_message(delivery).send()
    except (smtplib.SMTPException, OSError) as exc:
        error, permanent = _describe(exc)
        if permanent or delivery.attempts >= settings.MAILING_MAX_ATTEMPTS:
            return _fail(delivery, error)
        delay = retry_delay(delivery.attempts)
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            error=error, claimed_until=None, next_attempt_at=now + timedelta(seconds=delay)
        )
        logger.warning("Email %s not sent (attempt %s): %s", delivery.pk, delivery.attempts, error)
        return Outcome("retry", delay)
    except Exception as exc:  # an attachment could not be made: retrying will not help
        logger.exception("Email %s could not be built", delivery.pk)
        return _fail(delivery, f"No se pudo preparar el mensaje: {exc}")
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=EmailDelivery.Status.SENT, sent_at=timezone.now(), error="", claimed_until=None
    )
    return Outcome("sent")


def _fail(delivery: EmailDelivery, error: str) -> Outcome:
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=EmailDelivery.Status.FAILED,
        error=error,
        failed_at=timezone.now(),
        claimed_until=None,
    )
    logger.warning("Email %s failed: %s", delivery.pk, error)
    return Outcome("failed")


REQUEUE_AFTER = timedelta(minutes=5)


def requeue_stale(now: datetime | None = None) -> int:
    """Send again the task of each delivery still queued well after its attempt was due
    (its message was lost: the broker was down). A second message is harmless: claimed once."""
    now = now or timezone.now()
    stale = EmailDelivery.objects.filter(
        status=EmailDelivery.Status.QUEUED, next_attempt_at__lt=now - REQUEUE_AFTER
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    count = 0
    for pk in stale.values_list("pk", flat=True)[:500]:
        enqueue_after_commit(SEND_TASK, str(pk))
        count += 1
    return count


def deliveries_about(account: Account, object_id: uuid.UUID) -> list[EmailDelivery]:
    """The emails of ``account`` about one object, newest first."""
    return list(EmailDelivery.objects.filter(account=account, object_id=object_id))
