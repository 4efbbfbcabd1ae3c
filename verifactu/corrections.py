"""Fixing what was registered: never by editing a record, always by chaining a new one.

These are the service functions the v1 API, the account API and the browser share:
:func:`retry`, :func:`correct` (subsanación) and :func:`cancel` (anulación).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus
from verifactu.records import append_alta, append_anulacion, lock_chain


class InvalidCorrection(Exception):
    """The invoice's current state does not allow this correction (a 409 for the APIs)."""


HELD_BY_AEAT = (RecordStatus.ACCEPTED, RecordStatus.ACCEPTED_WITH_ERRORS)
ON_ITS_WAY = (RecordStatus.QUEUED, RecordStatus.SENDING)


def _locked(invoice: FiscalInvoice):
    chain = lock_chain(
        invoice.account, invoice.issuer_nif, invoice.issuer_name, invoice.computer_system
    )
    latest = invoice.records.order_by("-position").first()
    return chain, latest


def _alta_held(invoice: FiscalInvoice) -> bool:
    return invoice.records.filter(
        kind=BillingRecord.Kind.ALTA, status__in=HELD_BY_AEAT + ON_ITS_WAY
    ).exists()


def is_cancelled(invoice: FiscalInvoice) -> bool:
    return invoice.records.filter(
        kind=BillingRecord.Kind.ANULACION,
        status__in=HELD_BY_AEAT + ON_ITS_WAY,
    ).exists()


def retry(invoice: FiscalInvoice, *, now: datetime | None = None) -> BillingRecord:
    """Retry the latest record: resend it after an ``error``, or, after a rejection, chain a
    corrected record (alta: Subsanacion=S, RechazoPrevio=X; anulación: RechazoPrevio=S)."""
    now = now or timezone.now()
    with transaction.atomic():
        chain, latest = _locked(invoice)
        if latest is None or latest.status not in (RecordStatus.REJECTED, RecordStatus.ERROR):
            state = latest.get_status_display() if latest else "sin registros"
            raise InvalidCorrection(
                f"Only rejected or failed records can be retried; this one is {state}."
            )
        if latest.status == RecordStatus.ERROR:
            BillingRecord.objects.filter(pk=latest.pk, status=RecordStatus.ERROR).update(
                status=RecordStatus.QUEUED, claimed_at=None
            )
            latest.refresh_from_db()
            chain_id = chain.pk
            transaction.on_commit(lambda: _enqueue(chain_id), robust=True)
            return latest
        if latest.kind == BillingRecord.Kind.ANULACION:
            return append_anulacion(
                invoice,
                chain,
                now=now,
                sin_registro_previo=not _alta_held(invoice),
                rechazo_previo=True,
            )
        return append_alta(
            invoice,
            chain,
            now=now,
            record_type=BillingRecord.RecordType.CORRECTION,
            subsanacion="S",
            rechazo_previo="X",
        )


def correct(invoice: FiscalInvoice, *, now: datetime | None = None) -> BillingRecord:
    """Subsanación of a registration AEAT holds with errors (Subsanacion=S)."""
    now = now or timezone.now()
    with transaction.atomic():
        chain, latest = _locked(invoice)
        if latest is None or latest.kind != BillingRecord.Kind.ALTA:
            raise InvalidCorrection("Only a registered (not cancelled) invoice can be corrected.")
        if latest.status != RecordStatus.ACCEPTED_WITH_ERRORS:
            raise InvalidCorrection(
                "Subsanación applies to records accepted with errors; "
                f"this one is {latest.get_status_display()}."
            )
        return append_alta(
            invoice,
            chain,
            now=now,
            record_type=BillingRecord.RecordType.CORRECTION,
            subsanacion="S",
        )


def cancel(invoice: FiscalInvoice, *, now: datetime | None = None) -> BillingRecord:
    """Anulación: SinRegistroPrevio=S when AEAT never held (nor will hold) the registration."""
    now = now or timezone.now()
    with transaction.atomic():
        chain, latest = _locked(invoice)
        if latest is None:
            raise InvalidCorrection("The invoice has no record to cancel.")
        if is_cancelled(invoice):
            raise InvalidCorrection("The invoice is already cancelled.")
        return append_anulacion(
            invoice,
            chain,
            now=now,
            sin_registro_previo=not _alta_held(invoice),
            rechazo_previo=latest.kind == BillingRecord.Kind.ANULACION
            and latest.status == RecordStatus.REJECTED,
        )


def _enqueue(chain_id: int) -> None:
    from verifactu.tasks import schedule_flush

    schedule_flush(chain_id, countdown=0)
