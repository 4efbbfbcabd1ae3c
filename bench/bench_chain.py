"""Benchmark: the write path's latency does not grow with the chain.

``POST /api/v1/invoices`` (gunicorn, PostgreSQL), one request at a time from a separate load
process: the first ``--appends`` records of a fresh chain (records 1, 2, …) against the same
number appended to a chain of 100,000 records, alternating blocks of 10 so that the
machine's other work weighs on both alike. The long chain is seeded once with
``seed_records.py`` (real records, hashed and chained, marked accepted as an old chain's
are) in an account of its own, and reused by later runs. The gunicorn workers are warmed up
on a third chain first.

Target: p50 at record 100,000 within 25 % of p50 at record 1 (it must not grow).

    .venv/bin/python bench/bench_chain.py [--quick] [--length N] [--appends K] [--runs R]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import seed_records  # noqa: E402
from bench_api_write import invoice_body  # noqa: E402

NAME = "chain"
BLOCK = 10


def long_chain(length: int) -> common.Tenant:
    """The tenant whose chain holds at least ``length`` records (seeded now if missing)."""
    from django.utils import timezone

    from api.services import create_token
    from factu.models import Account, Membership, Taxpayer
    from verifactu.models import Chain, ComputerSystem, RecordStatus

    slug = f"bench-chain-{length}"
    account = Account.objects.filter(slug=slug).first()
    if account is not None:
        system = ComputerSystem.objects.filter(account=account).first()
        taxpayer = Taxpayer.objects.filter(account=account).first()
        chain = Chain.objects.filter(account=account).first()
        user = Membership.objects.filter(account=account).first().user
        if chain is not None and chain.length >= length:
            _, raw = create_token(account, user, "bench")
            return common.Tenant(account, user, taxpayer, system, raw)
        account.slug = f"{slug}-stale-{time.time_ns()}"
        account.save(update_fields=["slug"])
    tenant = common.make_tenant("chain")
    tenant.account.slug = slug
    tenant.account.save(update_fields=["slug"])
    started = time.perf_counter()
    seed_records.seed_chain(
        tenant,
        length,
        status=RecordStatus.ACCEPTED,
        prefix="L-",
        invoice_date=timezone.localdate() - timedelta(days=1),
        progress=length >= 20_000,
    )
    print(f"chain of {length:,} seeded in {time.perf_counter() - started:.0f} s", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE verifactu_billingrecord")
        cursor.execute("ANALYZE verifactu_fiscalinvoice")
    return tenant


def appends(base: str, tenant: common.Tenant, count: int) -> list[float]:
    """Append ``count`` invoices one at a time; their latencies in ms."""
    from django.utils import timezone

    result = common.load(
        base + "/api/v1/invoices",
        token=tenant.token,
        concurrency=1,
        requests=count,
        duration=300,
        method="POST",
        body=invoice_body(tenant, timezone.localdate().isoformat()),
        latencies=True,
    )
    if result["ok"] != result["sent"]:
        raise SystemExit(f"appends failed: {result['statuses']} {result['sample']}")
    return result["latencies_ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a chain of 5,000, 1 run of 30")
    parser.add_argument("--length", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=100, help="timed appends per chain")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.length, args.appends, args.runs = 5_000, 30, 1

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    from verifactu.models import BillingRecord, Chain, RecordStatus

    long = long_chain(args.length)
    server, base = common.start_gunicorn(
        common.bench_env(url), 2 * common.cores(), common.DATA_DIR / "gunicorn-chain.log"
    )
    short_p50, long_p50, short_p95, long_p95 = [], [], [], []
    try:
        appends(base, common.make_tenant("chainwarm"), 8 * common.cores())
        for run in range(args.runs):
            # Only the chain's length may differ: the long chain's earlier appends, which no
            # worker sent, are marked sent so both chains have the same short queue.
            BillingRecord.objects.filter(
                chain__account=long.account, status=RecordStatus.QUEUED
            ).update(status=RecordStatus.ACCEPTED)
            fresh = common.make_tenant(f"chain{run}")
            at = Chain.objects.get(account=long.account).length + 1
            first: list[float] = []
            deep: list[float] = []
            for _ in range(max(1, args.appends // BLOCK)):  # alternate, so drift hits both
                first += appends(base, fresh, BLOCK)
                deep += appends(base, long, BLOCK)
            short_p50.append(common.percentile(first, 0.5))
            short_p95.append(common.percentile(first, 0.95))
            long_p50.append(common.percentile(deep, 0.5))
            long_p95.append(common.percentile(deep, 0.95))
            print(
                f"run {run + 1}: records 1-{len(first)}: p50 {short_p50[-1]:.1f} ms "
                f"p95 {short_p95[-1]:.1f} ms; records {at:,}-{at + len(deep) - 1:,}: "
                f"p50 {long_p50[-1]:.1f} ms p95 {long_p95[-1]:.1f} ms",
                flush=True,
            )
    finally:
        common.stop(server)

    ratio = [b / a for a, b in zip(short_p50, long_p50, strict=True)]
    median_ratio = sorted(ratio)[len(ratio) // 2]
    rows = [
        common.row(NAME, "append p50 at record 1 (fresh chain)", short_p50, "ms"),
        common.row(NAME, f"append p50 at record {args.length:,}", long_p50, "ms"),
        common.row(NAME, "append p95 at record 1 (fresh chain)", short_p95, "ms"),
        common.row(NAME, f"append p95 at record {args.length:,}", long_p95, "ms"),
        common.row(
            NAME,
            f"p50 at record {args.length:,} / p50 at record 1",
            ratio,
            "×",
            "≤ 1.25 ×",
            common.at_most(median_ratio, 1.25),
        ),
    ]
    common.report(NAME, rows, quick=args.quick, length=args.length, appends=args.appends)
    return 0


if __name__ == "__main__":
    sys.exit(main())
