"""The seam to sending by email (issue 19, point 1, built apart).

A plan that sends automatically asks for each invoice it issues to be emailed to its client
through :func:`send_generated`, in the transaction that generated it. Until sending exists it
only records that the plan asked; the lead wires the call to the sending service here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recurring.models import GeneratedPeriod


def send_generated(period: GeneratedPeriod) -> bool:
    """Ask for ``period.invoice`` (issued) to be emailed to ``period.plan.client``; whether
    sending was asked for.

    To wire: call the sending service with the client's email (it queues its Celery task after
    the commit, so a rolled-back generation sends nothing) and return True.
    """
    return True
