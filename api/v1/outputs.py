"""What the VERI*FACTU API answers: the serializers that render each response and, being the
same objects, describe it in the OpenAPI schema.

Amounts are stored in cents (rates in basis points) and answered as ``Decimal`` euros, which
:mod:`api.v1.json` writes as JSON numbers with exactly two decimals (``825.00``); an empty
text is answered as ``null``; instants are in UTC (``…Z``).
"""

from __future__ import annotations

import copy
from datetime import UTC

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from api.v1.serializers import ComputerSystemSerializer, TaxpayerSerializer
from verifactu import corrections
from verifactu.facts import from_cents
from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus

CHAIN_ORDER = "position"

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
AEAT_RECORD_STATUS = {
    RecordStatus.ACCEPTED: "Correcto",
    RecordStatus.ACCEPTED_WITH_ERRORS: "AceptadoConErrores",
    RecordStatus.REJECTED: "Incorrecto",
}


@extend_schema_field(AMOUNT_SCHEMA)
class Cents(serializers.Field):
    """An amount stored in cents, answered in euros."""

    def to_representation(self, value: int):
        return from_cents(value)


@extend_schema_field(RATE_SCHEMA)
class BasisPoints(Cents):
    """A rate stored in basis points, answered in percent."""


class OptionalText(serializers.CharField):
    """A text that is ``null`` when empty."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value) -> str | None:
        return str(value) or None


def Instant(**kwargs) -> serializers.DateTimeField:  # noqa: N802 - a field factory
    """A moment, in UTC (``2026-03-13T10:15:02.123456Z``)."""
    return serializers.DateTimeField(default_timezone=UTC, **kwargs)


def huella_field(help_text: str = "The record's huella (SHA-256).", **kwargs) -> serializers.Field:
    return serializers.RegexField(r"^[0-9A-F]{64}$", help_text=help_text, **kwargs)


def status_field(**kwargs) -> serializers.ChoiceField:
    kwargs.setdefault("help_text", "Of the latest record.")
    return serializers.ChoiceField(choices=list(RecordStatus.values), **kwargs)


def record_type_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=list(BillingRecord.RecordType.values), **kwargs)


def envelope(name: str, inner: serializers.Field, *, message: bool = False) -> type:
    """A response's frame: ``{"data": …}``, or ``{"message": …, "data": …}``, rendered from
    ``{"message": …, "data": the object}``."""
    fields: dict = {"message": serializers.CharField()} if message else {}
    fields["data"] = copy.deepcopy(inner)  # a field made now: declared fields go by creation
    return serializers.SerializerMetaclass(name, (serializers.Serializer,), fields)


# -- Records -----------------------------------------------------------------------------------


@extend_schema_serializer(component_name="V1InvoiceRegisteredData")
class RegisteredSerializer(serializers.Serializer):
    """A RegistroAlta just chained: the QR is the new alta's."""

    id = serializers.UUIDField(source="fiscal_invoice_id")
    invoice_number = serializers.CharField()
    hash = huella_field(source="huella")
    qr_url = serializers.URLField(help_text="AEAT's cotejo URL, for the QR.")
    aeat_status = status_field(source="status")
    record_type = record_type_field()


@extend_schema_serializer(component_name="V1RecordQueuedData")
class RecordQueuedSerializer(serializers.Serializer):
    """A record chained and queued again (retry)."""

    id = serializers.UUIDField(source="fiscal_invoice_id")
    aeat_status = status_field(source="status")
    record_type = record_type_field()
    hash = huella_field(source="huella")


@extend_schema_serializer(component_name="V1InvoiceCancelledData")
class CancelledSerializer(serializers.Serializer):
    """The RegistroAnulacion chained and queued."""

    id = serializers.UUIDField(source="fiscal_invoice_id")
    record_type = record_type_field()
    hash = huella_field(source="huella")
    aeat_status = status_field(source="status")


@extend_schema_serializer(component_name="V1RecordSummary")
class RecordSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    record_type = record_type_field()
    hash = huella_field(source="huella")
    previous_hash = OptionalText(source="previous_huella")
    generated_at = serializers.DateTimeField(source="generated_at_text")
    aeat_status = serializers.ChoiceField(choices=list(RecordStatus.values), source="status")
    aeat_error_code = OptionalText()


# -- Invoices ----------------------------------------------------------------------------------


def records(invoice: FiscalInvoice) -> list[BillingRecord]:
    """The invoice's records in chain order, prefetched (``prefetched_records``) or read."""
    found = getattr(invoice, "prefetched_records", None)
    return found if found is not None else list(invoice.records.order_by(CHAIN_ORDER))


def latest(invoice: FiscalInvoice) -> BillingRecord:
    found = getattr(invoice, "prefetched_records", None)
    if found is not None:
        return found[-1]
    return invoice.records.order_by(f"-{CHAIN_ORDER}").first()


