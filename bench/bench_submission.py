"""Benchmark: 10,000 queued records flushed to the AEAT simulator, end to end.

Set-up (not timed): a fresh chain of 10,000 real queued RegistroAlta records
(``seed_records.py``), the simulator in its own process (mutual TLS with test certificates,
``TiempoEsperaEnvio`` 0) and a Celery worker (concurrency 2, Redis broker) in another.
Timed: from enqueuing one flush of the chain to every record accepted by the simulator.
Reports records/s, the number of SOAP calls (``Submission`` rows: must be 10, 1,000 records
per call) and the Celery worker processes' peak RSS.

Target: ≥ 500 records/s.

    .venv/bin/python bench/bench_submission.py [--quick] [--records N] [--runs R]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import seed_records  # noqa: E402

NAME = "submission"


def start_simulator(pki) -> tuple[subprocess.Popen, str]:
    port = common.free_port()
    log = open(common.DATA_DIR / "simulator.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verifactu.simulator",
            "--port",
            str(port),
            "--wait-seconds",
            "0",
            "--tls-cert",
            str(pki.server_cert),
            "--tls-key",
            str(pki.server_key),
            "--client-ca",
            str(pki.ca_cert),
        ],
        cwd=common.ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while "listening" not in (common.DATA_DIR / "simulator.log").read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the simulator did not start; see simulator.log")
        time.sleep(0.1)
    return proc, f"https://127.0.0.1:{port}/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP"


def start_worker(env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log_path = common.DATA_DIR / "worker.log"
    return common.start_celery_worker(env, 2, log_path), log_path


def start_aeat_and_worker(url: str) -> tuple[subprocess.Popen, subprocess.Popen, Path]:
    """The simulator (test certificates, wait 0) and a Celery worker that sends to it."""
    from verifactu.simulator.testcerts import generate_test_certs

    pki = generate_test_certs(common.DATA_DIR / "pki")
    simulator, endpoint = start_simulator(pki)
    env = common.bench_env(
        url,
        AEAT_ENDPOINT=endpoint,
        AEAT_CERT_FILE=str(pki.client_p12),
        AEAT_CERT_PASSWORD=pki.client_p12_password,
        AEAT_CA_FILE=str(pki.ca_cert),
        VERIFACTU_DEFAULT_WAIT="0",
        LOG_LEVEL="INFO",
    )
    try:
        worker, worker_log = start_worker(env)
    except BaseException:
        common.stop(simulator)
        raise
    return simulator, worker, worker_log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 records, 1 run")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.records, args.runs = 2_000, 1

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    from django.db.models import Count
    from django.utils import timezone

    from verifactu.models import BillingRecord, RecordStatus, Submission
    from verifactu.pacing import schedule_flush

    simulator, worker, worker_log = start_aeat_and_worker(url)
    rates, calls = [], []
    try:
        for run in range(args.runs):
            tenant = common.make_tenant(f"submit{run}")
            started = time.perf_counter()
            seed_records.seed_chain(
                tenant,
                args.records,
                status=RecordStatus.QUEUED,
                prefix=f"S{run}-",
                invoice_date=timezone.localdate(),
            )
            print(
                f"run {run + 1}: {args.records:,} queued records set up in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            records = BillingRecord.objects.filter(chain__account=tenant.account)
            chain_id = records.values_list("chain_id", flat=True).first()
            t0 = time.perf_counter()
            schedule_flush(chain_id, countdown=0)
            deadline = t0 + max(120.0, args.records / 20)
            while records.exclude(status=RecordStatus.ACCEPTED).exists():
                if time.perf_counter() > deadline or worker.poll() is not None:
                    states = dict(records.values_list("status").annotate(n=Count("id")))
                    raise SystemExit(f"not all accepted in time: {states}; see {worker_log}")
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            soap = Submission.objects.filter(chain_id=chain_id).count()
            rates.append(args.records / elapsed)
            calls.append(soap)
            print(
                f"run {run + 1}: {args.records:,} accepted in {elapsed:.2f} s = "
                f"{args.records / elapsed:,.0f} records/s, {soap} SOAP calls",
                flush=True,
            )
        pool = common.children(worker.pid)
        rss = [common.peak_rss_mib(pid) for pid in pool]
        main_rss = common.peak_rss_mib(worker.pid)
    finally:
        common.stop(worker)
        common.stop(simulator)

    expected_calls = -(-args.records // 1000)
    rows = [
        common.row(
            NAME,
            f"{args.records:,} queued records to the simulator",
            rates,
            "records/s",
            "≥ 500 records/s",
            common.at_least(sorted(rates)[len(rates) // 2], 500),
        ),
        common.row(
            NAME,
            "SOAP calls per flush",
            [float(c) for c in calls],
            "calls",
            f"= {expected_calls}",
            all(c == expected_calls for c in calls),
        ),
        common.row(
            "memory",
            "Celery worker peak RSS (during submission)",
            [r for r in rss if r is not None],
            "MiB",
            pool_processes=len(rss),
            main_process_mib=main_rss,
        ),
    ]
    common.report(NAME, rows, quick=args.quick, records=args.records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
