"""Anchors against truncation: what the event log says a chain held, checked against it.

A chain's tail could be cut (its last records or events deleted, the chain row rewritten to
match) by someone with access to the storage. What is cut is then named elsewhere, in items
that survive and are signed:

- **Each summary event 10** names the last NO VERI*FACTU record of its period
  (``RegistroFacturacionFinalPeriodo``: the invoice id and the huella), counts the altas and
  anulaciones generated and the events of each type logged since the previous 10, and its
  ``EventoAnterior`` names the last event (type, time, HuellaEvento). EventosSIF.xsd has no
  field for positions, so its ``OtrosDatosEvento`` (≤ 100 characters) carries them:
  ``registros=N;eventos=M``, the chain's length and event count when the 10 was logged (the
  10 itself being event M + 1). See :func:`anchor_text`.
- **Each detection run 03 / 05** declares how many records / events it checked
  (``NumeroDe…ProcesadosSobreTrazabilidadCadena``): the chain must still hold that many.
- **The chain row** keeps the record head (length, head, last_huella) and the event head
  (``events_length``, ``last_event_huella``), moved only by the inserts' triggers
  (:mod:`verifactu.triggers`): they must match the last record and event.

:func:`anchor_problems` checks every anchor of a chain's log (a count that is not a number is
itself a broken anchor, never an exception); the records' own chain and the
record head are :mod:`verifactu.integrity`'s.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree

from verifactu.event_xml import NSMAP, PreviousEvent, RecordLink
from verifactu.models import BillingRecord, Chain, EventRecord

_ANCHOR = re.compile(r"^registros=(\d{1,9});eventos=(\d{1,9})$")
_DIGITS = re.compile(r"^[0-9]{1,9}$")
_SUMMARY = "ev:Evento/ev:DatosPropiosEvento/ev:ResumenEventos/"


def anchor_text(records: int, events: int) -> str:
    """The OtrosDatosEvento of a 10: the chain's length and event count when it was logged."""
    return f"registros={records};eventos={events}"


def parse_anchor(text: str | None) -> tuple[int, int] | None:
    """``(records, events)`` of a 10's OtrosDatosEvento, or None (a 10 from before anchors)."""
    match = _ANCHOR.match(text or "")
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class AnchorProblem:
    """A broken anchor: ``kind`` "04" (the records' chain) or "06" (the event log), the
    TipoAnomalia, the event that holds the anchor (or the chain row's last event), and the
    record or event the anchor names that is not there (for the 04 / 06 it logs)."""

    kind: str
    tipo_anomalia: str
    message: str
    event: EventRecord | None
    record_named: RecordLink | None = None
    event_named: PreviousEvent | None = None


def _number(text: str | None) -> int | None:
    """A count as the XML states it (ASCII digits), or None when it is not one."""
    return int(text) if text and _DIGITS.match(text) else None


def _int(root: etree._Element, path: str) -> int | None:
    return _number(root.findtext(path, namespaces=NSMAP))


def _link(root: etree._Element, tag: str) -> RecordLink | None:
    node = root.find(_SUMMARY + tag, NSMAP)
    if node is None:
        return None
    return RecordLink(
        *(
            node.findtext(f"ev:{name}", default="", namespaces=NSMAP)
            for name in ("IDEmisorFactura", "NumSerieFactura", "FechaExpedicionFactura", "Huella")
        )
    )


