"""Small helpers the three readers share: namespaced lookups that say where a value was
missing, and the parties' identifiers."""

from __future__ import annotations

import datetime

import pycountry
from django.core.exceptions import ValidationError
from lxml import etree

from einvoice.inbound.amounts import AMOUNT, MISSING, Unreadable, basis_points, cents
from einvoice.inbound.document import Party, TaxSubtotal
from factu.nif import validate_nif

XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"


class Finder:
    """XPath over one document's namespaces, with required and optional text lookups."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        return node.xpath(path, namespaces=self.namespaces)

    def first(self, node: etree._Element, path: str) -> etree._Element | None:
        found = self.all(node, path)
        return found[0] if found else None

    def optional(self, node: etree._Element, path: str) -> str | None:
        element = self.first(node, path)
        if element is None or element.text is None or not element.text.strip():
            return None
        return element.text.strip()

    def any_of(self, node: etree._Element, *paths: str) -> str:
        """The text at the first of ``paths`` that has one, in order of preference; else ''."""
        return next(
            (value for path in paths if (value := self.optional(node, path)) is not None), ""
        )

    def required(self, node: etree._Element, path: str) -> str:
        value = self.optional(node, path)
        if value is None:
            raise Unreadable(
                MISSING, f"Falta un dato obligatorio: {path}.", f"línea {node.sourceline}"
            )
        return value

    def amount(self, node: etree._Element, path: str, sign: int = 1) -> int:
        """The required amount at ``path`` in cents, times ``sign``."""
        return sign * cents(self.required(node, path), where(node))

    def optional_amount(self, node: etree._Element, path: str, sign: int = 1) -> int:
        """The amount at ``path`` in cents times ``sign``, 0 when absent."""
        value = self.optional(node, path)
        return sign * cents(value, where(node)) if value is not None else 0

    def rate(self, node: etree._Element, path: str) -> int:
        """The percentage at ``path`` in basis points; 0 when absent (category ``O`` has
        none)."""
        value = self.optional(node, path)
        return basis_points(value, where(node)) if value is not None else 0

    def subtotal(
        self,
        node: etree._Element,
        sign: int,
        *,
        category: str,
        rate: str,
        base: str,
        tax: str,
        reason: str,
    ) -> TaxSubtotal:
        """One EN 16931 VAT breakdown row (BG-23), from the paths its format uses."""
        return TaxSubtotal(
            category=self.required(node, category),
            rate_bp=self.rate(node, rate),
            base_cents=self.amount(node, base, sign),
            tax_cents=self.amount(node, tax, sign),
            exemption_reason_code=self.optional(node, reason),
        )


def where(node: etree._Element) -> str:
    return f"línea {node.sourceline}"


def iso_date(text: str, node: etree._Element) -> datetime.date:
    """``YYYY-MM-DD`` (UBL, Facturae) or ``YYYYMMDD`` (CII's format 102)."""
    try:
        if len(text) == 8 and text.isdigit():
            return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise Unreadable(AMOUNT, f"«{text}» no es una fecha válida.", where(node)) from None


def alpha2(code: str | None) -> str:
    """An ISO 3166-1 alpha-2 country code from an alpha-2 or alpha-3 one; empty if unknown."""
    code = (code or "").strip().upper()
    if len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
        return country.alpha_2 if country else ""
    return code


def spanish_nif(tax_id: str, country: str) -> str | None:
    """The normalised NIF when ``tax_id`` is a valid Spanish one (``ES`` prefix allowed).

    A foreign party's identifier is not tried unless written with the ``ES`` prefix: a
    foreign number that happened to have a NIF's shape is not a NIF."""
    if not tax_id or (country not in ("", "ES") and not tax_id.upper().startswith("ES")):
        return None
    try:
        return validate_nif(tax_id)
    except ValidationError:
        return None


def party(name: str, tax_id: str, country: str) -> Party:
    return Party(name=name, tax_id=tax_id, nif=spanish_nif(tax_id, country), country=country)


def is_signed(root: etree._Element) -> bool:
    """Whether an XML signature element is anywhere in the document (not verified here)."""
    return root.find(f".//{{{XMLDSIG}}}Signature") is not None
