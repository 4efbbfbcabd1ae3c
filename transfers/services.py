"""Starting jobs: the row is written and its task enqueued once the transaction commits
(:func:`factu.jobs.enqueue`, by the task name ``transfers.apps`` registers for the kind)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from factu import jobs
from factu.models import Account, Job, Taxpayer, User
from transfers.imports import IMPORT_DIR

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def start_import(
    account: Account,
    taxpayer: Taxpayer,
    user: User | None,
    kind: str,
    upload: UploadedFile,
    mode: str,
) -> Job:
    """Store the upload privately and queue its import."""
    if kind not in (Job.Kind.IMPORT_CLIENTS, Job.Kind.IMPORT_INVOICES):
        raise ValueError(f"Not an import: {kind}")
    if taxpayer.account_id != account.pk:
        raise ValueError("That taxpayer belongs to another account.")
    if mode not in Job.Mode.values:
        raise ValidationError({"mode": ["Elija «todo o nada» o «solo las filas válidas»."]})
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [f"El archivo ocupa más de {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."]}
        )
    job_id = uuid.uuid4()
    relative = f"{IMPORT_DIR}/{job_id}.csv"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    with transaction.atomic():
        job = Job.objects.create(
            id=job_id,
            account=account,
            taxpayer=taxpayer,
            user=user,
            kind=kind,
            mode=mode,
            params={"filename": Path(upload.name or "archivo.csv").name[:200]},
            source_path=relative,
        )
        jobs.enqueue(job)
    return job


def start_export(
    account: Account,
    taxpayer: Taxpayer,
    user: User | None,
    year: int,
    quarter: int,
    *,
    einvoices: bool = False,
) -> Job:
    """Queue the ZIP of one taxpayer's quarter (:mod:`transfers.exports`); ``einvoices``: with
    each invoice's stored e-invoices."""
    if taxpayer.account_id != account.pk:
        raise ValueError("That taxpayer belongs to another account.")
    if quarter not in (1, 2, 3, 4):
        raise ValidationError({"quarter": ["Trimestre 1 a 4."]})
    with transaction.atomic():
        job = Job.objects.create(
            account=account,
            taxpayer=taxpayer,
            user=user,
            kind=Job.Kind.EXPORT_ZIP,
            params={"year": year, "quarter": quarter, "einvoices": einvoices},
        )
        jobs.enqueue(job)
    return job


def start_quarter_close(
    account: Account,
    user: User | None,
    year: int,
    quarter: int,
    *,
    pdfs: bool = False,
    einvoices: bool = False,
) -> Job:
    """Queue the quarter close of every taxpayer of ``account`` (:mod:`transfers.quarter_close`);
    ``pdfs`` and ``einvoices``: with each invoice's PDF, its stored e-invoices."""
    if quarter not in (1, 2, 3, 4):
        raise ValidationError({"quarter": ["Trimestre 1 a 4."]})
    with transaction.atomic():
        job = Job.objects.create(
            account=account,
            user=user,
            kind=Job.Kind.EXPORT_QUARTER,
            params={"year": year, "quarter": quarter, "pdfs": pdfs, "einvoices": einvoices},
        )
        jobs.enqueue(job)
    return job


def jobs_of(account: Account):
    return Job.objects.filter(account=account).select_related("taxpayer", "user")
