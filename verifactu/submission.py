"""Sending a chain's queued records to the AEAT and recording what it answered.

The Celery tasks are thin wrappers around :func:`flush`. A flush owns its chain through a
lease taken with a conditional UPDATE (so two workers never send one chain at once, and a
dead worker's lease simply expires), sends up to 1,000 records in chain order in one
``RegFactuSistemaFacturacion`` envelope, and maps each ``RespuestaLinea`` back to its record.
A transient fault (no answer, or a SOAP Fault :mod:`verifactu.faults` calls transient)
leaves the records queued, to be resent as they are (never regenerated) after the chain's
back-off; a permanent one puts them in ``error`` for a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from verifactu import aeat, faults
from verifactu.certificates import Credentials, NotAuthorised, credentials_for
from verifactu.envelopes import build_envelope
from verifactu.models import BillingRecord, Chain, RecordStatus, Submission
from verifactu.modes import fecha_fin_verifactu
from verifactu.pacing import PENDING, sendable, waits
from verifactu.representation import HELD_CODE, seal_endpoint, sending_right_for_chain
from verifactu.xml import Obligado

log = logging.getLogger(__name__)

DUPLICATE_STATES = {
    "Correcta": RecordStatus.ACCEPTED,
    "AceptadaConErrores": RecordStatus.ACCEPTED_WITH_ERRORS,
    "Anulada": RecordStatus.ACCEPTED,
}
LINE_STATES = {
    "Correcto": RecordStatus.ACCEPTED,
    "AceptadoConErrores": RecordStatus.ACCEPTED_WITH_ERRORS,
    "Incorrecto": RecordStatus.REJECTED,
}


@dataclass(frozen=True)
class FlushOutcome:
    """What happened, and when the chain wants its next flush (``None``: nothing pending)."""

    state: str  # busy | idle | held | wait | sent | retry | fault
    next_at: datetime | None = None
    sent: int = 0
    pending: int = 0


@dataclass
class Connection:
    """An AEAT client set up with the chain's credentials, and who presents the records."""

    client: aeat.AeatClient
    representante: Obligado | None
    credentials: Credentials

    def close(self) -> None:
        self.client.close()
        self.credentials.close()


def connect(chain: Chain) -> Connection:
    """An AEAT client with the credentials :func:`credentials_for` gives the chain, on the
    seal endpoint for a seal certificate; :class:`NotAuthorised` if nothing may be sent."""
    credentials = credentials_for(chain)
    client = aeat.AeatClient(
        seal_endpoint() if credentials.seal else settings.AEAT_ENDPOINT,
        certificate=credentials.certificate,
        verify=settings.AEAT_CA_FILE or True,
        timeout=settings.AEAT_TIMEOUT,
    )
    return Connection(client, credentials.representante, credentials)


def claim_chain(chain_id: int, now: datetime) -> bool:
    lease_until = now + timedelta(seconds=settings.VERIFACTU_SENDING_LEASE)
    claimed = (
        Chain.objects.filter(pk=chain_id)
        .filter(Q(flush_claimed_until__isnull=True) | Q(flush_claimed_until__lt=now))
        .update(flush_claimed_until=lease_until)
    )
    return claimed == 1


def release_chain(chain_id: int) -> None:
    Chain.objects.filter(pk=chain_id).update(flush_claimed_until=None)


def _apply_lines(batch: list[BillingRecord], result: aeat.SendResult, submission: Submission):
    by_ref = {record.ref_externa: record for record in batch}
    accepted: list = []
    answered: set = set()
    for index, line in enumerate(result.lines):
        record = by_ref.get(line.ref_externa)
        if record is None and index < len(batch):
            record = batch[index]
        if record is None or record.pk in answered:
            log.error("AEAT answered a line we cannot match: %s", line)
            continue
        answered.add(record.pk)
        status = LINE_STATES.get(line.estado, RecordStatus.ERROR)
        code, description = line.code, line.description
        if line.code == "3000" and line.duplicate_state and record.attempts > 1:
            # Sent before and the answer was lost: AEAT holds it, so adopt what it holds.
            status = DUPLICATE_STATES.get(line.duplicate_state, RecordStatus.ACCEPTED)
            code, description = line.duplicate_code, line.duplicate_description
        if status == RecordStatus.ACCEPTED and not code:
            accepted.append(record.pk)
            continue
        BillingRecord.objects.filter(pk=record.pk).update(
            status=status,
            aeat_error_code=code,
            aeat_error_description=description,
            csv="" if status == RecordStatus.REJECTED else result.csv,
            submission=submission,
            claimed_at=None,
        )
    if accepted:
        BillingRecord.objects.filter(pk__in=accepted).update(
            status=RecordStatus.ACCEPTED,
            aeat_error_code="",
            aeat_error_description="",
            csv=result.csv,
            submission=submission,
            claimed_at=None,
        )
    unanswered = [r.pk for r in batch if r.pk not in answered]
    if unanswered:
        # No line for them: their fate is unknown, so they go back to the queue as they are.
        BillingRecord.objects.filter(pk__in=unanswered).update(
            status=RecordStatus.QUEUED, claimed_at=None
        )


