"""Which AEAT faults heal by themselves, how long to wait before trying again, and which
chains are stuck.

A *fault* is a submission that got no verdict on its records: the AEAT refused the whole
envelope with a SOAP Fault (its ``Codigo[nnnn]``), or there was no usable answer at all (an
HTTP error, a timeout, a reset connection: :class:`~verifactu.aeat.AeatTransportError`).

- **Transient** faults are outages of the service. Nothing is wrong with the records, so
  they go back to the queue as they are and the chain is retried by itself, with capped
  exponential back-off and jitter, never sooner than the AEAT's flow-control wait (Orden
  art. 16.2). After ``VERIFACTU_FAULT_FLAG_AFTER`` seconds of continuous faults (a
  day) the chain is flagged for a person and retried hourly: "at least hourly" (art. 16.4)
  and, by then, no more often. Records generated while the chain was faulting are sent
  with ``Incidencia=S``.
- **Permanent** faults say the envelope itself, the certificate or the presenter is wrong:
  sending the same bytes again gets the same answer. The records go to ``error`` and wait
  for a person.

:data:`FAULT_KINDS` is the one table; :func:`is_transient` answers for an exception.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from verifactu import aeat
from verifactu.errors import describe
from verifactu.models import BillingRecord, Chain, RecordStatus, Submission

log = logging.getLogger(__name__)

TRANSIENT = "transient"
PERMANENT = "permanent"

# Every envelope code of SPEC §3.1 (and errores.properties' server fault), by kind.
#
# Transient: 20009 (internal server error), 3500/3501 (the AEAT's database failed: its own
# text says "retry") and 4134 (the service is not active right now: a maintenance window or
# an outage on the AEAT's side, which ends without anything changing here).
# Permanent: the schema, encoding and size codes (4102, 4103, 4113, 4114, 4119, 4138) are
# faults of the envelope we built, which is resent byte for byte; the NIF and census codes
# (4104, 4107, 4109, 4115, 4116) and the year-end date (4120) are data a person must fix; the
# header-block codes (4126, 4127, 4130) mean the wrong endpoint or mode; 4112 (the
# certificate's holder may not present for this obligado) and 4141 (the presenter is
# suspended) need a new certificate, an apoderamiento or a call to the AEAT; 4139 (the
# service is not yet open in production) is a configuration to check, not an outage.
FAULT_KINDS: dict[str, str] = {
    "20009": TRANSIENT,
    "3500": TRANSIENT,
    "3501": TRANSIENT,
    "4134": TRANSIENT,
    "4102": PERMANENT,
    "4103": PERMANENT,
    "4104": PERMANENT,
    "4107": PERMANENT,
    "4109": PERMANENT,
    "4112": PERMANENT,
    "4113": PERMANENT,
    "4114": PERMANENT,
    "4115": PERMANENT,
    "4116": PERMANENT,
    "4119": PERMANENT,
    "4120": PERMANENT,
    "4126": PERMANENT,
    "4127": PERMANENT,
    "4130": PERMANENT,
    "4138": PERMANENT,
    "4139": PERMANENT,
    "4141": PERMANENT,
}

# Art. 16.4: after an incident, retry at least hourly. Once a chain is flagged, exactly that.
FLAGGED_RETRY_SECONDS = 3600


def kind_of(code: str | None) -> str:
    """``transient`` or ``permanent`` for an envelope code; an unknown code is permanent
    (a person looks at it rather than the worker hammering the AEAT with it)."""
    return FAULT_KINDS.get((code or "").strip(), PERMANENT)


def is_transient(fault: aeat.AeatError) -> bool:
    """Does this failed submission heal by itself? HTTP errors and timeouts always do; a SOAP
    Fault does when its code is a transient one in :data:`FAULT_KINDS`."""
    if isinstance(fault, aeat.AeatTransportError):
        return True
    if isinstance(fault, aeat.AeatFault):
        return kind_of(fault.code) == TRANSIENT
    return False


# ---------------------------------------------------------------------------------------
# The back-off policy
# ---------------------------------------------------------------------------------------


def retry_delay(
    failures: int,
    faulting_for: timedelta,
    aeat_wait: float,
    *,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before the next attempt after the ``failures``-th fault in a row.

    Exponential from ``VERIFACTU_BACKOFF_BASE``, capped at
    ``VERIFACTU_MAX_BACKOFF``, with "equal jitter" (a uniform draw in the upper half
    of the step, so chains that failed together do not all come back at once, and the delay
    still grows); once the chain has been faulting for ``VERIFACTU_FAULT_FLAG_AFTER``
    seconds, hourly. Never below ``aeat_wait``, the AEAT's TiempoEsperaEnvio.
    """
    if faulting_for >= timedelta(seconds=settings.VERIFACTU_FAULT_FLAG_AFTER):
        return float(max(FLAGGED_RETRY_SECONDS, aeat_wait))
    step = settings.VERIFACTU_BACKOFF_BASE * 2 ** min(max(0, failures - 1), 32)
    ceiling = float(min(settings.VERIFACTU_MAX_BACKOFF, step))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    return max(delay, float(aeat_wait))


