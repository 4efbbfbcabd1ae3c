"""A real Celery worker process runs our tasks through the configured broker.

With nothing configured that is the embedded filesystem broker; in CI it is Redis.
"""

import pytest
from django.utils import timezone

from factu.models import WorkerHeartbeat
from factu.tasks import heartbeat
from tests.processes import start_worker, stop, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def worker(transactional_db, tmp_path):
    proc = start_worker(tmp_path / "worker.log")
    yield proc
    stop(proc)
    print((tmp_path / "worker.log").read_text(errors="replace")[-3000:])


def test_a_task_sent_here_runs_in_the_worker_process(worker):
    assert not WorkerHeartbeat.objects.exists()
    sent_at = timezone.now()
    heartbeat.delay()
    beat = wait_until(
        lambda: WorkerHeartbeat.objects.filter(name="worker").first(), timeout=60, what="heartbeat"
    )
    assert beat.seen_at >= sent_at
    assert worker.poll() is None
