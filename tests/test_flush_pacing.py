"""A record issued while its chain is being flushed goes in the next envelope as soon as the
flush ends (and the AEAT's wait allows), not after the look-again of a flush that found the
chain busy meanwhile (issue 20, point 5: issue to accepted).

The worker's task runs in process; what it enqueues is recorded instead of sent.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from verifactu import pacing, submission, tasks
from verifactu.models import BillingRecord, RecordStatus


@pytest.fixture
def enqueued(monkeypatch):
    """The flushes the code enqueues, as ``(chain_id, countdown)``, in order."""
    sent: list[tuple[int, float]] = []
    monkeypatch.setattr(
        tasks.flush_chain,
        "apply_async",
        lambda args, countdown: sent.append((args[0], countdown)),
    )
    cache.clear()
    return sent


@pytest.fixture
def issued_during_the_flush(monkeypatch, register):
    """While the flush talks to the AEAT, a second invoice is issued: its registration asks
    for a flush, and the second worker process runs that one at once (finding the chain
    busy). Returns the records issued meanwhile."""
    meanwhile = []
    start = submission.start_submission

    def during(*args, **kwargs):
        if not meanwhile:
            record = register(invoice_number="A-2").record
            meanwhile.append(record)
            pacing.schedule_flush(record.chain_id)  # the registration's ask, after its commit
            assert tasks.flush_chain(record.chain_id) == "busy"  # the other worker
        return start(*args, **kwargs)

    monkeypatch.setattr(submission, "start_submission", during)
    return meanwhile


def test_a_record_issued_during_a_flush_is_flushed_when_it_ends(
    register, simulator, enqueued, issued_during_the_flush
):
    first = register(invoice_number="A-1").record
    chain_id = first.chain_id
    assert tasks.flush_chain(chain_id) == "sent"
    (second,) = issued_during_the_flush
    assert BillingRecord.objects.get(pk=first.pk).status == RecordStatus.ACCEPTED
    assert BillingRecord.objects.get(pk=second.pk).status == RecordStatus.QUEUED
    # The busy flush looks again in 5 s; the flush that ended asks for the next one now
    # (the simulator's wait is 0), and that one is the last asked for.
    assert (chain_id, 5) in enqueued
    assert enqueued[-1] == (chain_id, 0.0)
    assert tasks.flush_chain(chain_id) == "sent"
    assert BillingRecord.objects.get(pk=second.pk).status == RecordStatus.ACCEPTED


def test_the_follow_up_flush_still_waits_for_the_aeat(
    register, simulator, enqueued, issued_during_the_flush, settings
):
    """With the AEAT's TiempoEsperaEnvio (here 60 s) the next envelope of a chain that is not
    full waits for it: the follow-up is scheduled then, not now."""
    simulator.configure(wait_seconds=60)
    first = register(invoice_number="A-1").record
    assert tasks.flush_chain(first.chain_id) == "sent"
    chain_id, countdown = enqueued[-1]
    assert chain_id == first.chain_id and 55 < countdown <= 60


def test_a_flush_with_nothing_left_enqueues_nothing(register, simulator, enqueued):
    record = register().record
    assert tasks.flush_chain(record.chain_id) == "sent"
    assert enqueued == []