def aeat_wait(chain: Chain) -> int:
    """The TiempoEsperaEnvio the AEAT last gave this chain, or the default wait."""
    last = (
        Submission.objects.filter(chain=chain, wait_seconds__isnull=False)
        .order_by("-started_at")
        .values_list("wait_seconds", flat=True)
        .first()
    )
    return settings.VERIFACTU_DEFAULT_WAIT if last is None else last


def is_flagged(faulting_since: datetime | None, now: datetime) -> bool:
    """Has the chain been faulting long enough to need a person?"""
    if faulting_since is None:
        return False
    return now - faulting_since >= timedelta(seconds=settings.VERIFACTU_FAULT_FLAG_AFTER)


def note_fault(
    chain: Chain, submission: Submission, at: datetime, *, rng: random.Random | None = None
) -> datetime:
    """Record a transient fault of ``submission`` on the chain row; returns the next attempt.

    The run of faults started with the first failed submission since the last success
    (``faulting_since``); the back-off step is the number of submissions since then.
    """
    since = chain.faulting_since or submission.started_at
    failures = Submission.objects.filter(chain=chain, started_at__gte=since).count()
    delay = retry_delay(failures, at - since, aeat_wait(chain), rng=rng)
    next_at = at + timedelta(seconds=delay)
    Chain.objects.filter(pk=chain.pk).update(
        faulting_since=since, last_fault_at=at, next_flush_at=next_at
    )
    if is_flagged(since, at) and not is_flagged(since, chain.last_fault_at or since):
        log.error(
            "Chain %s has not reached the AEAT since %s: flagged for a person, retried hourly",
            chain.pk,
            since.isoformat(),
        )
    return next_at


def end_fault(chain: Chain) -> None:
    """The chain got an answer: mark what it generated during the outage as ``incidencia``
    (still pending records created since the faults began) and clear the fault state."""
    if chain.faulting_since is None:
        return
    BillingRecord.objects.filter(
        chain=chain,
        status__in=(RecordStatus.QUEUED, RecordStatus.SENDING),
        created_at__gte=chain.faulting_since,
        incidencia=False,
    ).update(incidencia=True)
    Chain.objects.filter(pk=chain.pk).update(faulting_since=None, last_fault_at=None)


def generated_during_outage(record: BillingRecord, faulting_since: datetime | None) -> bool:
    """Is ``record`` to be sent with Incidencia=S? When it was sent before (a resend), was
    marked so when the outage ended, or was generated while its chain was faulting."""
    if record.attempts > 0 or record.incidencia:
        return True
    return faulting_since is not None and record.created_at >= faulting_since


