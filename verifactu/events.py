"""What the event log records of the log's life: 07, 08, 09 and 10, and its export.

:func:`log_backup_restored` logs 07; :func:`log_export` logs 08/09 whenever billing or event
records leave Factu (every export calls it); :func:`log_summary` logs the periodic 10;
:func:`export_events` writes the signed event log of a taxpayer. The log itself (append, and
whether a chain keeps one) is :mod:`verifactu.event_log`; the anomaly runs (03 to 06) are
:mod:`verifactu.anomalies`.

The event log is kept only where the law asks for it: on chains running NO VERI*FACTU (their
last 01/02 event is a 01). Exports and summaries of other chains log nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import quoteattr

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from factu.models import Taxpayer
from verifactu.anchors import anchor_text, parse_anchor
from verifactu.event_log import log_event, no_verifactu_active
from verifactu.event_xml import (
    PreviousEvent,
    RecordLink,
    exportacion_evento,
    exportacion_facturacion,
    parse_evento,
    resumen_eventos,
)
from verifactu.huella import MADRID, format_timestamp
from verifactu.models import BillingRecord, Chain, EventRecord
from verifactu.modes import chains_of

Period = tuple[date | datetime | None, date | datetime | None]


def log_backup_restored(
    chain: Chain, *, note: str | None = None, now: datetime | None = None
) -> EventRecord | None:
    """Log 07 (backup restored) on a NO VERI*FACTU chain; ``None`` on any other chain."""
    if not no_verifactu_active(chain):
        return None
    return log_event(chain, "07", now=now, otros_datos=note.strip()[:100] if note else None)


def _record_link(record) -> RecordLink:
    # For an anulación the id columns hold the annulled invoice's id, as its XML does.
    return RecordLink(
        record.issuer_nif, record.invoice_number, record.invoice_date_text, record.huella
    )


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _totals(records) -> tuple[int, Decimal, Decimal, int]:
    """(altas, Σ CuotaTotal of the altas, Σ ImporteTotal of the altas, anulaciones)."""
    altas = [r for r in records if r.kind == BillingRecord.Kind.ALTA]
    return (
        len(altas),
        sum((_decimal(r.cuota_total_text) for r in altas), Decimal(0)),
        sum((_decimal(r.importe_total_text) for r in altas), Decimal(0)),
        len(records) - len(altas),
    )


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, MADRID)


def _bound(value: date | datetime | None, *, end: bool) -> str | None:
    """A period bound as FechaHoraHuso: a date covers its whole day in Madrid time."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_timestamp(value)
    return format_timestamp(datetime.combine(value, time(23, 59, 59) if end else time.min, MADRID))


def export_is_logged(records: Iterable[Any]) -> bool:
    """Whether exporting ``records`` would log an event (08/09): some chain of theirs runs
    NO VERI*FACTU. Such an export is an explicit action (a POST), never a plain GET, so a
    link, a prefetch or another site cannot write the taxpayer's event log."""
    chain_ids = {record.chain_id for record in records}
    return any(no_verifactu_active(chain) for chain in Chain.objects.filter(pk__in=chain_ids))


def log_export(
    items: Iterable[Any],
    *,
    period: Period = (None, None),
    now: datetime | None = None,
    note: str | None = None,
) -> list:
    """Log that ``items`` left Factu: an 08 per chain of billing records, a 09 per chain of
    event records. Returns the events logged.

    Every export calls this once, after producing its file: the gestoría's ZIP, the XML
    downloads and :func:`export_events`. Callers log only on an explicit action (a POST, a
    command, a job the user started), never on a GET (:func:`export_is_logged`). ``period``
    is what the export covered (dates, or aware datetimes); by default the generation times
    of the first and last item exported from each chain; ``note`` goes in OtrosDatosEvento.
    Chains not running NO VERI*FACTU log nothing.
    """
    groups: dict[tuple[str, int], dict[Any, Any]] = {}
    for item in items:
        if isinstance(item, BillingRecord):
            kind = "08"
        elif isinstance(item, EventRecord):
            kind = "09"
        else:
            raise TypeError(f"exports are of BillingRecord or EventRecord, not {type(item)}")
        groups.setdefault((kind, item.chain_id), {})[item.pk] = item
    chains = Chain.objects.in_bulk({chain_id for _, chain_id in groups})
    logged = []
    for (kind, chain_id), by_pk in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
        chain = chains[chain_id]
        if not no_verifactu_active(chain):
            continue
        group = sorted(by_pk.values(), key=lambda item: item.position)
        first, last = group[0], group[-1]
        inicio = _bound(period[0], end=False) or first.generated_at_text
        fin = _bound(period[1], end=True) or last.generated_at_text
        if kind == "08":
            altas, cuota, importe, anulaciones = _totals(group)
            datos = exportacion_facturacion(
                inicio=inicio,
                fin=fin,
                primero=_record_link(first),
                ultimo=_record_link(last),
                altas=altas,
                suma_cuota=cuota,
                suma_importe=importe,
                anulaciones=anulaciones,
            )
        else:
            datos = exportacion_evento(
                inicio=inicio,
                fin=fin,
                primero=PreviousEvent(first.tipo_evento, first.generated_at_text, first.huella),
                ultimo=PreviousEvent(last.tipo_evento, last.generated_at_text, last.huella),
                exportados=len(group),
            )
        logged.append(log_event(chain, kind, now=now, datos_propios=datos, otros_datos=note))
    return logged


