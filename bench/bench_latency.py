"""Benchmark: issue to accepted, the latency a user sees from "Emitir" to the AEAT's answer.

Set-up (not timed): the AEAT simulator in its own process (mutual TLS with test
certificates, ``TiempoEsperaEnvio`` 0) and a Celery worker (concurrency 2, Redis broker),
started as ``bench_submission.py`` starts them; a fresh tenant with a series, a client and
the run's drafts; a few invoices issued and accepted first to warm the worker up.

Timed: each draft is issued through :func:`invoicing.services.issue_invoice` (the account
level issue the UI and the API use) at a steady pace, one every 50 ms, not all at once;
from ``issue_invoice`` returning to its billing record being ``accepted``. The records'
statuses are polled every 10 ms by a thread of their own (the record keeps no accepted
timestamp), so each figure is late by at most one poll. Reports p50 and p95 over the run's
invoices, and the SOAP calls the run took (how many invoices each envelope carried).

Target: p95 ≤ 2 s. Against the real AEAT the latency is bounded by the wait it returns
between submissions (TiempoEsperaEnvio, 60 s by default) whenever a chain issues faster
than that: this bench measures Factu's own part of it, with a wait of 0.

    .venv/bin/python bench/bench_latency.py [--quick] [--invoices N] [--pace MS] [--runs R]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_submission  # noqa: E402
import common  # noqa: E402

NAME = "latency"
POLL = 0.01
WARMUP = 5


def drafts(tenant: common.Tenant, count: int) -> list:
    """``count`` drafts of one 1.000 € line for one client, dated today."""
    from django.utils import timezone

    from clients.services import create_client
    from invoicing.models import Series
    from invoicing.services import Actor, DraftLine, create_draft

    actor = Actor(user=tenant.user)
    series = Series.objects.create(account=tenant.account, taxpayer=tenant.taxpayer, code="L")
    client = create_client(
        tenant.taxpayer,
        {"name": "Acme SL", "nif": "A28045631", "country": "ES", "email": "billing@acme.es"},
    )
    line = DraftLine("Consultoría", quantity=100, unit_price=100000, iva_type="general")
    return [
        create_draft(
            tenant.taxpayer,
            series=series,
            client=client,
            issue_date=timezone.localdate(),
            lines=[line],
            actor=actor,
        )
        for _ in range(count)
    ]


def issue_paced(tenant: common.Tenant, pending: list, pace: float, timeout: float) -> list[float]:
    """Issue ``pending`` one every ``pace`` seconds while another thread polls their records;
    the seconds from each ``issue_invoice`` returning to its record seen ``accepted``."""
    from django.db import connection

    from invoicing.services import Actor, issue_invoice
    from verifactu.models import BillingRecord, RecordStatus

    actor = Actor(user=tenant.user)
    issued_at: dict[int, float] = {}
    accepted_at: dict[int, float] = {}
    failed: list[str] = []
    done = threading.Event()

    def poll() -> None:
        try:
            while not done.is_set():
                waiting = [i for i in list(issued_at) if i not in accepted_at]
                seen = BillingRecord.objects.filter(fiscal_invoice_id__in=waiting).values_list(
                    "fiscal_invoice_id", "status"
                )
                stamp = time.perf_counter()
                for fiscal_id, status in seen:
                    if status == RecordStatus.ACCEPTED:
                        accepted_at[fiscal_id] = stamp
                    elif status not in (RecordStatus.QUEUED, RecordStatus.SENDING):
                        failed.append(status)
                if failed or len(accepted_at) == len(pending):
                    return
                time.sleep(POLL)
        finally:
            connection.close()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    start = time.perf_counter()
    order: list[int] = []
    for n, draft in enumerate(pending):
        time.sleep(max(0.0, start + n * pace - time.perf_counter()))
        invoice = issue_invoice(draft, actor=actor)
        issued_at[invoice.fiscal_invoice_id] = time.perf_counter()
        order.append(invoice.fiscal_invoice_id)
    poller.join(timeout)
    done.set()
    if failed or len(accepted_at) < len(pending):
        raise SystemExit(f"not all accepted in time: {len(accepted_at)} of {len(pending)} {failed}")
    return [accepted_at[i] - issued_at[i] for i in order]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 invoices, 1 run")
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--pace", type=float, default=50.0, help="ms between two issues")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.runs = 50, 1

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    from verifactu.models import Submission

    simulator, worker, _ = bench_submission.start_aeat_and_worker(url)
    p50s, p95s, calls = [], [], []
    try:
        for run in range(args.runs):
            # Each run its own issuer: the simulator still holds the previous run's records.
            tenant = common.make_tenant(f"latency{run}", common.nifs(args.runs, 7_400_000)[run])
            pending = drafts(tenant, WARMUP + args.invoices)
            issue_paced(tenant, pending[:WARMUP], args.pace / 1000, timeout=60)
            before = Submission.objects.filter(chain__account=tenant.account).count()
            seconds = issue_paced(tenant, pending[WARMUP:], args.pace / 1000, timeout=120)
            soap = Submission.objects.filter(chain__account=tenant.account).count() - before
            ms = [s * 1000 for s in seconds]
            p50s.append(common.percentile(ms, 0.50))
            p95s.append(common.percentile(ms, 0.95))
            calls.append(float(soap))
            print(
                f"run {run + 1}: {args.invoices} invoices, one every {args.pace:.0f} ms: "
                f"p50 {p50s[-1]:.0f} ms, p95 {p95s[-1]:.0f} ms, max {max(ms):.0f} ms, "
                f"{soap} SOAP calls",
                flush=True,
            )
    finally:
        common.stop(worker)
        common.stop(simulator)

    rows = [
        common.row(NAME, f"issue to accepted p50 ({args.invoices} invoices)", p50s, "ms"),
        common.row(
            NAME,
            f"issue to accepted p95 ({args.invoices} invoices)",
            p95s,
            "ms",
            "≤ 2,000 ms (AEAT wait 0)",
            common.at_most(sorted(p95s)[len(p95s) // 2], 2000),
        ),
        common.row(NAME, "SOAP calls per run", calls, "calls"),
    ]
    common.report(NAME, rows, quick=args.quick, invoices=args.invoices, pace_ms=args.pace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
