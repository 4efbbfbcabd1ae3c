"""The seller and the buyer of a Facturae 3.2.2 file (``Parties``): tax identification,
name and address, from the parties frozen on the issued invoice.

- ``PersonTypeCode``: F for a Spanish NIF of a person (DNI, NIE, K/L/M:
  :func:`factu.nif.is_natural_person_nif`), J for any other NIF; a foreign identifier is
  J, since Factu does not know whether a foreign client is a person.
- ``ResidenceTypeCode``: R (Spain), U (another EU state), E (elsewhere).
- The name always goes as ``LegalEntity/CorporateName``: Factu keeps a person's name in one
  field, and splitting it into ``Individual/Name`` and ``FirstSurname`` would guess (compound
  names and surnames). The XSD lets a person (F) carry a ``LegalEntity``.
- The address, in parts (:mod:`einvoice.addresses`): a party in Spain as ``AddressInSpain``,
  which needs a five-digit postal code and the town; a party in Spain without them makes no
  Facturae (:class:`NotRepresentable`, saying whose and what is missing) rather than an
  invalid or ambiguous file. A foreign party as ``OverseasAddress``, with the parts known.
- A public administration's DIR3 codes (the FACe directory) as the buyer's
  ``AdministrativeCentres``: FACe reads the oficina contable as role 01, the órgano gestor as
  02 and the unidad tramitadora as 03; each centre carries the buyer's address, since the
  XSD requires one and Factu keeps no address per centre.
"""

from __future__ import annotations

import re

import pycountry
from lxml import etree

from einvoice.addresses import AddressParts
from factu.nif import is_natural_person_nif
from invoicing.pdf_document import Party

# The member states of the European Union, ISO 3166-1 alpha-2.
EU_MEMBERS = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})  # fmt: skip
SPANISH_POSTAL_CODE = re.compile(r"^\d{5}$")
# FACe's roles of a public administration's centres (Facturae's RoleTypeCode).
DIR3_ROLES = (
    ("01", "Oficina contable"),
    ("02", "Órgano gestor"),
    ("03", "Unidad tramitadora"),
)


class NotRepresentable(ValueError):
    """An invoice that Facturae's XSD cannot carry as it is."""


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
    parent: etree._Element,
    name: str,
    party: Party,
    country: str,
    address: AddressParts,
    *,
    tax_id: str = "",
    whose: str,
    dir3: tuple[str, str, str] | None = None,
) -> None:
    """``SellerParty`` or ``BuyerParty``; ``tax_id`` the identifier as the client gave it, when
    the printed one adds its country (a passport printed "US P1234567"); ``whose`` names the
    party in a refusal ("del emisor"); ``dir3`` the buyer's oficina contable, órgano gestor
    and unidad tramitadora."""
    check_address(address, country, whose)
    node = sub(parent, name)
    identification = sub(node, "TaxIdentification")
    sub(identification, "PersonTypeCode", person_type(party))
    sub(identification, "ResidenceTypeCode", residence(country))
    sub(
        identification, "TaxIdentificationNumber", (tax_id or party.tax_id).replace(" ", "").upper()
    )
    if dir3 is not None:
        centres = sub(node, "AdministrativeCentres")
        for code, (role, description) in zip(dir3, DIR3_ROLES, strict=True):
            centre = sub(centres, "AdministrativeCentre")
            sub(centre, "CentreCode", code)
            sub(centre, "RoleTypeCode", role)
            _address(centre, address, country)
            sub(centre, "CentreDescription", description)
    legal = sub(node, "LegalEntity")
    sub(legal, "CorporateName", party.name[:80])
    _address(legal, address, country)


def check_address(address: AddressParts, country: str, whose: str) -> None:
    """A party in Spain needs the five-digit postal code and the town ``AddressInSpain``
    requires; :class:`NotRepresentable` names what is missing."""
    if country != "ES":
        return
    missing = []
    if not SPANISH_POSTAL_CODE.match(address.postal_code):
        missing.append("el código postal (5 cifras)")
    if not address.city:
        missing.append("el municipio")
    if missing:
        raise NotRepresentable(
            f"Facturae exige la dirección en España {whose} con {' y '.join(missing)}: "
            "la factura no los tiene, así que no se genera su Facturae."
        )


def _address(parent: etree._Element, address: AddressParts, country: str) -> None:
    if country == "ES":
        node = sub(parent, "AddressInSpain")
        sub(node, "Address", address.street[:80])
        sub(node, "PostCode", address.postal_code)
        sub(node, "Town", address.city[:50])
        sub(node, "Province", address.province[:20])
        sub(node, "CountryCode", alpha3(country))
        return
    node = sub(parent, "OverseasAddress")
    sub(node, "Address", address.street[:80])
    sub(node, "PostCodeAndTown", " ".join(p for p in (address.postal_code, address.city) if p)[:50])
    sub(node, "Province", address.province[:20])
    sub(node, "CountryCode", alpha3(country))
