"""Anomaly detection on a NO VERI*FACTU chain: both chains and every signature, verified.

:func:`run_anomaly_check` verifies the billing records (:func:`verifactu.integrity.check_chain`
and their signatures) and the events (position, HuellaEvento, EventoAnterior, signature) of a
chain, and logs events 03 and 05 (the runs, with the number of records processed) and a 04 /
06 per anomaly found, once (the beat task ``verifactu.anomaly_check``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from lxml import etree

from verifactu import integrity
from verifactu.event_log import log_event
from verifactu.event_xml import (
    PreviousEvent,
    deteccion_evento,
    deteccion_facturacion,
    lanzamiento_deteccion,
    parse_evento,
    recompute_huella_evento,
)
from verifactu.models import BillingRecord, Chain, EventRecord
from verifactu.signers import signature_problem
from verifactu.xml import InvoiceId


@dataclass(frozen=True)
class Anomaly:
    tipo_evento: str  # "04" billing records | "06" event records
    tipo_anomalia: str
    message: str
    record: Any = None  # BillingRecord or EventRecord
    evidence: str = ""  # the stored data found wrong: the same data is reported once

    @property
    def key(self) -> str:
        digest = hashlib.sha256((self.evidence or self.message).encode()).hexdigest()[:16]
        ref = self.record.pk.hex if self.record is not None else "-"
        return f"{self.tipo_evento}:{self.tipo_anomalia}:{ref}:{digest}"


def _break_type(problem: str) -> str:
    if problem.startswith("huella recomputed") or problem.startswith("huella column"):
        return "01"
    if problem.startswith("RegistroAnterior/Huella"):
        return "08"
    if problem.startswith(("position", "previous", "the first record", "RegistroAnterior")):
        return "04"
    if problem.startswith("chain"):
        return "06"
    return "03"


def _signed(queryset):
    return queryset.filter(signature__isnull=False).select_related("signature")


def check_billing_records(chain: Chain, ca_pem: bytes | None = None) -> tuple[int, list[Anomaly]]:
    report = integrity.check_chain(chain)
    records = {str(r.pk): r for r in BillingRecord.objects.filter(chain=chain)}
    anomalies = [
        Anomaly("04", _break_type(b.problem), str(b), records.get(b.record_id))
        for b in report.breaks
    ]
    for record in _signed(BillingRecord.objects.filter(chain=chain)).order_by("position"):
        problem = signature_problem(record)
        if problem:
            anomalies.append(
                Anomaly("04", "02", problem, record, record.xml + record.signature.signed_xml)
            )
    return report.records, anomalies


def check_events(chain: Chain, ca_pem: bytes | None = None) -> tuple[int, list[Anomaly]]:
    anomalies: list[Anomaly] = []
    previous = None
    count = 0
    for event in EventRecord.objects.filter(chain=chain).order_by("position"):
        count += 1

        def add(tipo: str, message: str, event=event) -> None:
            signed = event.signature.signed_xml if hasattr(event, "signature") else ""
            evidence = f"{tipo}:{message}" if tipo != "02" else event.xml + signed
            anomalies.append(Anomaly("06", tipo, message, event, evidence))

        if event.position != count:
            add("04", f"event #{event.position} found where #{count} was expected")
        try:
            parsed = parse_evento(event.xml)
        except (etree.XMLSyntaxError, ValueError) as exc:
            add("03", f"event #{event.position}: XML cannot be read: {exc}")
            previous = event
            continue
        if recompute_huella_evento(parsed) != parsed["huella"] or event.huella != parsed["huella"]:
            add("01", f"event #{event.position}: HuellaEvento does not recompute")
        if previous is None:
            if not parsed["first"]:
                add("04", f"event #{event.position}: first event without PrimerEvento=S")
        else:
            link = parsed["previous"]
            expected = PreviousEvent(
                previous.tipo_evento, previous.generated_at_text, previous.huella
            )
            if link != expected:
                add("08", f"event #{event.position}: EventoAnterior does not match its predecessor")
        if hasattr(event, "signature"):
            problem = signature_problem(event)
            if problem:
                add("02", f"event #{event.position}: {problem}")
        previous = event
    return count, anomalies


def _already_logged(chain: Chain, key: str) -> bool:
    return EventRecord.objects.filter(chain=chain, anomaly_key=key).exists()


def _record_detection(anomaly: Anomaly) -> str:
    record = anomaly.record
    registro = (
        InvoiceId(record.issuer_nif, record.invoice_number, record.invoice_date_text)
        if record is not None
        else None
    )
    return deteccion_facturacion(anomaly.tipo_anomalia, anomaly.message, registro)


def _event_detection(anomaly: Anomaly) -> str:
    ev = anomaly.record
    return deteccion_evento(
        anomaly.tipo_anomalia,
        anomaly.message,
        PreviousEvent(ev.tipo_evento, ev.generated_at_text, ev.huella),
    )


def _log_run(
    chain: Chain,
    now: datetime | None,
    codes: tuple[str, str],
    launch: str,
    anomalies: list[Anomaly],
    detection: Callable[[Anomaly], str],
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
            anomaly_key=anomaly.key,
        )


def run_anomaly_check(
    chain: Chain, *, ca_pem: bytes | None = None, now: datetime | None = None
) -> list[Anomaly]:
    """One detection run over both chains of ``chain``; returns the anomalies found.

    Logs 03 and 05 (the runs, with the number of records processed) and a 04 / 06 event
    per anomaly not logged before. Signatures are checked by
    :func:`verifactu.signers.signature_problem`, against the CA bundle of the settings
    (``ca_pem`` is not used).
    """
    records, record_anomalies = check_billing_records(chain, ca_pem)
    events, event_anomalies = check_events(chain, ca_pem)
    signed = _signed(BillingRecord.objects.filter(chain=chain)).count()
    with transaction.atomic():
        _log_run(
            chain,
            now,
            ("03", "04"),
            lanzamiento_deteccion(
                "RegFacturacion", huellas=records, firmas=signed, cadena=records, fechas=records
            ),
            record_anomalies,
            _record_detection,
        )
        _log_run(
            chain,
            now,
            ("05", "06"),
            lanzamiento_deteccion(
                "RegEvento", huellas=events, firmas=events, cadena=events, fechas=events
            ),
            event_anomalies,
            _event_detection,
        )
    return record_anomalies + event_anomalies
