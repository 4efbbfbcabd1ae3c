"""Anomaly detection on a NO VERI*FACTU chain: the verifier's findings, logged as events.

:func:`run_anomaly_check` runs :func:`verifactu.verification.verify` (records, events, every
signature, dates and anchors) and logs what it found and nothing else: events 03 and 05 (the
runs, with the number of items each check actually covered) and a 04 / 06 per anomaly found,
once (the beat task ``verifactu.anomaly_check``, ``manage.py verifactu_check_anomalies``):
each 04 / 06 carries its :attr:`~verifactu.verification.Finding.key` in its signed
OtrosDatosEvento, and an anomaly counts as logged only when such a signed event says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError, transaction
from lxml import etree

from verifactu import signers
from verifactu.event_log import log_event
from verifactu.event_xml import (
    PreviousEvent,
    deteccion_evento,
    deteccion_facturacion,
    lanzamiento_deteccion,
    parse_evento,
)
from verifactu.models import Chain, EventRecord
from verifactu.signatures import SigningUnavailable
from verifactu.verification import Finding, Verification, verify
from verifactu.xml import InvoiceId


class RunNotLogged(Exception):
    """The run found ``findings`` but could not log it: the database refused it (a chain row
    whose event head names events that are gone refuses every append,
    ``verifactu_chain_guard``) or no certificate may sign its events
    (:class:`~verifactu.signatures.SigningUnavailable`)."""

    def __init__(self, findings: list[Finding], reason: str) -> None:
        super().__init__(reason)
        self.findings = findings
        self.reason = reason


def _already_logged(chain: Chain, key: str) -> bool:
    """Whether a 04 / 06 of ``chain`` logged this anomaly: its signed XML carries ``key`` in
    OtrosDatosEvento and its signature verifies. The ``anomaly_key`` column is neither hashed
    nor signed, so it decides nothing."""
    candidates = EventRecord.objects.filter(
        chain=chain,
        tipo_evento__in=("04", "06"),
        xml__contains=f"<OtrosDatosEvento>{key}</OtrosDatosEvento>",
    ).select_related("signature", "chain")
    for event in candidates:
        try:
            carried = parse_evento(event.xml)["otros"]
        except (ValueError, etree.XMLSyntaxError):
            continue
        if carried == key and signers.signature_problem(event) is None:
            return True
    return False


def _record_detection(anomaly: Finding) -> str:
    record = anomaly.item
    registro = anomaly.record_named
    if registro is None and record is not None and hasattr(record, "invoice_number"):
        registro = InvoiceId(record.issuer_nif, record.invoice_number, record.invoice_date_text)
    return deteccion_facturacion(anomaly.tipo_anomalia, anomaly.message, registro)


def _event_detection(anomaly: Finding) -> str:
    ev = anomaly.event_named
    if ev is None and anomaly.item is not None:
        ev = PreviousEvent(
            anomaly.item.tipo_evento, anomaly.item.generated_at_text, anomaly.item.huella
        )
    if ev is not None and not (ev.tipo_evento and ev.fecha_hora_huso):
        ev = None  # RegEventoAnomalo needs all three: a head that names a huella alone
    return deteccion_evento(anomaly.tipo_anomalia, anomaly.message, ev)


def _log_run(
    chain: Chain,
    now: datetime | None,
    codes: tuple[str, str],
    launch: str,
    anomalies: list[Finding],
    detection: Callable[[Finding], str],
) -> None:
    """Log one detection run (``codes[0]``) and each of its anomalies not logged before
    (``codes[1]``, keyed by the anomaly so a later run does not log it again)."""
    run_code, anomaly_code = codes
    log_event(chain, run_code, now=now, datos_propios=launch)
    for anomaly in anomalies:
        if _already_logged(chain, anomaly.key):
            continue
        log_event(
            chain,
            anomaly_code,
            now=now,
            datos_propios=detection(anomaly),
            otros_datos=anomaly.key,
            anomaly_key=anomaly.key,
        )


def log_verification(result: Verification, *, now: datetime | None = None) -> None:
    """Log the runs of ``result`` (03, 05, with the counts actually checked) and its new
    anomalies (04, 06)."""
    runs = (
        ("03", "04", "RegFacturacion", result.records, result.record_signatures, _record_detection),
        ("05", "06", "RegEvento", result.events, result.event_signatures, _event_detection),
    )
    with transaction.atomic():
        for run_code, anomaly_code, kind, items, signatures, detection in runs:
            launch = lanzamiento_deteccion(
                kind, huellas=items, firmas=signatures, cadena=items, fechas=items
            )
            found = [f for f in result.findings if f.tipo_evento == anomaly_code]
            _log_run(result.chain, now, (run_code, anomaly_code), launch, found, detection)


def run_anomaly_check(chain: Chain, *, now: datetime | None = None) -> list[Finding]:
    """One detection run over both chains of ``chain``; returns the anomalies found (each
    logged once, as a 04 or 06, after the runs' 03 and 05). Raises :class:`RunNotLogged`
    when the database refuses the events."""
    result = verify(chain, now=now)
    try:
        log_verification(result, now=now)
    except DatabaseError as exc:
        raise RunNotLogged(result.findings, str(exc).strip()) from exc
    except SigningUnavailable as exc:
        raise RunNotLogged(result.findings, exc.message) from exc
    return result.findings
