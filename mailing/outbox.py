"""The development outbox: the messages Django's file backend wrote, shown in the app.

Only without a real mail server (no ``EMAIL_URL``, not production): there every message
lands in ``EMAIL_FILE_PATH``. A person sees only their own account's messages: each message
carries its delivery's id (:data:`mailing.services.DELIVERY_HEADER`), and only the ids of
the account's deliveries are shown; sign-up and password emails, which have none, never are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from django.conf import settings

from factu.models import Account
from mailing.models import EmailDelivery

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
MAX_FILES = 500


def enabled() -> bool:
    return not settings.PRODUCTION and settings.EMAIL_BACKEND == FILE_BACKEND


@dataclass(frozen=True)
class OutboxMessage:
    delivery: EmailDelivery
    message: EmailMessage

    def _header(self, name: str) -> str:
        return str(self.message.get(name) or "")

    @property
    def subject(self) -> str:
        return self._header("Subject")

    @property
    def to(self) -> str:
        return self._header("To")

    @property
    def cc(self) -> str:
        return self._header("Cc")

    @property
    def sender(self) -> str:
        return self._header("From")

    @property
    def reply_to(self) -> str:
        return self._header("Reply-To")

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def attachments(self) -> list[str]:
        return [part.get_filename() or "adjunto" for part in self.message.iter_attachments()]


def _messages(folder: Path):
    files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files[:MAX_FILES]:
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                yield message_from_bytes(chunk, policy=default)


def messages_for(account: Account) -> list[OutboxMessage]:
    """The account's messages in the file backend's folder, newest first."""
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    found: dict[str, EmailMessage] = {}
    for message in _messages(folder):
        try:
            delivery_id = str(uuid.UUID((message.get("X-Factu-Delivery") or "").strip()))
        except ValueError:
            continue
        found.setdefault(delivery_id, message)
    deliveries = EmailDelivery.objects.filter(account=account, pk__in=list(found)).order_by(
        "-created_at"
    )
    return [OutboxMessage(d, found[str(d.pk)]) for d in deliveries]
