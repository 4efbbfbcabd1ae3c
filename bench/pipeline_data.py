"""The invoices both record pipelines chain: ours (``bench_record_pipeline.py``) and
verifactu-sdk's (``sdk_pipeline.py``, run by the sdk's own venv).

Standard library only, so the sdk's interpreter imports it as it is: both sides start from
the very same values, and the same inputs give the same huellas.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

PER_ENVELOPE = 1000
MADRID = ZoneInfo("Europe/Madrid")

ISSUER_NIF = "89890001K"
ISSUER_NAME = "Bench & Co SL"
RECIPIENT_NIF = "A39200019"
SYSTEM = {
    "nombre_razon": "Factu Software SL",
    "nif": "B12345674",
    "nombre_sistema": "Factu",
    "id_sistema": "FC",
    "version": "1.0.0",
    "numero_instalacion": "bench-1",
}
# SistemaInformatico's TipoUsoPosibleSoloVerifactu / TipoUsoPosibleMultiOT /
# IndicadorMultiplesOT, as ours renders them by default.
SOLO_VERIFACTU, MULTI_OT, MULTIPLES_OT = "N", "S", "N"
RATE_1, RATE_2 = "21.00", "10.00"


def invoices(n: int) -> list[tuple]:
    """The invoices' own values (what invoicing hands over): Decimals, dates, datetimes.

    Each row: ``(numserie, issue date, base 21 %, cuota 21 %, base 10 %, cuota 10 %,
    cuota total, importe total, generation timestamp, client name, description, RefExterna)``.
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
