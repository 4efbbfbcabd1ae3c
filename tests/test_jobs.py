"""Background jobs (factu.jobs): each kind names its task, a job is sent after its commit, and
a job whose send failed (the broker was down) is sent again by the beat task, once it is stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from desk import tasks as desk_tasks
from factu import jobs
from factu.models import Job
from transfers import services
from transfers import tasks as transfer_tasks


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def sent(monkeypatch):
    """What reaches the broker, as (task name, args, options)."""
    calls: list[tuple[str, tuple, dict]] = []
    for task in (transfer_tasks.import_clients, transfer_tasks.export_zip, desk_tasks.resubmit):

        def record(args, name=task.name, **options):
            calls.append((name, tuple(args), options))

        monkeypatch.setattr(task, "apply_async", record)
    return calls


def _job(taxpayer, kind, status=Job.Status.QUEUED, age=timedelta(0)) -> Job:
    job = Job.objects.create(account=taxpayer.account, taxpayer=taxpayer, kind=kind, status=status)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - age)
    return job


def test_every_kind_names_its_task():
    assert {kind: jobs.kind_spec(kind).task for kind in Job.Kind.values} == {
        "import_clients": "transfers.import_clients",
        "import_invoices": "transfers.import_invoices",
        "export_zip": "transfers.export_zip",
        "export_quarter": "transfers.export_quarter",
        "resubmit": "desk.resubmit",
    }


def test_a_broker_failure_leaves_the_job_queued_and_the_request_answered(
    taxpayer, owner, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(transfer_tasks.import_clients, "apply_async", broker_down)
    upload = SimpleUploadedFile("c.csv", b"nombre;nif\nAcme;A28045631\n")
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_import(
            taxpayer.account, taxpayer, owner, Job.Kind.IMPORT_CLIENTS, upload, Job.Mode.VALID_ONLY
        )
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
    assert "broker down" in caplog.text


def test_the_beat_task_sends_again_only_the_jobs_queued_too_long(
    taxpayer, sent, django_capture_on_commit_callbacks
):
    stale = jobs.REQUEUE_AFTER + timedelta(seconds=1)
    lost_import = _job(taxpayer, Job.Kind.IMPORT_CLIENTS, age=stale)
    lost_resubmit = _job(taxpayer, Job.Kind.RESUBMIT, age=stale)
    _job(taxpayer, Job.Kind.EXPORT_ZIP, age=timedelta(minutes=1))  # its message may be on its way
    _job(taxpayer, Job.Kind.EXPORT_ZIP, status=Job.Status.RUNNING, age=stale)
    _job(taxpayer, Job.Kind.EXPORT_ZIP, status=Job.Status.DONE, age=stale)

    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.requeue_stale() == 2
    expires = jobs.REQUEUE_AFTER.total_seconds()
    assert sorted(sent) == sorted(
        [
            ("transfers.import_clients", (str(lost_import.pk),), {"expires": expires}),
            ("desk.resubmit", (str(lost_resubmit.pk),), {"expires": expires}),
        ]
    )


def test_a_job_sent_twice_runs_once(taxpayer, owner):
    upload = SimpleUploadedFile("c.csv", b"nombre;nif\nAcme;A28045631\n")
    job = services.start_import(
        taxpayer.account, taxpayer, owner, Job.Kind.IMPORT_CLIENTS, upload, Job.Mode.VALID_ONLY
    )
    assert transfer_tasks.import_clients(str(job.pk)) == Job.Status.DONE
    assert transfer_tasks.import_clients(str(job.pk)) == "skipped"


def test_the_requeue_task_is_on_beat(settings):
    assert {
        "task": "factu.requeue_jobs",
        "schedule": 300.0,
    } in settings.CELERY_BEAT_SCHEDULE.values()


def test_a_web_process_knows_the_task_of_every_kind_of_job():
    """Pages send a job's task by name from the web process: a task that process never
    registered is not sent at all (logged), and the job waits for the beat's requeue."""
    import subprocess
    import sys

    from tests.processes import ROOT, child_env

    code = (
        "import django; django.setup(); from celery import current_app; "
        "from factu import jobs; from factu.models import Job; "
        "print([jobs.kind_spec(k).task for k in Job.Kind.values "
        "if jobs.kind_spec(k).task not in current_app.tasks])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env(DJANGO_SETTINGS_MODULE="factu.settings"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
