"""Celery tasks of the VERI*FACTU engine: thin wrappers that take ids.

The work is in :mod:`verifactu.submission` (sending), :mod:`verifactu.anomalies` and
:mod:`verifactu.events` (the event log, signed at birth by :mod:`verifactu.signatures`) and
:mod:`verifactu.modes`; the pacing of flushes (when, and only once) in
:mod:`verifactu.pacing`, which sends ``verifactu.flush_chain`` by its name.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from verifactu import anomalies, event_log, events, modes, submission
from verifactu.pacing import FLUSH_TASK, SCHEDULED_KEY, schedule_flush
from verifactu.signatures import SigningUnavailable

log = logging.getLogger(__name__)


@shared_task(name=FLUSH_TASK, acks_late=True)
def flush_chain(chain_id: int) -> str:
    cache.delete(SCHEDULED_KEY.format(chain_id))
    outcome = submission.flush(chain_id)
    if outcome.state == "sent":
        # Asked for after the chain is released, whatever was pending when the envelope
        # left: records issued while it was out asked for a flush that found the chain busy
        # and looks again only in 5 s; this one replaces it, at the AEAT's wait.
        full = outcome.pending >= settings.VERIFACTU_BATCH_SIZE
        schedule_flush(chain_id, countdown=0 if full else None, replace=True)
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


@shared_task(name="verifactu.apply_mode_changes")
def apply_mode_changes() -> int:
    """Make scheduled switches to NO VERI*FACTU effective on 1 January (run it daily)."""
    return modes.apply_due_changes()


@shared_task(name="verifactu.anomaly_check")
def anomaly_check() -> int:
    """Verify both chains and every signature of each event-logging chain; log anomalies.
    Signatures are trusted by :func:`verifactu.signers.signature_problem` (the CA bundle of
    ``VERIFACTU_SIGNATURE_CA_FILE``, the taxpayer's kept signer certificate).

    Each chain is checked on its own: one whose run cannot be logged (its chain row refuses
    the run's events, or no certificate may sign them) is reported with what it found, and
    any other failure of one chain is logged with its traceback; the run goes on with the
    other chains either way."""
    found = 0
    for chain in event_log.chains_with_event_log():
        try:
            found += len(anomalies.run_anomaly_check(chain))
        except anomalies.RunNotLogged as exc:
            found += len(exc.findings)
            log.error(
                "anomaly check of chain %s not logged: %s; it found %s",
                chain.pk,
                exc.reason,
                "; ".join(str(f) for f in exc.findings[:3]) or "nothing",
            )
        except Exception:
            log.exception("anomaly check of chain %s failed", chain.pk)
    return found


@shared_task(name="verifactu.event_summary")
def event_summary() -> int:
    """Log the periodic summary event (10), signed, on every NO VERI*FACTU chain where
    something happened since its previous one. Scheduled every 6 hours (SPEC §5). A chain
    without a certificate that may sign is skipped with a warning, one that fails otherwise
    with its traceback logged; the others are summarised either way."""
    logged = 0
    for chain in event_log.chains_with_event_log():
        try:
            if events.log_summary(chain) is not None:
                logged += 1
        except SigningUnavailable as exc:
            log.warning("summary of chain %s not logged: %s", chain.pk, exc.message)
        except Exception:
            log.exception("summary of chain %s failed", chain.pk)
    return logged
