"""The seller and the buyer of a Facturae 3.2.2 file (``Parties``): tax identification,
name and address, from the parties frozen on the issued invoice.

- ``PersonTypeCode``: F for a Spanish NIF of a person (DNI, NIE, K/L/M:
  :func:`factu.nif.is_natural_person_nif`), J for any other NIF; a foreign identifier is
  J, since Factu does not know whether a foreign client is a person.
- ``ResidenceTypeCode``: R (Spain), U (another EU state), E (elsewhere).
- The name always goes as ``LegalEntity/CorporateName``: Factu keeps a person's name in one
  field, and splitting it into ``Individual/Name`` and ``FirstSurname`` would guess (compound
  names and surnames). The XSD lets a person (F) carry a ``LegalEntity``.
- The address: Factu freezes it on one line ("street, 28013 Madrid, province",
  :func:`factu.addresses.address_line`). When that line has a Spanish postal code it goes as
  ``AddressInSpain``; otherwise (a foreign client, or no postal code known) as
  ``OverseasAddress``, which needs no postal code, with the parts that are known.
"""

from __future__ import annotations

import re

import pycountry
from lxml import etree

from factu.nif import is_natural_person_nif
from invoicing.pdf_document import Party

# The member states of the European Union, ISO 3166-1 alpha-2.
EU_MEMBERS = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})  # fmt: skip
_TOWN = re.compile(r"^(\d{5}) (.+)$")


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    """A child element in no namespace (Facturae's children are unqualified)."""
    element = etree.SubElement(parent, name)
    if text is not None:
        element.text = text
    return element


def alpha3(country: str) -> str:
    """Facturae's ``CountryType``: ISO 3166-1 alpha-3."""
    found = pycountry.countries.get(alpha_2=country)
    if found is None:
        raise ValueError(f"País desconocido: {country!r}")
    return found.alpha_3


def residence(country: str) -> str:
    """``ResidenceTypeCode``: R resident in Spain, U in the EU, E elsewhere."""
    if country == "ES":
        return "R"
    return "U" if country in EU_MEMBERS else "E"


def person_type(party: Party) -> str:
    """``PersonTypeCode``: F for a person's Spanish NIF, J otherwise."""
    if party.tax_id_label == "NIF" and is_natural_person_nif(party.tax_id):
        return "F"
    return "J"


def party_element(
    parent: etree._Element, name: str, party: Party, country: str, tax_id: str = ""
) -> None:
    """``SellerParty`` or ``BuyerParty``; ``tax_id`` the identifier as the client gave it, when
    the printed one adds its country (a passport printed "US P1234567")."""
    node = sub(parent, name)
    identification = sub(node, "TaxIdentification")
    sub(identification, "PersonTypeCode", person_type(party))
    sub(identification, "ResidenceTypeCode", residence(country))
    sub(
        identification, "TaxIdentificationNumber", (tax_id or party.tax_id).replace(" ", "").upper()
    )
    legal = sub(node, "LegalEntity")
    sub(legal, "CorporateName", party.name[:80])
    _address(legal, party, country)


def _address(parent: etree._Element, party: Party, country: str) -> None:
    parts = [p.strip() for line in party.address_lines for p in line.split(",") if p.strip()]
    town_at = next((i for i, p in enumerate(parts) if _TOWN.match(p)), None)
    if country == "ES" and town_at is not None:
        postcode, town = _TOWN.match(parts[town_at]).groups()
        address = sub(parent, "AddressInSpain")
        sub(address, "Address", ", ".join(parts[:town_at])[:80])
        sub(address, "PostCode", postcode)
        sub(address, "Town", town[:50])
        sub(address, "Province", ", ".join(parts[town_at + 1 :])[:20])
        sub(address, "CountryCode", alpha3(country))
        return
    address = sub(parent, "OverseasAddress")
    street = parts[:town_at] if town_at is not None else parts[:1]
    rest = parts[town_at:] if town_at is not None else parts[1:]
    sub(address, "Address", ", ".join(street)[:80])
    sub(address, "PostCodeAndTown", (rest[0] if rest else "")[:50])
    sub(address, "Province", ", ".join(rest[1:])[:20])
    sub(address, "CountryCode", alpha3(country))
