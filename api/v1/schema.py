"""OpenAPI of the VERI*FACTU API (seed 003): response shapes, the error envelope and examples.

These serializers only *describe* what the views answer (the views build plain dicts); each
shape here is checked against the live API by ``tests/test_api_schema.py`` (schemathesis).
Amounts are JSON numbers written with exactly two decimals (``825.00``) and read as
``Decimal`` (:mod:`api.v1.json`): ``type: number, multipleOf: 0.01``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_field, inline_serializer
from rest_framework import serializers

from api import schema as common
from api.v1.serializers import ComputerSystemSerializer, TaxpayerSerializer
from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus

TAGS_TAXPAYERS = ["v1: taxpayers"]
TAGS_SYSTEMS = ["v1: computer systems"]
TAGS_INVOICES = ["v1: invoices"]

AMOUNT_SCHEMA = {
    "type": "number",
    "multipleOf": 0.01,
    "description": "Euros, a JSON number with exactly two decimals (825.00).",
}
RATE_SCHEMA = {
    "type": "number",
    "multipleOf": 0.01,
    "minimum": 0,
    "maximum": 100,
    "description": "Percent, a JSON number with exactly two decimals (21.00).",
}


@extend_schema_field(AMOUNT_SCHEMA)
class Amount(serializers.Field):
    """Documentation only: an amount as the v1 renderer writes it."""


@extend_schema_field(RATE_SCHEMA)
class Rate(serializers.Field):
    """Documentation only: a rate as the v1 renderer writes it."""


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


AEAT_STATUSES = list(RecordStatus.values)
RECORD_TYPES = list(BillingRecord.RecordType.values)


def aeat_status() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=AEAT_STATUSES, help_text="Of the latest record.")


def record_type() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=RECORD_TYPES)


def data(name: str, inner) -> serializers.Serializer:
    return inline_serializer(name, {"data": inner})


def message_and_data(name: str, inner) -> serializers.Serializer:
    return inline_serializer(name, {"message": serializers.CharField(), "data": inner})


def _hash():
    return serializers.RegexField(r"^[0-9A-F]{64}$", help_text="The record's huella (SHA-256).")


# -- Taxpayers and computer systems ------------------------------------------------------------

V1TaxpayerList = data("V1TaxpayerList", TaxpayerSerializer(many=True))
V1TaxpayerCreated = message_and_data("V1TaxpayerCreated", TaxpayerSerializer())
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
V1ComputerSystemList = data("V1ComputerSystemList", ComputerSystemSerializer(many=True))
V1ComputerSystemCreated = message_and_data("V1ComputerSystemCreated", ComputerSystemSerializer())

# -- Invoices -----------------------------------------------------------------------------------

V1InvoiceRegistered = message_and_data(
    "V1InvoiceRegistered",
    inline_serializer(
        "V1InvoiceRegisteredData",
        {
            "id": serializers.UUIDField(),
            "invoice_number": serializers.CharField(),
            "hash": _hash(),
            "qr_url": serializers.URLField(help_text="AEAT's cotejo URL, for the QR."),
            "aeat_status": aeat_status(),
            "record_type": record_type(),
        },
    ),
)

V1BreakdownLine = inline_serializer(
    "V1BreakdownLine",
    {
        "tax_type": serializers.CharField(),
        "regime_type": serializers.CharField(allow_null=True),
        "operation_type": serializers.CharField(),
        "base_amount": Amount(),
        "tax_rate": Rate(allow_null=True),
        "tax_amount": Amount(allow_null=True),
        "surcharge_rate": Rate(allow_null=True),
        "surcharge_amount": Amount(allow_null=True),
        "base_cost_amount": Amount(
            required=False, help_text="BaseImponibleACoste (regime 06, IPSI, 05); only if given."
        ),
    },
)
V1InvoiceRef = inline_serializer(
    "V1InvoiceRef",
    {"invoice_number": serializers.CharField(), "invoice_date": serializers.DateField()},
)
V1RecordSummary = inline_serializer(
    "V1RecordSummary",
    {
        "id": serializers.UUIDField(),
        "record_type": record_type(),
        "hash": _hash(),
        "previous_hash": serializers.CharField(allow_null=True),
        "generated_at": serializers.DateTimeField(),
        "aeat_status": serializers.ChoiceField(choices=AEAT_STATUSES),
        "aeat_error_code": serializers.CharField(allow_null=True),
    },
)


def _nullable_text():
    return serializers.CharField(allow_null=True)


V1VersionSummary = inline_serializer(
    "V1VersionSummary",
    {
        "version": serializers.IntegerField(help_text="1 is what was registered."),
        "replaces": serializers.IntegerField(allow_null=True),
        "reason": _nullable_text(),
        "matches_delivered_invoice": serializers.BooleanField(),
        "made_by": serializers.CharField(
            allow_null=True, help_text="The user's email, or the API token's name."
        ),
        "created_at": serializers.DateTimeField(),
        "record_id": serializers.UUIDField(
            allow_null=True, help_text="The RegistroAlta that registered this version."
        ),
    },
)


V1InvoiceDetail = data(
    "V1InvoiceDetail",
    inline_serializer(
        "V1InvoiceDetailData",
        {
            "id": serializers.UUIDField(),
            "taxpayer_id": serializers.UUIDField(),
            "computer_system_id": serializers.UUIDField(),
            "source": serializers.ChoiceField(
                choices=list(FiscalInvoice.Source.values),
                help_text="`api_v1` (registered here) or `factu` (issued in Factu).",
            ),
            "invoice_number": serializers.CharField(),
            "invoice_date": serializers.DateField(),
            "invoice_type": serializers.CharField(),
            "description": serializers.CharField(),
            "operation_date": serializers.DateField(allow_null=True),
            "issued_by": _nullable_text(),
            "third_party_nif": _nullable_text(),
            "third_party_name": _nullable_text(),
            "regime_types": serializers.ListField(child=serializers.CharField()),
            "reverse_charge": serializers.BooleanField(),
            "recipient_nif": _nullable_text(),
            "recipient_name": _nullable_text(),
            "recipient_country": _nullable_text(),
            "recipient_id_type": _nullable_text(),
            "recipient_id": _nullable_text(),
            "not_subject_amount": Amount(allow_null=True),
            "not_subject_cause": _nullable_text(),
            "breakdown": V1BreakdownLine.__class__(many=True),
            "total_amount": Amount(),
            "total_tax_amount": Amount(),
            "rectification_type": _nullable_text(),
            "rectified_invoices": V1InvoiceRef.__class__(many=True),
            "replaced_invoices": V1InvoiceRef.__class__(many=True),
            "rectification_base": Amount(allow_null=True),
            "rectification_tax": Amount(allow_null=True),
            "rectification_surcharge": Amount(
                allow_null=True, help_text="CuotaRecargoRectificado (substitution, with recargo)."
            ),
            "irpf_rate": Amount(
                allow_null=True, help_text="The IRPF rate in percent, as given; not in the record."
            ),
            "irpf_amount": Amount(
                allow_null=True,
                help_text="The IRPF withheld, as given: printed on the PDF, never in the record.",
            ),
            "hash": _hash(),
            "previous_hash": _nullable_text(),
            "qr_url": serializers.URLField(),
            "aeat_status": aeat_status(),
            "aeat_error_code": _nullable_text(),
            "aeat_error_description": _nullable_text(),
            "csv": _nullable_text(),
            "record_type": record_type(),
            "records": V1RecordSummary.__class__(many=True),
            "version": serializers.IntegerField(
                help_text="The current version: the fields above are its facts."
            ),
            "versions": V1VersionSummary.__class__(many=True),
            "created_at": serializers.DateTimeField(),
        },
    ),
)

V1InvoiceStatus = data(
    "V1InvoiceStatus",
    inline_serializer(
        "V1InvoiceStatusData",
        {
            "aeat_status": aeat_status(),
            "aeat_response": inline_serializer(
                "V1AeatResponse",
                {
                    "submission_status": _nullable_text(),
                    "record_status": serializers.ChoiceField(
                        choices=["Correcto", "AceptadoConErrores", "Incorrecto"],
                        allow_null=True,
                        help_text="AEAT's EstadoRegistro, once it answered.",
                    ),
                    "error_code": _nullable_text(),
                    "error_description": _nullable_text(),
                    "csv": _nullable_text(),
                    "submitted_at": serializers.DateTimeField(allow_null=True),
                },
            ),
        },
    ),
)

V1QrUrl = data("V1QrUrl", inline_serializer("V1QrUrlData", {"qr_url": serializers.URLField()}))

V1RecordQueued = message_and_data(
    "V1RecordQueued",
    inline_serializer(
        "V1RecordQueuedData",
        {
            "id": serializers.UUIDField(),
            "aeat_status": aeat_status(),
            "record_type": record_type(),
            "hash": _hash(),
        },
    ),
)

V1InvoiceSummary = inline_serializer(
    "V1InvoiceSummary",
    {
        "id": serializers.UUIDField(),
        "taxpayer_id": serializers.UUIDField(),
        "invoice_number": serializers.CharField(),
        "invoice_date": serializers.DateField(),
        "invoice_type": serializers.CharField(),
        "total_amount": Amount(),
        "total_tax_amount": Amount(),
        "hash": _hash(),
        "aeat_status": aeat_status(),
        "record_type": record_type(),
        "created_at": serializers.DateTimeField(),
    },
)
V1InvoicePage = inline_serializer(
    "V1InvoicePage",
    {
        "data": V1InvoiceSummary.__class__(many=True),
        "meta": inline_serializer(
            "V1PageMeta",
            {
                "total": serializers.IntegerField(min_value=0),
                "page": serializers.IntegerField(min_value=1),
                "limit": serializers.IntegerField(min_value=1),
            },
        ),
    },
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
        value={
            "data": [
                {
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
                }
            ],
            "meta": {"total": 1, "page": 1, "limit": 50},
        },
        response_only=True,
        status_codes=["200"],
    )
]
