"""The NO VERI*FACTU event log: the chain of events of each (obligado NIF, installation).

:func:`log_event` appends an :class:`~verifactu.models.EventRecord` (its XML from
:mod:`verifactu.event_xml`) to the chain under the same row lock as billing records, and
signs it in the same transaction (:mod:`verifactu.signatures`): an event is never visible
unsigned, and without a certificate that may sign it is not logged at all
(:class:`~verifactu.signatures.SigningUnavailable`). The log is kept only where the law asks
for it: on chains running NO VERI*FACTU, whose last 01/02 event is a 01
(:func:`no_verifactu_active`). What is logged on it besides the mode switches
(:mod:`verifactu.modes`) is in :mod:`verifactu.events` (07 to 10) and
:mod:`verifactu.anomalies` (03 to 06).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from lxml import etree

from verifactu import signatures
from verifactu.chains import generation_time
from verifactu.event_xml import (
    EventoData,
    PreviousEvent,
    build_evento,
    parse_evento,
    validate_evento,
)
from verifactu.models import Chain, ComputerSystem, EventRecord
from verifactu.sistema import sistema_informatico
from verifactu.xml import Obligado


def _system_for(chain: Chain) -> ComputerSystem:
    system = (
        ComputerSystem.objects.filter(
            account_id=chain.account_id, installation_number=chain.installation_number
        )
        .order_by("-created_at")
        .first()
    )
    if system is None:
        raise ValueError(f"no computer system matches chain {chain}")
    return system


def log_event(
    chain: Chain,
    tipo_evento: str,
    *,
    now: datetime | None = None,
    datos_propios: str | None = None,
    otros_datos: str | None = None,
    anomaly_key: str = "",
    system: ComputerSystem | None = None,
) -> EventRecord:
    """Append an event to the event chain of ``chain`` (locked here), signed; returns the
    EventRecord. Call inside ``transaction.atomic()``. It is dated ``now``, or its head
    event's time when ``now`` is earlier (:func:`verifactu.chains.generation_time`, the
    records' rule).

    Raises :class:`~verifactu.signatures.SigningUnavailable` (nothing logged) when no
    certificate may sign for the chain; every caller handles it.
    """
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return log_event(
                chain,
                tipo_evento,
                now=now,
                datos_propios=datos_propios,
                otros_datos=otros_datos,
                anomaly_key=anomaly_key,
                system=system,
            )
    chain = Chain.objects.select_for_update(no_key=True).get(pk=chain.pk)
    signer = signatures.signer_for(chain)
    system = system or _system_for(chain)
    head = EventRecord.objects.filter(chain=chain).order_by("-position").first()
    previous = (
        PreviousEvent(head.tipo_evento, head.generated_at_text, head.huella) if head else None
    )
    sistema = sistema_informatico(system, multiple_taxpayers=chain.multiple_taxpayers)
    generated_at = generation_time(head.generated_at_text if head else "", now or timezone.now())
    built = build_evento(
        EventoData(
            sistema=sistema,
            obligado=Obligado(chain.issuer_name, chain.issuer_nif),
            tipo_evento=tipo_evento,
            fecha_hora_huso=generated_at,
            previous=previous,
            datos_propios=datos_propios,
            otros_datos=otros_datos,
        )
    )
    problems = validate_evento(built.xml, signed=False)
    if problems:
        raise ValueError(f"the event does not validate against EventosSIF.xsd: {problems}")
    event = EventRecord.objects.create(
        chain=chain,
        position=(head.position + 1) if head else 1,
        previous=head,
        tipo_evento=tipo_evento,
        producer_nif=sistema.nif or "",
        system_id=sistema.id_sistema,
        version=sistema.version,
        installation_number=sistema.numero_instalacion,
        obligado_nif=chain.issuer_nif,
        previous_huella=previous.huella if previous else "",
        generated_at_text=generated_at,
        huella=built.huella,
        xml=built.xml,
        anomaly_key=anomaly_key[:120],
    )
    signatures.sign_new(event, signer)
    return event


def no_verifactu_active(chain: Chain) -> bool:
    """Whether the chain runs as NO VERI*FACTU: its last 01/02 event is a 01 (start)."""
    last = (
        EventRecord.objects.filter(chain=chain, tipo_evento__in=("01", "02"))
        .order_by("-position")
        .values_list("tipo_evento", flat=True)
        .first()
    )
    return last == "01"


def no_verifactu_periods(chain: Chain) -> list[tuple[datetime, datetime | None]]:
    """When ``chain`` ran NO VERI*FACTU, as its event log says: ``(start, end)`` from each 01's
    FechaHoraHusoGenEvento (read from its XML) to the next 02's, ``end`` None while it runs.
    An event whose time cannot be read is skipped (its own finding, reported by the
    verifier)."""
    periods: list[tuple[datetime, datetime | None]] = []
    start: datetime | None = None
    switches = EventRecord.objects.filter(chain=chain, tipo_evento__in=("01", "02"))
    for tipo, xml in switches.order_by("position").values_list("tipo_evento", "xml"):
        try:
            when = datetime.fromisoformat(parse_evento(xml)["fields"]["FechaHoraHusoGenEvento"])
        except (ValueError, etree.XMLSyntaxError):
            continue
        if when.tzinfo is None:
            continue
        if tipo == "01" and start is None:
            start = when
        elif tipo == "02" and start is not None:
            periods.append((start, when))
            start = None
    if start is not None:
        periods.append((start, None))
    return periods


def chains_with_event_log() -> QuerySet[Chain]:
    """The chains that keep an event log (have ever logged an event), in primary-key order."""
    return Chain.objects.filter(events__isnull=False).distinct().order_by("pk")
