"""One verifier for a chain: what it must hold to verify, each finding an AEAT anomaly.

:func:`verify` returns the findings of a chain, in this order:

- **records** (:func:`verifactu.integrity.check_chain`): every huella recomputed from the
  stored XML, every link to the predecessor, the columns against the XML, positions 1..n,
  generation times in order and not in the future, and the chain row's record head;
- **signatures** of every record that must be signed or is, and, on chains that keep an event
  log, of every event (:func:`verifactu.signers.signature_problem`); an unsigned item is a
  finding, never signed by anything here. A record must be signed when its column says
  ``no_verifactu=True`` and also when it was generated strictly inside a period the event log
  says the chain ran NO VERI*FACTU (:func:`verifactu.event_log.no_verifactu_periods`, from a
  01 to the next 02): the column is not signed, and a record of that period whose column says
  VERI*FACTU is a finding even when signed;
- **events**: positions, HuellaEvento recomputed, EventoAnterior against the predecessor,
  generation times in order and not in the future;
- **anchors** (:mod:`verifactu.anchors`): every 10, 03 and 05 still holds, and the chain
  row's event head is the log's last event.

Each :class:`Finding` names its item and carries the event type that logs it (04 records,
06 events) and the TipoAnomalia. :func:`verifactu.anomalies.run_anomaly_check` logs them,
``manage.py verifactu_verify`` prints them. :class:`Verification` also counts what was
checked, which is what the 03 / 05 runs declare.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from lxml import etree

from verifactu import integrity, signers
from verifactu.anchors import anchor_problems
from verifactu.event_log import no_verifactu_periods
from verifactu.event_xml import PreviousEvent, parse_evento, recompute_huella_evento
from verifactu.models import BillingRecord, Chain, EventRecord
from verifactu.xml import InvoiceId


@dataclass(frozen=True)
class Finding:
    """One anomaly: logged as ``tipo_evento`` (04 records, 06 events) with ``tipo_anomalia``.

    ``item`` is the record or event it is about (``None`` for the chain row);
    ``record_named`` / ``event_named`` the item an anchor names that is not there;
    ``evidence`` the stored data found wrong, so the same data is logged once."""

    tipo_evento: str
    tipo_anomalia: str
    message: str
    item: Any = None
    evidence: str = ""
    record_named: InvoiceId | None = None
    event_named: PreviousEvent | None = None

    @property
    def record(self) -> Any:
        return self.item

    @property
    def key(self) -> str:
        digest = hashlib.sha256((self.evidence or self.message).encode()).hexdigest()[:16]
        ref = self.item.pk.hex if self.item is not None else "-"
        return f"{self.tipo_evento}:{self.tipo_anomalia}:{ref}:{digest}"

    def __str__(self) -> str:
        return self.message


@dataclass
class Verification:
    """The findings of one chain, and how many items each check covered."""

    chain: Chain
    findings: list[Finding] = field(default_factory=list)
    records: int = 0
    record_signatures: int = 0
    events: int = 0
    event_signatures: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def record_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.tipo_evento == "04"]

    @property
    def event_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.tipo_evento == "06"]


def break_type(problem: str) -> str:
    """The TipoAnomalia of an :mod:`verifactu.integrity` problem."""
    if problem.startswith(("huella recomputed", "huella column")):
        return "01"
    if problem.startswith("RegistroAnterior/Huella"):
        return "08"
    if problem.startswith(("position", "previous", "the first record", "RegistroAnterior")):
        return "04"
    if problem.startswith("FechaHoraHuso"):
        if "earlier than its predecessor" in problem:
            return "11"
        return "13" if "later than the clock" in problem else "14"
    if problem.startswith("chain"):
        return "06"
    return "03"


def _record_findings(chain: Chain, report: integrity.ChainReport) -> list[Finding]:
    ids = {b.record_id for b in report.breaks if b.record_id}
    records = {str(r.pk): r for r in BillingRecord.objects.filter(pk__in=ids)}
    return [
        Finding("04", break_type(b.problem), str(b), records.get(b.record_id))
        for b in report.breaks
    ]


def _signature_finding(kind: str, item: Any, problem: str, name: str) -> Finding:
    signature = getattr(item, "signature", None)
    evidence = item.xml + (signature.signed_xml if signature is not None else "(unsigned)")
    return Finding(kind, "02", f"{name}: {problem}", item, evidence)


def _record_name(chain: Chain, record: BillingRecord) -> str:
    return (
        f"chain {chain.pk}, record #{record.position} (invoice {record.invoice_number}, "
        f"id {record.pk})"
    )


def event_name(chain: Chain, event: EventRecord) -> str:
    return f"chain {chain.pk}, event #{event.position} ({event.tipo_evento}, id {event.pk})"


def _generated_within(text: str, periods: list[tuple[datetime, datetime | None]]) -> bool:
    """Whether the generation time ``text`` falls strictly inside one of ``periods`` (an item
    of the same second as a switch is judged by its column alone)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    return any(start < when and (end is None or when < end) for start, end in periods)


