"""Serializers of ``/api/recurring``: recurring plans, camelCase, integer cents, basis points.

The lines are those of ``POST /api/invoices`` (:class:`LineInputSerializer`); a plan's
response lists the invoices it generated, one per period.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from api.account.serializers import (
    InvoiceLineSerializer,
    LineInputSerializer,
    StrictInt,
    Text,
    cents,
)
from invoicing.models import InvoiceStatus
from recurring.models import Frequency, GeneratedPeriod, Plan, PlanLine, PlanStatus
from recurring.services import MAX_PAYMENT_DAYS, template_totals

FREQUENCY_HELP = "monthly, quarterly (every three months) or yearly."
DAY_HELP = "1 to 31; a month without that day uses its last day."


@extend_schema_serializer(component_name="AccountRecurringInput")
class PlanInputSerializer(serializers.Serializer):
    """A plan to create (every field but the optional ones), or the fields to change (PATCH:
    any subset; ``lines``, when given, replace all the lines)."""

    taxpayerId = serializers.UUIDField(  # noqa: N815
        required=False, help_text="The series' taxpayer; optional, checked when given."
    )
    name = Text(120)
    clientId = serializers.UUIDField()  # noqa: N815
    seriesId = serializers.UUIDField()  # noqa: N815
    description = Text(500, required=False, allow_blank=True)
    notes = Text(2000, required=False, allow_blank=True)
    paymentDetails = Text(200, required=False, allow_blank=True)  # noqa: N815
    paymentDays = StrictInt(  # noqa: N815
        min_value=0,
        max_value=MAX_PAYMENT_DAYS,
        required=False,
        allow_null=True,
        help_text="Days from the invoice's date to its due date; null: no due date.",
    )
    irpfRate = StrictInt(  # noqa: N815
        min_value=0,
        max_value=10000,
        required=False,
        help_text="Basis points (1500 = 15 %); the taxpayer's default rate when omitted.",
    )
    frequency = serializers.ChoiceField(choices=Frequency.values, help_text=FREQUENCY_HELP)
    dayOfMonth = StrictInt(min_value=1, max_value=31, help_text=DAY_HELP)  # noqa: N815
    startDate = serializers.DateField(  # noqa: N815
        help_text="The first period is the first `dayOfMonth` on or after both this date and "
        "the day the plan is created (or its calendar changed): a period whose day had "
        "already passed is never invoiced."
    )
    endDate = serializers.DateField(  # noqa: N815
        required=False, allow_null=True, help_text="No period after this date."
    )
    count = StrictInt(
        min_value=1,
        max_value=10000,
        required=False,
        allow_null=True,
        help_text="How many invoices in all; null: no limit.",
    )
    autoIssue = serializers.BooleanField(  # noqa: N815
        required=False, help_text="Issue each invoice (default), or leave it as a draft."
    )
    autoSend = serializers.BooleanField(  # noqa: N815
        required=False, help_text="Email each issued invoice to the client (default false)."
    )
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)


@extend_schema_serializer(component_name="AccountRecurringInvoice")
class GeneratedSerializer(serializers.ModelSerializer):
    """An invoice the plan generated, for one period."""

    id = serializers.UUIDField(source="invoice_id")
    invoiceNumber = serializers.CharField(source="invoice.number")  # noqa: N815
    period = serializers.DateField(help_text="The period's date in the plan's calendar.")
    issueDate = serializers.DateField(  # noqa: N815
        source="invoice.issue_date", help_text="The day it was generated: never earlier."
    )
    status = serializers.ChoiceField(source="invoice.status", choices=InvoiceStatus.values)
    total = cents(source="invoice.total_cents")
    problem = serializers.CharField(
        allow_blank=True, help_text="Why it was left a draft, when the plan issues."
    )

    class Meta:
        model = GeneratedPeriod
        fields = ["id", "invoiceNumber", "period", "issueDate", "status", "total", "problem"]


@extend_schema_serializer(component_name="AccountRecurringLine")
class PlanLineSerializer(InvoiceLineSerializer):
    class Meta:
        model = PlanLine
        fields = ["description", "quantity", "unitPrice", "ivaType", "discount"]


@extend_schema_serializer(component_name="AccountRecurring")
class PlanSerializer(serializers.ModelSerializer):
    """A recurring plan, its template and what it generated."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=PlanStatus.choices, help_text="active, paused or ended."
    )
    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815
    clientId = serializers.UUIDField(source="client_id")  # noqa: N815
    clientName = serializers.CharField(source="client.name")  # noqa: N815
    seriesId = serializers.UUIDField(source="series_id")  # noqa: N815
    description = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)
    paymentDetails = serializers.CharField(source="payment_details", allow_blank=True)  # noqa: N815
    paymentDays = serializers.IntegerField(source="payment_days", allow_null=True)  # noqa: N815
    irpfRate = serializers.IntegerField(source="irpf_bp", help_text="Basis points.")  # noqa: N815
    frequency = serializers.ChoiceField(choices=Frequency.values, help_text=FREQUENCY_HELP)
    dayOfMonth = serializers.IntegerField(source="day_of_month", help_text=DAY_HELP)  # noqa: N815
    startDate = serializers.DateField(source="start_date")  # noqa: N815
    endDate = serializers.DateField(source="end_date", allow_null=True)  # noqa: N815
    count = serializers.IntegerField(source="max_invoices", allow_null=True)
    autoIssue = serializers.BooleanField(source="auto_issue")  # noqa: N815
    autoSend = serializers.BooleanField(source="auto_send")  # noqa: N815
    nextDate = serializers.DateField(  # noqa: N815
        source="next_date", allow_null=True, help_text="The next period; null once ended."
    )
    generatedCount = serializers.IntegerField(source="generated_count")  # noqa: N815
    problem = serializers.CharField(
        allow_blank=True,
        help_text="Why the last generation gave no issued invoice; empty when it did.",
    )
    total = serializers.SerializerMethodField(
        help_text="Euro cents each invoice comes to today; null if the lines no longer add up."
    )
    lines = PlanLineSerializer(many=True)
    invoices = GeneratedSerializer(source="periods", many=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "name",
            "status",
            "taxpayerId",
            "clientId",
            "clientName",
            "seriesId",
            "description",
            "notes",
            "paymentDetails",
            "paymentDays",
            "irpfRate",
            "frequency",
            "dayOfMonth",
            "startDate",
            "endDate",
            "count",
            "autoIssue",
            "autoSend",
            "nextDate",
            "generatedCount",
            "problem",
            "total",
            "lines",
            "invoices",
        ]

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_total(self, plan: Plan) -> int | None:
        totals = template_totals(plan)
        return totals.total_cents if totals else None
