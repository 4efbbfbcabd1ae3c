"""Verifying AEAT chains from what is stored: the XML text first, the columns against it.

Every huella is recomputed from the literals read back out of the stored XML (never from the
columns, which could have been changed alone), every ``RegistroAnterior`` is compared with
its predecessor's XML, the columns are compared with the XML, positions must run 1..n, and
the chain row's head and length must match the last record, and each record's
FechaHoraHusoGenRegistro is not earlier than its predecessor's nor later than now plus
``VERIFACTU_CLOCK_SKEW``. :mod:`verifactu.verification` adds the signatures, the event log
and the anchors; ``verifactu_verify`` and the anomaly check call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from lxml import etree

from verifactu import xml as vxml
from verifactu.models import BillingRecord, Chain

_NS = {"sf": vxml.NS_SF}
_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
_COLUMNS = (
    "id",
    "chain_id",
    "position",
    "previous_id",
    "kind",
    "issuer_nif",
    "invoice_number",
    "invoice_date_text",
    "invoice_type",
    "cuota_total_text",
    "importe_total_text",
    "previous_huella",
    "generated_at_text",
    "huella",
    "xml",
)
_KIND = {"RegistroAlta": BillingRecord.Kind.ALTA, "RegistroAnulacion": BillingRecord.Kind.ANULACION}


@dataclass(frozen=True)
class Break:
    """One thing wrong in a chain; ``position`` etc. are ``None`` for the chain row itself."""

    chain_id: int
    position: int | None
    invoice_number: str
    record_id: str
    problem: str

    def __str__(self) -> str:
        if self.position is None:
            return f"chain {self.chain_id}: {self.problem}"
        return (
            f"chain {self.chain_id}, record #{self.position} (invoice {self.invoice_number}, "
            f"id {self.record_id}): {self.problem}"
        )


@dataclass
class ChainReport:
    chain: Chain
    records: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


@dataclass(frozen=True)
class Link:
    """What the next record must point to: the predecessor as its own XML says (``record_id``
    None when it is not stored, as in an exported file)."""

    record_id: object
    nif: str
    numserie: str
    fecha: str
    huella: str
    generated_at: str = ""


def latest_allowed(now: datetime | None = None) -> datetime:
    """The latest generation time an item may state: now plus ``VERIFACTU_CLOCK_SKEW``."""
    return (now or timezone.now()) + timedelta(seconds=settings.VERIFACTU_CLOCK_SKEW)


def date_problems(tag: str, stated: str, previous: str | None, latest: datetime) -> list[str]:
    """Problems of one generation time ``stated`` (the text of ``tag``): not a time, earlier
    than its predecessor's ``previous``, or later than ``latest``."""
    try:
        when = datetime.fromisoformat(stated)
        if when.tzinfo is None:
            raise ValueError("no time zone")
    except ValueError:
        return [f"{tag} {stated!r} is not a date-time with its time zone"]
    problems = []
    try:
        before = datetime.fromisoformat(previous) if previous else None
    except ValueError:
        before = None  # the predecessor's own problem, reported there
    if before is not None and before.tzinfo is not None and when < before:
        problems.append(f"{tag} {stated} is earlier than its predecessor's {previous}")
    if when > latest:
        problems.append(f"{tag} {stated} is later than the clock allows ({latest.isoformat()})")
    return problems


def _record_problems(
    record: BillingRecord, previous: Link | None, position: int, latest: datetime
) -> tuple[list[str], Link | None]:
    """Problems of one record, and the link its successor must carry (None if unreadable)."""
    problems: list[str] = []
    if record.position != position:
        problems.append(f"position is {record.position}, expected {position} (gap or repeat)")
    expected_previous = previous.record_id if previous else None
    if record.previous_id != expected_previous:
        problems.append(f"previous points to {record.previous_id}, expected {expected_previous}")
    try:
        root = etree.fromstring(record.xml.encode("utf-8"), _PARSER)
        parsed = vxml.parse_record(root)
    except (etree.XMLSyntaxError, ValueError) as exc:
        problems.append(f"stored XML cannot be read: {exc}")
        return problems, None
    fields = parsed["fields"]
    recomputed = vxml.recompute_huella(parsed)
    if recomputed != parsed["huella"]:
        problems.append(
            f"huella recomputed from the XML is {recomputed}, the XML says {parsed['huella']}"
        )
    if record.huella != parsed["huella"]:
        problems.append(
            f"huella column {record.huella!r} differs from the XML {parsed['huella']!r}"
        )
    alta = parsed["kind"] == "RegistroAlta"
    suffix = "" if alta else "Anulada"
    columns = {
        "kind": (record.kind, _KIND[parsed["kind"]]),
        "issuer_nif": (record.issuer_nif, fields["IDEmisorFactura" + suffix]),
        "invoice_number": (record.invoice_number, fields["NumSerieFactura" + suffix]),
        "invoice_date_text": (record.invoice_date_text, fields["FechaExpedicionFactura" + suffix]),
        "previous_huella": (record.previous_huella, fields["Huella"]),
        "generated_at_text": (record.generated_at_text, fields["FechaHoraHusoGenRegistro"]),
    }
    if alta:
        columns["invoice_type"] = (record.invoice_type, fields["TipoFactura"])
        columns["cuota_total_text"] = (record.cuota_total_text, fields["CuotaTotal"])
        columns["importe_total_text"] = (record.importe_total_text, fields["ImporteTotal"])
    for name, (stored, in_xml) in columns.items():
        if stored != in_xml:
            problems.append(f"column {name} is {stored!r} but the XML says {in_xml!r}")
    problems += encadenamiento_problems(root, previous)
    generated_at = fields["FechaHoraHusoGenRegistro"]
    problems += date_problems(
        "FechaHoraHusoGenRegistro",
        generated_at,
        previous.generated_at if previous else None,
        latest,
    )
    link = Link(
        record_id=record.pk,
        nif=fields["IDEmisorFactura" + suffix],
        numserie=fields["NumSerieFactura" + suffix],
        fecha=fields["FechaExpedicionFactura" + suffix],
        huella=parsed["huella"],
        generated_at=generated_at,
    )
    return problems, link


