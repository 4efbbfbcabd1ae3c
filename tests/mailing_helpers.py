"""Helpers of the email tests: Celery run in-process, and SMTP servers that refuse."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from celery import current_app

from tests.smtp import Mailbox, _free_port
from tests.test_pdf import decode, rasterise


@pytest.fixture
def eager_celery():
    """Tasks run in this process when sent (a retry runs again at once, its countdown
    skipped), as a worker would run them."""
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = False


class RefusingMailbox(Mailbox):
    """Answers ``reply`` to the first ``times`` messages (every one when None), then accepts."""

    def __init__(self, reply: str, times: int | None = None) -> None:
        super().__init__()
        self.reply = reply
        self.times = times
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        if self.times is None or self.refused < self.times:
            self.refused += 1
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def refusing_smtp(settings):
    """``start(reply, times)``: a real SMTP server on loopback that refuses; Django uses it."""
    controllers = []

    def start(reply: str, times: int | None = None) -> RefusingMailbox:
        mailbox = RefusingMailbox(reply, times)
        controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
        controller.start()
        controllers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return mailbox

    yield start
    for controller in controllers:
        controller.stop()


def pdf_attachment(message) -> tuple[str, bytes]:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return part.get_filename(), part.get_content()


def qr_texts(pdf: bytes) -> list[str]:
    image, _height = rasterise(pdf)
    return [code.text for code in decode(image)]
