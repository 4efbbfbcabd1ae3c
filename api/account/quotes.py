"""Quotes in the account API (``/api/quotes``), camelCase and integer cents as seed 000's
invoices: list, create, detail, status, conversion into an invoice draft, sending by email
and PDF. Thin views over :mod:`quotes.services` and :mod:`quotes.sending`, which the pages
call too.

A quote's ``status`` is its status today (:meth:`quotes.models.Quote.status_on`): a sent quote
past its ``validUntil`` is ``expired`` even before the periodic task stores it.
"""

from __future__ import annotations

from functools import partial

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from api.account import schema as doc
from api.account import serializers as s
from api.account.filters import AccountFilterSet, FilterBackend
from api.account.views import AccountView, send_and_answer
from api.exceptions import Conflict
from api.pagination import FixedPagePagination
from api.schema import BODY
from clients.models import Client
from factu.downloads import file_response
from invoicing.models import Series
from quotes import documents, sending, services
from quotes.models import Quote, QuoteLine, QuoteStatus

TAGS = ["account: quotes"]
HAND_SET = {
    QuoteStatus.SENT: services.mark_sent,
    QuoteStatus.ACCEPTED: services.accept_quote,
    QuoteStatus.REJECTED: services.reject_quote,
}

# -- Serializers --------------------------------------------------------------------------


@extend_schema_serializer(component_name="AccountQuoteInput")
class QuoteInputSerializer(serializers.Serializer):
    clientId = serializers.UUIDField()  # noqa: N815 - the API's camelCase
    issueDate = serializers.DateField()  # noqa: N815
    validUntil = serializers.DateField()  # noqa: N815
    irpfRate = s.StrictInt(min_value=0, max_value=10000, required=False, default=0)  # noqa: N815
    notes = s.Text(2000, required=False, allow_blank=True, default="")
    lines = s.LineInputSerializer(many=True, allow_empty=False, max_length=500)


@extend_schema_serializer(component_name="AccountQuoteStatusInput")
class QuoteStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[str(v) for v in HAND_SET])


@extend_schema_serializer(component_name="AccountQuoteInvoiceInput")
class QuoteInvoiceInputSerializer(serializers.Serializer):
    seriesId = serializers.UUIDField()  # noqa: N815


@extend_schema_serializer(component_name="AccountQuote")
class QuoteSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    quoteNumber = serializers.CharField(source="number")  # noqa: N815
    issueDate = serializers.DateField(source="issue_date")  # noqa: N815
    validUntil = serializers.DateField(source="valid_until")  # noqa: N815
    clientId = serializers.UUIDField(source="client_id")  # noqa: N815
    clientName = serializers.CharField(source="client.name")  # noqa: N815
    status = serializers.SerializerMethodField(
        help_text="draft, sent, accepted, rejected or expired (a sent quote past validUntil)."
    )
    total = s.cents(source="total_cents")
    subtotal = s.cents(source="subtotal_cents")
    ivaAmount = s.cents(source="iva_cents")  # noqa: N815
    irpfAmount = s.cents("Euro cents withheld (IRPF).", source="irpf_cents")  # noqa: N815
    surchargeAmount = s.cents(source="surcharge_cents")  # noqa: N815
    invoiceId = serializers.UUIDField(  # noqa: N815
        source="invoice_id", allow_null=True, help_text="The invoice it became, if converted."
    )
    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815

    class Meta:
        model = Quote
        fields = [
            "id",
            "quoteNumber",
            "issueDate",
            "validUntil",
            "clientId",
            "clientName",
            "status",
            *s.AMOUNTS,
            "invoiceId",
            "taxpayerId",
        ]

    def get_status(self, quote: Quote) -> str:
        return quote.status_on(timezone.localdate())


@extend_schema_serializer(component_name="AccountQuoteLine")
class QuoteLineSerializer(s.InvoiceLineSerializer):
    class Meta(s.InvoiceLineSerializer.Meta):
        model = QuoteLine


