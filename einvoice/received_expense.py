"""How a received invoice is booked as an expense (docs/einvoice-mapping.md, "Received").

The tax breakdown decides every figure, by its EN 16931 category (UNCL5305):

* ``S`` (IVA charged by a supplier with a Spanish NIF): its base and cuota are the IVA
  soportado (303, boxes 28-29); a foreign supplier's VAT is not Spanish IVA, so it is cost. UBL
  carries recargo de equivalencia inside the ``S`` rate (21 + 5,2 = 26,20 %, as Factu's own
  UBL does), so a combined rate that no IVA rate has is split back: the recargo is the base at
  its rate, the IVA the rest of the cuota.
* ``AE`` (inversión del sujeto pasivo): the supplier charged nothing; the buyer accrues the
  IVA on that base (303, boxes 12-13) and deducts it (28-29). The file states no Spanish rate
  (``AE`` is at 0 %), so the general rate (:data:`REVERSE_CHARGE_RATE_BP`) is taken.
* ``L`` (IGIC) and ``M`` (IPSI): not IVA, outside the 303; what was paid is cost.
* ``Z``, ``E``, ``G``, ``K``, ``O``: the base alone, nothing deductible.
* Recargo de equivalencia (Facturae's ``EquivalenceSurcharge``, or split as above): paid, part
  of the cost, never deductible. IRPF withheld (Facturae's ``TaxesWithheld``): for the 111.

``amount_cents`` is the invoice's total before withholding (EN 16931 BT-112), what the 347
counts; the reverse-charge IVA is not in it, since no one pays it to the supplier.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from einvoice.models import ReceivedInvoice
from factu.money import share_cents
from factu.nif import validate_nif
from invoicing import taxes

REVERSE_CHARGE_RATE_BP = 2100
# IVA + recargo written as one UBL rate (LIVA art. 161): each IVA rate with its recargo
# (21 + 5,2, 10 + 1,4, 4 + 0,5), and tobacco's 21 + 1,75, as invoicing.taxes has them.
COMBINED_RATES: dict[int, tuple[int, int]] = {
    taxes.IVA_RATES_BP[iva_type] + surcharge: (taxes.IVA_RATES_BP[iva_type], surcharge)
    for iva_type, surcharge in taxes.SURCHARGE_RATES_BP.items()
} | {
    taxes.IVA_RATES_BP[taxes.GENERAL] + taxes.TOBACCO_SURCHARGE_BP: (
        taxes.IVA_RATES_BP[taxes.GENERAL],
        taxes.TOBACCO_SURCHARGE_BP,
    )
}
OTHER_TAXES = frozenset({"L", "M"})


def expense_figures(invoice: ReceivedInvoice) -> dict[str, Any]:
    """The tax columns of the expense ``invoice`` becomes (``expenses.models.Expense``)."""
    iva_base = iva = surcharge = other = reverse_base = 0
    rates: set[int] = set()
    spanish = is_spanish_nif(invoice.supplier_nif)
    for tax in invoice.taxes:
        category, rate = tax["category"], tax["rate_bp"]
        base, cuota = tax["base_cents"], tax["tax_cents"]
        if category == "S" and not spanish:
            other += cuota
        elif category == "S":
            if rate in COMBINED_RATES and not invoice.surcharges:
                rate, surcharge_rate = COMBINED_RATES[rate]
                part = share_cents(base, surcharge_rate)
                surcharge += part
                cuota -= part
            iva_base += base
            iva += cuota
            rates.add(rate)
        elif category == "AE":
            reverse_base += base
        elif category in OTHER_TAXES:
            other += cuota
    surcharge += sum(item["amount_cents"] for item in invoice.surcharges)
    return {
        "amount_cents": invoice.total_cents,
        "base_cents": invoice.net_cents,
        "iva_rate_bp": rates.pop() if len(rates) == 1 else None,
        "iva_cents": iva,
        "iva_base_cents": iva_base if iva_base != invoice.net_cents else None,
        "surcharge_cents": surcharge,
        "other_tax_cents": other,
        "reverse_charge_base_cents": reverse_base,
        "reverse_charge_cents": share_cents(reverse_base, REVERSE_CHARGE_RATE_BP),
        "irpf_base_cents": sum(item["base_cents"] for item in invoice.withholdings),
        "irpf_withheld_cents": sum(item["amount_cents"] for item in invoice.withholdings),
    }


def is_spanish_nif(identifier: str) -> bool:
    try:
        validate_nif(identifier)
    except ValidationError:
        return False
    return True


def expense_nif(identifier: str) -> str:
    """The supplier's identifier as an expense takes it: a Spanish NIF, or a foreign VAT
    number with its country prefix; anything else is left out (the name still says who)."""
    try:
        return validate_nif(identifier)
    except ValidationError:
        pass
    foreign = (
        len(identifier) <= 20
        and identifier[:2].isalpha()
        and identifier[:2] != "ES"
        and not identifier[2:3].isalpha()
    )
    return identifier if foreign else ""


def expense_data(invoice: ReceivedInvoice, category=None) -> dict[str, Any]:
    """What ``expenses.services.create_expense`` needs to book ``invoice``."""
    what = "Abono" if invoice.is_credit_note else "Factura"
    supplier = invoice.supplier_name or invoice.supplier_nif
    return {
        **expense_figures(invoice),
        "date": invoice.issue_date,
        "description": f"{what} {invoice.number} de {supplier}"[:300],
        "supplier_name": invoice.supplier_name[:120],
        "supplier_nif": expense_nif(invoice.supplier_nif),
        "category": category,
        "paid": invoice.status == "paid",
    }
