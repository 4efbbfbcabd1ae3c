"""The account API (seed 000): thin generic views over the same services the browser uses.

Lists page with :mod:`api.pagination` and filter with the FilterSets of
:mod:`api.account.filters`; every body is rendered (and described in the schema) by a
serializer of :mod:`api.account.serializers`; errors, Django's ``ValidationError`` included,
go through the one exception handler (:mod:`api.exceptions`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.response import Response

from api import schema as common
from api.account import schema as doc
from api.account import serializers as s
from api.account.filters import ClientFilter, ExpenseFilter, FilterBackend, InvoiceFilter
from api.exceptions import Conflict
from api.idempotency import IdempotentMixin
from api.pagination import FixedPagePagination, TotalCountPagination
from api.tenancy import account_taxpayer
from clients.models import Client
from clients.services import create_client, search_clients
from expenses.models import Expense
from expenses.services import categories_for, create_expense
from factu.downloads import file_response
from factu.models import Taxpayer
from invoicing import payments, sending, services
from invoicing.counts import account_invoice_count
from invoicing.documents import render_pdf
from invoicing.duplicates import duplicate_invoice
from invoicing.models import Invoice, InvoiceStatus, Series, with_next_number
from mailing.models import EmailDelivery
from mailing.services import SendingLimitReached
from verifactu.records import RecordRefused


def refused(exc: RecordRefused) -> ValidationError:
    """The AEAT's rules a record breaks, per field (the code of each rule the AEAT numbers)."""
    errors: dict[str, list[str]] = {}
    for p in exc.problems:
        errors.setdefault(p.field, []).append(
            f"{p.message} (AEAT {p.code})" if p.code.isdigit() else p.message
        )
    return ValidationError(errors)


class AccountView(IdempotentMixin, generics.GenericAPIView):
    """A view of the token's account; a POST honours ``Idempotency-Key``."""

    @property
    def account(self):
        return self.request.auth.account

    def taxpayer(self, taxpayer_id) -> Taxpayer:
        return account_taxpayer(self.account, taxpayer_id, field="taxpayerId")

    def actor(self) -> services.Actor:
        token = self.request.auth
        return services.Actor(user=token.created_by, token_label=f"{token.name} ({token.prefix}…)")

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class InvoiceView(AccountView):
    """One invoice of the account (``invoice_id`` in the path)."""

    queryset = Invoice.objects.select_related("client", "taxpayer", "series")
    lookup_url_kwarg = "invoice_id"

    def get_queryset(self):
        return super().get_queryset().filter(account=self.account)

    def get_object(self) -> Invoice:
        invoice = self.get_queryset().filter(pk=self.kwargs[self.lookup_url_kwarg]).first()
        if invoice is None:
            raise Http404("No such invoice.")
        return invoice