@extend_schema_serializer(component_name="AccountQuoteDetail")
class QuoteDetailSerializer(serializers.ModelSerializer):
    quote = QuoteSerializer(source="*")
    lines = QuoteLineSerializer(many=True)
    notes = serializers.CharField(allow_blank=True)

    class Meta:
        model = Quote
        fields = ["quote", "lines", "notes"]


# -- Filters and examples ---------------------------------------------------------------


class QuoteFilter(AccountFilterSet):
    status = django_filters.ChoiceFilter(
        choices=QuoteStatus.choices,
        method="filter_status",
        error_messages={"invalid_choice": f"One of {', '.join(QuoteStatus.values)}."},
    )

    class Meta:
        model = Quote
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return services.with_status(queryset, value, timezone.localdate())


QUOTE_EXAMPLE = {
    "id": doc.UUID,
    "quoteNumber": "P-2026-001",
    "issueDate": "2026-03-13",
    "validUntil": "2026-04-12",
    "clientId": doc.CLIENT_UUID,
    "clientName": "Acme SL",
    "status": "draft",
    "total": 106500,
    "subtotal": 100000,
    "ivaAmount": 21000,
    "irpfAmount": 15000,
    "surchargeAmount": 0,
    "invoiceId": None,
    "taxpayerId": doc.TAXPAYER_UUID,
}
LINE_EXAMPLE = {
    "description": "Consulting services",
    "quantity": 100,
    "unitPrice": 100000,
    "ivaType": "general",
}


def _example(value: dict, code: str) -> OpenApiExample:
    return OpenApiExample("Quote", value=value, response_only=True, status_codes=[code])


# -- Views --------------------------------------------------------------------------------


class QuoteView(AccountView):
    """One quote of the account (``quote_id`` in the path); another account's is a 404."""

    def get_object(self) -> Quote:
        quote = (
            Quote.objects.select_related("client", "taxpayer")
            .filter(account=self.account, pk=self.kwargs["quote_id"])
            .first()
        )
        if quote is None:
            raise Http404("No such quote.")
        return quote


