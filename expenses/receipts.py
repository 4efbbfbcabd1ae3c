"""Receipts (justificantes): PDF, JPEG or PNG, recognised by their bytes, kept private.

The type of an upload is decided by its first bytes (magic numbers), never by its name or
the content type the browser claims: a ``.pdf`` holding PNG bytes is stored and served as
PNG, and a ``.pdf`` holding text is refused. Files live under ``MEDIA_ROOT`` with a random
name and are only ever served by :func:`receipt_response`, which the views call after
checking that the expense belongs to the caller's account. No public URL reaches them.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404

from expenses.models import Expense
from factu.queue import after_commit

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ReceiptType:
    content_type: str
    extension: str
    label: str


PDF = ReceiptType("application/pdf", "pdf", "PDF")
JPEG = ReceiptType("image/jpeg", "jpg", "JPEG")
PNG = ReceiptType("image/png", "png", "PNG")

MAGIC_NUMBERS: tuple[tuple[bytes, ReceiptType], ...] = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
CONTENT_TYPES = {t.content_type for _, t in MAGIC_NUMBERS}


def max_bytes() -> int:
    """The size limit: ``settings.FACTU_RECEIPT_MAX_BYTES``, 10 MB when not set."""
    return int(getattr(settings, "FACTU_RECEIPT_MAX_BYTES", DEFAULT_MAX_BYTES))


def sniff(head: bytes) -> ReceiptType | None:
    """The receipt type the first bytes of a file announce, or None."""
    for magic, kind in MAGIC_NUMBERS:
        if head.startswith(magic):
            return kind
    return None


def check_receipt(upload: UploadedFile) -> ReceiptType:
    """The upload's type by its bytes; ``ValidationError`` when too big or not PDF/JPEG/PNG."""
    limit = max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"El justificante ocupa demasiado: el máximo son {limit // (1024 * 1024)} MB.",
            code="too_big",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = sniff(head)
    if kind is None:
        raise ValidationError(
            "El justificante debe ser un PDF, un JPEG o un PNG (su contenido no lo es).",
            code="type",
        )
    return kind


def _display_name(raw: str, kind: ReceiptType) -> str:
    """The person's file name, tidied, with the extension the bytes call for."""
    stem = os.path.splitext(os.path.basename(raw or ""))[0]
    stem = re.sub(r"[^\w.\- ]+", "", stem).strip(" .")[:150] or "justificante"
    return f"{stem}.{kind.extension}"


def delete_after_commit(name: str) -> None:
    """Delete the stored file ``name`` once the transaction commits (a rollback keeps it)."""
    if name:
        after_commit(lambda: default_storage.delete(name))


def attach_receipt(expense: Expense, upload: UploadedFile) -> Expense:
    """Check the upload and store it as the expense's receipt (replacing any earlier one)."""
    kind = check_receipt(upload)
    old = expense.receipt.name if expense.receipt else ""
    original = _display_name(upload.name, kind)
    expense.receipt.save(f"{uuid.uuid4().hex}.{kind.extension}", upload, save=False)
    expense.receipt_content_type = kind.content_type
    expense.receipt_name = original
    expense.save(update_fields=["receipt", "receipt_content_type", "receipt_name"])
    delete_after_commit(old)
    return expense


def remove_receipt(expense: Expense) -> Expense:
    old = expense.receipt.name if expense.receipt else ""
    expense.receipt = ""
    expense.receipt_content_type = ""
    expense.receipt_name = ""
    expense.save(update_fields=["receipt", "receipt_content_type", "receipt_name"])
    delete_after_commit(old)
    return expense


def receipt_response(expense: Expense, *, download: bool = False) -> FileResponse:
    """The receipt as an HTTP response. The caller has already checked the account."""
    if not expense.receipt or expense.receipt_content_type not in CONTENT_TYPES:
        raise Http404("Este gasto no tiene justificante.")
    try:
        handle = expense.receipt.open("rb")
    except FileNotFoundError:
        raise Http404("No se encuentra el archivo del justificante.") from None
    name = expense.receipt_name or f"justificante-{expense.date:%Y-%m-%d}"
    response = FileResponse(
        handle,
        content_type=expense.receipt_content_type,
        as_attachment=download,
        filename=name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