def log_summary(chain: Chain, *, now: datetime | None = None) -> EventRecord | None:
    """Log 10 (summary) on a NO VERI*FACTU chain: what happened since its previous 10.

    Counts the events of each type and the NO VERI*FACTU billing records generated since the
    previous summary (since the start of the log for the first one), under the chain's lock,
    so nothing appended meanwhile falls between two summaries. It is an anchor
    (:mod:`verifactu.anchors`): it names the last record of the period and, in
    ``OtrosDatosEvento``, the chain's length and event count. Returns ``None`` (nothing
    logged) on other chains and when nothing happened.
    """
    with transaction.atomic():
        chain = Chain.objects.select_for_update().get(pk=chain.pk)
        if not no_verifactu_active(chain):
            return None
        previous = (
            EventRecord.objects.filter(chain=chain, tipo_evento="10").order_by("-position").first()
        )
        events = EventRecord.objects.filter(chain=chain)
        records = BillingRecord.objects.filter(chain=chain, no_verifactu=True)
        if previous is not None:
            events = events.filter(position__gt=previous.position)
            anchor = parse_anchor(parse_evento(previous.xml)["otros"])
            if anchor is not None:
                records = records.filter(position__gt=anchor[0])
            else:  # a summary from before anchors
                records = records.filter(created_at__gt=previous.created_at)
        counts = Counter(events.values_list("tipo_evento", flat=True))
        generated = list(
            records.filter(position__lte=chain.length)
            .order_by("position")
            .only(
                "chain_id",
                "position",
                "kind",
                "issuer_nif",
                "invoice_number",
                "invoice_date_text",
                "cuota_total_text",
                "importe_total_text",
                "huella",
            )
        )
        if not counts and not generated:
            return None
        altas, cuota, importe, anulaciones = _totals(generated)
        datos = resumen_eventos(
            counts,
            altas=altas,
            suma_cuota=cuota,
            suma_importe=importe,
            anulaciones=anulaciones,
            primero=_record_link(generated[0]) if generated else None,
            ultimo=_record_link(generated[-1]) if generated else None,
        )
        return log_event(
            chain,
            "10",
            now=now,
            datos_propios=datos,
            otros_datos=anchor_text(chain.length, chain.events_length),
        )


# --------------------------------------------------------------------------- the log's export

EXPORT_ROOT = "ExportacionRegistrosEvento"


@dataclass
class EventExport:
    """An export of a taxpayer's event log: the XML, what went in it, and the 09s logged."""

    xml: bytes
    events: list
    unsigned: int = 0
    logged: list = field(default_factory=list)


def taxpayer_events(
    taxpayer: Taxpayer, *, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[EventRecord]:
    """The events of every chain of ``taxpayer``, created between the dates (inclusive, Madrid
    time), in chain and position order."""
    events = EventRecord.objects.filter(chain__in=chains_of(taxpayer))
    if date_from is not None:
        events = events.filter(created_at__gte=_local_start(date_from))
    if date_to is not None:
        events = events.filter(created_at__lt=_local_start(date_to + timedelta(days=1)))
    return events.order_by("chain_id", "position")


def render_event_export(
    nif: str,
    events: list,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    unsigned: int = 0,
    generated_at: datetime | None = None,
) -> bytes:
    """The export document: the signed ``RegistroEvento`` of each event, byte for byte, inside
    an ``ExportacionRegistrosEvento`` element with no namespace and no prefix.

    Nothing is declared above the events, so each one, read out of the document, is the very
    document that was signed (``URI=""``, inclusive C14N) and verifies on its own.
    """
    attributes = {
        "NIF": nif,
        "Desde": date_from.isoformat() if date_from else "",
        "Hasta": date_to.isoformat() if date_to else "",
        "Generado": format_timestamp(generated_at or timezone.now()),
        "Exportados": str(len(events)),
        "SinFirma": str(unsigned),
    }
    head = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items() if value)
    body = "".join(f"{event.signature.signed_xml}\n" for event in events)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{EXPORT_ROOT}{head}>\n{body}</{EXPORT_ROOT}>\n'
    ).encode()


def export_events(
    taxpayer: Taxpayer,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
) -> EventExport:
    """Export the signed event log of ``taxpayer`` and log the 09 of the export.

    Only signed events go in (the log's value is its signatures): every event is signed at
    birth, so an unsigned one is an anomaly, counted in ``unsigned`` (``SinFirma``) and left
    out, never signed now. The 09 is logged after the document is built, so it is not part
    of it: the next export carries it. Raises
    :class:`~verifactu.signatures.SigningUnavailable` (nothing logged) when the 09 cannot be
    signed: the caller refuses the export.
    """
    events = list(
        taxpayer_events(taxpayer, date_from=date_from, date_to=date_to).select_related("signature")
    )
    signed = [event for event in events if hasattr(event, "signature")]
    xml = render_event_export(
        taxpayer.nif,
        signed,
        date_from=date_from,
        date_to=date_to,
        unsigned=len(events) - len(signed),
        generated_at=now,
    )
    logged = log_export(signed, period=(date_from, date_to), now=now)
    return EventExport(xml, signed, len(events) - len(signed), logged)
