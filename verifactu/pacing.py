"""When a chain is flushed: what it may send now, and the one enqueue of its flush.

Every path that gives a chain something to send (a registration, a resend, a proof of
representation, a person's "Intentar ahora", the worker after a flush, the beat) asks for a
flush here. The flush runs in the worker as the task ``verifactu.flush_chain``
(:mod:`verifactu.tasks`), which this module sends by its registered name, so the services
that ask for it never import the tasks that import them back.
"""

from __future__ import annotations

from datetime import datetime

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from factu.queue import after_commit
from verifactu.models import BillingRecord, Chain, RecordStatus

FLUSH_TASK = "verifactu.flush_chain"
SCHEDULED_KEY = "verifactu:flush-scheduled:{}"
PENDING = (RecordStatus.QUEUED, RecordStatus.SENDING)


def sendable(chain: Chain) -> QuerySet[BillingRecord]:
    """Pending records in chain order, up to (not past) a record stuck in ``error``.

    Records after a failed one wait for it: sending them first would break the chain AEAT
    sees. The error is shown to the user, whose retry puts the record back in the queue.

    NO VERI*FACTU records are never sendable: they are kept (and signed) and reach the AEAT
    only through a requerimiento (:mod:`verifactu.requerimiento`). So the chain of a NO
    VERI*FACTU taxpayer has nothing to flush, while VERI*FACTU records it generated before
    the switch (if any were still queued) still go out.
    """
    records = chain.records.filter(status__in=PENDING, no_verifactu=False)
    blocked_at = (
        chain.records.filter(status=RecordStatus.ERROR)
        .order_by("position")
        .values_list("position", flat=True)
        .first()
    )
    if blocked_at is not None:
        records = records.filter(position__lt=blocked_at)
    return records.order_by("position")


def waits(chain: Chain, pending: int, now: datetime) -> bool:
    """Must the chain wait before its next envelope? Until ``next_flush_at``, which is the
    AEAT's TiempoEsperaEnvio after an answer (a full batch need not wait for it, art. 16.2)
    or the back-off after a fault (which a full batch waits for too)."""
    if chain.next_flush_at is None or chain.next_flush_at <= now:
        return False
    return chain.faulting_since is not None or pending < settings.VERIFACTU_BATCH_SIZE


def schedule_flush(chain_id: int, *, countdown: float | None = None, replace: bool = False) -> bool:
    """Enqueue a flush of the chain when its flow-control wait or fault back-off allows, once.

    Returns False when a flush is already scheduled (unless ``replace``: a person's "try
    now" does not wait for the one scheduled later, which finds nothing to do when it runs).
    The beat task ``reclaim_and_kick`` is the safety net should a scheduled message ever be
    lost. Returns False too when the chain has nothing to send (a NO VERI*FACTU taxpayer's
    chain: its records are never flushed).
    """
    if replace:
        cache.delete(SCHEDULED_KEY.format(chain_id))
    elif cache.get(SCHEDULED_KEY.format(chain_id)):
        # Already scheduled (the usual case during a burst): the add below would refuse
        # too; returning now spares every registration the queries on the queue.
        return False
    if not sendable(Chain(pk=chain_id)).exists():
        return False
    if countdown is None:
        chain = Chain.objects.filter(pk=chain_id).only("next_flush_at", "faulting_since").first()
        pending = sendable(Chain(pk=chain_id)).count()
        countdown = 0.0
        now = timezone.now()
        if chain is not None and waits(chain, pending, now):
            countdown = max(0.0, (chain.next_flush_at - now).total_seconds())
    if not cache.add(SCHEDULED_KEY.format(chain_id), 1, timeout=int(countdown) + 60):
        return False
    current_app.tasks[FLUSH_TASK].apply_async(args=[chain_id], countdown=countdown)
    return True


def flush_after_commit(
    chain_id: int, *, countdown: float | None = None, replace: bool = False
) -> None:
    """:func:`schedule_flush` once the transaction that gave the chain something to send
    commits (:func:`factu.queue.after_commit`: robust, a broker that is down leaves the
    flush to the beat)."""
    after_commit(lambda: schedule_flush(chain_id, countdown=countdown, replace=replace))


def retry_now(chain: Chain) -> bool:
    """A person's "Intentar ahora" on a faulting chain: its next attempt is now, and a flush
    is enqueued at once. False when the chain has nothing to send."""
    Chain.objects.filter(pk=chain.pk).update(next_flush_at=timezone.now())
    return schedule_flush(chain.pk, countdown=0, replace=True)