class Loaded:
    """A fiscal invoice with its records in chain order (the latest last), read once; every
    other attribute is the invoice's."""

    def __init__(self, invoice: FiscalInvoice) -> None:
        self.invoice = invoice
        self.records = records(invoice)
        self.latest = self.records[-1]

    def __getattr__(self, name: str):
        return getattr(self.invoice, name)

    @property
    def all_versions(self) -> list:
        return corrections.versions(self.invoice)


class _OfLoadedInvoice(serializers.Serializer):
    def to_representation(self, instance: FiscalInvoice) -> dict:
        return super().to_representation(Loaded(instance))


@extend_schema_serializer(component_name="V1BreakdownLine")
class BreakdownLineSerializer(serializers.Serializer):
    """One line of the breakdown (DetalleDesglose): a tax rate group."""

    tax_type = serializers.CharField()
    regime_type = serializers.CharField(allow_null=True)
    operation_type = serializers.CharField()
    base_amount = Cents(source="base_cents")
    tax_rate = BasisPoints(source="rate_bp", allow_null=True)
    tax_amount = Cents(source="tax_cents", allow_null=True)
    surcharge_rate = BasisPoints(source="surcharge_rate_bp", allow_null=True)
    surcharge_amount = Cents(source="surcharge_cents", allow_null=True)
    base_cost_amount = Cents(
        source="base_cost_cents",
        required=False,
        help_text="BaseImponibleACoste (regime 06, IPSI, 05); only if given.",
    )


@extend_schema_serializer(component_name="V1InvoiceRef")
class InvoiceRefSerializer(serializers.Serializer):
    invoice_number = serializers.CharField()
    invoice_date = serializers.DateField()


@extend_schema_serializer(component_name="V1VersionSummary")
class VersionSummarySerializer(serializers.Serializer):
    version = serializers.IntegerField(source="number", help_text="1 is what was registered.")
    replaces = serializers.SerializerMethodField()
    reason = OptionalText()
    matches_delivered_invoice = serializers.BooleanField()
    made_by = OptionalText(
        source="actor_label", help_text="The user's email, or the API token's name."
    )
    created_at = Instant()
    record_id = serializers.UUIDField(
        allow_null=True,
        help_text="The RegistroAlta that registered this version.",
    )

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_replaces(self, version) -> int | None:
        return version.number - 1 if version.number > 1 else None


@extend_schema_serializer(component_name="V1InvoiceDetailData")
class InvoiceDetailSerializer(_OfLoadedInvoice):
    """Every registered fact of a fiscal invoice, its records and its versions."""

    id = serializers.UUIDField()
    taxpayer_id = serializers.UUIDField()
    computer_system_id = serializers.UUIDField()
    source = serializers.ChoiceField(
        choices=list(FiscalInvoice.Source.values),
        help_text="`api_v1` (registered here) or `factu` (issued in Factu).",
    )
    invoice_number = serializers.CharField()
    invoice_date = serializers.DateField()
    invoice_type = serializers.CharField()
    description = serializers.CharField()
    operation_date = serializers.DateField(allow_null=True)
    issued_by = OptionalText()
    third_party_nif = OptionalText()
    third_party_name = OptionalText()
    regime_types = serializers.ListField(child=serializers.CharField())
    reverse_charge = serializers.BooleanField()
    recipient_nif = OptionalText()
    recipient_name = OptionalText()
    recipient_country = OptionalText()
    recipient_id_type = OptionalText()
    recipient_id = OptionalText()
    not_subject_amount = Cents(source="not_subject_amount_cents", allow_null=True)
    not_subject_cause = OptionalText()
    breakdown = BreakdownLineSerializer(many=True)
    total_amount = Cents(source="total_amount_cents")
    total_tax_amount = Cents(source="total_tax_amount_cents")
    rectification_type = OptionalText()
    rectified_invoices = InvoiceRefSerializer(many=True)
    replaced_invoices = InvoiceRefSerializer(many=True)
    rectification_base = Cents(source="rectification_base_cents", allow_null=True)
    rectification_tax = Cents(source="rectification_tax_cents", allow_null=True)
    rectification_surcharge = Cents(
        source="rectification_surcharge_cents",
        allow_null=True,
        help_text="CuotaRecargoRectificado (substitution, with recargo).",
    )
    irpf_rate = BasisPoints(
        source="irpf_rate_bp",
        allow_null=True,
        help_text="The IRPF rate in percent, as given; not in the record.",
    )
    irpf_amount = Cents(
        source="irpf_amount_cents",
        allow_null=True,
        help_text="The IRPF withheld, as given: printed on the PDF, never in the record.",
    )
    hash = huella_field(source="latest.huella")
    previous_hash = OptionalText(source="latest.previous_huella")
    qr_url = serializers.URLField()
    aeat_status = status_field(source="latest.status")
    aeat_error_code = OptionalText(source="latest.aeat_error_code")
    aeat_error_description = OptionalText(source="latest.aeat_error_description")
    csv = OptionalText(source="latest.csv")
    record_type = record_type_field(source="latest.record_type")
    records = RecordSummarySerializer(many=True)
    version = serializers.IntegerField(
        help_text="The current version: the fields above are its facts."
    )
    versions = VersionSummarySerializer(many=True, source="all_versions")
    created_at = Instant()


