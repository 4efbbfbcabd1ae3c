"""Fixing what was registered: never by editing a record, always by chaining a new one.

These are the service functions the v1 API, the account API, the desk, the invoice page
and the bulk re-submission share. :func:`correction_for` is the one place that decides
which correction applies to an invoice and with which flags (SPEC.md §4, "Subsanación /
rechazo"); :func:`retry`, :func:`subsanar` and :func:`cancel` carry it out.

A subsanación corrects the *billing record*. An invoice that was wrong as delivered to the
client is corrected by a rectificativa (RD 1619/2012, art. 15), never here: a change of the
recipient's identity or of amounts is accepted only when the user states that the invoice
as delivered already carried the corrected data (``matches_delivered_invoice``). The number
and the date never change (AEAT identifies the invoice by them): an invoice rejected for
them is cancelled and issued again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from factu.models import User
from verifactu import pacing
from verifactu.errors import NEEDS_NEW_INVOICE
from verifactu.facts import InvoiceFacts
from verifactu.models import BillingRecord, FiscalInvoice, FiscalInvoiceVersion, RecordStatus
from verifactu.records import (
    RecordRefused,
    append_alta,
    append_anulacion,
    facts_of,
    fiscal_columns,
    lock_chain,
)
from verifactu.rules import check_invoice


class InvalidCorrection(Exception):
    """The invoice's current state does not allow this correction (a 409 for the APIs)."""


class CorrectionRefused(Exception):
    """The correction asked for is not one a subsanación may make (a 422 for the APIs).

    ``field`` names the offending part of the request (``""`` when it is the whole);
    ``code`` says which refusal it is, for callers that explain it in their own words.
    """

    NEEDS_NEW_INVOICE = "needs_new_invoice"
    IDENTITY = "identity"
    NOTHING_CHANGED = "nothing_changed"
    NO_REASON = "no_reason"
    NEEDS_RECTIFICATIVA = "needs_rectificativa"
    ISSUED_IN_FACTU = "issued_in_factu"

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


HELD_BY_AEAT = (RecordStatus.ACCEPTED, RecordStatus.ACCEPTED_WITH_ERRORS)
ON_ITS_WAY = (RecordStatus.QUEUED, RecordStatus.SENDING)

RESEND = "resend"
SUBSANACION = "subsanacion"
ANULACION = "anulacion"


@dataclass(frozen=True)
class Correction:
    """What fixes an invoice whose latest record is ``latest``, and with which flags.

    ``kind``: :data:`RESEND` (the same record again, after a failed submission),
    :data:`SUBSANACION` (a new RegistroAlta, with corrected data or the same) or
    :data:`ANULACION` (a new RegistroAnulacion after a rejected one). ``needs_new_invoice``:
    AEAT refused the number or the date, which no subsanación can change.
    """

    kind: str
    latest: BillingRecord
    subsanacion: str = ""
    rechazo_previo: str = ""
    sin_registro_previo: str = ""
    needs_new_invoice: bool = False


def _records(invoice: FiscalInvoice) -> list[BillingRecord]:
    return list(invoice.records.order_by("position"))


def _alta_held(records: list[BillingRecord], *, on_its_way: bool = True) -> bool:
    statuses = HELD_BY_AEAT + ON_ITS_WAY if on_its_way else HELD_BY_AEAT
    return any(r.kind == BillingRecord.Kind.ALTA and r.status in statuses for r in records)


def _cancelled(records: list[BillingRecord]) -> bool:
    return any(
        r.kind == BillingRecord.Kind.ANULACION and r.status in HELD_BY_AEAT + ON_ITS_WAY
        for r in records
    )


def is_cancelled(invoice: FiscalInvoice) -> bool:
    return _cancelled(_records(invoice))


def correction_kind(latest: BillingRecord) -> str | None:
    """Which correction an invoice whose latest record is ``latest`` takes, if any (the
    desk lists its buttons from this; :func:`correction_for` adds the flags)."""
    if latest.status == RecordStatus.ERROR:
        return RESEND
    if latest.kind == BillingRecord.Kind.ANULACION:
        return ANULACION if latest.status == RecordStatus.REJECTED else None
    if latest.status in (RecordStatus.REJECTED, RecordStatus.ACCEPTED_WITH_ERRORS):
        return SUBSANACION
    return None


def needs_new_invoice(latest: BillingRecord) -> bool:
    """AEAT refused the alta's number or date: only a cancellation and a new invoice fix it."""
    return (
        latest.kind == BillingRecord.Kind.ALTA
        and latest.status == RecordStatus.REJECTED
        and latest.aeat_error_code in NEEDS_NEW_INVOICE
    )