def flush(chain_id: int, *, now: datetime | None = None, connector=connect) -> FlushOutcome:
    now = now or timezone.now()
    if not claim_chain(chain_id, now):
        return FlushOutcome("busy")
    try:
        return _flush_claimed(Chain.objects.get(pk=chain_id), now, connector)
    finally:
        release_chain(chain_id)


def _flush_claimed(chain: Chain, now: datetime, connector) -> FlushOutcome:
    batch_size = settings.VERIFACTU_BATCH_SIZE
    pending = sendable(chain)
    count = pending.count()
    if count == 0:
        return FlushOutcome("idle")
    right = sending_right_for_chain(chain, now=now)
    if not right.allowed:
        return _hold(chain, right.reason, now, count)
    if waits(chain, count, now):
        return FlushOutcome("wait", next_at=chain.next_flush_at, pending=count)

    batch = list(pending[:batch_size])
    ids = [r.pk for r in batch]
    incidencia = any(faults.generated_during_outage(r, chain.faulting_since) for r in batch)
    BillingRecord.objects.filter(pk__in=ids, status__in=PENDING).update(
        status=RecordStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    for record in batch:
        record.attempts += 1
    BillingRecord.objects.filter(pk__in=ids, aeat_error_code=HELD_CODE).update(
        aeat_error_code="", aeat_error_description=""
    )
    if incidencia:
        BillingRecord.objects.filter(pk__in=ids).update(incidencia=True)
    try:
        connection = connector(chain)
    except NotAuthorised as exc:  # the proof went away since the check above
        BillingRecord.objects.filter(pk__in=ids).update(status=RecordStatus.QUEUED, claimed_at=None)
        return _hold(chain, exc.reason, now, count)
    body = build_envelope(
        Obligado(chain.issuer_name, chain.issuer_nif),
        [r.xml for r in batch],
        representante=connection.representante,
        fecha_fin_verifactu=fecha_fin_verifactu(chain),
        incidencia="S" if incidencia else None,
    )
    submission = start_submission(chain, connection, body, len(batch), now)
    try:
        result = connection.client.send(body)
    except aeat.AeatError as exc:
        if not faults.is_transient(exc):
            _refused(chain, submission, ids, exc)
            return FlushOutcome("fault", pending=0)
        retry_at = _retry_later(chain, submission, ids, exc)
        return FlushOutcome("retry", next_at=retry_at, pending=count)
    finally:
        connection.close()

    wait = (
        result.wait_seconds if result.wait_seconds is not None else settings.VERIFACTU_DEFAULT_WAIT
    )
    next_at = timezone.now() + timedelta(seconds=wait)
    with transaction.atomic():
        finish_answered(submission, result, wait)
        _apply_lines(batch, result, submission)
        faults.end_fault(chain)
        Chain.objects.filter(pk=chain.pk).update(next_flush_at=next_at)
    remaining = sendable(chain).count()
    return FlushOutcome(
        "sent", next_at=next_at if remaining else None, sent=len(batch), pending=remaining
    )


def _hold(chain: Chain, reason: str, now: datetime, pending: int) -> FlushOutcome:
    """No proof that the account may speak for the chain's obligado: nothing is sent. The
    records stay ``queued`` (built, chained, kept) with the reason where the AEAT's answer
    would be (code :data:`HELD_CODE`), and the chain is looked at again after
    ``VERIFACTU_HELD_RECHECK`` or as soon as a proof is recorded."""
    sendable(chain).filter(status=RecordStatus.QUEUED).exclude(
        aeat_error_code=HELD_CODE, aeat_error_description=reason
    ).update(aeat_error_code=HELD_CODE, aeat_error_description=reason)
    next_at = now + timedelta(seconds=settings.VERIFACTU_HELD_RECHECK)
    Chain.objects.filter(pk=chain.pk).update(next_flush_at=next_at)
    log.info("chain %s held: no proof of the right to send for %s", chain.pk, chain.issuer_nif)
    return FlushOutcome("held", next_at=next_at, pending=pending)


def _fault_fields(exc: aeat.AeatError) -> dict:
    if isinstance(exc, aeat.AeatFault):
        return {"fault_code": exc.code, "fault_string": exc.message}
    return {"transport_error": str(exc.message)}


def _retry_later(chain: Chain, submission: Submission, ids: list, exc: aeat.AeatError) -> datetime:
    """A transient fault: the records go back to the queue as they are, and the chain backs
    off (:func:`verifactu.faults.note_fault`)."""
    with transaction.atomic():
        finish_failed(submission, exc)
        BillingRecord.objects.filter(pk__in=ids).update(status=RecordStatus.QUEUED, claimed_at=None)
        retry_at = faults.note_fault(chain, submission, timezone.now())
    log.warning("AEAT fault for chain %s: %s; retry at %s", chain.pk, exc, retry_at)
    return retry_at


def _refused(chain: Chain, submission: Submission, ids: list, exc: aeat.AeatError) -> None:
    """A permanent fault: the records go to ``error`` and wait for a person."""
    next_at = timezone.now() + timedelta(seconds=settings.VERIFACTU_DEFAULT_WAIT)
    code = getattr(exc, "code", "")
    with transaction.atomic():
        finish_failed(submission, exc)
        BillingRecord.objects.filter(pk__in=ids).update(
            status=RecordStatus.ERROR,
            aeat_error_code=code,
            aeat_error_description=exc.message,
            submission=submission,
            claimed_at=None,
        )
        faults.end_fault(chain)
        Chain.objects.filter(pk=chain.pk).update(next_flush_at=next_at)
    log.error("AEAT refused the envelope of chain %s: %s %s", chain.pk, code, exc.message)


def start_submission(
    chain: Chain, connection: Connection, body: bytes, count: int, started_at: datetime
) -> Submission:
    """The exchange about to send ``body`` (``count`` records) to the AEAT."""
    return Submission.objects.create(
        chain=chain,
        started_at=started_at,
        endpoint=connection.client.endpoint,
        request_xml=body.decode("utf-8"),
        record_count=count,
    )


def finish_answered(
    submission: Submission, answer: aeat.SendResult, wait_seconds: int | None
) -> None:
    """End ``submission`` with the AEAT's answer; ``wait_seconds`` is the wait to record."""
    finish_submission(
        submission,
        http_status=answer.http_status,
        response_xml=answer.response_xml,
        estado_envio=answer.estado_envio,
        csv=answer.csv,
        wait_seconds=wait_seconds,
        duration_ms=answer.duration_ms,
    )


def finish_failed(submission: Submission, exc: aeat.AeatError) -> None:
    """End ``submission`` with the fault or transport error that ended the exchange."""
    finish_submission(
        submission,
        http_status=exc.http_status,
        response_xml=exc.response_xml,
        **_fault_fields(exc),
    )


def finish_submission(submission: Submission, **fields) -> None:
    """Record the end of an exchange with the AEAT on ``submission`` (its duration by default)."""
    fields.setdefault("finished_at", timezone.now())
    if "duration_ms" not in fields:
        elapsed = fields["finished_at"] - submission.started_at
        fields["duration_ms"] = max(0, int(elapsed.total_seconds() * 1000))
    fields = {k: ("" if v is None and k in ("response_xml",) else v) for k, v in fields.items()}
    Submission.objects.filter(pk=submission.pk).update(**fields)


def reclaim_stale(now: datetime | None = None) -> int:
    """Put back in the queue records a dead worker left in ``sending``; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.VERIFACTU_SENDING_LEASE)
    stale_chains = Chain.objects.filter(
        Q(flush_claimed_until__isnull=True) | Q(flush_claimed_until__lt=now)
    )
    return BillingRecord.objects.filter(
        status=RecordStatus.SENDING, claimed_at__lt=cutoff, chain__in=stale_chains
    ).update(status=RecordStatus.QUEUED, claimed_at=None)


def chains_due(now: datetime | None = None) -> list[int]:
    """Chains with pending VERI*FACTU records whose flow-control wait or fault back-off is
    over (``next_flush_at``): the beat never retries a chain sooner than its back-off."""
    now = now or timezone.now()
    return list(
        Chain.objects.filter(records__status__in=PENDING, records__no_verifactu=False)
        .filter(Q(next_flush_at__isnull=True) | Q(next_flush_at__lte=now))
        .values_list("pk", flat=True)
        .distinct()
    )
