"""What a received e-invoice says, in one typed shape whatever its format (UBL, CII, Facturae).

Money is in integer cents of the document's currency, rates in basis points (21 % is 2100).

**Sign convention.** Every amount is signed by its effect on what the buyer owes the
supplier: positive charges, negative credits. A UBL ``CreditNote`` (and a CII document whose
type code is a credit note's) states its amounts as positive numbers, so the reader negates
them all, totals, breakdown, lines (and their quantities, so that quantity × price still
gives the line) alike; a negative amount in such a file (a line adding to the note's debit)
becomes positive. Unit prices stay as written: EN 16931 never lets them be negative.
Invoices, and Facturae (whose rectificativas carry their own negative amounts), are kept as
written. So ``payable_cents`` is always what the
buyer pays (negative: what the supplier gives back), and a credit note can be booked by adding
its amounts like any invoice's.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from einvoice.findings import Finding, ValidationReport


class Format(StrEnum):
    UBL = "ubl"
    CII = "cii"
    FACTURAE = "facturae"


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class Party:
    """The supplier or the buyer as the file names them.

    ``tax_id`` is the identifier as given (a VAT number, a NIF); ``nif`` the same normalised
    by python-stdnum when it is a valid Spanish NIF (prefix ``ES`` dropped), else ``None``.
    ``country`` is ISO 3166-1 alpha-2 (Facturae's alpha-3 ``ESP`` becomes ``ES``), or empty.
    """

    name: str
    tax_id: str
    nif: str | None
    country: str


@dataclass(frozen=True)
class Line:
    """One invoice line: ``unit_price`` is a ``Decimal`` as written (prices may carry more
    than two decimals) for ``price_base_quantity`` units (EN 16931 BT-149, 1 unless the file
    says otherwise), ``net_cents`` the line's amount without tax."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    net_cents: int
    category: str
    rate_bp: int
    price_base_quantity: Decimal = Decimal(1)


@dataclass(frozen=True)
class TaxSubtotal:
    """One row of the tax breakdown: a category (EN 16931's UNCL5305 code: ``S``, ``Z``,
    ``E``, ``AE``, ``K``, ``G``, ``O``, ``L`` for IGIC, ``M`` for IPSI) at one rate."""

    category: str
    rate_bp: int
    base_cents: int
    tax_cents: int
    exemption_reason_code: str | None = None


@dataclass(frozen=True)
class Withholding:
    """A tax withheld by the buyer (IRPF), which reduces what is paid, not the invoice's tax."""

    tax: str
    rate_bp: int
    base_cents: int
    amount_cents: int


@dataclass(frozen=True)
class Surcharge:
    """Recargo de equivalencia charged on one IVA base: paid by the buyer, never deductible."""

    base_cents: int
    rate_bp: int
    amount_cents: int


@dataclass(frozen=True)
class Totals:
    """``net``: the taxable total (EN 16931 BT-109); ``tax``: the taxes charged, recargo
    included (BT-110); ``total``: net plus tax, before any withholding (BT-112); ``prepaid``
    (BT-113); ``payable``: what is still to pay, withholding deducted (BT-115)."""

    net_cents: int
    tax_cents: int
    total_cents: int
    prepaid_cents: int
    payable_cents: int


@dataclass(frozen=True)
class ReceivedDocument:
    """One received invoice or credit note. See the module's docstring for the signs."""

    format: Format
    kind: DocumentKind
    number: str
    issue_date: datetime.date
    currency: str
    supplier: Party
    buyer: Party
    lines: tuple[Line, ...]
    taxes: tuple[TaxSubtotal, ...]
    totals: Totals
    withholdings: tuple[Withholding, ...] = ()
    surcharges: tuple[Surcharge, ...] = ()
    corrects: str | None = None
    signed: bool = False


@dataclass(frozen=True)
class ReadResult:
    """What reading one file gave: its ``documents`` (several only for a Facturae batch), or
    the ``errors`` that kept it from being read, never both. ``name`` is the ZIP member's
    name, empty for a file uploaded alone; ``report`` the validation's, when it ran."""

    name: str = ""
    documents: tuple[ReceivedDocument, ...] = ()
    errors: tuple[Finding, ...] = ()
    report: ValidationReport | None = None
    content: bytes = field(default=b"", repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return bool(self.documents) and not self.errors
