"""Housekeeping on a schedule: idempotency records, import CSVs and export ZIPs expire after
their documented retention, run by beat tasks; what is recent stays."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from factu.models import Job

pytestmark = pytest.mark.django_db


def test_every_housekeeping_task_is_on_the_beat_schedule_and_registered():
    from factu.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    for name in ("api.purge_idempotency_records", "transfers.purge_files"):
        assert name in scheduled and name in app.tasks


def test_the_task_deletes_idempotency_records_older_than_24_hours(account, owner):
    from api import tasks
    from api.models import IdempotencyRecord
    from api.services import create_token

    token = create_token(account, owner, "ERP")[0]
    now = timezone.now()
    for key, age in [("old", timedelta(hours=25)), ("recent", timedelta(hours=23))]:
        IdempotencyRecord.objects.create(
            token=token, key=key, body_hash="x", status=201, created_at=now - age
        )
    assert tasks.purge_idempotency_records.apply().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _job(taxpayer, kind, *, finished_ago, status=Job.Status.DONE, media, name):
    folder = "exports" if kind == Job.Kind.EXPORT_ZIP else "imports"
    relative = f"{folder}/{name}"
    (media / folder).mkdir(exist_ok=True)
    (media / relative).write_bytes(b"data")
    paths = {"result_path": relative} if kind == Job.Kind.EXPORT_ZIP else {"source_path": relative}
    finished = None if finished_ago is None else timezone.now() - finished_ago
    return Job.objects.create(
        account=taxpayer.account,
        taxpayer=taxpayer,
        kind=kind,
        status=status,
        finished_at=finished,
        **paths,
    )


def test_the_task_deletes_import_csvs_and_export_zips_past_their_retention(taxpayer, media):
    from transfers import tasks

    old_import = _job(
        taxpayer,
        Job.Kind.IMPORT_CLIENTS,
        finished_ago=timedelta(hours=25),
        media=media,
        name="a.csv",
    )
    failed_import = _job(
        taxpayer,
        Job.Kind.IMPORT_INVOICES,
        finished_ago=timedelta(days=3),
        status=Job.Status.FAILED,
        media=media,
        name="b.csv",
    )
    recent_import = _job(
        taxpayer,
        Job.Kind.IMPORT_CLIENTS,
        finished_ago=timedelta(hours=2),
        media=media,
        name="c.csv",
    )
    running_import = _job(
        taxpayer,
        Job.Kind.IMPORT_CLIENTS,
        finished_ago=None,
        status=Job.Status.RUNNING,
        media=media,
        name="d.csv",
    )
    old_export = _job(
        taxpayer, Job.Kind.EXPORT_ZIP, finished_ago=timedelta(days=8), media=media, name="e.zip"
    )
    recent_export = _job(
        taxpayer, Job.Kind.EXPORT_ZIP, finished_ago=timedelta(days=6), media=media, name="f.zip"
    )
    counts = tasks.purge_files.apply().get()
    assert counts == {"imports": 2, "exports": 1, "orphans": 0, "stalled": 0}
    assert sorted(p.name for p in media.rglob("*.*")) == ["c.csv", "d.csv", "f.zip"]
    for job in (old_import, failed_import, old_export):
        job.refresh_from_db()
        assert job.source_path == "" and job.result_path == ""
    for job in (recent_import, running_import, recent_export):
        job.refresh_from_db()
        assert job.source_path or job.result_path


def test_retention_comes_from_settings(taxpayer, media, settings):
    from transfers.housekeeping import purge_files

    settings.TRANSFERS_IMPORT_RETENTION_HOURS = 1
    settings.TRANSFERS_EXPORT_RETENTION_HOURS = 1
    _job(
        taxpayer,
        Job.Kind.IMPORT_CLIENTS,
        finished_ago=timedelta(hours=2),
        media=media,
        name="a.csv",
    )
    _job(taxpayer, Job.Kind.EXPORT_ZIP, finished_ago=timedelta(hours=2), media=media, name="b.zip")
    assert purge_files() == {"imports": 1, "exports": 1, "orphans": 0, "stalled": 0}


def test_files_no_job_names_go_once_old(taxpayer, media):
    from transfers.housekeeping import purge_files

    (media / "imports").mkdir()
    old, new = media / "imports" / "lost.csv", media / "imports" / "fresh.csv"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    ancient = (timezone.now() - timedelta(days=30)).timestamp()
    os.utime(old, (ancient, ancient))
    assert purge_files()["orphans"] == 1
    assert not old.exists() and new.exists()


def test_an_expired_export_says_so_and_is_no_longer_downloadable(
    login, owner, account, taxpayer, media
):
    from transfers.housekeeping import purge_files

    job = _job(
        taxpayer, Job.Kind.EXPORT_ZIP, finished_ago=timedelta(days=8), media=media, name="e.zip"
    )
    job.report = {"filename": "gestoria.zip"}
    job.save()
    client = login(owner)
    base = f"/c/{account.slug}/datos/trabajos/{job.pk}/"
    purge_files()
    assert client.get(base + "descargar/").status_code == 404
    assert "El ZIP ha caducado" in client.get(base).content.decode()
