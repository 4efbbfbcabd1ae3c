"""Celery tasks of the VERI*FACTU engine: thin wrappers that take ids.

The work is in :mod:`verifactu.submission`; here only the pacing: when to flush a chain
again, deduplicated so that a burst of registrations enqueues one flush, not hundreds.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from verifactu import submission
from verifactu.models import Chain

SCHEDULED_KEY = "verifactu:flush-scheduled:{}"


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
    if not submission.sendable(Chain(pk=chain_id)).exists():
        return False
    if countdown is None:
        chain = Chain.objects.filter(pk=chain_id).only("next_flush_at", "faulting_since").first()
        pending = submission.sendable(Chain(pk=chain_id)).count()
        countdown = 0.0
        now = timezone.now()
        if chain is not None and submission.waits(chain, pending, now):
            countdown = max(0.0, (chain.next_flush_at - now).total_seconds())
    if not cache.add(SCHEDULED_KEY.format(chain_id), 1, timeout=int(countdown) + 60):
        return False
    flush_chain.apply_async(args=[chain_id], countdown=countdown)
    return True


def retry_now(chain: Chain) -> bool:
    """A person's "Intentar ahora" on a faulting chain: its next attempt is now, and a flush
    is enqueued at once. False when the chain has nothing to send."""
    Chain.objects.filter(pk=chain.pk).update(next_flush_at=timezone.now())
    return schedule_flush(chain.pk, countdown=0, replace=True)


@shared_task(name="verifactu.flush_chain", acks_late=True)
def flush_chain(chain_id: int) -> str:
    cache.delete(SCHEDULED_KEY.format(chain_id))
    outcome = submission.flush(chain_id)
    if outcome.state == "sent" and outcome.pending:
        if outcome.pending >= settings.VERIFACTU_BATCH_SIZE:
            schedule_flush(chain_id, countdown=0)
        else:
            schedule_flush(chain_id)
    elif outcome.state == "busy":
        # Another flush holds the chain; look again shortly in case it missed our records.
        schedule_flush(chain_id, countdown=5)
    elif outcome.state in ("wait", "retry") and outcome.next_at:
        countdown = max(0.0, (outcome.next_at - timezone.now()).total_seconds())
        schedule_flush(chain_id, countdown=countdown)
    return outcome.state


@shared_task(name="verifactu.reclaim_and_kick")
def reclaim_and_kick() -> int:
    """Requeue what a dead worker left in ``sending``, and flush every chain that is due."""
    submission.reclaim_stale()
    due = submission.chains_due()
    for chain_id in due:
        schedule_flush(chain_id, countdown=0)
    return len(due)


@shared_task(name="verifactu.sign_pending")
def sign_pending() -> int:
    """Sign, in the worker, the events and NO VERI*FACTU records not signed yet."""
    from verifactu import events

    return sum(events.sign_pending(chain) for chain in events.chains_with_event_log())


@shared_task(name="verifactu.apply_mode_changes")
def apply_mode_changes() -> int:
    """Make scheduled switches to NO VERI*FACTU effective on 1 January (run it daily)."""
    from verifactu import modes

    return modes.apply_due_changes()


@shared_task(name="verifactu.anomaly_check")
def anomaly_check() -> int:
    """Verify both chains and every signature of each event-logging chain; log anomalies."""
    from pathlib import Path

    from verifactu import events

    ca_file = getattr(settings, "VERIFACTU_SIGNATURE_CA_FILE", "")
    ca_pem = Path(ca_file).read_bytes() if ca_file else None
    found = 0
    for chain in events.chains_with_event_log():
        events.sign_pending(chain)
        found += len(events.run_anomaly_check(chain, ca_pem=ca_pem))
        events.sign_pending(chain)
    return found


@shared_task(name="verifactu.event_summary")
def event_summary() -> int:
    """Log the periodic summary event (10) on every NO VERI*FACTU chain where something
    happened since its previous one, and sign it. Scheduled every 6 hours (SPEC §5)."""
    from verifactu import events

    logged = 0
    for chain in events.chains_with_event_log():
        if events.log_summary(chain) is not None:
            logged += 1
            events.sign_pending(chain)
    return logged
