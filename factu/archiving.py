"""Archiving: what a list and a form no longer offer, kept for what already uses it.

Clients and catalogue items are archived instead of deleted (an invoice may name them); the
rule is the same for both: ``archived_at`` set once, cleared on restore, nothing else saved.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model
from django.utils import timezone

M = TypeVar("M", bound=Model)


def set_archived(obj: M, archived: bool) -> M:
    """Archive (now) or restore ``obj``; a no-op when it already is as asked."""
    if archived == (obj.archived_at is not None):
        return obj
    obj.archived_at = timezone.now() if archived else None
    obj.save(update_fields=["archived_at"])
    return obj