def correction_for(invoice: FiscalInvoice) -> Correction | None:
    """The correction that applies to ``invoice`` now, or None when none does.

    - latest record in ``error`` (the submission failed): resend it as it is;
    - a rejected alta: a subsanación, RechazoPrevio=S when AEAT holds an earlier alta of the
      invoice (a previous subsanación was rejected), X when it holds none;
    - an alta accepted with errors: a subsanación, Subsanacion=S, RechazoPrevio=N;
    - a rejected anulación: a new anulación with RechazoPrevio=S (SinRegistroPrevio=S when
      AEAT never held the alta);
    - queued, being sent, accepted, or cancelled: nothing.
    """
    records = _records(invoice)
    if not records or _cancelled(records):
        return None
    latest, earlier = records[-1], records[:-1]
    kind = correction_kind(latest)
    if kind == RESEND:
        return Correction(RESEND, latest)
    if kind == ANULACION:
        return Correction(
            ANULACION,
            latest,
            rechazo_previo="S",
            sin_registro_previo="" if _alta_held(earlier) else "S",
        )
    if kind == SUBSANACION and latest.status == RecordStatus.REJECTED:
        held = _alta_held(earlier, on_its_way=False)
        return Correction(
            SUBSANACION,
            latest,
            subsanacion="S",
            rechazo_previo="S" if held else "X",
            needs_new_invoice=needs_new_invoice(latest),
        )
    if kind == SUBSANACION:
        return Correction(SUBSANACION, latest, subsanacion="S", rechazo_previo="N")
    return None


def _chain(invoice: FiscalInvoice):
    """The invoice's chain, locked: every append of its records, and so every correction
    of it, queues behind this lock, so a decision taken under it still holds at the append."""
    return lock_chain(
        invoice.account, invoice.issuer_nif, invoice.issuer_name, invoice.computer_system
    )


def _refusal(invoice: FiscalInvoice) -> InvalidCorrection:
    latest = invoice.records.order_by("-position").first()
    if latest is None:
        return InvalidCorrection("The invoice has no record to correct.")
    if is_cancelled(invoice):
        return InvalidCorrection("The invoice is cancelled (or its cancellation is on its way).")
    return InvalidCorrection(f"Nothing to correct while its latest record is {latest.status}.")


def _resend(latest: BillingRecord, chain_id: int) -> BillingRecord:
    BillingRecord.objects.filter(pk=latest.pk, status=RecordStatus.ERROR).update(
        status=RecordStatus.QUEUED, claimed_at=None
    )
    latest.refresh_from_db()
    pacing.flush_after_commit(chain_id, countdown=0)
    return latest


def retry(invoice: FiscalInvoice, *, now: datetime | None = None) -> BillingRecord:
    """Retry an invoice whose latest record was rejected or failed, with the same data:
    resend a failed record, chain a subsanación of a rejected alta or a new anulación of a
    rejected one, with the flags :func:`correction_for` decides."""
    now = now or timezone.now()
    with transaction.atomic():
        chain = _chain(invoice)
        fix = correction_for(invoice)
        if fix is None:
            raise _refusal(invoice)
        if fix.latest.status not in (RecordStatus.REJECTED, RecordStatus.ERROR):
            raise InvalidCorrection(
                f"Only rejected or failed records can be retried; this one is {fix.latest.status}."
            )
        if fix.needs_new_invoice:
            raise InvalidCorrection(_NEEDS_NEW_INVOICE.format(code=fix.latest.aeat_error_code))
        return _apply(invoice, chain, fix, now)


def _apply(invoice: FiscalInvoice, chain, fix: Correction, now: datetime) -> BillingRecord:
    if fix.kind == RESEND:
        return _resend(fix.latest, chain.pk)
    if fix.kind == ANULACION:
        return append_anulacion(
            invoice,
            chain,
            now=now,
            sin_registro_previo=fix.sin_registro_previo == "S",
            rechazo_previo=True,
        )
    return append_alta(
        invoice,
        chain,
        now=now,
        record_type=BillingRecord.RecordType.CORRECTION,
        subsanacion=fix.subsanacion,
        rechazo_previo=fix.rechazo_previo,
    )


# What a subsanación may never change: AEAT identifies the invoice by them.
IDENTITY = ("issuer_nif", "issuer_name", "invoice_number", "invoice_date")
# Who the recipient is; a change needs the statement that the delivered invoice said so.
RECIPIENT_IDENTITY = ("recipient_nif", "recipient_id", "recipient_country", "recipient_id_type")
AMOUNTS = (
    "breakdown",
    "total_amount",
    "total_tax_amount",
    "not_subject_amount",
    "rectification_base",
    "rectification_tax",
    "rectification_surcharge",
)


