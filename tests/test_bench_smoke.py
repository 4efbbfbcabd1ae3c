"""The bench scripts must not rot: the cheapest one runs with tiny counts, and its figures
come out in the shape ``bench/run.py`` collects. Timing is never asserted here."""

from __future__ import annotations

import importlib
import json
import os
import re
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


def test_the_sdk_check_ignores_prefixes_and_sees_a_different_record_or_chain(bench):
    """The check of verifactu-sdk's output against ours: the same record under another
    namespace prefix (as the sdk writes it, ``sum1:``) is the same; one changed amount, or
    another chain head, is not."""
    pipeline = importlib.import_module("bench_record_pipeline")
    rows = pipeline.data.invoices(3)
    _, head = pipeline.run(rows)
    first = pipeline.alta_data(rows[0], None)
    ours = pipeline.build_alta(
        pipeline.alta_data(rows[1], pipeline.chained(pipeline.build_alta(first), first))
    ).xml
    prefixed = re.sub(r"<(/?)(\w+)", r"<\1sum1:\2", ours).replace("xmlns=", "xmlns:sum1=", 1)
    assert prefixed != ours and "<sum1:CuotaTotal>" in prefixed

    assert pipeline.same_output(rows, head, {"record_2": prefixed, "head": head})[0] is True
    cuota = re.search(r"<sum1:CuotaTotal>([^<]+)<", prefixed).group(1)
    changed = prefixed.replace(f"<sum1:CuotaTotal>{cuota}<", "<sum1:CuotaTotal>0.01<")
    ok, how = pipeline.same_output(rows, head, {"record_2": changed, "head": head})
    assert not ok and "record 2 DIFFERS" in how
    ok, how = pipeline.same_output(rows, head, {"record_2": prefixed, "head": "0" * 64})
    assert not ok and "chain head after 3 records DIFFERS" in how
    assert pipeline.same_output(rows, head, {"record_2": None, "head": head})[0] is False


def run_record_pipeline(tmp_path, *args: str, **env: str) -> dict:
    """``bench_record_pipeline.py`` with tiny counts; its BENCH-JSON document."""
    marker = "BENCH-JSON "
    environ = {k: v for k, v in os.environ.items() if k != "BENCH_SKIP_SDK"}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_record_pipeline.py"),
            "--records",
            "50",
            "--runs",
            "2",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**environ, "BENCH_RESULTS_DIR": str(tmp_path), **env},
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(marker)
    doc = json.loads(last[len(marker) :])
    assert doc == json.loads((tmp_path / "record_pipeline.json").read_text())
    return doc


def assert_sdk_not_measured(rows: list[dict], reason: str) -> None:
    _, sdk, ratio, same = rows
    assert sdk["metric"].startswith("verifactu-sdk 0.1.0") and reason in sdk["metric"]
    assert reason in sdk["reason"]
    for row in (sdk, ratio, same):
        assert (row["runs"], row["median"], row["met"]) == ([], None, None)
    assert ratio["unit"] == "×" and ratio["target"] == "≥ 3 ×"


@pytest.mark.slow
def test_the_record_pipeline_bench_reports_its_figures_as_bench_json(tmp_path):
    """The smoke test never builds verifactu-sdk's venv (it would download from PyPI):
    ``--skip-sdk`` leaves its rows in place, not measured, with the reason."""
    doc = run_record_pipeline(tmp_path, "--skip-sdk")
    assert doc["name"] == "record_pipeline" and doc["cores"] >= 1
    ours = doc["rows"][0]
    assert set(ours) >= ROW_KEYS
    assert ours["unit"] == "records/s" and len(ours["runs"]) == 2
    assert ours["median"] == pytest.approx(sum(ours["runs"]) / 2, abs=0.01)
    assert isinstance(ours["met"], bool)
    assert all(set(row) >= ROW_KEYS for row in doc["rows"])
    assert_sdk_not_measured(doc["rows"], "skipped (--skip-sdk)")


@pytest.mark.slow
def test_the_record_pipeline_bench_reports_the_sdk_unmeasured_when_its_venv_cannot_be_built(
    tmp_path,
):
    """No package index (as offline): the sdk's venv cannot be built, and the bench still
    reports its own figures and exits 0. pip is pointed at nothing, so nothing downloads."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    doc = run_record_pipeline(
        tmp_path,
        BENCH_DATA_DIR=str(tmp_path / "data"),
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
        PIP_FIND_LINKS=str(empty),
    )
    assert len(doc["rows"][0]["runs"]) == 2
    assert_sdk_not_measured(doc["rows"], "pip install verifactu-sdk==0.1.0 failed")


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


def test_the_load_client_gives_each_connection_its_own_token_and_body(tmp_path):
    """``load.py --clients``: connection *i* always sends pair *i* (the many-chains run posts
    each client's invoices as its own tenant), each body numbered anew."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            seen.append((self.headers["Authorization"], body))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([["tok-a", '{"t": "a", "n": "@@N@@"}'], ["tok-b", '{"t": "b"}']]))
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "load.py"),
                f"http://127.0.0.1:{server.server_port}/x",
                "--method",
                "POST",
                "--clients",
                str(clients),
                "--concurrency",
                "2",
                "--requests",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        server.shutdown()
    assert json.loads(done.stdout)["ok"] == 10
    by_token = {token: [json.loads(b) for t, b in seen if t == token] for token, _ in seen}
    assert set(by_token) == {"Bearer tok-a", "Bearer tok-b"}
    assert all(b["t"] == "a" for b in by_token["Bearer tok-a"])
    assert all(b == {"t": "b"} for b in by_token["Bearer tok-b"])
    numbers = [b["n"] for b in by_token["Bearer tok-a"]]
    assert len(set(numbers)) == len(numbers)


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
    from verifactu.counts import fiscal_invoice_counts
    from verifactu.models import FiscalInvoice

    taxpayer_ids = list(account.taxpayers.values_list("pk", flat=True))
    assert fiscal_invoice_counts(taxpayer_ids) == {
        t: FiscalInvoice.objects.filter(taxpayer_id=t).count() for t in taxpayer_ids
    }
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
