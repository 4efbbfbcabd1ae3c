"""Benchmark: the API write path, ``POST /api/v1/invoices``, against this machine's ceiling.

gunicorn (sync workers, 2 per core) serves the project on PostgreSQL (the bench database)
with Redis as broker and cache, as in production. A separate load process (``load.py``)
sends the seed 003 example invoice, each with its own number, at concurrency 8 and 32; the
same load against ``POST /api/ping`` (bearer-authenticated DRF view inserting one row) is
the ceiling of this stack. Every invoice of that run goes to one taxpayer's chain, whose
appends the law serialises. At concurrency 32 a third run, "many chains", has 32 clients
post for 32 taxpayers of 32 accounts (client *i* always as tenant *i*, with its own token):
the same work on chains that do not wait for each other. Runs alternate ping / one chain /
many chains so that noise from other work on the machine hits them alike. Also reports the
peak RSS (``VmHWM``) of the web workers.

Targets: invoices ≥ 40 % of the ping throughput; p99 < 250 ms at concurrency 32; many
chains ≥ 1.5 × the one chain's throughput at concurrency 32 (ratio of each alternating
pair, median), with p99 < 250 ms.

    .venv/bin/python bench/bench_api_write.py [--quick] [--runs R] [--duration S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "api_write"
CONCURRENCY = (8, 32)
MANY = 32  # tenants of the many-chains run, at concurrency 32
PING = '{"note": "bench @@N@@"}'


def invoice_body(tenant: common.Tenant, today: str) -> str:
    """The seed 003 example of the OpenAPI schema, for ``tenant``, numbered by the load."""
    from api.v1.openapi import REGISTER_EXAMPLES

    return json.dumps(
        {
            **REGISTER_EXAMPLES[0].value,
            "taxpayer_id": str(tenant.taxpayer.pk),
            "computer_system_id": str(tenant.system.pk),
            "invoice_number": "B-@@N@@",
            "invoice_date": today,
        }
    )


def many_clients(count: int, today: str) -> tuple[Path, list]:
    """``count`` tenants, each its own account, taxpayer and token; the load's clients file
    and the tenants' accounts."""
    tenants = [common.make_tenant(f"many{i}", nif) for i, nif in enumerate(common.nifs(count))]
    path = common.DATA_DIR / "many-chains-clients.json"
    path.write_text(json.dumps([[t.token, invoice_body(t, today)] for t in tenants]))
    return path, [t.account for t in tenants]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run of 3 s per case")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--requests", type=int, default=20_000, help="cap per run")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (2 per core)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.duration, args.requests = 1, 3.0, 300

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    from django.utils import timezone

    from api.models import ApiPing
    from verifactu.models import BillingRecord

    tenant = common.make_tenant("write")
    today = timezone.localdate().isoformat()
    body = invoice_body(tenant, today)
    clients, accounts = many_clients(MANY, today)
    workers = args.workers or 2 * common.cores()
    log = common.DATA_DIR / "gunicorn-write.log"
    server, base = common.start_gunicorn(common.bench_env(url), workers, log, args.threads)
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        for path, payload, many in (
            ("/api/ping", PING, None),
            ("/api/v1/invoices", body, None),
            ("/api/v1/invoices", "", clients),
        ):  # warm every worker up: imports, connections, XSD; open the many chains
            size = MANY if many else workers * args.threads
            common.load(
                base + path,
                token=tenant.token,
                concurrency=size,
                requests=size * (2 if many else 5),
                duration=10,
                method="POST",
                body=payload,
                clients=many,
            )
        for concurrency in CONCURRENCY:
            cases = [
                ("ping", "/api/ping", PING, None),
                ("invoices", "/api/v1/invoices", body, None),
            ]
            if concurrency == MANY:
                cases.append(("many chains", "/api/v1/invoices", "", clients))
            for run in range(args.runs):
                for endpoint, path, payload, many in cases:
                    result = common.load(
                        base + path,
                        token=tenant.token,
                        concurrency=concurrency,
                        requests=args.requests,
                        duration=args.duration,
                        method="POST",
                        body=payload,
                        clients=many,
                    )
                    results.setdefault((endpoint, concurrency), []).append(result)
                    print(
                        f"c={concurrency} run {run + 1} {endpoint}: {result['rps']:.1f} req/s, "
                        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                        f"statuses {result['statuses']}",
                        flush=True,
                    )
                    for status, text in result["sample"].items():
                        print(f"   {status}: {text[:300]}")
        rss = [common.peak_rss_mib(pid) for pid in common.children(server.pid)]
    finally:
        common.stop(server)

    rows = []
    for concurrency in CONCURRENCY:
        ping, ours = results[("ping", concurrency)], results[("invoices", concurrency)]
        errors = sum(r["sent"] - r["ok"] for r in ours) + sum(r["sent"] - r["ok"] for r in ping)
        fractions = [o["rps"] / p["rps"] for o, p in zip(ours, ping, strict=True) if p["rps"]]
        p99 = [o["p99_ms"] for o in ours]
        rows += [
            common.row(NAME, f"ping (ceiling) c={concurrency}", [r["rps"] for r in ping], "req/s"),
            common.row(
                NAME,
                f"ping p99 c={concurrency}",
                [r["p99_ms"] for r in ping],
                "ms",
            ),
            common.row(
                NAME,
                f"POST /api/v1/invoices c={concurrency}",
                [r["rps"] for r in ours],
                "req/s",
                errors=errors,
            ),
            common.row(
                NAME,
                f"invoices / ceiling c={concurrency}",
                [f * 100 for f in fractions],
                "%",
                "≥ 40 %",
                common.at_least(statistics.median(fractions) * 100, 40) and errors == 0,
            ),
            common.row(NAME, f"invoices p50 c={concurrency}", [o["p50_ms"] for o in ours], "ms"),
            common.row(
                NAME,
                f"invoices p99 c={concurrency}",
                p99,
                "ms",
                *(("< 250 ms", statistics.median(p99) < 250) if concurrency == 32 else ()),
            ),
        ]
        if concurrency == MANY:
            rows += many_rows(results[("many chains", concurrency)], ours, concurrency)
    peak = max((r for r in rss if r is not None), default=None)
    rows.append(
        common.row(
            "memory",
            "gunicorn web worker peak RSS (during api_write)",
            [r for r in rss if r is not None],
            "MiB",
            workers=len(rss),
            peak=peak,
        )
    )
    stored = BillingRecord.objects.filter(chain__account=tenant.account).count()
    pings = ApiPing.objects.filter(account=tenant.account).count()
    spread = BillingRecord.objects.filter(chain__account__in=accounts)
    chains = spread.values("chain").distinct().count()
    print(f"stored: {stored} billing records on one chain, {pings} ping rows")
    print(f"many chains: {spread.count()} billing records on {chains} chains")
    common.report(
        NAME, rows, quick=args.quick, gunicorn_workers=workers, gunicorn_threads=args.threads
    )
    return 0


def many_rows(many: list[dict], one: list[dict], concurrency: int) -> list[dict]:
    """The many-chains rows: throughput, p50, p99 and its ratio to the one-chain run."""
    errors = sum(r["sent"] - r["ok"] for r in many)
    ratios = [m["rps"] / o["rps"] for m, o in zip(many, one, strict=True) if o["rps"]]
    p99 = [m["p99_ms"] for m in many]
    return [
        common.row(
            NAME,
            f"many chains ({MANY} taxpayers) c={concurrency}",
            [r["rps"] for r in many],
            "req/s",
            errors=errors,
        ),
        common.row(NAME, f"many chains p50 c={concurrency}", [r["p50_ms"] for r in many], "ms"),
        common.row(
            NAME,
            f"many chains p99 c={concurrency}",
            p99,
            "ms",
            "< 250 ms",
            statistics.median(p99) < 250 and errors == 0,
        ),
        common.row(
            NAME,
            f"many chains / one chain c={concurrency}",
            ratios,
            "×",
            "≥ 1.5 ×",
            common.at_least(statistics.median(ratios), 1.5) if ratios else None,
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
