"""Serializers of the account API (seed 000): camelCase, integer cents, never floats.

The input serializers validate request bodies; the output serializers render every response
body and, through drf-spectacular, describe it in the OpenAPI schema. Amounts are integers
in euro cents; rates and discounts are basis points (1500 = 15 %).
"""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from clients.models import Client, EInvoiceFormat
from expenses.models import Expense, ExpenseCategory
from factu.text import no_control_characters
from invoicing import taxes
from invoicing.draft_lines import DraftLine
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentMethod, Series

MAX_CENTS = 10**13
EINVOICE_FORMAT_HELP = (
    "The structured invoice the client asks to receive with the PDF by email: `ubl` (UBL 2.1, "
    "Peppol BIS Billing 3.0), `facturae` (Facturae 3.2.2), or empty for none."
)
DIR3_HELP = (
    "A public administration's DIR3 code (FACe), e.g. `L01280796`: one or two letters and "
    "digits, 9 or 10 characters. The three codes (oficina contable, órgano gestor, unidad "
    "tramitadora) go together or not at all."
)
TAX_TYPE_HELP = (
    "An IVA type (general, reducido, …), or for Canarias an IGIC type (igic_*) and for Ceuta "
    "and Melilla an IPSI type (ipsi_*)."
)


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
        help_text=TAX_TYPE_HELP,
    )
    discount = StrictInt(min_value=0, max_value=10000, required=False, default=0)
    exemptionCause = serializers.ChoiceField(  # noqa: N815
        choices=["E1", "E2", "E3", "E4", "E5", "E6"], required=False
    )
    notSubjectCause = serializers.ChoiceField(choices=["N1", "N2"], required=False)  # noqa: N815


def draft_lines(lines: list[dict]) -> list[DraftLine]:
    """The validated lines of a body (:class:`LineInputSerializer`) as the services take them."""
    return [
        DraftLine(
            description=line["description"],
            quantity=line["quantity"],
            unit_price=line["unitPrice"],
            iva_type=line["ivaType"],
            discount_bp=line.get("discount", 0),
            cause=line.get("exemptionCause") or line.get("notSubjectCause") or "",
        )
        for line in lines
    ]


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


@extend_schema_serializer(component_name="AccountPaymentInput")
class PaymentInputSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day it was paid: not in the future.")
    amount = Cents(
        min_value=1,
        help_text="Euro cents received (refunded, on an invoice with a negative total), more "
        "than 0 and no more than what is outstanding.",
    )
    method = serializers.ChoiceField(choices=PaymentMethod.values, default=PaymentMethod.TRANSFER)
    note = Text(200, required=False, allow_blank=True, default="")


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
    einvoiceFormat = serializers.ChoiceField(  # noqa: N815
        choices=["", *EInvoiceFormat.values],
        required=False,
        default="",
        help_text=EINVOICE_FORMAT_HELP,
    )
    dir3OficinaContable = Text(
        10, required=False, allow_blank=True, default="", help_text=DIR3_HELP
    )  # noqa: N815
    dir3OrganoGestor = Text(10, required=False, allow_blank=True, default="", help_text=DIR3_HELP)  # noqa: N815
    dir3UnidadTramitadora = Text(
        10, required=False, allow_blank=True, default="", help_text=DIR3_HELP
    )  # noqa: N815


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


# -- Responses ----------------------------------------------------------------------------------


def iso_millis(value) -> str | None:
    """A UTC date-time with milliseconds and ``Z``: ``2026-03-13T00:00:00.000Z``."""
    if value is None:
        return None
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


class MillisDateTimeField(serializers.DateTimeField):
    def to_representation(self, value) -> str | None:
        return iso_millis(value)


