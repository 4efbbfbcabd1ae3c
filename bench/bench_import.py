"""Benchmark: a 10,000-row clients CSV imported by the background job, end to end.

Runs in a throw-away data directory (its own SQLite database, migrated first, and media
root), or against ``DATABASE_URL`` when set. Each run builds a fresh taxpayer and a CSV of
``--rows`` clients with valid, distinct NIFs (one in ten a foreign client), then times
``factu.jobs.run`` on it: read and decode, validate every row with ``Client.full_clean``,
bulk insert, progress updates and the report. Prints rows/s per run and the median.

    .venv/bin/python bench/bench_import.py [--quick] [--rows N] [--runs R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def make_csv(rows: int, seed: int) -> bytes:
    lines = ["nombre;nif;email;direccion;cp;ciudad;provincia;pais;tipo_id;id_extranjero;recargo"]
    for i in range(rows):
        if i % 10 == 9:
            lines.append(
                f"Client Étranger {i};;c{i}@exemple.fr;Rue {i};75001;Paris;;FR;02;"
                f"FR{seed:02d}{i:09d};no"
            )
            continue
        number = seed * 1_000_000 + i + 10_000_000
        nif = f"{number:08d}{DNI_LETTERS[number % 23]}"
        lines.append(
            f"Cliente Núñez {i};{nif};cliente{i}@ejemplo.es;Calle Mayor {i};28013;Madrid;"
            f"Madrid;ES;;;{'sí' if i % 7 == 0 else 'no'}"
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 rows, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.runs = 1_000, 1

    scratch = tempfile.mkdtemp(prefix="factu-bench-import-")
    os.environ.setdefault("FACTU_DATA_DIR", scratch)
    os.environ.setdefault("FACTU_MEDIA_ROOT", str(Path(scratch) / "media"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factu.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from clients.models import Client
    from factu import jobs
    from factu.models import Account, Job, Taxpayer
    from transfers import imports

    call_command("migrate", verbosity=0)
    rates = []
    for run in range(args.runs):
        # A fresh account and taxpayer per run: the same NIFs import again, uniquely.
        account = Account.objects.create(name=f"Bench {run}", slug=f"bench-{time.time_ns()}")
        taxpayer = Taxpayer.objects.create(account=account, nif="B87654323", name="Bench SL")
        data = make_csv(args.rows, seed=run)
        job = Job.objects.create(
            account=account,
            taxpayer=taxpayer,
            kind=Job.Kind.IMPORT_CLIENTS,
            mode=Job.Mode.ALL_OR_NOTHING,
            params={"filename": "bench.csv"},
            source_path=f"imports/bench-{run}.csv",
        )
        source = Path(settings.MEDIA_ROOT) / job.source_path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        started = time.perf_counter()
        status = jobs.run(job.pk, imports.import_clients)
        elapsed = time.perf_counter() - started
        job.refresh_from_db()
        imported = Client.objects.filter(taxpayer=taxpayer).count()
        if status != Job.Status.DONE or imported != args.rows:
            print(f"run {run + 1}: {status}, {imported} imported: {job.report.get('message')}")
            for error in job.errors[:5]:
                print("   ", error)
            return 1
        rate = args.rows / elapsed
        rates.append(rate)
        print(
            f"run {run + 1}: {args.rows} rows in {elapsed:.2f} s = {rate:,.0f} rows/s "
            f"(progress: {job.done}/{job.total})",
            flush=True,
        )
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"median: {statistics.median(rates):,.0f} rows/s ({engine})")
    common.report(
        "import",
        [common.row("import", f"{args.rows:,}-row clients CSV import ({engine})", rates, "rows/s")],
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
