"""Celery tasks of the API app."""

from __future__ import annotations

from celery import shared_task

from api.idempotency import purge_expired


@shared_task(name="api.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Beat, hourly: delete idempotency records older than their 24 h
    (:data:`api.idempotency.TTL`); a key is replayed only within them anyway."""
    return purge_expired()
