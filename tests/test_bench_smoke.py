"""The bench scripts must not rot: the cheapest one runs with tiny counts, and its figures
come out in the shape ``bench/run.py`` collects. Timing is never asserted here."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from tests.processes import ROOT

ROW_KEYS = {"benchmark", "metric", "median", "unit", "runs", "target", "met"}


@pytest.fixture
def bench(monkeypatch):
    """``bench/common.py`` and ``bench/run.py``, importable for this test only."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("common"), importlib.import_module("run")


def test_a_row_is_the_median_of_its_runs_with_its_target(bench):
    common, _ = bench
    row = common.row("x", "speed", [3.0, 1.0, 2.0], "ops/s", "≥ 2 ops/s", common.at_least(2, 2))
    assert set(row) == ROW_KEYS | {"cores"}
    assert (row["median"], row["runs"], row["met"]) == (2.0, [3.0, 1.0, 2.0], True)
    assert common.at_most(None, 1) is None


def test_the_table_shows_every_row_and_marks_a_missed_target(bench):
    common, run = bench
    rows = [
        common.row("a", "fast", [10.0], "ops/s", "≥ 5", True),
        common.row("b", "slow", [1.0, 2.0], "ms", "≤ 1 ms", False),
    ]
    lines = run.table(rows).splitlines()
    assert lines[0].split()[:3] == ["benchmark", "metric", "median"]
    assert len(lines) == 4
    assert lines[3].split()[-1] == "NO" and lines[2].split()[-1] == "yes"


@pytest.mark.slow
def test_the_record_pipeline_bench_reports_its_figures_as_bench_json(tmp_path):
    marker = "BENCH-JSON "
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_record_pipeline.py"),
            "--records",
            "50",
            "--runs",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(marker)
    doc = json.loads(last[len(marker) :])
    assert doc == json.loads((tmp_path / "record_pipeline.json").read_text())
    assert doc["name"] == "record_pipeline" and doc["cores"] >= 1
    (row,) = doc["rows"]
    assert set(row) >= ROW_KEYS
    assert row["unit"] == "records/s" and len(row["runs"]) == 2
    assert row["median"] == pytest.approx(sum(row["runs"]) / 2, abs=0.01)
    assert isinstance(row["met"], bool)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_reads_bench_seed_fits_the_current_schema(bench, account, taxpayer, series):
    """``bench_reads.py`` writes its million invoices with one hand-written INSERT: a column
    a migration adds without a database default must be named there too, or the bench
    breaks on its next fresh database."""
    from django.db import connection

    from invoicing.models import Invoice

    reads = importlib.import_module("bench_reads")
    params = {
        "account": account.pk,
        "taxpayer": taxpayer.pk,
        "series": series.pk,
        "first": reads.FIRST_DAY,
        "days": reads.DAYS,
        "n": 30,
        "surnames": reads.SURNAMES,
        "cities": reads.CITIES,
    }
    with connection.cursor() as cursor:
        cursor.execute(reads.SEED_SQL, params)
    seeded = list(Invoice.objects.filter(account=account).order_by("sequence"))
    assert [i.sequence for i in seeded] == list(range(1, 31))
    assert all(i.is_issued and i.total_cents == i.subtotal_cents + i.iva_cents for i in seeded)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_gestoria_bench_account_keeps_the_apps_invariants_and_its_pages_render(bench, client):
    """``bench/gestoria.py`` writes by hand-written SQL what the app writes through its
    services: the counts table, the chain rows, the series counters and the numbers must
    come out as the app keeps them, and the pages the bench measures must render."""
    from django.db.models import Count, Max

    from factu.models import User
    from invoicing.models import Invoice, InvoiceCount, SeriesCounter
    from verifactu.models import BillingRecord, Chain

    gestoria = importlib.import_module("gestoria")
    account = gestoria._seed("bench-gestoria-test", 3, 100, analyse=False)
    assert InvoiceCount.objects.get(account_id=account.pk).invoices == 300
    for chain in Chain.objects.filter(account=account):
        records = BillingRecord.objects.filter(chain=chain)
        head = records.order_by("-position").first()
        assert (chain.length, chain.head_id, chain.last_huella) == (
            records.count(),
            head.pk,
            head.huella,
        )
        positions = sorted(records.values_list("position", flat=True))
        assert positions == list(range(1, chain.length + 1))
    for counter in SeriesCounter.objects.filter(series__account_id=account.pk):
        taken = Invoice.objects.filter(series=counter.series, year=counter.year)
        assert counter.next_number == taken.aggregate(m=Max("sequence"))["m"] + 1
        assert taken.count() == counter.next_number - 1
    twins = Invoice.objects.values("taxpayer", "number").annotate(n=Count("id")).filter(n__gt=1)
    assert not twins.filter(taxpayer__account=account).exists()
    assert not BillingRecord.objects.filter(
        chain__account=account, status__in=["queued", "sending"]
    ).exists()

    busy = account.taxpayers.order_by("name", "id").first()
    year, quarter = gestoria.closed_quarter(date.today())
    client.force_login(User.objects.get(email="bench-gestoria-test@bench.example"))
    rectified = Invoice.objects.filter(taxpayer=busy, rectifications__isnull=False).first()
    slug = account.slug
    for path in (
        f"/c/{slug}/mesa/",
        f"/c/{slug}/mesa/resumen/",
        f"/c/{slug}/facturas/",
        f"/c/{slug}/gastos/impuestos/?year={year}&quarter={quarter}",
        f"/c/{slug}/facturas/{rectified.pk}/",
    ):
        assert client.get(path).status_code == 200, path