class InvoiceListView(AccountView, generics.ListAPIView):
    queryset = Invoice.objects.select_related("client").order_by("-issue_date", "-id")
    serializer_class = s.InvoiceItemSerializer
    filter_backends = [FilterBackend]
    filterset_class = InvoiceFilter
    pagination_class = FixedPagePagination

    def get_queryset(self):
        return payments.with_paid(super().get_queryset().filter(account=self.account))

    def known_total(self) -> int | None:
        """The exact per-account counter for the unfiltered list: no COUNT over every row."""
        return None if self.filterset.narrows() else account_invoice_count(self.account.pk)

    @doc.operation(
        operation_id="account_invoices_list",
        tags=doc.TAGS_INVOICES,
        summary="List invoices",
        description="The account's invoices, by issue date descending, 50 per page.",
        responses={200: s.InvoiceItemSerializer(many=True)},
        examples=doc.INVOICE_LIST_EXAMPLES,
        errors=[400, 404],
        error_descriptions={404: "No such taxpayer (`taxpayerId`)."},
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_invoices_create",
        tags=doc.TAGS_INVOICES,
        summary="Create a draft invoice",
        description="Amounts are computed by the server. `quantity` is in hundredths of a unit "
        "(100 = 1; negative only in a rectificativa series), `unitPrice` in euro cents, "
        "`irpfRate` and `discount` in basis points (1500 = 15 %). The draft's number is "
        "provisional and reserves nothing: the series' number is taken when it is issued.",
        request=s.InvoiceInputSerializer,
        responses={201: s.InvoiceCreatedSerializer},
        examples=doc.INVOICE_CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such series (`seriesId`) or client (`clientId`)."},
    )
    def post(self, request):
        data = self.validated(s.InvoiceInputSerializer)
        series = Series.objects.filter(account=self.account, pk=data["seriesId"]).first()
        if series is None:
            raise Http404("No such series.")
        taxpayer = series.taxpayer
        if data.get("taxpayerId") and data["taxpayerId"] != taxpayer.pk:
            raise ValidationError({"taxpayerId": ["The series belongs to another taxpayer."]})
        client = None
        if data.get("clientId"):
            client = Client.objects.filter(account=self.account, pk=data["clientId"]).first()
            if client is None:
                raise Http404("No such client.")
        invoice = services.create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=data["issueDate"],
            due_date=data.get("dueDate"),
            lines=s.draft_lines(data["lines"]),
            irpf_bp=(data.get("irpfRate", taxpayer.default_irpf_bp) if data["applyIrpf"] else 0),
            description=data["description"],
            notes=data["notes"],
            actor=self.actor(),
        )
        return Response(s.InvoiceCreatedSerializer(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceDetailView(InvoiceView, generics.RetrieveAPIView):
    serializer_class = s.InvoiceDetailSerializer

    @doc.operation(
        operation_id="account_invoice_retrieve",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice with its lines",
        description="The invoice, its lines, and its client's name and NIF.",
        responses={200: s.InvoiceDetailSerializer},
        examples=doc.INVOICE_DETAIL_EXAMPLES,
        errors=[404],
    )
    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


class InvoiceStatusView(InvoiceView):
    serializer_class = s.InvoiceStatusSerializer

    @doc.operation(
        operation_id="account_invoice_status_update",
        tags=doc.TAGS_INVOICES,
        summary="Change an invoice's status",
        description="draft → sent (issues it: it takes the series' next number and is "
        "registered with VERI*FACTU) → paid (`paidAt` required: a date or an ISO 8601 "
        "date-time, not in the future; records a payment of what is outstanding, method "
        "`other`); sent → cancelled. draft → cancelled deletes the draft: it had no number, "
        "so the series keeps no gap; it stays readable, `cancelled`, with its provisional "
        "number. Partial payments: `/api/invoices/{id}/payments`.",
        request=s.StatusInputSerializer,
        responses={200: s.InvoiceStatusSerializer},
        examples=doc.STATUS_EXAMPLES,
        errors=[*common.BODY, 404, 409],
        error_descriptions={409: "The transition is not allowed from the current status."},
    )
    def patch(self, request, invoice_id):
        invoice = self.get_object()
        data = self.validated(s.StatusInputSerializer)
        target = data["status"]
        actor = self.actor()
        try:
            if target == InvoiceStatus.SENT:
                invoice = services.issue_invoice(invoice, actor=actor)
            elif target == InvoiceStatus.PAID:
                if data.get("paidAt") is None:
                    raise ValidationError({"paidAt": ["Required when the status is paid."]})
                invoice = services.mark_paid(invoice, paid_at=data["paidAt"], actor=actor)
            elif target == InvoiceStatus.CANCELLED:
                invoice = services.cancel_invoice(invoice, actor=actor)
            else:
                raise Conflict(f"An invoice cannot be set to {target} by hand.")
        except services.InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        except RecordRefused as exc:
            raise refused(exc) from None
        return Response(self.get_serializer(invoice).data)


class InvoiceDuplicateView(InvoiceView):
    @doc.operation(
        operation_id="account_invoice_duplicate",
        tags=doc.TAGS_INVOICES,
        summary="Duplicate an invoice as a new draft",
        description="A new draft dated today, with the invoice's client, lines, description, "
        "IRPF, notes and payment details (any status may be duplicated). Its number is "
        "provisional until it is issued.",
        request=None,
        responses={201: s.InvoiceCreatedSerializer},
        examples=doc.INVOICE_DUPLICATE_EXAMPLES,
        errors=[*common.WRITE, 400, 404],
        idempotent=True,
        error_descriptions={
            400: "The copy cannot be a draft as it stands (an archived client or series).",
            404: "No such invoice.",
        },
    )
    def post(self, request, invoice_id):
        draft = duplicate_invoice(self.get_object(), actor=self.actor())
        return Response(s.InvoiceCreatedSerializer(draft).data, status=status.HTTP_201_CREATED)


class InvoicePdfView(InvoiceView):
    @doc.operation(
        operation_id="account_invoice_pdf",
        tags=doc.TAGS_INVOICES,
        summary="Download an invoice's PDF",
        description="The invoice as a PDF document, as the browser prints it.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        errors=[404],
    )
    def get(self, request, invoice_id):
        filename, mimetype, data = render_pdf(self.get_object())
        return file_response(data, mimetype, filename, inline=True)


def send_and_answer(view: AccountView, send: Callable[..., EmailDelivery]) -> Response:
    """``send(to=, cc=, subject=, message=, actor=)`` with the request's fields: 202 and the
    queued delivery; 409 when the object may not be sent, 429 past the hourly limit."""
    data = view.validated(s.SendInputSerializer)
    try:
        delivery = send(
            to=data["to"],
            cc=data.get("cc", []),
            subject=data["subject"],
            message=data["message"],
            actor=view.actor(),
        )
    except services.InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    except SendingLimitReached as exc:
        refusal = Throttled(detail=str(exc), code="email_limit_reached")
        refusal.wait = exc.retry_after
        raise refusal from None
    return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class InvoiceSendView(InvoiceView):
    serializer_class = s.DeliverySerializer

    @doc.operation(
        operation_id="account_invoice_send",
        tags=doc.TAGS_INVOICES,
        summary="Email an invoice to its client",
        description="Queues an email with the invoice's PDF attached, from the platform's "
        "address with the taxpayer's Reply-To. The answer is the delivery, `queued`; its "
        "outcome shows on the invoice's history. Sending changes no status. At most "
        "`MAILING_HOURLY_LIMIT` emails per account per hour.",
        request=s.SendInputSerializer,
        responses={202: s.DeliverySerializer},
        errors=[*common.BODY, 404, 409, 429],
        error_descriptions={
            409: "The invoice is a draft (or cancelled): only issued invoices are sent.",
            429: "The account's hourly email limit is reached: retry after `Retry-After` seconds.",
        },
        idempotent=True,
    )
    def post(self, request, invoice_id):
        return send_and_answer(self, partial(sending.send_invoice, self.get_object()))


class ClientListView(AccountView, generics.ListAPIView):
    queryset = Client.objects.all()
    serializer_class = s.ClientSerializer
    filterset_class = ClientFilter
    pagination_class = TotalCountPagination

    def get_queryset(self):
        return search_clients(self.account)

    @doc.operation(
        operation_id="account_clients_list",
        tags=doc.TAGS_CLIENTS,
        summary="List clients",
        description="Every client of the account, by name, as a plain array; `search` "
        "filters by name, NIF, email or city. `page` and `limit` (both optional) return one "
        "page of that array instead of all of it; `X-Total-Count` always gives how many "
        "clients match.",
        parameters=[
            OpenApiParameter(
                "X-Total-Count",
                {"type": "integer", "minimum": 0},
                OpenApiParameter.HEADER,
                response=[200],
                description="How many clients match, whatever the page.",
            ),
        ],
        responses={200: s.ClientSerializer(many=True)},
        examples=doc.CLIENT_LIST_EXAMPLES,
        errors=[400],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_clients_create",
        tags=doc.TAGS_CLIENTS,
        summary="Create a client",
        description="The NIF is validated for Spanish clients (country ES).",
        request=s.ClientInputSerializer,
        responses={201: s.ClientSerializer},
        examples=doc.CLIENT_CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such taxpayer (`taxpayerId`)."},
    )
    def post(self, request):
        data = self.validated(s.ClientInputSerializer)
        taxpayer = self.taxpayer(data.get("taxpayerId"))
        client = create_client(
            taxpayer,
            {
                "name": data["name"],
                "nif": data["nif"],
                "email": data["email"],
                "address": data["address"],
                "city": data["city"],
                "postal_code": data["postalCode"],
                "province": data["province"],
                "country": data["country"].upper(),
                "id_type": data["idType"],
                "foreign_id": data["foreignId"],
                "recargo_equivalencia": data["recargoEquivalencia"],
                "einvoice_format": data["einvoiceFormat"],
                "dir3_oficina_contable": data["dir3OficinaContable"],
                "dir3_organo_gestor": data["dir3OrganoGestor"],
                "dir3_unidad_tramitadora": data["dir3UnidadTramitadora"],
            },
        )
        return Response(s.ClientSerializer(client).data, status=status.HTTP_201_CREATED)


class SeriesListView(AccountView, generics.ListAPIView):
    queryset = Series.objects.all()
    serializer_class = s.SeriesSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        series = Series.objects.filter(account=self.account, archived=False)
        return with_next_number(series, self.year).order_by("taxpayer__name", "code")

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "year": self.year}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.year = timezone.localdate().year

    @doc.operation(
        operation_id="account_series_list",
        tags=doc.TAGS_SERIES,
        summary="List invoice series",
        description="The series not archived, with the number the next invoice will take.",
        responses={200: s.SeriesSerializer(many=True)},
        examples=doc.SERIES_EXAMPLES,
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class ExpenseListView(AccountView, generics.ListAPIView):
    queryset = Expense.objects.select_related("category").order_by("-date", "-id")
    serializer_class = s.ExpenseItemSerializer
    filterset_class = ExpenseFilter
    pagination_class = FixedPagePagination

    def get_queryset(self):
        return super().get_queryset().filter(account=self.account)

    @doc.operation(
        operation_id="account_expenses_list",
        tags=doc.TAGS_EXPENSES,
        summary="List expenses",
        description="The account's expenses, by date descending, 50 per page. Amounts in "
        "euro cents.",
        responses={200: s.ExpenseItemSerializer(many=True)},
        examples=doc.EXPENSE_LIST_EXAMPLES,
        errors=[400],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_expenses_create",
        tags=doc.TAGS_EXPENSES,
        summary="Create an expense",
        description="`amount` and `baseAmount` in euro cents, `ivaRate` in basis points; "
        "`categoryId` from `GET /api/expenses/categories`.",
        request=s.ExpenseInputSerializer,
        responses={201: s.ExpenseCreatedSerializer},
        examples=doc.EXPENSE_CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such taxpayer or category."},
    )
    def post(self, request):
        data = self.validated(s.ExpenseInputSerializer)
        taxpayer = self.taxpayer(data.get("taxpayerId"))
        category = None
        if data.get("categoryId"):
            category = categories_for(self.account).filter(pk=data["categoryId"]).first()
            if category is None:
                raise Http404("No such category.")
        expense = create_expense(
            taxpayer,
            {
                "date": data["date"],
                "description": data["description"],
                "amount_cents": data["amount"],
                "base_cents": data.get("baseAmount"),
                "iva_rate_bp": data.get("ivaRate"),
                "is_deductible": data["isDeductible"],
                "supplier_name": data["supplierName"],
                "supplier_nif": data["supplierNif"],
                "category": category,
            },
        )
        return Response(s.ExpenseCreatedSerializer(expense).data, status=status.HTTP_201_CREATED)


class ExpenseCategoryListView(AccountView, generics.ListAPIView):
    serializer_class = s.ExpenseCategorySerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return categories_for(self.account)

    @doc.operation(
        operation_id="account_expense_categories_list",
        tags=doc.TAGS_EXPENSES,
        summary="List expense categories",
        description="The categories an expense may take (`categoryId`): the common ones and "
        "the account's own, by name.",
        responses={200: s.ExpenseCategorySerializer(many=True)},
        examples=doc.CATEGORY_EXAMPLES,
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