def changed_facts(before: InvoiceFacts, after: InvoiceFacts) -> list[str]:
    """The names of the facts that differ, in the order :class:`InvoiceFacts` declares them."""
    return [
        f.name for f in fields(InvoiceFacts) if getattr(before, f.name) != getattr(after, f.name)
    ]


def _recipient_key(facts: InvoiceFacts) -> str:
    """Who the recipient is, whatever the way it is identified: a NIF sent as IDOtro type 07
    ("no censado", for a NIF AEAT's census lacks) is the same recipient."""
    return facts.recipient_nif or facts.recipient_id


def outside_the_invoice(before: InvoiceFacts, after: InvoiceFacts) -> bool:
    """Whether a correction changes only what an invoice issued in Factu does not itself
    say: the way its recipient is identified to AEAT (a NIF sent as «no censado»).

    Such an invoice's record is built from its own lines and client, so the client received
    exactly those data: any other change corrects the invoice, which a rectificativa does.
    """
    changed = set(changed_facts(before, after))
    return changed <= set(RECIPIENT_IDENTITY) and _recipient_key(before) == _recipient_key(after)


def needs_statement(before: InvoiceFacts, after: InvoiceFacts) -> list[str]:
    """The changed facts that only a rectificativa may change, unless the invoice as
    delivered to the client already carried the new values."""
    changed = changed_facts(before, after)
    needing = [name for name in changed if name in AMOUNTS]
    if _recipient_key(before) != _recipient_key(after):
        needing += [name for name in changed if name in RECIPIENT_IDENTITY]
    return needing


@dataclass(frozen=True)
class Actor:
    """Who makes a correction: a signed-in user, or an API token (by id and label)."""

    user: User | None = None
    token_id: uuid.UUID | None = None
    token_label: str = ""

    @property
    def label(self) -> str:
        if self.token_label:
            return f"Token de API «{self.token_label}»"
        if self.user is not None:
            return self.user.email
        return ""


def subsanar(
    invoice: FiscalInvoice,
    facts: InvoiceFacts | None = None,
    *,
    reason: str = "",
    actor: Actor | None = None,
    matches_delivered_invoice: bool = False,
    now: datetime | None = None,
) -> BillingRecord:
    """Subsanación of an invoice whose latest alta AEAT rejected or accepted with errors.

    With ``facts``, the corrected record data: a new :class:`FiscalInvoiceVersion` is made
    (the fiscal invoice's columns follow it) and the new RegistroAlta carries those data.
    Without, the same data are sent again (a clock or chain error, a census now fixed).
    Raises :class:`InvalidCorrection` (state), :class:`CorrectionRefused` (what was asked
    may not be done by a subsanación) or :class:`~verifactu.records.RecordRefused` (the
    corrected data break AEAT's rules), before anything is stored.
    """
    now = now or timezone.now()
    actor = actor or Actor()
    with transaction.atomic():
        chain = _chain(invoice)
        invoice.refresh_from_db()
        fix = correction_for(invoice)
        if fix is None:
            raise _refusal(invoice)
        if fix.kind != SUBSANACION:
            raise InvalidCorrection(
                "Only a registration AEAT rejected or accepted with errors can be corrected; "
                f"its latest record is {fix.latest.status}."
            )
        if fix.needs_new_invoice:
            raise CorrectionRefused(
                CorrectionRefused.NEEDS_NEW_INVOICE,
                _NEEDS_NEW_INVOICE.format(code=fix.latest.aeat_error_code),
            )
        version = None
        if facts is not None:
            version = _new_version(invoice, facts, reason, actor, matches_delivered_invoice, now)
        record = _apply(invoice, chain, fix, now)
        if version is not None:
            version.record = record
            version.save()
        return record


_NEEDS_NEW_INVOICE = (
    "AEAT refused the invoice's number or date (code {code}), which a subsanación cannot "
    "change: cancel the invoice and issue a new one."
)


