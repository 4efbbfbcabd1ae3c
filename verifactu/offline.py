"""Verifying an exported file offline: only the file and the operator's CA bundle.

The files Factu exports: the event log (``ExportacionRegistrosEvento``,
:func:`verifactu.events.render_event_export`), a record's XML (the invoice page's and the v1
API's download: one ``RegistroAlta`` / ``RegistroAnulacion``, signed in NO VERI*FACTU), the
requerimiento's envelopes (records inside ``RegFactuSistemaFacturacion``), and a ZIP of any
of these. :func:`verify_file` reads every ``RegistroEvento``, ``RegistroAlta`` and
``RegistroAnulacion`` in it, in document order, and checks:

- every signature (each item read out of the document is the document that was signed)
  against the CA bundle of ``VERIFACTU_SIGNATURE_CA_FILE`` (:func:`verifactu.signers.ca_bundle`;
  a bundle that cannot be read refuses the whole check, :class:`BundleUnreadable`) at its
  signing time, and the independent digest check. Every event must be signed, and so must
  every record inside a larger document (a requerimiento envelope, a file of records): only
  a record that is a document of its own (a VERI*FACTU record's download) may be unsigned;
- every huella recomputed from the item's own literals;
- every link between consecutive items of one chain (obligado NIF and installation) in the
  file: a record's whole RegistroAnterior (NIF, number, date, huella; the rule of
  :func:`verifactu.integrity.encadenamiento_problems`) and an event's EventoAnterior name the
  item before it, so PrimerRegistro / PrimerEvento stands only on the first item of its chain
  in the file (a file may start mid-chain: the first item's own link is not checked);
- generation times in order within a chain, none later than now plus the clock skew
  (:func:`verifactu.integrity.date_problems`).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from lxml import etree

from verifactu import signers
from verifactu import xml as vxml
from verifactu.event_xml import NS_EV, PreviousEvent, parse_evento, recompute_huella_evento
from verifactu.integrity import Link, date_problems, encadenamiento_problems, latest_allowed
from verifactu.signing import SignatureProblem, independent_digest_check, verify_record_signature
from verifactu.xmlkit import instance_parser

_DS = "http://www.w3.org/2000/09/xmldsig#"
_SF = {"sf": vxml.NS_SF}
_KINDS = {
    (NS_EV, "RegistroEvento"): "event",
    (vxml.NS_SF, "RegistroAlta"): "record",
    (vxml.NS_SF, "RegistroAnulacion"): "record",
}


@dataclass
class Item:
    """One item of the file: where it is, what it is, and its problems."""

    where: str
    kind: str  # "event" | "record"
    label: str = ""
    signed: bool = False
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.where} ({self.label}): {'; '.join(self.problems)}"


@dataclass
class FileReport:
    path: str
    items: list[Item] = field(default_factory=list)

    @property
    def broken(self) -> list[Item]:
        return [item for item in self.items if item.problems]

    def count(self, kind: str) -> int:
        return sum(1 for item in self.items if item.kind == kind)

    def signed(self) -> int:
        return sum(1 for item in self.items if item.signed)


class BundleUnreadable(Exception):
    """The operator's CA bundle cannot be read: nothing is verified without it."""

    def __init__(self) -> None:
        super().__init__(
            f"the CA bundle of VERIFACTU_SIGNATURE_CA_FILE "
            f"({settings.VERIFACTU_SIGNATURE_CA_FILE or 'not set'}) cannot be read; "
            "signatures cannot be verified without it"
        )


@dataclass
class _Head:
    """What the next item of a chain must link to."""

    huella: str
    generated_at: str
    tipo_evento: str = ""
    record: Link | None = None


def _documents(path: Path) -> list[tuple[str, bytes]]:
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [
                (f"{path.name}:{name}", archive.read(name))
                for name in archive.namelist()
                if name.lower().endswith(".xml")
            ]
    return [(path.name, data)]


def _items(root: etree._Element) -> list[etree._Element]:
    if (etree.QName(root).namespace, etree.QName(root).localname) in _KINDS:
        return [root]
    return [
        el
        for el in root.iter(etree.Element)
        if (etree.QName(el).namespace, etree.QName(el).localname) in _KINDS
    ]


