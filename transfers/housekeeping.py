"""How long uploaded CSVs and built ZIPs are kept, and the sweep that removes them.

An import's CSV is needed only while its job runs (the report keeps every rejected row), and
an export's ZIP only until it is downloaded; both hold a taxpayer's data, so they are not kept
for ever. ``TRANSFERS_IMPORT_RETENTION_HOURS`` (24) after an import finishes its CSV is
deleted; ``TRANSFERS_EXPORT_RETENTION_HOURS`` (168, a week) after an export finishes its ZIP is.
The job row stays, with its report, and says the file has expired. Files under ``imports/``
and ``exports/`` that no job names (a job whose transaction rolled back after the upload was
written) go once they are older than the longer retention. The beat task
``transfers.purge_files`` runs :func:`purge_files` hourly.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from factu.models import Job
from transfers import quarter_close
from transfers.exports import EXPORT_DIR
from transfers.imports import IMPORT_DIR


def import_retention() -> timedelta:
    return timedelta(hours=settings.TRANSFERS_IMPORT_RETENTION_HOURS)


def export_retention() -> timedelta:
    return timedelta(hours=settings.TRANSFERS_EXPORT_RETENTION_HOURS)


def _delete(relative: str) -> bool:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def purge_files(now: datetime | None = None) -> dict[str, int]:
    """Delete the CSVs and ZIPs past their retention, and fail the quarter closes that stalled;
    how many of each (and orphans)."""
    now = now or timezone.now()
    counts = {"imports": 0, "exports": 0, "orphans": 0}
    finished = (Job.Status.DONE, Job.Status.FAILED)
    old_imports = Job.objects.filter(
        kind__in=(Job.Kind.IMPORT_CLIENTS, Job.Kind.IMPORT_INVOICES),
        status__in=finished,
        finished_at__lt=now - import_retention(),
    ).exclude(source_path="")
    for job in old_imports.only("pk", "source_path"):
        _delete(job.source_path)
        Job.objects.filter(pk=job.pk).update(source_path="")
        counts["imports"] += 1
    old_exports = Job.objects.filter(
        kind__in=(Job.Kind.EXPORT_ZIP, Job.Kind.EXPORT_QUARTER),
        status__in=finished,
        finished_at__lt=now - export_retention(),
    ).exclude(result_path="")
    for job in old_exports.only("pk", "result_path"):
        _delete(job.result_path)
        Job.objects.filter(pk=job.pk).update(result_path="")
        counts["exports"] += 1
    counts["orphans"] = _purge_orphans(now - max(import_retention(), export_retention()))
    counts["stalled"] = quarter_close.fail_stalled(now)
    return counts


def _purge_orphans(before: datetime) -> int:
    root = Path(settings.MEDIA_ROOT)
    named = set(Job.objects.exclude(source_path="").values_list("source_path", flat=True))
    named |= set(Job.objects.exclude(result_path="").values_list("result_path", flat=True))
    deleted = 0
    for folder in (IMPORT_DIR, EXPORT_DIR):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            relative = f"{folder}/{path.name}"
            if relative in named:
                continue
            modified = datetime.fromtimestamp(path.stat().st_mtime, tz=before.tzinfo)
            if modified >= before:
                continue
            if path.is_dir():  # a quarter close's PDF parts, left by a worker that died
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            deleted += 1
    return deleted
