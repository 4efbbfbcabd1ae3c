"""OpenAPI of the account API (seed 000): tags, the error envelope and examples.

The response bodies are described by the serializers that render them
(:mod:`api.account.serializers`); what those cannot say lives here: the error envelope that
:mod:`api.exceptions` writes, and the seed's examples. ``tests/test_api_schema.py`` checks the
schema against the live API (schemathesis).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from api import schema as common

TAGS_INVOICES = ["account: invoices"]
TAGS_CLIENTS = ["account: clients"]
TAGS_SERIES = ["account: series"]
TAGS_EXPENSES = ["account: expenses"]
TAGS_TOKEN = ["account: token"]


class AccountErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code: `validation_error`, …")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per field (dotted path for nested ones), its messages. Only on 400s.",
    )


class AccountErrorSerializer(serializers.Serializer):
    error = AccountErrorDetailSerializer()


# The examples of a list operation are one item each: drf-spectacular puts it in a page (or an
# array) of the list's shape.


def error_example(code: str, message: str) -> dict:
    if code == "validation_error":
        return {
            "error": {
                "code": code,
                "message": "Some fields are not valid: see fields.",
                "fields": {"lines.0.unitPrice": ["Must be an integer number of cents, like 4999."]},
            }
        }
    return {"error": {"code": code, "message": message}}


def operation(**kwargs):
    """:func:`api.schema.operation` in the account API's error envelope."""
    return common.operation(envelope=AccountErrorSerializer, example_body=error_example, **kwargs)


UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
CLIENT_UUID = "9b2f6c1e-8d4a-4f3b-a2e1-7c5d9e0f1a2b"
SERIES_UUID = "0c7e2d54-1a9b-4c8e-b6f3-5d2a8e9c4b17"
TAXPAYER_UUID = "5e8a1c3d-7b2f-4e9a-8c6d-1f0b3a5e7d92"
CATEGORY_UUID = "b1d4e7a2-3c6f-4a8b-9e0d-2f5c8a1b4e73"


# -- Invoices ---------------------------------------------------------------------------------

INVOICE_ITEM_EXAMPLE = {
    "id": UUID,
    "invoiceNumber": "2026-A-001",
    "issueDate": "2026-03-01",
    "dueDate": "2026-04-01",
    "clientName": "Acme SL",
    "status": "paid",
    "total": 121000,
    "subtotal": 100000,
    "ivaAmount": 21000,
    "irpfAmount": 0,
    "surchargeAmount": 0,
    "taxpayerId": TAXPAYER_UUID,
    "paidAmount": 121000,
}
INVOICE_LIST_EXAMPLES = [
    OpenApiExample(
        "Seed 000",
        value=INVOICE_ITEM_EXAMPLE,
        response_only=True,
        status_codes=["200"],
    )
]
INVOICE_CREATE_EXAMPLES = [
    OpenApiExample(
        "Seed 000",
        value={
            "clientId": CLIENT_UUID,
            "seriesId": SERIES_UUID,
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
        },
        request_only=True,
    ),
    OpenApiExample(
        "Seed 000",
        value={
            "id": UUID,
            "invoiceNumber": "Borrador 9F1A2B3C",
            "status": "draft",
            "total": 106500,
            "subtotal": 100000,
            "ivaAmount": 21000,
            "irpfAmount": 15000,
            "surchargeAmount": 0,
        },
        response_only=True,
        status_codes=["201"],
    ),
]
INVOICE_DUPLICATE_EXAMPLES = [
    OpenApiExample(
        "Duplicate",
        value={
            "id": UUID,
            "invoiceNumber": "Borrador 9F1A2B3C",
            "status": "draft",
            "total": 106000,
            "subtotal": 100000,
            "ivaAmount": 21000,
            "irpfAmount": 15000,
            "surchargeAmount": 0,
        },
        response_only=True,
        status_codes=["201"],
    ),
]
INVOICE_DETAIL_EXAMPLES = [
    OpenApiExample(
        "Seed 000",
        value={
            "invoice": {
                "id": UUID,
                "invoiceNumber": "2026-A-001",
                "issueDate": "2026-03-01",
                "dueDate": "2026-04-01",
                "status": "paid",
                "total": 121000,
                "subtotal": 100000,
                "ivaAmount": 21000,
                "irpfAmount": 0,
                "surchargeAmount": 0,
                "paidAt": "2026-03-13T00:00:00.000Z",
                "fiscalInvoiceId": "7d3e9a1b-2c4f-4b6a-8e0d-9f1a2b3c4d5e",
                "paidAmount": 121000,
            },
            "lines": [
                {
                    "description": "Consulting",
                    "quantity": 100,
                    "unitPrice": 100000,
                    "amount": 100000,
                    "ivaType": "general",
                    "discount": 0,
                }
            ],
            "clientName": "Acme SL",
            "clientNif": "A12345678",
        },
        response_only=True,
        status_codes=["200"],
    )
]
STATUS_EXAMPLES = [
    OpenApiExample("Seed 000", value={"status": "paid", "paidAt": "2026-03-13"}, request_only=True),
    OpenApiExample(
        "Seed 000",
        value={
            "id": UUID,
            "invoiceNumber": "2026-A-001",
            "status": "paid",
            "paidAt": "2026-03-13T00:00:00.000Z",
        },
        response_only=True,
        status_codes=["200"],
    ),
]

