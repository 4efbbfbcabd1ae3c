"""How a postal address is written: the one format of the PDFs, the pages and the parties
frozen on an issued invoice.

An address is its parts that are given, in this order: the street, the postal code with
the municipality ("28013 Madrid"), the province. On paper (the PDF, the invoice page) each
part is a line; on one line (what an issued invoice freezes, the dashboard) they are joined
with ", ". A taxpayer (:class:`factu.models.Taxpayer`) and a client
(:class:`clients.models.Client`) both have these fields.
"""

from __future__ import annotations

from typing import Protocol


class PostalAddress(Protocol):
    address: str
    postal_code: str
    city: str
    province: str


def address_lines(place: PostalAddress) -> tuple[str, ...]:
    """The given parts: street; postal code and municipality; province."""
    town = " ".join(p for p in (place.postal_code, place.city) if p).strip()
    return tuple(p for p in (place.address, town, place.province) if p)


def address_line(place: PostalAddress) -> str:
    """The address on one line: ``"Calle Mayor 1, 28013 Madrid, Madrid"``."""
    return ", ".join(address_lines(place))