def _generated_no_verifactu(chain: Chain) -> set:
    """The records of ``chain`` whose column says VERI*FACTU but which were generated while
    its signed event log says the chain ran NO VERI*FACTU."""
    periods = no_verifactu_periods(chain)
    if not periods:
        return set()
    flagged = BillingRecord.objects.filter(chain=chain, no_verifactu=False)
    return {
        pk
        for pk, text in flagged.values_list("pk", "generated_at_text").iterator(chunk_size=500)
        if _generated_within(text, periods)
    }


def _check_records(chain: Chain, result: Verification, now: datetime | None) -> None:
    report = integrity.check_chain(chain, now=now)
    result.records = report.records
    result.findings += _record_findings(chain, report)
    flipped = _generated_no_verifactu(chain)
    signed = BillingRecord.objects.filter(
        Q(no_verifactu=True) | Q(signature__isnull=False) | Q(pk__in=flipped), chain=chain
    ).select_related("signature")
    during = "generated while the chain ran NO VERI*FACTU"
    for record in signed.order_by("position").iterator(chunk_size=200):
        result.record_signatures += 1
        name = _record_name(chain, record)
        problem = signers.signature_problem(record)
        if problem:
            problem += f" ({during})" if record.pk in flipped else ""
            result.findings.append(_signature_finding("04", record, problem, name))
        if record.pk in flipped:
            message = f"{name}: column no_verifactu is False, but the record was {during}"
            result.findings.append(Finding("04", "03", message, record, message))


def _check_events(chain: Chain, result: Verification, now: datetime | None) -> None:
    events = list(
        EventRecord.objects.filter(chain=chain).select_related("signature").order_by("position")
    )
    latest = integrity.latest_allowed(now)
    roots: dict = {}
    previous = None
    for count, event in enumerate(events, start=1):
        result.events += 1
        name = event_name(chain, event)

        def add(tipo: str, message: str, event=event, name=name) -> None:
            result.findings.append(Finding("06", tipo, f"{name}: {message}", event, message))

        if event.position != count:
            add("04", f"found at position {event.position} where #{count} was expected")
        try:
            parsed = parse_evento(event.xml)
        except (etree.XMLSyntaxError, ValueError) as exc:
            add("03", f"XML cannot be read: {exc}")
        else:
            roots[event.pk] = parsed["root"]
            if (
                recompute_huella_evento(parsed) != parsed["huella"]
                or event.huella != parsed["huella"]
            ):
                add("01", "HuellaEvento does not recompute")
            if previous is None:
                if not parsed["first"]:
                    add("04", "the first event lacks PrimerEvento=S")
            elif parsed["previous"] != PreviousEvent(
                previous.tipo_evento, previous.generated_at_text, previous.huella
            ):
                add("08", "EventoAnterior does not match its predecessor")
            stated = parsed["fields"]["FechaHoraHusoGenEvento"]
            before = previous.generated_at_text if previous is not None else None
            for problem in integrity.date_problems(
                "FechaHoraHusoGenEvento", stated, before, latest
            ):
                add(break_type(problem), problem)
        result.event_signatures += 1
        problem = signers.signature_problem(event)
        if problem:
            result.findings.append(_signature_finding("06", event, problem, name))
        previous = event
    for problem in anchor_problems(chain, events, roots, result.records):
        named = problem.record_named
        result.findings.append(
            Finding(
                problem.kind,
                problem.tipo_anomalia,
                f"chain {chain.pk}: {problem.message}",
                problem.event if problem.kind == "06" else None,
                problem.message,
                InvoiceId(named.nif, named.numserie, named.fecha) if named else None,
                problem.event_named,
            )
        )


def keeps_event_log(chain: Chain) -> bool:
    return EventRecord.objects.filter(chain=chain).exists()


def verify(chain: Chain, *, now: datetime | None = None) -> Verification:
    """Every finding of ``chain`` (read afresh): its records, their signatures where they
    must be signed and, when it keeps an event log, its events and anchors."""
    chain = Chain.objects.get(pk=chain.pk)
    result = Verification(chain)
    _check_records(chain, result, now)
    if chain.events_length or keeps_event_log(chain):
        _check_events(chain, result, now)
    return result


def verify_all(nif: str | None = None, *, now: datetime | None = None) -> list[Verification]:
    """A :class:`Verification` per chain (of one issuer NIF when given), in a stable order."""
    chains = Chain.objects.order_by("issuer_nif", "pk")
    if nif:
        chains = chains.filter(issuer_nif=nif)
    return [verify(chain, now=now) for chain in chains]
