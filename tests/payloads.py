"""The request bodies the seeds' examples send, one copy each (tests change them per case).

- Seed 003's ``POST /api/v1/invoices`` example: :func:`seed_003_invoice` (amounts as
  ``Decimal``, as the v1 API writes them; the recipient's NIF is one with a valid check
  digit, the seed's A98765432 fails it).
- Seed 000's ``POST /api/invoices`` example: :func:`seed_000_invoice`.
- The smallest ``POST /api/v1/invoices`` body, one line of 100 € + 21 % IVA, as JSON strings:
  :func:`one_line_invoice`.
- A ``POST /api/v1/computer-systems`` body, Acme Soft SL's AcmeERP: :func:`acme_erp_system`.
"""

from __future__ import annotations

import copy
from decimal import Decimal as D

SEED_003_INVOICE = {
    "invoice_number": "F-2026-042",
    "invoice_date": "2026-03-13",
    "invoice_type": "F1",
    "description": "Mantenimiento mensual",
    "regime_types": ["01"],
    "recipient_nif": "A28045631",
    "recipient_name": "Cliente SA",
    "breakdown": [
        {
            "tax_type": "01",
            "regime_type": "01",
            "operation_type": "S1",
            "base_amount": D("500.00"),
            "tax_rate": D("21.00"),
            "tax_amount": D("105.00"),
        },
        {
            "tax_type": "01",
            "regime_type": "01",
            "operation_type": "S1",
            "base_amount": D("200.00"),
            "tax_rate": D("10.00"),
            "tax_amount": D("20.00"),
        },
    ],
    "total_amount": D("825.00"),
    "total_tax_amount": D("125.00"),
}


def seed_003_invoice(**overrides) -> dict:
    """A fresh copy of seed 003's example body, with ``overrides``."""
    return {**copy.deepcopy(SEED_003_INVOICE), **overrides}


def seed_000_invoice(series_id, client_id, **overrides) -> dict:
    """Seed 000's example ``POST /api/invoices`` body for this series and client."""
    return {
        "clientId": str(client_id),
        "seriesId": str(series_id),
        "issueDate": "2026-03-13",
        "irpfRate": 1500,
        "applyIrpf": True,
        "lines": [
            {
                "description": "Consulting services",
                "quantity": 100,
                "unitPrice": 100000,
                "ivaType": "general",
            }
        ],
        **overrides,
    }


def one_line_invoice(invoice_number: str, invoice_date: str, **overrides) -> dict:
    """A v1 F1 invoice to Cliente SA of one line, 100 € + 21 % IVA; amounts as JSON strings."""
    return {
        "invoice_number": invoice_number,
        "invoice_date": invoice_date,
        "invoice_type": "F1",
        "description": "Servicio",
        "recipient_nif": "A28045631",
        "recipient_name": "Cliente SA",
        "breakdown": [
            {
                "operation_type": "S1",
                "base_amount": "100.00",
                "tax_rate": "21",
                "tax_amount": "21.00",
            }
        ],
        "total_amount": "121.00",
        "total_tax_amount": "21.00",
        **overrides,
    }


def acme_erp_system(**overrides) -> dict:
    """Acme Soft SL's system AcmeERP (``AE``, 2.1, installation INST-9), with ``overrides``."""
    return {
        "producer_name": "Acme Soft SL",
        "producer_nif": "B12345674",
        "name": "AcmeERP",
        "system_id": "AE",
        "version": "2.1",
        "installation_number": "INST-9",
        **overrides,
    }
