"""The background ``Job`` moved from ``transfers`` to ``factu`` (factu/0005, transfers/0003):
rows written before the move are the same rows after it, on SQLite and on PostgreSQL, and the
move reverses without losing them either."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from factu.models import Job

BEFORE = [("factu", "0004_taxpayer_no_verifactu"), ("transfers", "0002_resubmit")]
AFTER = [("factu", "0005_job"), ("transfers", "0003_job_moved_to_factu")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_a_job_written_in_transfers_is_read_from_factu_after_the_move(taxpayer, owner):
    job_id = uuid.uuid4()
    try:
        old_apps = _migrate(BEFORE)
        old_job = old_apps.get_model("transfers", "Job")
        old_job.objects.create(
            id=job_id,
            account_id=taxpayer.account_id,
            taxpayer_id=taxpayer.pk,
            user_id=owner.pk,
            kind="import_invoices",
            status="done",
            mode="valid",
            params={"filename": "facturas.csv"},
            total=7,
            done=7,
            report={"imported": 6, "errors": [{"row": 3, "field": "nif", "message": "x"}]},
            source_path=f"imports/{job_id}.csv",
        )
        _migrate(AFTER)
        assert "transfers_job" not in connection.introspection.table_names()
    finally:
        _to_latest()
    job = Job.objects.get(pk=job_id)
    assert (job.account, job.taxpayer, job.user) == (taxpayer.account, taxpayer, owner)
    assert (job.kind, job.status, job.mode, job.total, job.done) == (
        Job.Kind.IMPORT_INVOICES,
        Job.Status.DONE,
        Job.Mode.VALID_ONLY,
        7,
        7,
    )
    assert job.params == {"filename": "facturas.csv"}
    assert job.errors == [{"row": 3, "field": "nif", "message": "x"}]
    assert job.source_path == f"imports/{job_id}.csv"


@pytest.mark.django_db(transaction=True)
def test_moving_the_job_back_keeps_its_rows(taxpayer):
    job = Job.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, kind=Job.Kind.EXPORT_ZIP, params={"year": 2025}
    )
    try:
        old_apps = _migrate(BEFORE)
        old_job = old_apps.get_model("transfers", "Job")
        assert list(old_job.objects.values_list("pk", "kind", "params")) == [
            (job.pk, "export_zip", {"year": 2025})
        ]
    finally:
        _to_latest()
    assert Job.objects.get().pk == job.pk
