"""Benchmark: the pages a gestoría's accountant lives on, at a gestoría's scale.

The account is ``bench/gestoria.py``'s (300 taxpayers × 2,000 issued invoices; ``--quick``
30 × 200), seeded once and reused. gunicorn (sync workers, 2 per core, as the other HTTP
benches) serves it from PostgreSQL; the driver logs in as the account's accountant over
HTTP (the login form, its CSRF token and the session cookie) and asks for each page one
request at a time. **Server time is measured as the client sees it over loopback**: from
the connect to the last byte of the answer (gunicorn closes each connection), as
``bench/load.py`` measures the API benches. Each answer must be a 200 carrying a marker of
its content, computed here with the ORM (a number, an amount, a name).

The pages, all of the busy taxpayer (2,000 invoices in the measured quarter) but the desk:

* the desk (``mesa/``: every taxpayer's AEAT statuses and the inbox);
* the invoice list, page 1, and its deepest page under a filter (paid, dated in the year:
  a taxpayer's 2,000 invoices make 40 pages of 50, so "page 200" is the last page there is);
* the taxpayer overview (``mesa/resumen/``);
* the 303, 130 and 347 (``gastos/impuestos/``: one page shows all three) of the quarter;
* an invoice's detail: one that was rectified, paid, with its record, QR and history.

Each page's SQL query count is read once in process (Django's test client on the same
database, ``CaptureQueriesContext``), after a first request of the page (what a process
looks up once is not the page's); ``tests/test_page_queries.py`` pins that it does not
grow with the data. Reports p95 and p50 of each page (median of the runs) and its queries.

Targets: p95 ≤ 150 ms for every page, ≤ 250 ms for the desk.

    .venv/bin/python bench/bench_pages.py [--quick] [--runs R] [--requests N]
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from gestoria import Gestoria, ensure_gestoria  # noqa: E402

NAME = "pages"
PAGE_SIZE = 50
DESK = "desk"
TARGET_MS, DESK_TARGET_MS = 150.0, 250.0


class Browser:
    """One logged-in session over plain HTTP/1.1: a new connection per request."""

    def __init__(self, base: str) -> None:
        url = urlparse(base)
        self.host, self.port = url.hostname, url.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str = "") -> tuple[int, str, float]:
        """Status, text and milliseconds from the connect to the answer's last byte."""
        headers = {"Host": f"{self.host}:{self.port}", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1000
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, text, elapsed

    def log_in(self, email: str, password: str) -> None:
        status, text, _ = self.request("GET", "/entrar/")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if status != 200 or not found:
            raise SystemExit(f"login page: {status}")
        form = {"csrfmiddlewaretoken": found.group(1), "username": email, "password": password}
        status, text, _ = self.request("POST", "/entrar/", urlencode(form))
        if status != 302:
            raise SystemExit(f"login refused: {status} {text[:300]}")


def pages(gestoria: Gestoria) -> dict[str, tuple[str, str]]:
    """Each page's path and a marker its answer must carry, worked out with the ORM."""
    from django.db.models import F

    from expenses import summaries
    from factu.models import Account, Taxpayer
    from invoicing.models import Invoice, InvoiceStatus
    from invoicing.taxes import format_euros

    account = Account.objects.get(pk=gestoria.account_id)
    busy = Taxpayer.objects.get(pk=gestoria.busy_taxpayer_id)
    last = Taxpayer.objects.filter(account=account).order_by("-name", "-id").first()
    base = f"/c/{account.slug}"
    invoices = Invoice.objects.filter(account=account, taxpayer=busy)
    newest = invoices.order_by("-issue_date", "-id").first()
    year_start, year_end = f"{gestoria.year}-01-01", f"{gestoria.year}-12-31"
    paid = invoices.filter(
        status=InvoiceStatus.PAID, issue_date__gte=year_start, issue_date__lte=year_end
    ).order_by("-issue_date", "-id")
    deepest = max(1, -(-paid.count() // PAGE_SIZE))
    oldest_paid = paid.order_by("issue_date", "id").first()
    query = urlencode({"estado": "paid", "desde": year_start, "hasta": year_end, "page": deepest})
    m303 = summaries.modelo_303(busy, gestoria.year, gestoria.quarter)
    rectified = (
        invoices.filter(rectifications__isnull=False).order_by("issue_date", F("sequence")).first()
    )
    period = urlencode({"year": gestoria.year, "quarter": gestoria.quarter})
    return {
        DESK: (f"{base}/mesa/", last.name),
        "invoice list page 1": (f"{base}/facturas/", newest.number),
        f"invoice list page {deepest} (filtered)": (
            f"{base}/facturas/?{query}",
            oldest_paid.number,
        ),
        "taxpayer overview": (f"{base}/mesa/resumen/", busy.name),
        "303, 130 and 347": (f"{base}/gastos/impuestos/?{period}", format_euros(m303.result)),
        "invoice detail with history": (
            f"{base}/facturas/{rectified.pk}/",
            rectified.fiscal_invoice.records.order_by("position").first().huella[:8],
        ),
    }


def query_counts(gestoria: Gestoria, paths: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Each page's SQL queries, rendered once in this process as the accountant."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from factu.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=gestoria.email))
    counts = {}
    for name, (path, marker) in paths.items():
        client.get(path)  # once-per-process look-ups (a counts table's presence) and the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200 or marker not in response.content.decode():
            raise SystemExit(f"{name}: {response.status_code}, marker {marker!r} missing")
        counts[name] = len(queries)
    return counts


def measure(browser: Browser, path: str, marker: str, requests: int, warmup: int) -> list[float]:
    timings = []
    for i in range(warmup + requests):
        status, text, elapsed = browser.request("GET", path)
        if status != 200 or marker not in text:
            raise SystemExit(f"{path}: {status}, marker {marker!r} missing")
        if i >= warmup:
            timings.append(elapsed)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 × 200 invoices, 1 short run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30, help="per page and run")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.requests = 1, 10

    url = common.bench_database_url()
    common.setup_django(url)
    common.flush_redis()
    started = time.perf_counter()
    gestoria = ensure_gestoria(args.quick)
    size = f"{len(gestoria.taxpayer_ids)} taxpayers"
    print(f"gestoría: {size}, ready in {time.perf_counter() - started:.0f} s", flush=True)
    paths = pages(gestoria)
    counts = query_counts(gestoria, paths)
    server, base = common.start_gunicorn(
        common.bench_env(url), 2 * common.cores(), common.DATA_DIR / "gunicorn-pages.log"
    )
    p95: dict[str, list[float]] = {name: [] for name in paths}
    p50: dict[str, list[float]] = {name: [] for name in paths}
    try:
        browser = Browser(base)
        browser.log_in(gestoria.email, gestoria.password)
        for run in range(args.runs):
            for name, (path, marker) in paths.items():
                timings = measure(browser, path, marker, args.requests, warmup=2)
                p95[name].append(common.percentile(timings, 0.95))
                p50[name].append(common.percentile(timings, 0.50))
                print(
                    f"run {run + 1} {name}: p50 {p50[name][-1]:.1f} ms, "
                    f"p95 {p95[name][-1]:.1f} ms, {counts[name]} queries",
                    flush=True,
                )
    finally:
        common.stop(server)

    rows = []
    for name in paths:
        ceiling = DESK_TARGET_MS if name == DESK else TARGET_MS
        median = sorted(p95[name])[len(p95[name]) // 2]
        label = f"{name} ({size})" if name == DESK else name
        rows += [
            common.row(
                NAME,
                f"{label} p95",
                p95[name],
                "ms",
                f"≤ {ceiling:.0f} ms",
                common.at_most(median, ceiling),
                path=paths[name][0],
            ),
            common.row(NAME, f"{label} p50", p50[name], "ms"),
            common.row(NAME, f"{label} SQL queries", [float(counts[name])], "queries"),
        ]
    common.report(NAME, rows, quick=args.quick, taxpayers=len(gestoria.taxpayer_ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