def _signing_time(signature: etree._Element) -> datetime | None:
    text = signature.findtext(".//{http://uri.etsi.org/01903/v1.3.2#}SigningTime")
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _signature_problems(
    element: etree._Element, item: Item, ca_pem: bytes, must_sign: bool
) -> list[str]:
    signature = element.find(f".//{{{_DS}}}Signature")
    if signature is None:
        return ["not signed"] if must_sign else []
    item.signed = True
    standalone = etree.tostring(element, with_tail=False)
    try:
        verify_record_signature(standalone, ca_pem, at=_signing_time(signature))
        independent_digest_check(standalone)
    except SignatureProblem as exc:
        return [f"signature: {exc}"]
    return []


def _event(element, item: Item, heads: dict, latest: datetime) -> list[str]:
    parsed = parse_evento(element)
    f = parsed["fields"]
    stated = f["FechaHoraHusoGenEvento"]
    item.label = f"RegistroEvento {f['TipoEvento']} of {stated}, HuellaEvento {parsed['huella']}"
    problems = []
    if recompute_huella_evento(parsed) != parsed["huella"]:
        problems.append("HuellaEvento does not recompute")
    key = ("event", f["ObligadoNIF"], f["NIF"], f["IdSistemaInformatico"], f["NumeroInstalacion"])
    head = heads.get(key)
    if head is not None and parsed["first"]:
        problems.append("PrimerEvento=S, but an event of its chain precedes it in the file")
    elif head is not None and parsed["previous"] != PreviousEvent(
        head.tipo_evento, head.generated_at, head.huella
    ):
        problems.append("EventoAnterior does not name the previous event of its chain")
    problems += date_problems(
        "FechaHoraHusoGenEvento", stated, head.generated_at if head else None, latest
    )
    heads[key] = _Head(parsed["huella"], stated, f["TipoEvento"])
    return problems


def _record(element, item: Item, heads: dict, latest: datetime) -> list[str]:
    parsed = vxml.parse_record(element)
    f = parsed["fields"]
    suffix = "" if parsed["kind"] == "RegistroAlta" else "Anulada"
    nif, number = f["IDEmisorFactura" + suffix], f["NumSerieFactura" + suffix]
    item.label = f"{parsed['kind']} {number} of {f['FechaExpedicionFactura' + suffix]}"
    problems = []
    if vxml.recompute_huella(parsed) != parsed["huella"]:
        problems.append("huella does not recompute from the record's XML")
    sistema = [
        element.findtext(
            f"vf:SistemaInformatico/vf:{tag}", default="", namespaces={"vf": vxml.NS_SF}
        )
        for tag in ("NIF", "IdSistemaInformatico", "NumeroInstalacion")
    ]
    key = ("record", nif, *sistema)
    head = heads.get(key)
    if head is not None:
        problems += encadenamiento_problems(element, head.record)
    stated = f["FechaHoraHusoGenRegistro"]
    problems += date_problems(
        "FechaHoraHusoGenRegistro", stated, head.generated_at if head else None, latest
    )
    link = Link(None, nif, number, f["FechaExpedicionFactura" + suffix], parsed["huella"], stated)
    heads[key] = _Head(parsed["huella"], stated, record=link)
    return problems


def verify_file(path: str | Path, *, now: datetime | None = None) -> FileReport:
    """Every item of the exported file at ``path``, with its problems, in document order.
    Raises :class:`BundleUnreadable` when the operator's CA bundle cannot be read."""
    path = Path(path)
    report = FileReport(str(path))
    ca_pem = signers.ca_bundle()
    if not ca_pem:
        raise BundleUnreadable()
    latest = latest_allowed(now)
    heads: dict = {}
    for name, data in _documents(path):
        try:
            root = etree.fromstring(data, instance_parser())
        except etree.XMLSyntaxError as exc:
            report.items.append(Item(name, "file", "XML", problems=[f"not XML: {exc}"]))
            continue
        for number, element in enumerate(_items(root), start=1):
            kind = _KINDS[(etree.QName(element).namespace, etree.QName(element).localname)]
            item = Item(f"{name} item {number}", kind)
            try:
                check = _event if kind == "event" else _record
                item.problems += check(element, item, heads, latest)
            except (ValueError, KeyError) as exc:
                item.problems.append(f"cannot be read: {exc}")
            must_sign = kind == "event" or element is not root
            item.problems += _signature_problems(element, item, ca_pem, must_sign)
            report.items.append(item)
    return report