class QuoteListView(AccountView, generics.ListAPIView):
    queryset = Quote.objects.select_related("client").order_by("-issue_date", "-id")
    serializer_class = QuoteSerializer
    filter_backends = [FilterBackend]
    filterset_class = QuoteFilter
    pagination_class = FixedPagePagination

    def get_queryset(self):
        return super().get_queryset().filter(account=self.account)

    @doc.operation(
        operation_id="account_quotes_list",
        tags=TAGS,
        summary="List quotes",
        description="The account's quotes, by date descending, 50 per page.",
        responses={200: QuoteSerializer(many=True)},
        examples=[_example(QUOTE_EXAMPLE, "200")],
        errors=[400],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_quotes_create",
        tags=TAGS,
        summary="Create a draft quote",
        description="Amounts are computed by the server as an invoice's. `quantity` in "
        "hundredths, `unitPrice` in euro cents, `irpfRate` in basis points. The number "
        "(`P-2026-001`) is taken from the client's taxpayer's quote counter.",
        request=QuoteInputSerializer,
        responses={201: QuoteSerializer},
        examples=[
            OpenApiExample(
                "Quote",
                value={
                    "clientId": doc.CLIENT_UUID,
                    "issueDate": "2026-03-13",
                    "validUntil": "2026-04-12",
                    "irpfRate": 1500,
                    "lines": [LINE_EXAMPLE],
                },
                request_only=True,
            ),
            _example(QUOTE_EXAMPLE, "201"),
        ],
        errors=[*BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such client (`clientId`)."},
    )
    def post(self, request):
        data = self.validated(QuoteInputSerializer)
        client = Client.objects.filter(account=self.account, pk=data["clientId"]).first()
        if client is None:
            raise Http404("No such client.")
        quote = services.create_quote(
            client.taxpayer,
            client=client,
            issue_date=data["issueDate"],
            valid_until=data["validUntil"],
            lines=s.draft_lines(data["lines"]),
            irpf_bp=data["irpfRate"],
            notes=data["notes"],
            actor=self.actor(),
        )
        return Response(QuoteSerializer(quote).data, status=status.HTTP_201_CREATED)


class QuoteDetailView(QuoteView):
    @doc.operation(
        operation_id="account_quote_retrieve",
        tags=TAGS,
        summary="Get a quote with its lines",
        responses={200: QuoteDetailSerializer},
        examples=[
            _example(
                {
                    "quote": QUOTE_EXAMPLE,
                    "lines": [{**LINE_EXAMPLE, "amount": 100000, "discount": 0}],
                    "notes": "",
                },
                "200",
            )
        ],
        errors=[404],
    )
    def get(self, request, quote_id):
        return Response(QuoteDetailSerializer(self.get_object()).data)


class QuoteStatusView(QuoteView):
    @doc.operation(
        operation_id="account_quote_status_update",
        tags=TAGS,
        summary="Change a quote's status",
        description="draft → sent → accepted or rejected (a draft may be answered too). "
        "`expired` is set by the server once `validUntil` has passed.",
        request=QuoteStatusInputSerializer,
        responses={200: QuoteSerializer},
        examples=[_example({**QUOTE_EXAMPLE, "status": "sent"}, "200")],
        errors=[*BODY, 404, 409],
        error_descriptions={409: "The transition is not allowed from the current status."},
    )
    def patch(self, request, quote_id):
        quote = self.get_object()
        target = self.validated(QuoteStatusInputSerializer)["status"]
        try:
            quote = HAND_SET[QuoteStatus(target)](quote, actor=self.actor())
        except services.InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        return Response(QuoteSerializer(quote).data)


class QuoteInvoiceView(QuoteView):
    @doc.operation(
        operation_id="account_quote_convert",
        tags=TAGS,
        summary="Convert a quote into a draft invoice",
        description="A draft invoice in `seriesId` with the quote's client, lines and IRPF, "
        "dated today; the quote becomes accepted. Once per quote.",
        request=QuoteInvoiceInputSerializer,
        responses={201: s.InvoiceCreatedSerializer},
        examples=[OpenApiExample("Quote", value={"seriesId": doc.SERIES_UUID}, request_only=True)],
        errors=[*BODY, 404, 409],
        idempotent=True,
        error_descriptions={
            404: "No such quote, or no such series (`seriesId`).",
            409: "Already converted, or rejected or expired.",
        },
    )
    def post(self, request, quote_id):
        quote = self.get_object()
        data = self.validated(QuoteInvoiceInputSerializer)
        series = Series.objects.filter(account=self.account, pk=data["seriesId"]).first()
        if series is None:
            raise Http404("No such series.")
        try:
            invoice = services.convert_to_invoice(quote, series=series, actor=self.actor())
        except services.InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        return Response(s.InvoiceCreatedSerializer(invoice).data, status=status.HTTP_201_CREATED)


class QuoteSendView(QuoteView):
    serializer_class = s.DeliverySerializer

    @doc.operation(
        operation_id="account_quote_send",
        tags=TAGS,
        summary="Email a quote to its client",
        description="Queues an email with the quote's PDF attached, from the platform's "
        "address with the taxpayer's Reply-To; a draft quote becomes `sent`. The answer is "
        "the delivery, `queued`; its outcome shows on the quote's history. At most "
        "`MAILING_HOURLY_LIMIT` emails per account per hour.",
        request=s.SendInputSerializer,
        responses={202: s.DeliverySerializer},
        errors=[*BODY, 404, 409, 429],
        error_descriptions={
            409: "The quote is accepted, rejected or expired, or its validUntil has passed.",
            429: "The account's hourly email limit is reached: retry after `Retry-After` seconds.",
        },
        idempotent=True,
    )
    def post(self, request, quote_id):
        return send_and_answer(self, partial(sending.send_quote, self.get_object()))


class QuotePdfView(QuoteView):
    @doc.operation(
        operation_id="account_quote_pdf",
        tags=TAGS,
        summary="Download a quote's PDF",
        description="The quote as a PDF: no QR and no VERI*FACTU legend (a quote is not an "
        "invoice).",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        errors=[404],
    )
    def get(self, request, quote_id):
        filename, mimetype, data = documents.render_pdf(self.get_object())
        return file_response(data, mimetype, filename, inline=True)