def encadenamiento_problems(root: etree._Element, previous: Link | None) -> list[str]:
    """Problems of the Encadenamiento of the record ``root`` (a RegistroAlta or
    RegistroAnulacion element): PrimerRegistro=S when ``previous`` is None, else a whole
    RegistroAnterior (NIF, number, date and huella) naming ``previous``."""
    first = root.findtext("sf:Encadenamiento/sf:PrimerRegistro", namespaces=_NS)
    anterior = root.find("sf:Encadenamiento/sf:RegistroAnterior", namespaces=_NS)
    if previous is None:
        if first != "S" or anterior is not None:
            return ["the first record of the chain lacks PrimerRegistro=S"]
        return []
    if anterior is None:
        return ["RegistroAnterior is missing (the record claims to start a chain)"]
    said = {
        "IDEmisorFactura": previous.nif,
        "NumSerieFactura": previous.numserie,
        "FechaExpedicionFactura": previous.fecha,
        "Huella": previous.huella,
    }
    problems = []
    for tag, expected in said.items():
        value = anterior.findtext(f"sf:{tag}", default="", namespaces=_NS)
        if value != expected:
            problems.append(
                f"RegistroAnterior/{tag} is {value!r} but the previous record's is {expected!r}"
            )
    return problems


def verify_records(
    chain: Chain, records: Iterable[BillingRecord], *, now: datetime | None = None
) -> ChainReport:
    """Check ``records`` (in position order) as the whole of ``chain``."""
    report = ChainReport(chain)
    previous: Link | None = None
    last: BillingRecord | None = None
    latest = latest_allowed(now)
    for record in records:
        report.records += 1
        problems, link = _record_problems(record, previous, report.records, latest)
        report.breaks += [
            Break(chain.pk, record.position, record.invoice_number, str(record.pk), problem)
            for problem in problems
        ]
        # An unreadable record still links by its columns, so one bad XML is one break.
        previous = link or Link(
            record.pk,
            record.issuer_nif,
            record.invoice_number,
            record.invoice_date_text,
            record.huella,
            record.generated_at_text,
        )
        last = record
    head_id = last.pk if last else None

    def chain_break(problem: str) -> None:
        report.breaks.append(Break(chain.pk, None, "", "", problem))

    if chain.length != report.records:
        chain_break(f"chain length is {chain.length} but it holds {report.records} records")
    if chain.head_id != head_id:
        chain_break(f"chain head is {chain.head_id}, the last record is {head_id}")
    if last is not None and chain.last_huella != previous.huella:
        chain_break(f"chain last_huella {chain.last_huella!r} is not the last record's huella")
    quoted = (chain.issuer_nif, chain.head_invoice_number, chain.head_invoice_date_text)
    if last is not None and quoted != (previous.nif, previous.numserie, previous.fecha):
        chain_break(
            f"chain head quotes {quoted[1]!r} of {quoted[2]!r} ({quoted[0]}), the last "
            f"record is {previous.numserie!r} of {previous.fecha!r} ({previous.nif})"
        )
    return report


def verify_chain(chain: Chain) -> list[Break]:
    """Every break in ``chain``, in position order (chain-row problems last)."""
    return check_chain(chain).breaks


def check_chain(chain: Chain, *, now: datetime | None = None) -> ChainReport:
    records = (
        BillingRecord.objects.filter(chain=chain)
        .order_by("position")
        .only(*_COLUMNS)
        .iterator(chunk_size=500)
    )
    return verify_records(chain, records, now=now)


def verify_all(nif: str | None = None) -> list[ChainReport]:
    """A report per chain (of one issuer NIF when given), in a stable order."""
    chains = Chain.objects.order_by("issuer_nif", "pk")
    if nif:
        chains = chains.filter(issuer_nif=nif)
    return [check_chain(chain) for chain in chains]
