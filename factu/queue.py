"""Background tasks are sent once the transaction that asked for them has committed.

The one home of "enqueue after commit" (pretix's ``TransactionAwareTask`` is the model): a
worker must never pick up a job whose rows it cannot see yet, and a rolled-back request must
never leave a task behind. Tasks are named, not imported, so a service never imports the
``tasks`` module that imports it back (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction


def after_commit(send: Callable[[], Any]) -> None:
    """Run ``send`` once the current transaction commits (at once outside one); never for a
    rolled-back one.

    Robust: if ``send`` fails (the broker is down, the storage refuses a delete) the
    committed data is safe and the caller still gets its answer; Django logs the error. For
    a task, the beat task that reclaims queued work (each queue has one) sends it later.
    """
    transaction.on_commit(send, robust=True)


def enqueue_after_commit(task_name: str, *args: Any, **options: Any) -> None:
    """Queue the registered task ``task_name`` with ``args`` after the commit.

    ``options`` are Celery's ``apply_async`` options (``countdown``, ``queue``...).
    """
    after_commit(lambda: current_app.tasks[task_name].apply_async(args, **options))


def send_now(task_name: str, *args: Any, **options: Any) -> None:
    """Queue the registered task ``task_name`` at once, raising when the broker refuses.

    For a task that sends the next steps of its own job outside any transaction (the
    quarter close's parts): a send that fails must fail that job, not leave it waiting for a
    message that was never queued.
    """
    current_app.tasks[task_name].apply_async(args, **options)
