"""What an invoice PDF prints, as plain frozen data (:class:`InvoiceDocument`: every amount in
integer cents, every quantity in hundredths, every rate in basis points), and the Spanish
formatting of those numbers. No Django and no reportlab: :mod:`invoicing.documents` builds
it, :mod:`invoicing.pdf` renders it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# ---------------------------------------------------------------------------------------
# The document: a frozen snapshot of what is printed
# ---------------------------------------------------------------------------------------


def _tuples(instance, *names: str) -> None:
    """Let callers pass lists to a frozen dataclass: store them as tuples."""
    for name in names:
        value = getattr(instance, name)
        if not isinstance(value, tuple):
            object.__setattr__(instance, name, tuple(value))


@dataclass(frozen=True)
class Party:
    """Issuer or client as printed: name, tax id (NIF, NIF-IVA, passport…), address lines."""

    name: str
    tax_id: str = ""
    tax_id_label: str = "NIF"
    address_lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _tuples(self, "address_lines")


@dataclass(frozen=True)
class InvoiceLine:
    """One line: quantity in hundredths (150 = 1,5), prices in cents, discount in bp."""

    description: str
    quantity_hundredths: int
    unit_price_cents: int
    amount_cents: int
    discount_bp: int = 0
    tax_label: str = ""  # e.g. "21 %", "Exento (E1)"


@dataclass(frozen=True)
class TaxGroup:
    """One row of the tax breakdown (one per rate / exemption cause)."""

    label: str  # e.g. "IVA 21 %", "Exento (E1)"
    base_cents: int
    rate_bp: int | None  # 2100 = 21 %; None when not applicable (exempt, not subject)
    cuota_cents: int = 0
    recargo_rate_bp: int = 0  # recargo de equivalencia, 520 = 5,2 %
    recargo_cents: int = 0


@dataclass(frozen=True)
class DocumentBranding:
    """The issuer's branding as printed: the logo's bytes (PNG or JPEG, already checked), an
    accent colour ``#RRGGBB``, contact lines under the address and a footer on every page."""

    logo: bytes | None = None
    accent_color: str = "#222222"
    contact_lines: tuple[str, ...] = ()
    footer: str = ""

    def __post_init__(self) -> None:
        _tuples(self, "contact_lines")


RECTIFICATION_MODES = {"S": "por sustitución", "I": "por diferencias"}


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything the PDF shows; money in integer cents. ``client`` may be None (F2)."""

    number: str
    issue_date: date
    issuer: Party
    lines: tuple[InvoiceLine, ...]
    tax_groups: tuple[TaxGroup, ...]
    subtotal_cents: int
    iva_cents: int
    total_cents: int
    client: Party | None = None
    title: str = "Factura"  # "Factura", "Factura rectificativa", "Factura simplificada"
    due_date: date | None = None
    valid_until: date | None = None  # a quote's: "Válido hasta"
    issue_date_label: str = "Fecha de expedición"  # a quote's is "Fecha"
    operation_date: date | None = None
    # "Facturación por el destinatario" (RD 1619/2012 art. 6.1.m) or the third party's name.
    issuance: str = ""
    replaces: tuple[str, ...] = ()  # the numbers of the simplified invoices an F3 replaces
    rectified_number: str | None = None
    rectified_date: date | None = None
    rectification_type: str = ""  # "S" (por sustitución) or "I" (por diferencias)
    # The invoice's description; on a rectificativa, the reason for the rectification.
    description: str = ""
    recargo_cents: int = 0
    tax_total_label: str = "Total IVA"  # "Total IVA + IGIC" when other taxes are declared
    irpf_rate_bp: int = 0
    irpf_cents: int = 0  # the amount withheld, positive; printed as a deduction
    payment_method: str = ""
    iban: str = ""
    notes: str = ""
    qr_url: str | None = None  # None: a draft (no QR, no legend)
    verifactu: bool = True
    cancelled: bool = False
    branding: DocumentBranding | None = None

    def __post_init__(self) -> None:
        _tuples(self, "lines", "tax_groups", "replaces")

    @property
    def rectification_mode(self) -> str:
        """ "por sustitución" / "por diferencias" for a rectificativa's S / I, else ""."""
        return RECTIFICATION_MODES.get(self.rectification_type, "")


# ---------------------------------------------------------------------------------------
# Spanish formatting (private copy: no dependency on invoicing.taxes)
# ---------------------------------------------------------------------------------------


def _group(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def format_euros(cents: int) -> str:
    """``121000`` -> ``"1.210,00 €"``; negative amounts keep a leading minus."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{_group(euros)},{rest:02d} €"


def format_quantity(hundredths: int) -> str:
    """``150`` -> ``"1,5"``; ``100`` -> ``"1"``; ``123456`` -> ``"1.234,56"``."""
    sign = "-" if hundredths < 0 else ""
    whole, frac = divmod(abs(int(hundredths)), 100)
    text = _group(whole)
    if frac:
        text += "," + f"{frac:02d}".rstrip("0")
    return sign + text


def format_percent(bp: int) -> str:
    """Basis points as a Spanish percentage: ``2100`` -> ``"21 %"``, ``520`` -> ``"5,2 %"``."""
    return format_quantity(bp) + " %"


def format_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def invoice_filename(number: str, prefix: str = "factura") -> str:
    """A safe file name: ``"2026/A 001"`` -> ``"factura-2026-A-001.pdf"``."""
    ascii_only = unicodedata.normalize("NFKD", number).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", ascii_only).strip("-.")
    slug = re.sub(r"\.{2,}", ".", slug)[:100] or "borrador"
    return f"{prefix}-{slug}.pdf"
