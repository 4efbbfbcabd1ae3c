"""The files an email carries, produced when it is sent, by the app that owns its object.

``mailing`` knows no invoice or quote: an app above registers, for each kind it sends, a
producer ``(account, object_id) -> [Attachment, ...]`` in its ``AppConfig.ready``
(:func:`register`). The file is made at send time, so a retry sends what the object is then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from factu.models import Account


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


Producer = Callable[[Account, uuid.UUID], list[Attachment]]

_PRODUCERS: dict[str, Producer] = {}


def register(kind: str, producer: Producer) -> None:
    """Make ``producer`` the source of the attachments of every email of ``kind``."""
    _PRODUCERS[kind] = producer


def produce(account: Account, kind: str, object_id: uuid.UUID) -> list[Attachment]:
    """The attachments of an email of ``kind`` about ``object_id`` (none without a producer)."""
    producer = _PRODUCERS.get(kind)
    return producer(account, object_id) if producer else []