def cents(help_text: str = "Euro cents.", **kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(help_text=help_text, **kwargs)


NUMBER = ["id", "invoiceNumber"]
DATES = ["issueDate", "dueDate"]
AMOUNTS = ["total", "subtotal", "ivaAmount", "irpfAmount", "surchargeAmount"]


# The fields every invoice response may show; each response picks its own, in its order.
class InvoiceFieldsSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    invoiceNumber = serializers.CharField(  # noqa: N815 - the seed's names
        source="number",
        help_text="The series' number, taken when the invoice is issued. A draft's is "
        'provisional ("Borrador 9F1A2B3C"): it reserves nothing.',
    )
    issueDate = serializers.DateField(source="issue_date")  # noqa: N815
    dueDate = serializers.DateField(source="due_date", allow_null=True)  # noqa: N815
    status = serializers.ChoiceField(choices=InvoiceStatus.values)
    total = cents(source="total_cents")
    subtotal = cents(source="subtotal_cents")
    ivaAmount = cents(source="iva_cents")  # noqa: N815
    irpfAmount = cents(  # noqa: N815
        "Euro cents withheld (IRPF), subtracted from the total.", source="irpf_cents"
    )
    surchargeAmount = cents("Euro cents of recargo de equivalencia.", source="surcharge_cents")  # noqa: N815
    clientName = serializers.CharField(source="recipient_name", allow_blank=True)  # noqa: N815
    paidAt = MillisDateTimeField(source="paid_at", allow_null=True)  # noqa: N815
    paidAmount = cents(  # noqa: N815
        "Euro cents collected so far (refunded, negative, on an invoice with a negative "
        "total); `total - paidAmount` is what is still owed. A partly paid invoice stays "
        "`sent` or `overdue`.",
        source="paid_cents",
    )

    class Meta:
        model = Invoice
        fields = [*NUMBER, "status", *AMOUNTS]


@extend_schema_serializer(component_name="AccountInvoiceItem")
class InvoiceItemSerializer(InvoiceFieldsSerializer):
    """An invoice in the list."""

    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815

    class Meta(InvoiceFieldsSerializer.Meta):
        fields = [*NUMBER, *DATES, "clientName", "status", *AMOUNTS, "taxpayerId", "paidAmount"]


@extend_schema_serializer(component_name="AccountInvoiceCreated")
class InvoiceCreatedSerializer(InvoiceFieldsSerializer):
    """The draft just created, with the amounts the server computed."""

    class Meta(InvoiceFieldsSerializer.Meta):
        fields = [*NUMBER, "status", *AMOUNTS]


@extend_schema_serializer(component_name="AccountInvoiceStatus")
class InvoiceStatusSerializer(InvoiceFieldsSerializer):
    """The invoice's status after the change."""

    class Meta(InvoiceFieldsSerializer.Meta):
        fields = [*NUMBER, "status", "paidAt"]


@extend_schema_serializer(component_name="AccountInvoiceBalance")
class InvoiceBalanceSerializer(InvoiceFieldsSerializer):
    """An invoice's status, total and what has been paid of it."""

    class Meta(InvoiceFieldsSerializer.Meta):
        fields = [*NUMBER, "status", "total", "paidAmount", "paidAt"]


@extend_schema_serializer(component_name="AccountInvoiceHeader")
class InvoiceHeaderSerializer(InvoiceFieldsSerializer):
    """The invoice itself, without its lines."""

    fiscalInvoiceId = serializers.UUIDField(  # noqa: N815
        source="fiscal_invoice_id",
        allow_null=True,
        help_text="The VERI*FACTU record's invoice in `/api/v1/invoices/{id}`, once issued.",
    )

    class Meta(InvoiceFieldsSerializer.Meta):
        fields = [*NUMBER, *DATES, "status", *AMOUNTS, "paidAt", "fiscalInvoiceId", "paidAmount"]


@extend_schema_serializer(component_name="AccountPayment")
class PaymentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    date = serializers.DateField()
    amount = cents("Euro cents received (or refunded), always positive.", source="amount_cents")
    method = serializers.ChoiceField(
        choices=PaymentMethod.values,
        help_text="transfer, card, cash, direct_debit (domiciliación), bizum or other.",
    )
    note = serializers.CharField(allow_blank=True)

    class Meta:
        model = Payment
        fields = ["id", "date", "amount", "method", "note"]


@extend_schema_serializer(component_name="AccountPaymentCreated")
class PaymentCreatedSerializer(PaymentSerializer):
    """The payment recorded, and where its invoice stands after it."""

    invoice = InvoiceBalanceSerializer(
        help_text="`status` is `paid` once nothing is outstanding.", read_only=True
    )

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "invoice"]


@extend_schema_serializer(component_name="AccountInvoiceLine")
class InvoiceLineSerializer(serializers.ModelSerializer):
    description = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField(help_text="Hundredths of a unit: 100 = 1.")
    unitPrice = cents(source="unit_price_cents")  # noqa: N815
    amount = cents("Euro cents, after the discount, before taxes.", source="amount_cents")
    ivaType = serializers.ChoiceField(  # noqa: N815
        source="iva_type", choices=list(taxes.TAX_RATES_BP), help_text=TAX_TYPE_HELP
    )
    discount = serializers.IntegerField(
        source="discount_bp", help_text="Basis points: 1000 = 10 %."
    )

    class Meta:
        model = InvoiceLine
        fields = ["description", "quantity", "unitPrice", "amount", "ivaType", "discount"]


@extend_schema_serializer(component_name="AccountInvoiceDetail")
class InvoiceDetailSerializer(serializers.ModelSerializer):
    """An invoice with its lines, and its client's name and NIF (as frozen at issue; the
    client's today for a draft)."""

    invoice = InvoiceHeaderSerializer(source="*")
    lines = InvoiceLineSerializer(many=True)
    clientName = serializers.CharField(source="recipient_name", allow_blank=True)  # noqa: N815
    clientNif = serializers.CharField(source="recipient_nif", allow_blank=True)  # noqa: N815

    class Meta:
        model = Invoice
        fields = ["invoice", "lines", "clientName", "clientNif"]


