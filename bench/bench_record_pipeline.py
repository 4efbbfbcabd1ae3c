"""Benchmark: build + hash + serialise + XSD-validate 10,000 RegistroAlta records on one core,
ours against verifactu-sdk 0.1.0's, the same records, in alternating runs.

The invoices' values (Decimals, dates, aware datetimes; ``pipeline_data.py``) are computed
before timing; each run then formats them (huella.py formatters), creates the AltaData, builds
and hashes each record chained to the previous one, serialises 10 envelopes of 1,000 records
and validates each envelope against AEAT's XSD (schema loaded once, before timing).

verifactu-sdk 0.1.0 does the same work its own way (``sdk_pipeline.py``: RegistroAlta,
Cadena.encadenar, construir_peticion, validar against the AEAT XSD it ships, etree.tostring),
in a venv of its own (``sdk_side.py``), as a separate process: runs alternate ours, sdk, ours,
sdk, ... on one core each, never at once. Rows: ours records/s (target >= 14,000), the sdk's
records/s, their ratio (the median of each run of ours over the sdk run right after it;
target >= 3x), and a check that both produce the same thing: the sdk's record 2 equals ours
in C14N 2.0 (prefixes rewritten) and both chains end on the same huella. When the sdk's venv
cannot be built (no network) or ``--skip-sdk`` / ``BENCH_SKIP_SDK`` is given, its rows are
reported as not measured, with the reason.

    .venv/bin/python bench/bench_record_pipeline.py [--quick] [--records N] [--runs R] [--skip-sdk]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import pipeline_data as data  # noqa: E402
import sdk_side  # noqa: E402
from lxml import etree  # noqa: E402

from verifactu.envelopes import build_envelope, validate_envelope  # noqa: E402
from verifactu.huella import format_amount, format_date, format_timestamp  # noqa: E402
from verifactu.xml import (  # noqa: E402
    AltaData,
    BreakdownLine,
    BuiltRecord,
    Obligado,
    PreviousRecord,
    Recipient,
    SistemaInformatico,
    build_alta,
)

PER_ENVELOPE = data.PER_ENVELOPE
SISTEMA = SistemaInformatico(
    **data.SYSTEM,
    solo_verifactu=data.SOLO_VERIFACTU,
    multi_ot=data.MULTI_OT,
    multiples_ot=data.MULTIPLES_OT,
)
OBLIGADO = Obligado(data.ISSUER_NAME, data.ISSUER_NIF)
SDK_NAME = "verifactu-sdk 0.1.0"


def line(rate: str, base: Decimal, cuota: Decimal) -> BreakdownLine:
    """One S1 VAT line of the breakdown, its amounts formatted."""
    return BreakdownLine(
        impuesto="01",
        clave_regimen="01",
        calificacion="S1",
        tipo_impositivo=rate,
        base=format_amount(base),
        cuota=format_amount(cuota),
    )


def alta_data(row: tuple, previous: PreviousRecord | None) -> AltaData:
    """Format one invoice's values and gather them as the record's literals."""
    numserie, issue, b1, c1, b2, c2, cuota, total, ts, client, desc, ref = row
    return AltaData(
        nif=data.ISSUER_NIF,
        numserie=numserie,
        fecha_expedicion=format_date(issue),
        nombre_razon_emisor=data.ISSUER_NAME,
        tipo_factura="F1",
        descripcion=desc,
        lines=(line(data.RATE_1, b1, c1), line(data.RATE_2, b2, c2)),
        recipients=(Recipient(client, nif=data.RECIPIENT_NIF),),
        cuota_total=format_amount(cuota),
        importe_total=format_amount(total),
        sistema=SISTEMA,
        fecha_hora_huso=format_timestamp(ts),
        previous=previous,
        ref_externa=ref,
    )


def chained(built: BuiltRecord, d: AltaData) -> PreviousRecord:
    return PreviousRecord(d.nif, d.numserie, d.fecha_expedicion, built.huella)


def run(rows: list[tuple]) -> tuple[float, str]:
    """One timed run: format, build + hash (chained), serialise, validate.

    Returns records/s and the huella of the last record (the chain's head).
    """
    n = len(rows)
    previous: PreviousRecord | None = None
    batch: list = []
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        d = alta_data(row, previous)
        built = build_alta(d)
        previous = chained(built, d)
        batch.append(built)
        if len(batch) == PER_ENVELOPE or i == n - 1:
            errors = validate_envelope(build_envelope(OBLIGADO, batch))
            if errors:
                raise SystemExit(f"envelope invalid: {errors[:3]}")
            batch = []
    elapsed = time.perf_counter() - t0
    assert previous is not None
    return n / elapsed, previous.huella


def canonical(xml: str) -> str:
    """C14N 2.0 with prefixes rewritten: the same elements and text compare equal whatever
    namespace prefixes each side chose."""
    try:
        return etree.canonicalize(xml, rewrite_prefixes=True)
    except (etree.XMLSyntaxError, TypeError, ValueError) as exc:
        return f"not XML: {exc}"


def same_output(rows: list[tuple], head: str, sdk: dict) -> tuple[bool, str]:
    """Whether the sdk's record 2 is ours (C14N) and its chain ends on our huella; and how."""
    first = build_alta(alta_data(rows[0], None))
    second = build_alta(alta_data(rows[1], chained(first, alta_data(rows[0], None))))
    record_equal = canonical(sdk["record_2"]) == canonical(second.xml)
    head_equal = sdk["head"] == head
    how = (
        f"record 2 {'identical' if record_equal else 'DIFFERS'} in C14N 2.0; "
        f"chain head after {len(rows):,} records {'equal' if head_equal else 'DIFFERS'} "
        f"({head[:16]}... ours, {sdk['head'][:16]}... {SDK_NAME})"
    )
    return record_equal and head_equal, how


def measure(rows: list[tuple], runs: int, skip_sdk: bool) -> tuple[list, list, dict, str]:
    """Alternate our runs with the sdk's; returns ours, the sdk's, its info, or the reason."""
    ours: list[float] = []
    sdk: list[float] = []
    info: dict = {}
    runner = None
    reason = ""
    try:
        runner = sdk_side.Runner(sdk_side.prepare(skip_sdk), len(rows))
        info = dict(runner.info)
    except sdk_side.Unavailable as exc:
        reason = str(exc)
    try:
        for r in range(runs):
            rate, head = run(rows)
            ours.append(rate)
            print(f"run {r + 1}: ours {rate:,.0f} records/s", flush=True)
            if runner is None:
                continue
            try:
                answer = runner.run()
            except sdk_side.Unavailable as exc:
                reason, runner, sdk = str(exc), None, []
                continue
            sdk.append(answer["records_per_s"])
            info.setdefault("record_2", answer.get("record_2"))
            info["head"], info["our_head"] = answer["head"], head
            print(f"run {r + 1}: {SDK_NAME} {sdk[-1]:,.0f} records/s", flush=True)
    finally:
        if runner is not None:
            runner.close()
    return ours, sdk, info, reason


def rows_of(
    records: int, ours: list[float], sdk: list[float], info: dict, reason: str, check: tuple
) -> list[dict]:
    median = statistics.median(ours)
    ratios = [o / s for o, s in zip(ours, sdk, strict=False)] if sdk else []
    ratio = statistics.median(ratios) if ratios else None
    ok, how = check
    sdk_metric = f"{SDK_NAME}: the same {records:,} RegistroAlta, one core"
    if reason:
        sdk_metric += f" (not measured: {reason})"
    versions = {k: info.get(k) for k in ("sdk", "lxml", "libxml2")} if info else {}
    return [
        common.row(
            "record_pipeline",
            f"{records:,} RegistroAlta built, hashed, serialised, XSD-validated",
            ours,
            "records/s",
            "≥ 14,000 records/s",
            common.at_least(median, 14_000),
        ),
        common.row(
            "record_pipeline", sdk_metric, sdk, "records/s", reason=reason or None, **versions
        ),
        common.row(
            "record_pipeline",
            f"ours / {SDK_NAME} (alternating runs)",
            ratios,
            "×",
            "≥ 3 ×",
            common.at_least(ratio, 3),
            ratio_of_medians=(median / statistics.median(sdk)) if sdk else None,
        ),
        common.row(
            "record_pipeline",
            f"{SDK_NAME} output = ours (record 2 in C14N, chain head)",
            [1.0 if ok else 0.0] if sdk else [],
            "1 = same",
            "= 1",
            ok if sdk else None,
            detail=how or None,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 records, 1 run each")
    parser.add_argument(
        "--skip-sdk",
        action="store_true",
        help=f"do not build or run {SDK_NAME} (also: {sdk_side.SKIP_ENV}=1)",
    )
    args = parser.parse_args()
    if args.quick:
        args.records, args.runs = 2_000, 1
    if args.records < 2:
        raise SystemExit("--records must be at least 2")
    validate_envelope(build_envelope(OBLIGADO, ["<x/>"]))  # load the XSD outside the timing
    rows = data.invoices(args.records)
    ours, sdk, info, reason = measure(rows, args.runs, args.skip_sdk)
    check = (False, "")
    if sdk:
        check = same_output(rows, info["our_head"], info)
        print(f"{SDK_NAME} against ours: {check[1]}")
    elif reason:
        print(f"{SDK_NAME}: not measured: {reason}")
    print(
        f"median of {args.runs}: ours {statistics.median(ours):,.0f} records/s"
        + (f", {SDK_NAME} {statistics.median(sdk):,.0f} records/s" if sdk else "")
        + f" ({args.records:,} RegistroAlta, {PER_ENVELOPE} per envelope, one core)"
    )
    common.report(
        "record_pipeline",
        rows_of(args.records, ours, sdk, info, reason, check),
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