class _Checker:
    def __init__(self, chain: Chain, records_held: int, events: list[EventRecord]) -> None:
        self.chain = chain
        self.records_held = records_held
        self.events = events
        self.problems: list[AnchorProblem] = []

    def add(self, kind: str, tipo: str, message: str, event: EventRecord | None, **named) -> None:
        self.problems.append(AnchorProblem(kind, tipo, message, event, **named))

    def summary(self, event: EventRecord, root: etree._Element, since: tuple[int, int]) -> None:
        """One 10 against the chain; ``since`` is (records, events) at the previous 10."""
        anchor = parse_anchor(root.findtext("ev:Evento/ev:OtrosDatosEvento", namespaces=NSMAP))
        where = f"summary event #{event.position}"
        counts: dict[str | None, int] = {}
        for block in root.iterfind(_SUMMARY + "ev:TipoEvento", NSMAP):
            tipo = block.findtext("ev:TipoEvento", namespaces=NSMAP)
            text = block.findtext("ev:NumeroDeEventos", default="0", namespaces=NSMAP)
            number = _number(text)
            if number is None:
                self.add("06", "06", f"{where} counts {text!r} events of type {tipo}", event)
                return
            counts[tipo] = number
        records_then, events_then = anchor or (None, event.position - 1)
        if events_then != event.position - 1:
            self.add(
                "06",
                "06",
                f"{where} says {events_then} events preceded it, the log holds "
                f"{event.position - 1}",
                event,
            )
        held = Counter(e.tipo_evento for e in self.events if since[1] < e.position < event.position)
        if anchor is not None and counts != {t: held.get(t, 0) for t in counts}:
            self.add(
                "06",
                "06",
                f"{where} counts {sum(counts.values())} events since the previous summary, "
                f"the log holds {sum(held.values())} there",
                event,
            )
        last = _link(root, "ev:RegistroFacturacionFinalPeriodo")
        if anchor is None:
            return
        if last is not None:
            self._named_record(event, where, last, records_then)
        if records_then > self.records_held:
            self.add(
                "04",
                "05",
                f"{where} says the chain held {records_then} records, it holds {self.records_held}",
                event,
                record_named=last,
            )
        generated = Counter(
            BillingRecord.objects.filter(
                chain=self.chain,
                no_verifactu=True,
                position__gt=since[0],
                position__lte=records_then,
            ).values_list("kind", flat=True)
        )
        said = (
            _int(root, _SUMMARY + "ev:NumeroDeRegistrosFacturacionAltaGenerados"),
            _int(root, _SUMMARY + "ev:NumeroDeRegistrosFacturacionAnulacionGenerados"),
        )
        found = (generated[BillingRecord.Kind.ALTA], generated[BillingRecord.Kind.ANULACION])
        if said != found:
            self.add(
                "04",
                "06",
                f"{where} counts {said[0]} altas and {said[1]} anulaciones in records "
                f"{since[0] + 1} to {records_then}, the chain holds {found[0]} and {found[1]}",
                event,
                record_named=last,
            )

    def _named_record(
        self, event: EventRecord, where: str, last: RecordLink, records_then: int
    ) -> None:
        record = (
            BillingRecord.objects.filter(chain=self.chain, huella=last.huella)
            .only("position", "issuer_nif", "invoice_number", "invoice_date_text")
            .first()
        )
        named = f"record {last.numserie} of {last.fecha} (huella {last.huella})"
        if record is None:
            self.add(
                "04",
                "05",
                f"{where} names {named} as the last of its period; the chain does not hold it",
                event,
                record_named=last,
            )
        elif (record.issuer_nif, record.invoice_number, record.invoice_date_text) != (
            last.nif,
            last.numserie,
            last.fecha,
        ) or record.position > records_then:
            self.add(
                "04",
                "06",
                f"{where} names {named}, which the chain holds as #{record.position} "
                f"({record.invoice_number} of {record.invoice_date_text})",
                event,
                record_named=last,
            )

    def run(self, event: EventRecord, root: etree._Element) -> None:
        """The anchors of a 03 / 05: the chain holds what the run says it checked."""
        where = f"detection event #{event.position}"
        if event.tipo_evento == "03":
            path = "NumeroDeRegistrosFacturacionProcesadosSobreTrazabilidadCadena"
            said = _int(root, f".//ev:{path}")
            if said is not None and said > self.records_held and said < 9_999_999:
                self.add(
                    "04",
                    "05",
                    f"{where} checked {said} records, the chain holds {self.records_held}",
                    event,
                )
        else:
            said = _int(root, ".//ev:NumeroDeRegistrosEventoProcesadosSobreTrazabilidadCadena")
            if said is not None and said > event.position - 1 and said < 99_999:
                self.add(
                    "06",
                    "05",
                    f"{where} checked {said} events, {event.position - 1} precede it",
                    event,
                )

    def head(self) -> None:
        """The chain row's event head against the log's last event."""
        last = self.events[-1] if self.events else None
        held, huella = (last.position, last.huella) if last else (0, "")
        chain = self.chain
        if (chain.events_length, chain.last_event_huella) != (held, huella):
            self.add(
                "06",
                "05",
                f"chain {chain.pk}: the chain row's event head is #{chain.events_length} "
                f"{chain.last_event_huella or '-'}, the log ends at #{held} {huella or '-'}",
                last,
                event_named=PreviousEvent("", "", chain.last_event_huella)
                if chain.last_event_huella
                else None,
            )


def anchor_problems(
    chain: Chain, events: list[EventRecord], roots: dict, records_held: int
) -> list[AnchorProblem]:
    """Every broken anchor of ``chain``: ``events`` is its log in position order, ``roots``
    their parsed XML by primary key (unreadable ones missing), ``records_held`` how many
    records the chain holds."""
    checker = _Checker(chain, records_held, events)
    since = (0, 0)
    for event in events:
        root = roots.get(event.pk)
        if root is None:
            continue
        if event.tipo_evento == "10":
            checker.summary(event, root, since)
            anchor = parse_anchor(root.findtext("ev:Evento/ev:OtrosDatosEvento", namespaces=NSMAP))
            since = (anchor[0] if anchor else since[0], event.position)
        elif event.tipo_evento in ("03", "05"):
            checker.run(event, root)
    checker.head()
    return checker.problems
