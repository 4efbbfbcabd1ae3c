"""Benchmark: ``GET /api/invoices`` with 1,000,000 invoices in one account.

The invoices are seeded once, by one ``INSERT … SELECT generate_series`` in the bench
database, into an account of their own (``bench-reads-<N>``), and reused by later runs when
the count is right. They span four years of issue dates; clients come from 200 surnames × 25
cities, so a surname matches 0.5 % of the invoices. gunicorn serves the API; a separate load
process asks, one request at a time, for page 1, page 2,000, a search and a one-month date
filter, and checks that each answer carries the exact ``total``.
Reports p95 latency per query (median of the runs).

Targets: p95 ≤ 100 ms for page 1 and ≤ 200 ms for page 2,000.

    .venv/bin/python bench/bench_reads.py [--quick] [--invoices N] [--runs R] [--requests N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "reads"
SURNAMES = 200
CITIES = 25
SEARCH_WORD = "zubizarreta"  # surname number 0: 1 / SURNAMES of the invoices
MONTH = ("2025-03-01", "2025-03-31")
FIRST_DAY = "2022-01-01"
DAYS = 1461  # 2022-01-01 .. 2025-12-31

SEED_SQL = """
INSERT INTO invoicing_invoice (
    id, account_id, taxpayer_id, series_id, year, sequence, number, invoice_type, status,
    issue_date, due_date, description, irpf_bp, surcharge, notes, payment_details,
    issuer_name, issuer_nif, issuer_address, client_name, client_nif, client_country,
    client_id_type, client_foreign_id, client_address, client_email,
    subtotal_cents, iva_cents, surcharge_cents, irpf_cents, total_cents,
    rectification_type, issued_at, paid_at, search_text, created_at, updated_at,
    issued_by, third_party_nif, third_party_name
)
SELECT
    gen_random_uuid(), %(account)s, %(taxpayer)s, %(series)s,
    extract(year FROM d)::int, g, 'R' || extract(year FROM d)::int || '-' || lpad(g::text, 7, '0'),
    'F1', CASE WHEN g %% 3 = 0 THEN 'paid' ELSE 'sent' END,
    d, d + 30, 'Servicios profesionales ' || (g %% 12 + 1), 0, false, '', '',
    'Bench Lecturas SL', 'B87654323', 'Calle Mayor 1, Madrid',
    c.name, '', 'ES', '', '', '', '',
    s, s * 21 / 100, 0, 0, s + s * 21 / 100,
    '', d::timestamptz, CASE WHEN g %% 3 = 0 THEN d::timestamptz + interval '20 days' END,
    'r' || extract(year FROM d)::int || '-' || lpad(g::text, 7, '0')
        || ' servicios profesionales ' || (g %% 12 + 1) || ' ' || c.name,
    now(), now(), '', '', ''
