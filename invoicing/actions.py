"""Who acts on an invoice, what they may not do, and the audit event each action writes.

Shared by :mod:`invoicing.services` and :mod:`invoicing.payments` (which the services call,
so neither may import the other's names back).
"""

from __future__ import annotations

from dataclasses import dataclass

from factu.models import User
from invoicing.models import Invoice, InvoiceEvent


class InvalidTransition(Exception):
    """The invoice's status does not allow this action (a 409 for the APIs)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, or an API token (named by its label)."""

    user: User | None = None
    token_label: str = ""


def log(invoice: Invoice, actor: Actor, action: str, **detail) -> None:
    """The audit event of ``action`` on ``invoice``, in the caller's transaction."""
    InvoiceEvent.objects.create(
        invoice=invoice,
        user=actor.user,
        token_label=actor.token_label,
        action=action,
        detail=detail,
    )
