"""OpenAPI of the VERI*FACTU API (seed 003) beyond what its serializers say: the error
envelope the exception handler writes (:mod:`api.exceptions`), tags, long descriptions and the
examples of seed 003.

The bodies themselves are described by the serializers that render them
(:mod:`api.v1.outputs`, :mod:`api.v1.serializers`); ``tests/test_api_schema.py`` checks the
schema against the live API (schemathesis).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from api import schema as common

TAGS_TAXPAYERS = ["v1: taxpayers"]
TAGS_SYSTEMS = ["v1: computer systems"]
TAGS_INVOICES = ["v1: invoices"]


class V1ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per field (dotted path: `breakdown.0.tax_rate`), its messages; an AEAT "
        'rule broken adds its code as a message of its own ("AEAT 1124"). Empty when the '
        "error is not about a field.",
    )


def error_example(code: str, message: str) -> dict:
    if code == "validation_error":
        return {
            "message": "The given data was invalid.",
            "errors": {"breakdown.0.tax_rate": ["Not a valid IVA rate.", "AEAT 1124"]},
        }
    return {"message": message, "errors": {}}


def operation(**kwargs):
    """:func:`api.schema.operation` in the v1 API's error envelope."""
    return common.operation(envelope=V1ErrorSerializer, example_body=error_example, **kwargs)


SYSTEMS_DESCRIPTION = (
    "A computer system is an installation, in your account, of the deployment's "
    "SistemaInformatico. Every record states the same software (producer name and NIF, "
    "`name`, `system_id`, `version`: the operator's, read-only) and the installation's "
    "`installation_number`, derived from your account's id and the installation's `label`, so "
    "no other account can ever send records on it, and a NIF registered in several accounts "
    "has its own chain in each. `producer_name`, `producer_nif`, `name`, `system_id`, "
    "`version` and `installation_number` are still accepted on create and ignored. The "
    "installation labelled `factu` is the one of the invoices issued in Factu itself; its id "
    "is also a valid `computer_system_id`."
)

# -- Examples (seed 003) ------------------------------------------------------------------------

INVOICE_UUID = "7d3e9a1b-2c4f-4b6a-8e0d-9f1a2b3c4d5e"
TAXPAYER_UUID = "5e8a1c3d-7b2f-4e9a-8c6d-1f0b3a5e7d92"
SYSTEM_UUID = "c2a9e4b7-6d1f-4a3c-8b5e-0f7d2a9c6e14"
HASH_EXAMPLE = "3C464DAF61ACB827C65FDA19F352A4E3BDC2C640E9E9FC4CC058073F38F12F60"
QR_EXAMPLE = (
    "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR?nif=B87654323&numserie=F-2026-042"
    "&fecha=13-03-2026&importe=825.00"
)

REGISTER_EXAMPLES = [
    OpenApiExample(
        "Seed 003",
        value={
            "taxpayer_id": TAXPAYER_UUID,
            "computer_system_id": SYSTEM_UUID,
            "invoice_number": "F-2026-042",
            "invoice_date": "2026-03-13",
            "invoice_type": "F1",
            "description": "Mantenimiento mensual",
            "regime_types": ["01"],
            "recipient_nif": "A28045631",  # the seed's A98765432 fails the checksum
            "recipient_name": "Cliente SA",
            "breakdown": [
                {
                    "tax_type": "01",
                    "regime_type": "01",
                    "operation_type": "S1",
                    "base_amount": 500.00,
                    "tax_rate": 21.00,
                    "tax_amount": 105.00,
                },
                {
                    "tax_type": "01",
                    "regime_type": "01",
                    "operation_type": "S1",
                    "base_amount": 200.00,
                    "tax_rate": 10.00,
                    "tax_amount": 20.00,
                },
            ],
            "total_amount": 825.00,
            "total_tax_amount": 125.00,
        },
        request_only=True,
    ),
    OpenApiExample(
        "Seed 003",
        value={
            "message": "Invoice registered successfully.",
            "data": {
                "id": INVOICE_UUID,
                "invoice_number": "F-2026-042",
                "hash": HASH_EXAMPLE,
                "qr_url": QR_EXAMPLE,
                "aeat_status": "queued",
                "record_type": "registration",
            },
        },
        response_only=True,
        status_codes=["201"],
    ),
]
STATUS_EXAMPLES = [
    OpenApiExample(
        "Seed 003",
        value={
            "data": {
                "aeat_status": "accepted",
                "aeat_response": {
                    "submission_status": "Correcto",
                    "record_status": "Correcto",
                    "error_code": None,
                    "error_description": None,
                    "csv": "A-YDSW8NLFLANWPM",
                    "submitted_at": "2026-03-13T10:15:02.123456Z",
                },
            }
        },
        response_only=True,
        status_codes=["200"],
    )
]
QR_EXAMPLES = [
    OpenApiExample(
        "URL", value={"data": {"qr_url": QR_EXAMPLE}}, response_only=True, status_codes=["200"]
    )
]
TAXPAYER_EXAMPLES = [
    OpenApiExample(
        "Taxpayer",
        value={"nif": "B87654323", "name": "Estudio Sol SL", "verifactu_mode": "verifactu"},
        request_only=True,
    )
]
PAGE_EXAMPLES = [
    OpenApiExample(
        "Seed 003",
        value={  # one invoice of the page (the pagination adds the frame and its meta)
            "id": INVOICE_UUID,
            "taxpayer_id": TAXPAYER_UUID,
            "invoice_number": "F-2026-042",
            "invoice_date": "2026-03-13",
            "invoice_type": "F1",
            "total_amount": 825.00,
            "total_tax_amount": 125.00,
            "hash": HASH_EXAMPLE,
            "aeat_status": "accepted",
            "record_type": "registration",
            "created_at": "2026-03-13T10:14:55.000000Z",
        },
        response_only=True,
        status_codes=["200"],
    )
]