def _new_version(
    invoice: FiscalInvoice,
    facts: InvoiceFacts,
    reason: str,
    actor: Actor,
    matches_delivered_invoice: bool,
    now: datetime,
) -> FiscalInvoiceVersion:
    """Check the corrected ``facts`` and make them the invoice's columns; the new version,
    unsaved, is returned for the caller to save once the record that registers it exists."""
    before = facts_of(invoice)
    for name in IDENTITY:
        if getattr(before, name) != getattr(facts, name):
            raise CorrectionRefused(
                CorrectionRefused.IDENTITY,
                "The invoice's number, date and issuer never change in a subsanación: "
                "cancel the invoice and issue a new one.",
                name,
            )
    if not changed_facts(before, facts):
        raise CorrectionRefused(
            CorrectionRefused.NOTHING_CHANGED,
            "Nothing changes: the corrected data equal the current ones.",
        )
    if not reason.strip():
        raise CorrectionRefused(
            CorrectionRefused.NO_REASON, "Say why the record is corrected.", "reason"
        )
    if invoice.source == FiscalInvoice.Source.FACTU and not outside_the_invoice(before, facts):
        raise CorrectionRefused(
            CorrectionRefused.ISSUED_IN_FACTU,
            "This invoice was issued in Factu from its own lines and client: a subsanación "
            "may only send its recipient as no censado (IDOtro 07); anything else is "
            "corrected by a rectifying invoice.",
        )
    problems = check_invoice(facts, today=timezone.localdate(now))
    if problems:
        raise RecordRefused(problems, "The corrected invoice breaks AEAT's rules.")
    statement_needed = needs_statement(before, facts)
    if statement_needed and not matches_delivered_invoice:
        raise CorrectionRefused(
            CorrectionRefused.NEEDS_RECTIFICATIVA,
            f"Changing {', '.join(statement_needed)} corrects the invoice itself, not only its "
            "record: issue a rectifying invoice (R1–R5), or, if the invoice as delivered to "
            "the client already carried these data, send matches_delivered_invoice: true.",
            "matches_delivered_invoice",
        )
    current = _current_version(invoice)
    columns = fiscal_columns(facts)
    for name, value in columns.items():
        setattr(invoice, name, value)
    invoice.version = current.number + 1
    FiscalInvoice.objects.filter(pk=invoice.pk).update(version=invoice.version, **columns)
    return FiscalInvoiceVersion(
        fiscal_invoice=invoice,
        number=invoice.version,
        replaces=current,
        facts=invoice.facts_snapshot(),
        reason=reason.strip(),
        matches_delivered_invoice=matches_delivered_invoice,
        user=actor.user,
        token_id=actor.token_id,
        actor_label=actor.label,
        created_at=now,
    )


def _current_version(invoice: FiscalInvoice) -> FiscalInvoiceVersion:
    """The version the invoice's columns hold now; version 1 is written on first need, from
    the columns as registered (they never changed before a first correction)."""
    current = invoice.versions.filter(number=invoice.version).first()
    if current is not None:
        return current
    first_alta = invoice.records.filter(kind=BillingRecord.Kind.ALTA).order_by("position").first()
    return FiscalInvoiceVersion.objects.create(
        fiscal_invoice=invoice,
        number=1,
        facts=invoice.facts_snapshot(),
        record=first_alta,
        created_at=invoice.created_at,
    )


def versions(invoice: FiscalInvoice) -> list[FiscalInvoiceVersion]:
    """Every version of the invoice, oldest first (version 1 only, unsaved, if never corrected)."""
    found = list(invoice.versions.select_related("record", "user").order_by("number"))
    if found:
        return found
    first_alta = invoice.records.filter(kind=BillingRecord.Kind.ALTA).order_by("position").first()
    return [
        FiscalInvoiceVersion(
            fiscal_invoice=invoice,
            number=1,
            facts=invoice.facts_snapshot(),
            record=first_alta,
            created_at=invoice.created_at,
        )
    ]


def printed_version(invoice: FiscalInvoice) -> FiscalInvoice:
    """The facts a PDF of ``invoice`` prints: those it was issued with, or a corrected
    version's only where the user stated the client's invoice already carried them.

    A document delivered under a number is never drawn again with other data: a subsanación
    made without that statement corrects the record, not the invoice the client holds.
    """
    if invoice.version == 1:
        return invoice
    delivered = (
        invoice.versions.filter(Q(number=1) | Q(matches_delivered_invoice=True))
        .order_by("-number")
        .first()
    )
    if delivered is None or delivered.number == invoice.version:
        return invoice
    return delivered.as_invoice()


def cancel(invoice: FiscalInvoice, *, now: datetime | None = None) -> BillingRecord:
    """Anulación: SinRegistroPrevio=S when AEAT never held (nor will hold) the registration;
    RechazoPrevio=S when it follows a rejected anulación."""
    now = now or timezone.now()
    with transaction.atomic():
        chain = _chain(invoice)
        records = _records(invoice)
        if not records:
            raise InvalidCorrection("The invoice has no record to cancel.")
        if _cancelled(records):
            raise InvalidCorrection("The invoice is already cancelled.")
        latest = records[-1]
        return append_anulacion(
            invoice,
            chain,
            now=now,
            sin_registro_previo=not _alta_held(records),
            rechazo_previo=latest.kind == BillingRecord.Kind.ANULACION
            and latest.status == RecordStatus.REJECTED,
        )
