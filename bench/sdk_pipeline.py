"""verifactu-sdk 0.1.0's record pipeline, timed: run by the sdk's own venv, never the project's.

The same work as ``bench_record_pipeline.py`` (same invoices, from ``pipeline_data.py``), done
the way the sdk's own ``ClienteVerifactu.enviar`` does it: each invoice becomes a
``RegistroAlta`` (with ``Persona``, ``LineaDesglose``), ``Cadena.encadenar`` chains it (its
huella, SHA-256 over the previous one), and every 1,000 records ``construir_peticion`` builds
the ``RegFactuSistemaFacturacion`` request as an lxml tree, ``validar`` checks it against
AEAT's XSD (the copy the sdk ships; schema loaded before timing) and ``etree.tostring``
serialises it (the request without the SOAP envelope, as ours). The amounts are passed as
the Decimals ours formats (cuotas and totals given, not recomputed by the sdk).

    <sdk-venv>/bin/python bench/sdk_pipeline.py [--records N]   # one run, one JSON line
    <sdk-venv>/bin/python bench/sdk_pipeline.py --records N --serve

With ``--serve`` it prints a JSON line once ready, then one timed run per ``run`` line read
on standard input, each answered by one JSON line (``records_per_s``, ``head``: the huella of
the last record, and after the first run ``record_2``: the second record's XML).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline_data as data  # noqa: E402
from lxml import etree  # noqa: E402
from verifactu_sdk import (  # noqa: E402
    Cabecera,
    Cadena,
    ErrorValidacionXSD,
    LineaDesglose,
    Persona,
    RegistroAlta,
    SistemaInformatico,
    __version__,
    construir_peticion,
    validar,
)

EMISOR = Persona(data.ISSUER_NAME, nif=data.ISSUER_NIF)
CABECERA = Cabecera(EMISOR)
SISTEMA = SistemaInformatico(
    **data.SYSTEM,
    solo_verifactu=data.SOLO_VERIFACTU == "S",
    multi_ot=data.MULTI_OT == "S",
    indicador_multiples_ot=data.MULTIPLES_OT == "S",
)
RATE_1, RATE_2 = Decimal(data.RATE_1), Decimal(data.RATE_2)


def run(rows: list[tuple]) -> tuple[float, str, list[bytes]]:
    """One timed run; returns records/s, the chain head's huella and the envelopes."""
    n = len(rows)
    cadena = Cadena()
    batch: list[RegistroAlta] = []
    envelopes: list[bytes] = []
    t0 = time.perf_counter()
    for i, (numserie, issue, b1, c1, b2, c2, cuota, total, ts, client, desc, ref) in enumerate(
        rows
    ):
        registro = RegistroAlta(
            emisor=EMISOR,
            num_serie=numserie,
            fecha_expedicion=issue,
            descripcion=desc,
            desglose=[
                LineaDesglose(base_imponible=b1, tipo_impositivo=RATE_1, cuota_repercutida=c1),
                LineaDesglose(base_imponible=b2, tipo_impositivo=RATE_2, cuota_repercutida=c2),
            ],
            sistema=SISTEMA,
            tipo_factura="F1",
            destinatarios=[Persona(client, nif=data.RECIPIENT_NIF)],
            cuota_total=cuota,
            importe_total=total,
            ref_externa=ref,
        )
        cadena.encadenar(registro, ts)
        batch.append(registro)
        if len(batch) == data.PER_ENVELOPE or i == n - 1:
            peticion = construir_peticion(CABECERA, batch)
            validar(peticion)
            envelopes.append(etree.tostring(peticion, xml_declaration=True, encoding="UTF-8"))
            batch = []
    elapsed = time.perf_counter() - t0
    assert cadena.ultimo is not None
    return n / elapsed, cadena.ultimo.huella, envelopes


def second_record(envelope: bytes) -> str:
    """The second RegistroAlta of an envelope, serialised on its own."""
    root = etree.fromstring(envelope)
    return etree.tostring(root[2][0], encoding="unicode")


def versions() -> dict[str, str]:
    return {
        "sdk": __version__,
        "lxml": ".".join(map(str, etree.LXML_VERSION[:3])),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "python": sys.version.split()[0],
    }


def answer(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--serve", action="store_true", help="one run per 'run' line on stdin")
    args = parser.parse_args()
    if args.records < 2:
        raise SystemExit("--records must be at least 2")
    with contextlib.suppress(ErrorValidacionXSD):  # loads the XSD outside the timing, as ours
        validar(b"<x/>")
    rows = data.invoices(args.records)
    first = True

    def one() -> dict:
        nonlocal first
        rate, head, envelopes = run(rows)
        doc = {"records": args.records, "records_per_s": rate, "head": head}
        if first:
            doc["record_2"] = second_record(envelopes[0])
            first = False
        return doc

    if not args.serve:
        answer({**one(), **versions()})
        return
    answer({"ready": True, **versions()})
    for line in sys.stdin:
        if line.strip() == "run":
            answer(one())


if __name__ == "__main__":
    main()
