"""Serializers of the account API (seed 000): camelCase, integer cents, never floats."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from factu.text import no_control_characters
from invoicing import taxes
from invoicing.models import Invoice

MAX_CENTS = 10**13


class Cents(serializers.IntegerField):
    """Integer cents; a float or a numeric string with decimals is refused, not rounded."""

    default_error_messages = {"invalid": "Must be an integer number of cents, like 4999."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", -MAX_CENTS)
        kwargs.setdefault("max_value", MAX_CENTS)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInt(Cents):
    default_error_messages = {"invalid": "Must be an integer."}


def Text(max_length: int, **kwargs) -> serializers.CharField:  # noqa: N802 - field factory
    kwargs.setdefault("validators", [no_control_characters])
    return serializers.CharField(max_length=max_length, **kwargs)


@extend_schema_serializer(component_name="AccountLineInput")
class LineInputSerializer(serializers.Serializer):
    description = Text(500)
    quantity = StrictInt(min_value=-(10**9), max_value=10**9)
    unitPrice = Cents()  # noqa: N815 - the seed's name
    ivaType = serializers.ChoiceField(  # noqa: N815 - the seed's name
        choices=list(taxes.TAX_RATES_BP),
        default=taxes.GENERAL,
        help_text="An IVA type (general, reducido, …), or for Canarias an IGIC type (igic_*) "
        "and for Ceuta and Melilla an IPSI type (ipsi_*).",
    )
    discount = StrictInt(min_value=0, max_value=10000, required=False, default=0)
    exemptionCause = serializers.ChoiceField(  # noqa: N815
        choices=["E1", "E2", "E3", "E4", "E5", "E6"], required=False
    )
    notSubjectCause = serializers.ChoiceField(choices=["N1", "N2"], required=False)  # noqa: N815


@extend_schema_serializer(component_name="AccountInvoiceInput")
class InvoiceInputSerializer(serializers.Serializer):
    taxpayerId = serializers.UUIDField(required=False)  # noqa: N815
    clientId = serializers.UUIDField(required=False, allow_null=True)  # noqa: N815
    seriesId = serializers.UUIDField()  # noqa: N815
    issueDate = serializers.DateField()  # noqa: N815
    dueDate = serializers.DateField(required=False, allow_null=True)  # noqa: N815
    irpfRate = StrictInt(min_value=0, max_value=10000, required=False)  # noqa: N815
    applyIrpf = serializers.BooleanField(required=False, default=True)  # noqa: N815
    description = Text(500, required=False, allow_blank=True, default="")
    notes = Text(2000, required=False, allow_blank=True, default="")
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)


@extend_schema_serializer(component_name="AccountStatusInput")
class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["draft", "sent", "paid", "overdue", "cancelled"])
    paidAt = serializers.DateTimeField(required=False, allow_null=True)  # noqa: N815

    def to_internal_value(self, data):
        # The seed sends a plain date ("2026-03-13"): midnight UTC of that day.
        if isinstance(data, dict) and isinstance(data.get("paidAt"), str):
            value = data["paidAt"]
            if len(value) == 10:
                data = {**data, "paidAt": f"{value}T00:00:00Z"}
        return super().to_internal_value(data)


@extend_schema_serializer(component_name="AccountClientInput")
class ClientInputSerializer(serializers.Serializer):
    taxpayerId = serializers.UUIDField(required=False)  # noqa: N815
    name = Text(120)
    nif = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    address = Text(200, required=False, allow_blank=True, default="")
    city = Text(100, required=False, allow_blank=True, default="")
    postalCode = Text(10, required=False, allow_blank=True, default="")  # noqa: N815
    province = Text(100, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=2, required=False, default="ES")
    idType = serializers.CharField(max_length=2, required=False, allow_blank=True, default="")  # noqa: N815
    foreignId = Text(20, required=False, allow_blank=True, default="")  # noqa: N815
    recargoEquivalencia = serializers.BooleanField(required=False, default=False)  # noqa: N815


@extend_schema_serializer(component_name="AccountExpenseInput")
class ExpenseInputSerializer(serializers.Serializer):
    taxpayerId = serializers.UUIDField(required=False)  # noqa: N815
    date = serializers.DateField()
    description = Text(300)
    amount = Cents()
    baseAmount = Cents(required=False, allow_null=True)  # noqa: N815
    ivaRate = StrictInt(min_value=0, max_value=10000, required=False, allow_null=True)  # noqa: N815
    categoryId = serializers.UUIDField(required=False, allow_null=True)  # noqa: N815
    isDeductible = serializers.BooleanField(required=False, default=True)  # noqa: N815
    supplierName = Text(120, required=False, allow_blank=True, default="")  # noqa: N815
    supplierNif = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")  # noqa: N815


def iso_millis(value) -> str | None:
    if value is None:
        return None
    from datetime import UTC

    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def invoice_item(invoice: Invoice) -> dict:
    return {
        "id": str(invoice.pk),
        "invoiceNumber": invoice.number,
        "issueDate": invoice.issue_date.isoformat(),
        "dueDate": invoice.due_date.isoformat() if invoice.due_date else None,
        "clientName": invoice.client_name or (invoice.client.name if invoice.client else ""),
        "status": invoice.status,
        "total": invoice.total_cents,
        "subtotal": invoice.subtotal_cents,
        "ivaAmount": invoice.iva_cents,
        "irpfAmount": invoice.irpf_cents,
        "surchargeAmount": invoice.surcharge_cents,
        "taxpayerId": str(invoice.taxpayer_id),
    }
