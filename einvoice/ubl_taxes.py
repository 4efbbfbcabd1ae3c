"""How a Spanish tax group is carried as an EN 16931 VAT category (BT-118/BT-151), with its
rate and exemption reason (BT-120/BT-121); the table is docs/einvoice-mapping.md.

The groups are :func:`invoicing.totals.recomputed`'s, the ones the PDF prints: nothing here
computes a tax, it only names the category each group belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from invoicing import taxes
from verifactu.facts import from_cents

STANDARD = "S"
ZERO = "Z"
EXEMPT = "E"
REVERSE_CHARGE = "AE"
INTRA_COMMUNITY = "K"
EXPORT = "G"
NOT_SUBJECT = "O"
IGIC = "L"
IPSI = "M"

# The Spanish exemption causes (VERI*FACTU's OperacionExenta, L10) and what EN 16931 calls
# them: E2 (LIVA art. 21, exports) is category G, E5 (art. 25, intra-community supplies) is K;
# E1 (art. 20, exemptions in the interior) is Directive 2006/112/EC art. 132. E3, E4 and E6
# have no single VATEX code, so they go as category E with the reason as text (BR-E-10
# accepts a code or a text).
_EXEMPTIONS: dict[str, tuple[str, str, str]] = {
    "E1": (EXEMPT, "VATEX-EU-132", "Exenta por el artículo 20 de la Ley 37/1992"),
    "E2": (EXPORT, "VATEX-EU-G", "Exenta por el artículo 21 de la Ley 37/1992 (exportación)"),
    "E3": (EXEMPT, "", "Exenta por el artículo 22 de la Ley 37/1992"),
    "E4": (EXEMPT, "", "Exenta por los artículos 23 y 24 de la Ley 37/1992"),
    "E5": (INTRA_COMMUNITY, "VATEX-EU-IC", "Exenta por el artículo 25 de la Ley 37/1992"),
    "E6": (EXEMPT, "", "Exenta por otra causa"),
}


@dataclass(frozen=True)
class Category:
    """One EN 16931 VAT category with its rate and, when not taxed, the reason."""

    code: str
    percent: Decimal | None  # None: the category carries no rate (O)
    reason_code: str = ""
    reason: str = ""

    @property
    def key(self) -> tuple[str, Decimal | None, str, str]:
        return (self.code, self.percent, self.reason_code, self.reason)


def percent(bp: int) -> Decimal:
    """A rate in basis points as the percentage EN 16931 writes (2100 → 21.00)."""
    return from_cents(bp)


def category_of(group: taxes.TaxGroup) -> Category:
    """The VAT category of a Spanish tax group.

    Recargo de equivalencia is carried in the rate: a group under recargo is category S at
    IVA + recargo (21 + 5.2 = 26.20 %), its tax amount the IVA plus the recargo in cents, so
    BR-S-08 and BR-CO-14 hold; the note of the document spells the two apart.
    """
    if group.operation_type == "S2":
        return Category(REVERSE_CHARGE, percent(0), "VATEX-EU-AE", "Inversión del sujeto pasivo")
    if group.operation_type in ("N1", "N2"):
        return Category(NOT_SUBJECT, None, "VATEX-EU-O", f"No sujeta ({group.operation_type})")
    if group.is_exempt:
        code, reason_code, reason = _EXEMPTIONS[group.operation_type]
        return Category(code, percent(0), reason_code, reason)
    if group.tax_type == taxes.IGIC:
        return Category(IGIC, percent(group.rate_bp))
    if group.tax_type == taxes.IPSI:
        return Category(IPSI, percent(group.rate_bp))
    if group.rate_bp == 0:
        return Category(ZERO, percent(0))
    return Category(STANDARD, percent(group.rate_bp + group.surcharge_rate_bp))


def tax_cents(group: taxes.TaxGroup) -> int:
    """The tax a group adds to the document: its IVA and its recargo."""
    return group.iva_cents + group.surcharge_cents