@extend_schema_serializer(component_name="V1InvoiceSummary")
class InvoiceSummarySerializer(_OfLoadedInvoice):
    """A line of a taxpayer's invoice list."""

    id = serializers.UUIDField()
    taxpayer_id = serializers.UUIDField()
    invoice_number = serializers.CharField()
    invoice_date = serializers.DateField()
    invoice_type = serializers.CharField()
    total_amount = Cents(source="total_amount_cents")
    total_tax_amount = Cents(source="total_tax_amount_cents")
    hash = huella_field(source="latest.huella")
    aeat_status = status_field(source="latest.status")
    record_type = record_type_field(source="latest.record_type")
    created_at = Instant()


class _AeatRecordStatus(serializers.ChoiceField):
    def to_representation(self, value: str) -> str | None:
        return AEAT_RECORD_STATUS.get(value)


@extend_schema_serializer(component_name="V1AeatResponse")
class AeatResponseSerializer(serializers.Serializer):
    """What the AEAT answered about a record (of its latest submission)."""

    submission_status = OptionalText(source="submission.estado_envio")
    record_status = _AeatRecordStatus(
        choices=list(AEAT_RECORD_STATUS.values()),
        source="status",
        allow_null=True,
        help_text="AEAT's EstadoRegistro, once it answered.",
    )
    error_code = OptionalText(source="aeat_error_code")
    error_description = OptionalText(source="aeat_error_description")
    csv = OptionalText()
    submitted_at = Instant(source="submission.started_at", allow_null=True)


@extend_schema_serializer(component_name="V1InvoiceStatusData")
class InvoiceStatusSerializer(serializers.Serializer):
    """An invoice's AEAT status: its latest record's."""

    aeat_status = status_field(source="status")
    aeat_response = AeatResponseSerializer(source="*")

    def to_representation(self, instance: FiscalInvoice) -> dict:
        return super().to_representation(latest(instance))


@extend_schema_serializer(component_name="V1QrUrlData")
class QrUrlSerializer(serializers.Serializer):
    qr_url = serializers.URLField()


def _cents(value: int | None):
    return None if value is None else from_cents(value)


# -- Responses ---------------------------------------------------------------------------------

V1TaxpayerList = envelope("V1TaxpayerList", TaxpayerSerializer(many=True))
V1TaxpayerCreated = envelope("V1TaxpayerCreated", TaxpayerSerializer(), message=True)
V1ComputerSystemList = envelope("V1ComputerSystemList", ComputerSystemSerializer(many=True))
V1ComputerSystemCreated = envelope(
    "V1ComputerSystemCreated", ComputerSystemSerializer(), message=True
)
V1InvoiceRegistered = envelope("V1InvoiceRegistered", RegisteredSerializer(), message=True)
V1InvoiceDetail = envelope("V1InvoiceDetail", InvoiceDetailSerializer())
V1InvoiceStatus = envelope("V1InvoiceStatus", InvoiceStatusSerializer())
V1QrUrl = envelope("V1QrUrl", QrUrlSerializer())
V1RecordQueued = envelope("V1RecordQueued", RecordQueuedSerializer(), message=True)
V1InvoiceCancelled = envelope("V1InvoiceCancelled", CancelledSerializer(), message=True)


def as_input(invoice: FiscalInvoice) -> dict:
    """The invoice's current facts in the shape of a create body (what a subsanación's
    body is merged over); empty values are left out, as a caller would leave them."""
    body = {
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "invoice_type": invoice.invoice_type,
        "description": invoice.description,
        "operation_date": invoice.operation_date,
        "issued_by": invoice.issued_by,
        "third_party_nif": invoice.third_party_nif,
        "third_party_name": invoice.third_party_name,
        "regime_types": invoice.regime_types,
        "reverse_charge": invoice.reverse_charge,
        "recipient_nif": invoice.recipient_nif,
        "recipient_name": invoice.recipient_name,
        "recipient_country": invoice.recipient_country,
        "recipient_id_type": invoice.recipient_id_type,
        "recipient_id": invoice.recipient_id,
        "not_subject_amount": _cents(invoice.not_subject_amount_cents),
        "not_subject_cause": invoice.not_subject_cause,
        "breakdown": [
            {k: v for k, v in BreakdownLineSerializer(line).data.items() if v is not None}
            for line in invoice.breakdown
        ],
        "total_amount": from_cents(invoice.total_amount_cents),
        "total_tax_amount": from_cents(invoice.total_tax_amount_cents),
        "rectification_type": invoice.rectification_type,
        "rectified_invoices": invoice.rectified_invoices,
        "replaced_invoices": invoice.replaced_invoices,
        "rectification_base": _cents(invoice.rectification_base_cents),
        "rectification_tax": _cents(invoice.rectification_tax_cents),
        "rectification_surcharge": _cents(invoice.rectification_surcharge_cents),
    }
    return {k: v for k, v in body.items() if v not in (None, "", [])}