PAYMENT_UUID = "6c2d8e4f-1a3b-4c5d-9e7f-0a1b2c3d4e5f"
PAYMENT_EXAMPLE = {
    "id": PAYMENT_UUID,
    "date": "2026-03-13",
    "amount": 50000,
    "method": "transfer",
    "note": "Primer plazo",
}
PAYMENT_LIST_EXAMPLES = [
    OpenApiExample("Payment", value=PAYMENT_EXAMPLE, response_only=True, status_codes=["200"])
]
PAYMENT_CREATE_EXAMPLES = [
    OpenApiExample(
        "Partial payment",
        value={k: v for k, v in PAYMENT_EXAMPLE.items() if k != "id"},
        request_only=True,
    ),
    OpenApiExample(
        "Partial payment",
        value={
            **PAYMENT_EXAMPLE,
            "invoice": {
                "id": UUID,
                "invoiceNumber": "2026-A-001",
                "status": "sent",
                "total": 121000,
                "paidAmount": 50000,
                "paidAt": None,
            },
        },
        response_only=True,
        status_codes=["201"],
    ),
]

# -- Clients, series, expenses ----------------------------------------------------------------

CLIENT_EXAMPLE = {
    "id": CLIENT_UUID,
    "name": "Acme SL",
    "nif": "A12345678",
    "email": "billing@acme.es",
    "address": "Calle Mayor 1",
    "city": "Madrid",
    "postalCode": "28001",
    "country": "ES",
    "taxpayerId": TAXPAYER_UUID,
    "einvoiceFormat": "",
    "dir3OficinaContable": "",
    "dir3OrganoGestor": "",
    "dir3UnidadTramitadora": "",
}
CLIENT_LIST_EXAMPLES = [
    OpenApiExample("Seed 000", value=CLIENT_EXAMPLE, response_only=True, status_codes=["200"])
]
CLIENT_CREATE_EXAMPLES = [
    OpenApiExample(
        "Seed 000",
        value={k: v for k, v in CLIENT_EXAMPLE.items() if k not in ("id", "taxpayerId")},
        request_only=True,
    ),
    OpenApiExample("Seed 000", value=CLIENT_EXAMPLE, response_only=True, status_codes=["201"]),
]

SERIES_EXAMPLES = [
    OpenApiExample(
        "Series",
        value={
            "id": SERIES_UUID,
            "code": "A",
            "kind": "F1",
            "taxpayerId": TAXPAYER_UUID,
            "nextNumber": "2026-A-042",
        },
        response_only=True,
        status_codes=["200"],
    )
]

EXPENSE_LIST_EXAMPLES = [
    OpenApiExample(
        "Seed 000",
        value={
            "id": UUID,
            "date": "2026-03-10",
            "description": "Cloud hosting",
            "amount": 4999,
            "isDeductible": True,
            "categoryName": "Software y tecnología",
            "receiptUrl": None,
            "baseAmount": 4131,
            "ivaRate": 2100,
            "ivaAmount": 868,
            "supplierName": "AWS",
            "supplierNif": "",
            "taxpayerId": TAXPAYER_UUID,
        },
        response_only=True,
        status_codes=["200"],
    )
]
EXPENSE_CREATE_EXAMPLES = [
    OpenApiExample(
        "Seed 000",
        value={
            "date": "2026-03-13",
            "description": "Cloud hosting March",
            "amount": 4999,
            "categoryId": CATEGORY_UUID,
            "isDeductible": True,
            "supplierName": "AWS",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Seed 000",
        value={
            "id": UUID,
            "date": "2026-03-13",
            "description": "Cloud hosting March",
            "amount": 4999,
            "isDeductible": True,
        },
        response_only=True,
        status_codes=["201"],
    ),
]
CATEGORY_EXAMPLES = [
    OpenApiExample(
        "Categories",
        value={"id": CATEGORY_UUID, "name": "Software y tecnología"},
        response_only=True,
        status_codes=["200"],
    )
]