# ---------------------------------------------------------------------------------------
# What the desk and the invoice page say about a chain that does not send
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blockage:
    """A chain whose pending records are not reaching the AEAT.

    ``next_attempt`` is when the worker tries again by itself; ``None`` when the chain
    waits for a person: a record in ``error`` (at ``stuck_position``) stops it. ``flagged``:
    a person is needed (faulting for longer than ``VERIFACTU_FAULT_FLAG_AFTER``, or
    stopped by a record in error).
    """

    chain: Chain
    since: datetime
    next_attempt: datetime | None
    flagged: bool
    waiting: int
    reason: str
    stuck_position: int | None = None

    @property
    def automatic(self) -> bool:
        return self.stuck_position is None


def blockages(chains, *, now: datetime | None = None) -> list[Blockage]:
    """The chains among ``chains`` (a queryset) that have records waiting and cannot send
    them: faulting (retried by itself) or stopped behind a record in ``error``.

    One query, whatever the number of chains and records (the desk shows it on every visit).
    """
    now = now or timezone.now()
    first_error = BillingRecord.objects.filter(
        chain=OuterRef("pk"), status=RecordStatus.ERROR
    ).order_by("position")
    last = Submission.objects.filter(chain=OuterRef("pk")).order_by("-started_at")
    waiting = (
        BillingRecord.objects.filter(
            chain=OuterRef("pk"),
            status__in=(RecordStatus.QUEUED, RecordStatus.SENDING),
            no_verifactu=False,
            position__gt=Coalesce(OuterRef("stuck_position"), 0),
        )
        .order_by()
        .values("chain")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        chains.annotate(
            stuck_position=Subquery(first_error.values("position")[:1]),
            stuck_number=Subquery(first_error.values("invoice_number")[:1]),
            stuck_code=Subquery(first_error.values("aeat_error_code")[:1]),
            stuck_description=Subquery(first_error.values("aeat_error_description")[:1]),
            stuck_since=Subquery(first_error.values("updated_at")[:1]),
            last_fault_code=Subquery(last.values("fault_code")[:1]),
            last_fault_string=Subquery(last.values("fault_string")[:1]),
        )
        .annotate(waiting=Coalesce(Subquery(waiting), 0))
        .filter(waiting__gt=0)
        .filter(Q(faulting_since__isnull=False) | Q(stuck_position__isnull=False))
        .order_by("issuer_nif", "pk")
    )
    found = []
    for chain in rows:
        if chain.stuck_position is not None:
            explanation = describe(chain.stuck_code, chain.stuck_description)
            reason = (
                f"El registro n.º {chain.stuck_position} ({chain.stuck_number}) falló al "
                f"enviarse y los posteriores esperan a que se resuelva. {explanation}"
            )
            found.append(
                Blockage(
                    chain=chain,
                    since=chain.stuck_since,
                    next_attempt=None,
                    flagged=True,
                    waiting=chain.waiting,
                    reason=reason.strip(),
                    stuck_position=chain.stuck_position,
                )
            )
        else:
            reason = (
                describe(chain.last_fault_code, chain.last_fault_string)
                if chain.last_fault_code
                else "La AEAT no responde (sin respuesta o fallo de conexión)."
            )
            found.append(
                Blockage(
                    chain=chain,
                    since=chain.faulting_since,
                    next_attempt=chain.next_flush_at,
                    flagged=is_flagged(chain.faulting_since, now),
                    waiting=chain.waiting,
                    reason=reason,
                )
            )
    return found


def blockage_of(record: BillingRecord, *, now: datetime | None = None) -> Blockage | None:
    """What keeps ``record`` (queued or being sent) from the AEAT, if anything: its chain
    faulting, or a record in ``error`` before it."""
    if record.status not in (RecordStatus.QUEUED, RecordStatus.SENDING):
        return None
    for found in blockages(Chain.objects.filter(pk=record.chain_id), now=now):
        if found.stuck_position is None or found.stuck_position < record.position:
            return found
    return None
