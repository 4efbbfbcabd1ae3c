"""A real SMTP server on loopback (aiosmtpd), for tests that follow what Factu emails.

``smtp_outbox`` (a fixture of the modules that import it) switches Django to its SMTP backend
pointed at the server, so messages cross a real SMTP conversation and arrive parsed as
:class:`email.message.EmailMessage`.
"""

from __future__ import annotations

import re
import socket
import time
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    """The messages the server received, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        from email import message_from_bytes

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        received = self.to(address)
        assert len(received) >= count, [m["To"] for m in self.messages]
        return received


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage, path_prefix: str = "/") -> str:
    """The path of the first link in ``message`` whose path starts with ``path_prefix``."""
    for match in re.finditer(r"https?://[^/\s]+(/\S*)", body(message)):
        if match.group(1).startswith(path_prefix):
            return match.group(1)
    raise AssertionError(body(message))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_outbox(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()
