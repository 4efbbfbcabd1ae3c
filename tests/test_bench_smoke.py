"""The bench scripts must not rot: the cheapest one runs with tiny counts, and its figures
come out in the shape ``bench/run.py`` collects. Timing is never asserted here."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

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
