"""Benchmark: build + hash + serialise + XSD-validate 10,000 RegistroAlta records on one core.

The invoices' values (Decimals, dates, aware datetimes) are computed before timing; each run
then formats them (huella.py formatters), creates the AltaData, builds and hashes each record
chained to the previous one, serialises 10 envelopes of 1,000 records and
validates each envelope against AEAT's XSD (schema loaded once, before timing).
Prints records/s for each run and the median of 3. Target: >= 14,000 records/s.

    .venv/bin/python bench/bench_record_pipeline.py [--quick] [--records N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from verifactu.envelopes import build_envelope, validate_envelope  # noqa: E402
from verifactu.huella import format_amount, format_date, format_timestamp  # noqa: E402
from verifactu.xml import (  # noqa: E402
    AltaData,
    BreakdownLine,
    Obligado,
    PreviousRecord,
    Recipient,
    SistemaInformatico,
    build_alta,
)

PER_ENVELOPE = 1000
SISTEMA = SistemaInformatico(
    nombre_razon="Factu Software SL",
    nif="B12345674",
    nombre_sistema="Factu",
    id_sistema="FC",
    version="1.0.0",
    numero_instalacion="bench-1",
)
OBLIGADO = Obligado("Bench & Co SL", "89890001K")
MADRID = ZoneInfo("Europe/Madrid")


def invoices(n: int) -> list[tuple]:
    """The invoices' own values (what invoicing hands over): Decimals, dates, datetimes.

    Computing them (tax arithmetic) is invoicing's job, so it happens before the timing.
    """
    start_ts = datetime(2025, 1, 1, 9, 0, tzinfo=MADRID)
    issue = date(2025, 1, 1)
    rows = []
    for i in range(n):
        base1 = Decimal(100 + i % 900) + Decimal(i % 100) / 100
        base2 = Decimal(10 + i % 50)
        cuota1 = (base1 * Decimal("0.21")).quantize(Decimal("0.01"))
        cuota2 = (base2 * Decimal("0.10")).quantize(Decimal("0.01"))
        rows.append(
            (
                f"2025-A/{i:07d}",
                issue,
                base1,
                cuota1,
                base2,
                cuota2,
                cuota1 + cuota2,
                base1 + base2 + cuota1 + cuota2,
                start_ts + timedelta(seconds=i),
                f"Cliente {i % 500} SA",
                f"Servicios profesionales <mes {i % 12 + 1}>",
                f"inv-{i}",
            )
        )
    return rows


def run(rows: list[tuple]) -> float:
    """One timed run: format, build + hash (chained), serialise, validate; returns records/s."""
    n = len(rows)
    previous: PreviousRecord | None = None
    batch: list = []
    t0 = time.perf_counter()
    for i, (numserie, issue, b1, c1, b2, c2, cuota, total, ts, client, desc, ref) in enumerate(
        rows
    ):
        fecha = format_date(issue)
        data = AltaData(
            nif="89890001K",
            numserie=numserie,
            fecha_expedicion=fecha,
            nombre_razon_emisor="Bench & Co SL",
            tipo_factura="F1",
            descripcion=desc,
            lines=(
                BreakdownLine(
                    impuesto="01",
                    clave_regimen="01",
                    calificacion="S1",
                    tipo_impositivo="21.00",
                    base=format_amount(b1),
                    cuota=format_amount(c1),
                ),
                BreakdownLine(
                    impuesto="01",
                    clave_regimen="01",
                    calificacion="S1",
                    tipo_impositivo="10.00",
                    base=format_amount(b2),
                    cuota=format_amount(c2),
                ),
            ),
            recipients=(Recipient(client, nif="A39200019"),),
            cuota_total=format_amount(cuota),
            importe_total=format_amount(total),
            sistema=SISTEMA,
            fecha_hora_huso=format_timestamp(ts),
            previous=previous,
            ref_externa=ref,
        )
        built = build_alta(data)
        previous = PreviousRecord("89890001K", numserie, fecha, built.huella)
        batch.append(built)
        if len(batch) == PER_ENVELOPE or i == n - 1:
            errors = validate_envelope(build_envelope(OBLIGADO, batch))
            if errors:
                raise SystemExit(f"envelope invalid: {errors[:3]}")
            batch = []
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 records, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.records, args.runs = 2_000, 1
    validate_envelope(build_envelope(OBLIGADO, ["<x/>"]))  # load the XSD outside the timing
    rows = invoices(args.records)
    rates = []
    for r in range(args.runs):
        rate = run(rows)
        rates.append(rate)
        print(f"run {r + 1}: {rate:,.0f} records/s")
    print(
        f"median of {args.runs}: {statistics.median(rates):,.0f} records/s "
        f"({args.records:,} RegistroAlta, {PER_ENVELOPE} per envelope, one core)"
    )
    median = statistics.median(rates)
    common.report(
        "record_pipeline",
        [
            common.row(
                "record_pipeline",
                f"{args.records:,} RegistroAlta built, hashed, serialised, XSD-validated",
                rates,
                "records/s",
                "≥ 14,000 records/s",
                common.at_least(median, 14_000),
            )
        ],
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
