"""Background jobs with progress: CSV imports, the gestoría's ZIP, and re-sending records.

A :class:`Job` belongs to one account and (except a re-submission over several taxpayers)
one taxpayer, and is run by a Celery task that takes its id (``transfers.tasks``; the
re-submission's is ``desk.tasks``, as the desk owns those rules). The uploaded CSV and the
ZIP built live under ``MEDIA_ROOT`` (``imports/`` and ``exports/``) with random names; no
URL reaches them but the download view, which checks the account first.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from factu.models import Account, Taxpayer


class Job(models.Model):
    class Kind(models.TextChoices):
        IMPORT_CLIENTS = "import_clients", "Importar clientes"
        IMPORT_INVOICES = "import_invoices", "Importar facturas históricas"
        EXPORT_ZIP = "export_zip", "Exportar para la gestoría"
        RESUBMIT = "resubmit", "Reenviar registros a la AEAT"

    class Status(models.TextChoices):
        QUEUED = "queued", "En cola"
        RUNNING = "running", "En curso"
        DONE = "done", "Terminado"
        FAILED = "failed", "Fallido"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all", "Todo o nada: si alguna fila falla, no se importa nada"
        VALID_ONLY = "valid", "Solo las filas válidas: se importan y se informa de las demás"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    # None for a job over several taxpayers (a re-submission from the desk).
    taxpayer = models.ForeignKey(
        Taxpayer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=5, choices=Mode.choices, blank=True)
    # What the job was asked: the upload's name, the export's year and quarter, or the
    # fiscal invoices to send again with their taxpayers' names.
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # The outcome: counts, the detected encoding/delimiter, and every rejected row as
    # {"row": n, "field": column, "message": text}.
    report = models.JSONField(default=dict, blank=True)
    # Paths relative to MEDIA_ROOT: the uploaded CSV and the ZIP built (exports/...).
    source_path = models.CharField(max_length=200, blank=True)
    result_path = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="job_account_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def is_import(self) -> bool:
        return self.kind in (self.Kind.IMPORT_CLIENTS, self.Kind.IMPORT_INVOICES)

    @property
    def is_resubmit(self) -> bool:
        return self.kind == self.Kind.RESUBMIT

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.done * 100 // self.total)

    @property
    def errors(self) -> list[dict]:
        return self.report.get("errors", []) if isinstance(self.report, dict) else []

    @property
    def downloadable(self) -> bool:
        return self.status == self.Status.DONE and bool(self.result_path)