@extend_schema_serializer(component_name="AccountClient")
class ClientSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    nif = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    postalCode = serializers.CharField(source="postal_code", allow_blank=True)  # noqa: N815
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2: ES, PT, FR…")
    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815
    einvoiceFormat = serializers.ChoiceField(  # noqa: N815
        source="einvoice_format",
        choices=["", *EInvoiceFormat.values],
        help_text=EINVOICE_FORMAT_HELP,
    )
    dir3OficinaContable = serializers.CharField(source="dir3_oficina_contable", allow_blank=True)  # noqa: N815
    dir3OrganoGestor = serializers.CharField(source="dir3_organo_gestor", allow_blank=True)  # noqa: N815
    dir3UnidadTramitadora = serializers.CharField(
        source="dir3_unidad_tramitadora", allow_blank=True
    )  # noqa: N815

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "nif",
            "email",
            "address",
            "city",
            "postalCode",
            "country",
            "taxpayerId",
            "einvoiceFormat",
            "dir3OficinaContable",
            "dir3OrganoGestor",
            "dir3UnidadTramitadora",
        ]


@extend_schema_serializer(component_name="AccountSeries")
class SeriesSerializer(serializers.ModelSerializer):
    """A series not archived, with the number its next invoice takes this year."""

    # context["year"]: this year; the queryset is annotated by invoicing.models.with_next_number.

    id = serializers.UUIDField()
    code = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=Series.Kind.choices, help_text="F1, F2, or R (rectificativas)."
    )
    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815
    nextNumber = serializers.SerializerMethodField(  # noqa: N815
        help_text="The number the next invoice issued in the series this year will take "
        "(drafts take none)."
    )

    class Meta:
        model = Series
        fields = ["id", "code", "kind", "taxpayerId", "nextNumber"]

    def get_nextNumber(self, series: Series) -> str:  # noqa: N802
        return series.format_number(self.context["year"], series.next_in_year)


@extend_schema_serializer(component_name="AccountExpenseCreated")
class ExpenseCreatedSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    date = serializers.DateField()
    description = serializers.CharField()
    amount = cents("Euro cents, taxes included.", source="amount_cents")
    isDeductible = serializers.BooleanField(source="is_deductible")  # noqa: N815

    class Meta:
        model = Expense
        fields = ["id", "date", "description", "amount", "isDeductible"]


@extend_schema_serializer(component_name="AccountExpenseItem")
class ExpenseItemSerializer(ExpenseCreatedSerializer):
    categoryName = serializers.CharField(source="category.name", allow_null=True)  # noqa: N815
    receiptUrl = serializers.SerializerMethodField(help_text="Always null for now.")  # noqa: N815
    baseAmount = cents(source="base_cents", allow_null=True)  # noqa: N815
    ivaRate = serializers.IntegerField(  # noqa: N815
        source="iva_rate_bp", allow_null=True, help_text="Basis points."
    )
    ivaAmount = cents(source="iva_cents", allow_null=True)  # noqa: N815
    supplierName = serializers.CharField(source="supplier_name", allow_blank=True)  # noqa: N815
    supplierNif = serializers.CharField(source="supplier_nif", allow_blank=True)  # noqa: N815
    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815

    class Meta(ExpenseCreatedSerializer.Meta):
        fields = [
            *ExpenseCreatedSerializer.Meta.fields,
            "categoryName",
            "receiptUrl",
            "baseAmount",
            "ivaRate",
            "ivaAmount",
            "supplierName",
            "supplierNif",
            "taxpayerId",
        ]

    def get_receiptUrl(self, expense: Expense) -> str | None:  # noqa: N802
        return None


@extend_schema_serializer(component_name="AccountExpenseCategory")
class ExpenseCategorySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    name = serializers.CharField()

    class Meta:
        model = ExpenseCategory
        fields = ["id", "name"]


class SendInputSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=254, help_text="The recipient: one email address.")
    cc = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=5,
        help_text="Up to 5 addresses in copy.",
    )
    subject = serializers.CharField(max_length=200, help_text="One line.")
    message = serializers.CharField(max_length=20000, trim_whitespace=False)


@extend_schema_serializer(component_name="AccountEmailDelivery")
class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    to = serializers.EmailField()
    cc = serializers.ListField(child=serializers.EmailField())
    subject = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["queued", "sent", "failed"],
        help_text="queued: waiting for (or between) attempts; sent: accepted by the mail "
        "server; failed: refused for good (`error` says why).",
    )
    error = serializers.CharField(help_text="The last failure, empty when none.")
    attempts = serializers.IntegerField()
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)  # noqa: N815
    failedAt = serializers.DateTimeField(source="failed_at", allow_null=True)  # noqa: N815
