"""The postal address of an issued invoice's parties in parts (street, postal code, town,
province), for the e-invoices' structured address elements.

An issued invoice freezes each party's address on one line
(:func:`factu.addresses.address_line`: "street, 28013 Madrid, province"). The taxpayer's and
the client's records keep the same address in fields; while a record still has the frozen
address (its line is the invoice's), its fields are taken as they are. Otherwise (the record
changed after the invoice was issued, or there is none) the frozen line is read back: the part
"NNNNN town" is the postal code and the town, what comes before it the street, what comes after
it the province. A line without such a part gives its first part as the street and the next as
the town, with no postal code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from factu.addresses import PostalAddress, address_line
from invoicing.models import Invoice

_TOWN = re.compile(r"^(\d{5}) (.+)$")


@dataclass(frozen=True)
class AddressParts:
    street: str = ""
    postal_code: str = ""
    city: str = ""
    province: str = ""


def issuer_address(invoice: Invoice) -> AddressParts:
    """The seller's address as the issued invoice has it."""
    return _parts(invoice.issuer_address, invoice.taxpayer)


def client_address(invoice: Invoice) -> AddressParts:
    """The buyer's address as the issued invoice has it."""
    return _parts(invoice.client_address, invoice.client)


def _parts(frozen: str, record: PostalAddress | None) -> AddressParts:
    if record is not None and address_line(record) == frozen:
        return AddressParts(record.address, record.postal_code, record.city, record.province)
    return parse_line(frozen)


def parse_line(line: str) -> AddressParts:
    """An address written on one line by :func:`factu.addresses.address_line`, in parts."""
    parts = [p.strip() for p in line.split(",") if p.strip()]
    town_at = next((i for i, p in enumerate(parts) if _TOWN.match(p)), None)
    if town_at is None:
        return AddressParts(
            street=parts[0] if parts else "",
            city=parts[1] if len(parts) > 1 else "",
            province=", ".join(parts[2:]),
        )
    postal_code, city = _TOWN.match(parts[town_at]).groups()
    return AddressParts(
        street=", ".join(parts[:town_at]),
        postal_code=postal_code,
        city=city,
        province=", ".join(parts[town_at + 1 :]),
    )