FROM (
    SELECT g,
           %(first)s::date + ((g - 1) * %(days)s / %(n)s)::int AS d,
           10000 + (g * 7919) %% 900000 AS s
    FROM generate_series(1::bigint, %(n)s) AS g
) AS base
CROSS JOIN LATERAL (
    SELECT CASE WHEN base.g %% %(surnames)s = 0 THEN 'zubizarreta'
                ELSE 'apellido' || (base.g %% %(surnames)s) END
           || ' ' || 'ciudad' || ((base.g / %(surnames)s) %% %(cities)s) || ' sl' AS name
) AS c
"""


def seed(count: int) -> tuple[object, str, float | None]:
    """The account holding ``count`` invoices (seeded now if missing) and a fresh token."""
    from django.db import connection, transaction

    from api.services import create_token
    from factu.models import Account, Membership, Role, Taxpayer, User
    from invoicing.models import Invoice, Series

    slug = f"bench-reads-{count}"
    account = Account.objects.filter(slug=slug).first()
    if account is not None and Invoice.objects.filter(account=account).count() == count:
        user = Membership.objects.filter(account=account).first().user
        _, raw = create_token(account, user, "bench")
        return account, raw, None
    started = time.perf_counter()
    with transaction.atomic():
        if account is not None:  # a half-seeded account from an interrupted run
            account.slug = f"{slug}-stale-{time.time_ns()}"
            account.save(update_fields=["slug"])
        account = Account.objects.create(name=f"Bench lecturas {count}", slug=slug)
        user = User.objects.create_user(f"{slug}-{time.time_ns()}@bench.example", "x" * 20)
        Membership.objects.create(user=user, account=account, role=Role.OWNER)
        taxpayer = Taxpayer.objects.create(account=account, nif="B87654323", name="Bench SL")
        series = Series.objects.create(account=account, taxpayer=taxpayer, code="R")
        with connection.cursor() as cursor:
            cursor.execute(
                SEED_SQL,
                {
                    "account": account.pk,
                    "taxpayer": taxpayer.pk,
                    "series": series.pk,
                    "first": FIRST_DAY,
                    "days": DAYS,
                    "n": count,
                    "surnames": SURNAMES,
                    "cities": CITIES,
                },
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) invoicing_invoice")
    _, raw = create_token(account, user, "bench")
    return account, raw, time.perf_counter() - started


def expected_totals(account, deep_page: int) -> dict[str, tuple[str, int]]:
    """Each query's path and the exact total it must answer, counted here with the ORM."""
    from invoicing.models import Invoice

    invoices = Invoice.objects.filter(account=account)
    return {
        "page 1": ("/api/invoices?page=1", invoices.count()),
        f"page {deep_page:,}": (f"/api/invoices?page={deep_page}", invoices.count()),
        "search": (
            f"/api/invoices?search={SEARCH_WORD}",
            invoices.filter(search_text__contains=SEARCH_WORD).count(),
        ),
        "date filter": (
            f"/api/invoices?dateFrom={MONTH[0]}&dateTo={MONTH[1]}",
            invoices.filter(issue_date__gte=MONTH[0], issue_date__lte=MONTH[1]).count(),
        ),
    }


def check_total(base: str, token: str, path: str, total: int) -> None:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        data = json.load(response)
    if data["total"] != total or not data["items"]:
        raise SystemExit(
            f"{path}: total {data['total']} (want {total}), {len(data['items'])} items"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 invoices, 1 short run")
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40, help="per query and run")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.runs, args.requests = 20_000, 1, 10

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    account, token, seeded = seed(args.invoices)
    print(
        f"{args.invoices:,} invoices "
        + (f"seeded in {seeded:.0f} s" if seeded is not None else "reused"),
        flush=True,
    )
    deep_page = min(2000, max(1, args.invoices // 50 // 2))
    queries = expected_totals(account, deep_page)
    server, base = common.start_gunicorn(
        common.bench_env(url), 2 * common.cores(), common.DATA_DIR / "gunicorn-reads.log"
    )
    p95: dict[str, list[float]] = {name: [] for name in queries}
    try:
        for name, (path, total) in queries.items():
            check_total(base, token, path, total)
            print(f"{name}: {path} -> total {total:,}", flush=True)
        for run in range(args.runs):
            for name, (path, _) in queries.items():
                result = common.load(
                    base + path,
                    token=token,
                    concurrency=1,
                    requests=args.requests,
                    duration=120,
                    warmup=2,
                )
                if result["ok"] != result["sent"]:
                    raise SystemExit(f"{name}: {result['statuses']} {result['sample']}")
                p95[name].append(result["p95_ms"])
                print(
                    f"run {run + 1} {name}: p50 {result['p50_ms']:.1f} ms, "
                    f"p95 {result['p95_ms']:.1f} ms",
                    flush=True,
                )
    finally:
        common.stop(server)

    targets = {"page 1": 100.0, f"page {deep_page:,}": 200.0}
    rows = []
    for name, values in p95.items():
        ceiling = targets.get(name)
        median = sorted(values)[len(values) // 2]
        rows.append(
            common.row(
                NAME,
                f"GET /api/invoices {name} p95 ({args.invoices:,} invoices)",
                values,
                "ms",
                None if ceiling is None else f"≤ {ceiling:.0f} ms",
                None if ceiling is None else common.at_most(median, ceiling),
                total=queries[name][1],
            )
        )
    common.report(NAME, rows, quick=args.quick, invoices=args.invoices, seeded_seconds=seeded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
