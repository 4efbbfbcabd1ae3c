"""SOAP plumbing shared by the simulator's operations: the envelope and its Fault, the
per-request options, building elements and reading a request's fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from .schemas import NSMAP, SOAP_ENV


def madrid_now() -> datetime:
    """AEAT's clock: Spanish peninsular time (falls back to local time without tz data)."""
    try:
        return datetime.now(ZoneInfo("Europe/Madrid"))
    except ZoneInfoNotFoundError:
        return datetime.now().astimezone()


class SoapFault(Exception):
    """A whole-envelope rejection, answered as a SOAP 1.1 Fault (HTTP 500)."""

    def __init__(self, code: int, message: str, faultcode: str = "env:Client") -> None:
        super().__init__(f"Codigo[{code}].{message}")
        self.code = code
        self.faultcode = faultcode

    @property
    def faultstring(self) -> str:
        return str(self)


@dataclass
class Options:
    """Per-request knobs the server passes in (from its control state)."""

    wait_seconds: int = 60
    reject: dict[str, int] = field(default_factory=dict)
    # PEM file of the CAs a NO VERI*FACTU record's signing certificate must chain to.
    signature_ca: str | None = None
    now: Callable[[], datetime] = field(default=lambda: madrid_now())


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def sub(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, q(ns, name))
    if text is not None:
        el.text = text
    return el


def envelope(payload: etree._Element) -> bytes:
    env = etree.Element(q(SOAP_ENV, "Envelope"), nsmap={"env": SOAP_ENV})
    etree.SubElement(env, q(SOAP_ENV, "Header"))
    etree.SubElement(env, q(SOAP_ENV, "Body")).append(payload)
    etree.cleanup_namespaces(env)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault_envelope(fault: SoapFault) -> bytes:
    env = etree.Element(q(SOAP_ENV, "Envelope"), nsmap={"env": SOAP_ENV})
    body = etree.SubElement(env, q(SOAP_ENV, "Body"))
    el = etree.SubElement(body, q(SOAP_ENV, "Fault"))
    etree.SubElement(el, "faultcode").text = fault.faultcode
    etree.SubElement(el, "faultstring").text = fault.faultstring
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def text_at(el: etree._Element | None, path: str) -> str:
    """The stripped text at ``path`` (``sf:``/``sfLRC:`` prefixes), "" when absent."""
    if el is None:
        return ""
    return (el.findtext(path, namespaces=NSMAP) or "").strip()


def amount_of(text: str) -> Decimal:
    """An amount field as a Decimal; empty or malformed reads as 0."""
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def parse_fecha(text: str) -> date | None:
    """An AEAT date (dd-mm-yyyy), or None."""
    try:
        return datetime.strptime(text, "%d-%m-%Y").date()
    except ValueError:
        return None
