"""Benchmark: the quarter close of the gestoría bench account (every taxpayer, one job).

Set-up (not timed): the gestoría account of ``bench/gestoria.py`` (``ensure_gestoria``: 300
taxpayers, ``--quick`` 30), and a real Celery worker (prefork, concurrency = the machine's
cores, Redis broker).
Timed, each from starting the job (``transfers.services.start_quarter_close``, as the page
does) to the job done:

* the books and billing-record XML of every taxpayer (no PDFs): seconds, target ≤ 60 s;
* with the invoice PDFs, rendered across the worker pool: PDFs/s, and how many worker
  processes did the work (CPU time of each pool process over the run: a process that did at
  least half of an equal share of the pool's CPU time counts as a core used). The PDF runs
  close the quarter of the ``--quick`` gestoría account (30 taxpayers, ~1,800 invoices) at
  every size: the full account's quarter is ~150,000 PDFs, over half an hour of this
  machine for the same rate.

The pool's CPU seconds of each run are reported beside the wall time: on a machine shared
with other work they say what the job cost when the wall time cannot.

Also the worker pool processes' peak RSS (``VmHWM``) over every run: target ≤ 300 MiB.

    .venv/bin/python bench/bench_export.py [--quick] [--runs R] [--pdf-runs R]
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "export"
BOOKS_TARGET_S = 60.0
RSS_TARGET_MIB = 300.0


def run_job(account_id, user, year: int, quarter: int, pdfs: bool, pool: list[int]) -> dict:
    """Start the quarter close, wait for it; its seconds, size and the pool's CPU seconds."""
    from factu.models import Account, Job
    from transfers import services

    account = Account.objects.get(pk=account_id)
    before = {pid: common.cpu_seconds(pid) for pid in pool}
    started = time.perf_counter()
    job = services.start_quarter_close(account, user, year, quarter, pdfs=pdfs)
    deadline = started + 3600
    while True:
        job.refresh_from_db()
        if job.is_finished:
            break
        if time.perf_counter() > deadline:
            raise SystemExit(f"the quarter close did not finish in time: {job.done}/{job.total}")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if job.status != Job.Status.DONE:
        raise SystemExit(f"the quarter close failed: {job.report.get('message')}")
    cpu = {pid: common.cpu_seconds(pid) - before[pid] for pid in pool}
    from django.conf import settings

    with zipfile.ZipFile(Path(settings.MEDIA_ROOT) / job.result_path) as archive:
        pdf_count = sum(1 for name in archive.namelist() if name.endswith(".pdf"))
    return {
        "seconds": elapsed,
        "invoices": job.report["invoices"],
        "records": job.report["records"],
        "taxpayers": job.report["taxpayers"],
        "pdfs": pdf_count,
        "size_mib": job.report["size"] / 2**20,
        "cpu": cpu,
    }


def small_user(gestoria):
    from factu.models import User

    return User.objects.get(email=gestoria.email)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 taxpayers, 1 run of each")
    parser.add_argument("--runs", type=int, default=3, help="runs of the books and XML")
    parser.add_argument("--pdf-runs", type=int, default=1, help="runs with the PDFs")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.pdf_runs = 1, 1

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    from gestoria import ensure_gestoria

    gestoria = ensure_gestoria(args.quick)
    user = small_user(gestoria)
    cores = common.cores()
    worker = common.start_celery_worker(
        common.bench_env(url), cores, common.DATA_DIR / "export-worker.log"
    )
    books, with_pdfs = [], []
    try:
        pool = common.children(worker.pid)
        run = dict(account_id=gestoria.account_id, user=user, year=gestoria.year)
        for n in range(args.runs):
            result = run_job(**run, quarter=gestoria.quarter, pdfs=False, pool=pool)
            books.append(result)
            print(
                f"books run {n + 1}: {result['taxpayers']} taxpayers, "
                f"{result['invoices']:,} invoices, {result['records']:,} records in "
                f"{result['seconds']:.1f} s ({result['size_mib']:.1f} MiB); CPU s per pool "
                f"process {[round(c, 1) for c in result['cpu'].values()]}",
                flush=True,
            )
        small = gestoria if args.quick else ensure_gestoria(True)
        small_run = dict(account_id=small.account_id, user=small_user(small), year=small.year)
        for n in range(args.pdf_runs):
            result = run_job(**small_run, quarter=small.quarter, pdfs=True, pool=pool)
            with_pdfs.append(result)
            share = sum(result["cpu"].values()) / max(1, len(pool))
            result["busy"] = sum(1 for cpu in result["cpu"].values() if cpu >= share / 2)
            print(
                f"PDF run {n + 1}: {result['pdfs']:,} PDFs in {result['seconds']:.1f} s = "
                f"{result['pdfs'] / result['seconds']:.1f} PDFs/s; CPU s per pool process "
                f"{[round(c, 1) for c in result['cpu'].values()]}",
                flush=True,
            )
        rss = [common.peak_rss_mib(pid) for pid in pool]
        rss = [r for r in rss if r is not None]
    finally:
        common.stop(worker)

    seconds = [r["seconds"] for r in books]
    rates = [r["pdfs"] / r["seconds"] for r in with_pdfs]
    size = f"{books[0]['taxpayers']} taxpayers, {books[0]['invoices']:,} invoices"
    rows = [
        common.row(
            NAME,
            f"quarter close, books and XML ({size})",
            seconds,
            "s",
            f"≤ {BOOKS_TARGET_S:.0f} s",
            common.at_most(sorted(seconds)[len(seconds) // 2], BOOKS_TARGET_S),
            pool_cpu_seconds=[round(sum(r["cpu"].values()), 1) for r in books],
        ),
        common.row(
            NAME,
            f"quarter close with PDFs ({with_pdfs[0]['taxpayers']} taxpayers, "
            f"{with_pdfs[0]['pdfs']:,} PDFs), worker concurrency {cores}",
            rates,
            "PDFs/s",
            f"every core used ({cores})",
            all(r["busy"] >= cores for r in with_pdfs),
            pool_processes_busy=[r["busy"] for r in with_pdfs],
            seconds=[round(r["seconds"], 1) for r in with_pdfs],
            pool_cpu_seconds=[round(sum(r["cpu"].values()), 1) for r in with_pdfs],
        ),
        common.row(
            "memory",
            "Celery worker peak RSS (during the quarter close)",
            rss,
            "MiB",
            f"≤ {RSS_TARGET_MIB:.0f} MiB",
            common.at_most(max(rss), RSS_TARGET_MIB) if rss else None,
            pool_processes=len(rss),
        ),
    ]
    common.report(NAME, rows, quick=args.quick, taxpayers=books[0]["taxpayers"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
