"""The account API (seed 000): thin views over the same services the browser uses."""

from __future__ import annotations

import uuid
from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema as common
from api.account import schema as doc
from api.account import serializers as s
from api.exceptions import Conflict
from api.idempotency import IdempotentMixin
from api.pagination import MAX_VALUE, positive_int
from api.tenancy import account_taxpayer
from clients.models import Client
from clients.services import create_client, search_clients
from expenses.models import Expense
from expenses.services import categories_for, create_expense
from factu.models import Taxpayer
from factu.text import normalize_search
from invoicing import services
from invoicing.counts import account_invoice_count
from invoicing.models import Invoice, InvoiceStatus, Series
from verifactu.records import RecordRefused

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # past it an offset no longer fits the database's integers


def _query_date(request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: ["Use YYYY-MM-DD."]}) from None


def _page(request) -> int:
    raw = request.query_params.get("page", "1")
    # isascii: "²" and "١" are digits to str.isdigit but not to int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationError({"page": [f"Must be an integer from 1 to {MAX_PAGE}."]})
    return int(raw)


def _query_uuid(request, name: str) -> uuid.UUID | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: ["Must be a UUID."]}) from None


def _search(request) -> str:
    """``?search=``: plain text; control characters other than tab and newlines are refused
    (they are no text, and PostgreSQL refuses NUL in a query)."""
    raw = request.query_params.get("search", "")
    if any((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in raw):
        raise ValidationError({"search": ["Control characters are not allowed."]})
    return raw


def paginated(request, queryset, item, total: int | None = None) -> Response:
    """One page and the exact total (``total`` when the caller knows it without counting).

    The page's ids are read first, from the index that serves the order, and only those 50
    rows are fetched: an OFFSET over whole rows reads every skipped row from the table
    (page 2,000 of 1,000,000 invoices: 75 ms instead of 20, bench/README.md).
    """
    page = _page(request)
    if total is None:
        total = queryset.count()
    start = (page - 1) * PAGE_SIZE
    ids = list(queryset.values_list("pk", flat=True)[start : start + PAGE_SIZE])
    by_id = {row.pk: row for row in queryset.filter(pk__in=ids)} if ids else {}
    rows = [by_id[pk] for pk in ids if pk in by_id]
    return Response(
        {"items": [item(row) for row in rows], "total": total, "page": page, "limit": PAGE_SIZE}
    )


def django_errors(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    return ValidationError({"non_field_errors": exc.messages})


def refused(exc: RecordRefused) -> ValidationError:
    errors: dict[str, list[str]] = {}
    for p in exc.problems:
        errors.setdefault(p.field, []).append(
            f"{p.message} (AEAT {p.code})" if p.code.isdigit() else p.message
        )
    return ValidationError(errors)


class AccountView(IdempotentMixin, APIView):
    @property
    def account(self):
        return self.request.auth.account

    def taxpayer(self, taxpayer_id) -> Taxpayer:
        return account_taxpayer(self.account, taxpayer_id, field="taxpayerId")

    def invoice(self, invoice_id) -> Invoice:
        invoice = (
            Invoice.objects.filter(account=self.account, pk=invoice_id)
            .select_related("client", "taxpayer", "series")
            .first()
        )
        if invoice is None:
            raise Http404("No such invoice.")
        return invoice

    def actor(self) -> services.Actor:
        token = self.request.auth
        return services.Actor(user=token.created_by, token_label=f"{token.name} ({token.prefix}…)")


PAGE = OpenApiParameter(
    "page",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    description="Page number; 50 items per page.",
)
CLIENT_PAGE_SIZE = 50
CLIENT_PAGE_MAX = 200
SEARCH = OpenApiParameter(
    "search",
    OpenApiTypes.STR,
    description="Words to find (all of them), ignoring case and accents. Plain text; "
    "control characters (but tab and newlines) are refused.",
)
DATE_FROM = OpenApiParameter("dateFrom", OpenApiTypes.DATE, description="From (inclusive).")
DATE_TO = OpenApiParameter("dateTo", OpenApiTypes.DATE, description="To (inclusive).")


class InvoiceListView(AccountView):
    @doc.operation(
        operation_id="account_invoices_list",
        tags=doc.TAGS_INVOICES,
        summary="List invoices",
        description="The account's invoices, by issue date descending, 50 per page.",
        parameters=[
            PAGE,
            OpenApiParameter("status", OpenApiTypes.STR, enum=InvoiceStatus.values),
            DATE_FROM,
            DATE_TO,
            SEARCH,
            OpenApiParameter(
                "taxpayerId", OpenApiTypes.UUID, description="Only this taxpayer's invoices."
            ),
        ],
        responses={200: doc.AccountInvoicePage},
        examples=doc.INVOICE_LIST_EXAMPLES,
        errors=[400, 404],
        error_descriptions={404: "No such taxpayer (`taxpayerId`)."},
    )
    def get(self, request):
        invoices = Invoice.objects.filter(account=self.account).select_related("client")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in InvoiceStatus.values:
                raise ValidationError({"status": [f"One of {', '.join(InvoiceStatus.values)}."]})
            invoices = invoices.filter(status=wanted)
        date_from, date_to = _query_date(request, "dateFrom"), _query_date(request, "dateTo")
        if date_from:
            invoices = invoices.filter(issue_date__gte=date_from)
        if date_to:
            invoices = invoices.filter(issue_date__lte=date_to)
        taxpayer_id = _query_uuid(request, "taxpayerId")
        if taxpayer_id:
            invoices = invoices.filter(taxpayer=self.taxpayer(taxpayer_id))
        terms = normalize_search(_search(request)).split()
        for term in terms:
            invoices = invoices.filter(search_text__contains=term)
        unfiltered = not (wanted or date_from or date_to or taxpayer_id or terms)
        return paginated(
            request,
            invoices.order_by("-issue_date", "-id"),
            s.invoice_item,
            total=account_invoice_count(self.account.pk) if unfiltered else None,
        )

    @doc.operation(
        operation_id="account_invoices_create",
        tags=doc.TAGS_INVOICES,
        summary="Create a draft invoice",
        description="Amounts are computed by the server. `quantity` is in hundredths of a unit "
        "(100 = 1; negative only in a rectificativa series), `unitPrice` in euro cents, "
        "`irpfRate` and `discount` in basis points (1500 = 15 %). The number is taken from "
        "the series now.",
        request=s.InvoiceInputSerializer,
        responses={201: doc.AccountInvoiceCreated},
        examples=doc.INVOICE_CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such series (`seriesId`) or client (`clientId`)."},
    )
    def post(self, request):
        serializer = s.InvoiceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
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
        lines = [
            services.DraftLine(
                description=line["description"],
                quantity=line["quantity"],
                unit_price=line["unitPrice"],
                iva_type=line["ivaType"],
                discount_bp=line.get("discount", 0),
                cause=line.get("exemptionCause") or line.get("notSubjectCause") or "",
            )
            for line in data["lines"]
        ]
        try:
            invoice = services.create_draft(
                taxpayer,
                series=series,
                client=client,
                issue_date=data["issueDate"],
                due_date=data.get("dueDate"),
                lines=lines,
                irpf_bp=(
                    data.get("irpfRate", taxpayer.default_irpf_bp) if data["applyIrpf"] else 0
                ),
                description=data["description"],
                notes=data["notes"],
                actor=self.actor(),
            )
        except DjangoValidationError as exc:
            raise django_errors(exc) from None
        return Response(
            {
                "id": str(invoice.pk),
                "invoiceNumber": invoice.number,
                "status": invoice.status,
                "total": invoice.total_cents,
                "subtotal": invoice.subtotal_cents,
                "ivaAmount": invoice.iva_cents,
                "irpfAmount": invoice.irpf_cents,
                "surchargeAmount": invoice.surcharge_cents,
            },
            status=status.HTTP_201_CREATED,
        )


class InvoiceDetailView(AccountView):
    @doc.operation(
        operation_id="account_invoice_retrieve",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice with its lines",
        responses={200: doc.AccountInvoiceDetail},
        examples=doc.INVOICE_DETAIL_EXAMPLES,
        errors=[404],
    )
    def get(self, request, invoice_id):
        invoice = self.invoice(invoice_id)
        client = invoice.client
        return Response(
            {
                "invoice": {
                    "id": str(invoice.pk),
                    "invoiceNumber": invoice.number,
                    "issueDate": invoice.issue_date.isoformat(),
                    "dueDate": invoice.due_date.isoformat() if invoice.due_date else None,
                    "status": invoice.status,
                    "total": invoice.total_cents,
                    "subtotal": invoice.subtotal_cents,
                    "ivaAmount": invoice.iva_cents,
                    "irpfAmount": invoice.irpf_cents,
                    "surchargeAmount": invoice.surcharge_cents,
                    "paidAt": s.iso_millis(invoice.paid_at),
                    "fiscalInvoiceId": (
                        str(invoice.fiscal_invoice_id) if invoice.fiscal_invoice_id else None
                    ),
                },
                "lines": [
                    {
                        "description": line.description,
                        "quantity": line.quantity,
                        "unitPrice": line.unit_price_cents,
                        "amount": line.amount_cents,
                        "ivaType": line.iva_type,
                        "discount": line.discount_bp,
                    }
                    for line in invoice.lines.all()
                ],
                "clientName": invoice.client_name or (client.name if client else ""),
                "clientNif": invoice.client_nif or (client.nif if client else ""),
            }
        )


class InvoiceStatusView(AccountView):
    @doc.operation(
        operation_id="account_invoice_status_update",
        tags=doc.TAGS_INVOICES,
        summary="Change an invoice's status",
        description="draft → sent (issues it: numbered, registered with VERI*FACTU) → paid "
        "(`paidAt` required: a date or an ISO 8601 date-time); sent → cancelled.",
        request=s.StatusInputSerializer,
        responses={200: doc.AccountInvoiceStatus},
        examples=doc.STATUS_EXAMPLES,
        errors=[*common.BODY, 404, 409],
        error_descriptions={409: "The transition is not allowed from the current status."},
    )
    def patch(self, request, invoice_id):
        invoice = self.invoice(invoice_id)
        serializer = s.StatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = serializer.validated_data["status"]
        actor = self.actor()
        try:
            if target == InvoiceStatus.SENT:
                invoice = services.issue_invoice(invoice, actor=actor)
            elif target == InvoiceStatus.PAID:
                paid_at = serializer.validated_data.get("paidAt")
                if paid_at is None:
                    raise ValidationError({"paidAt": ["Required when the status is paid."]})
                invoice = services.mark_paid(invoice, paid_at=paid_at, actor=actor)
            elif target == InvoiceStatus.CANCELLED:
                invoice = services.cancel_invoice(invoice, actor=actor)
            else:
                raise Conflict(f"An invoice cannot be set to {target} by hand.")
        except services.InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        except DjangoValidationError as exc:
            raise django_errors(exc) from None
        except RecordRefused as exc:
            raise refused(exc) from None
        return Response(
            {
                "id": str(invoice.pk),
                "invoiceNumber": invoice.number,
                "status": invoice.status,
                "paidAt": s.iso_millis(invoice.paid_at),
            }
        )


class InvoicePdfView(AccountView):
    @doc.operation(
        operation_id="account_invoice_pdf",
        tags=doc.TAGS_INVOICES,
        summary="Download an invoice's PDF",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        errors=[404],
    )
    def get(self, request, invoice_id):
        from invoicing.documents import document_for
        from invoicing.pdf import InvoiceRenderer

        filename, mimetype, data = InvoiceRenderer().render(document_for(self.invoice(invoice_id)))
        response = HttpResponse(data, content_type=mimetype)
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


def client_item(client: Client) -> dict:
    return {
        "id": str(client.pk),
        "name": client.name,
        "nif": client.nif,
        "email": client.email,
        "address": client.address,
        "city": client.city,
        "postalCode": client.postal_code,
        "country": client.country,
        "taxpayerId": str(client.taxpayer_id),
    }


class ClientListView(AccountView):
    @doc.operation(
        operation_id="account_clients_list",
        tags=doc.TAGS_CLIENTS,
        summary="List clients",
        description="Every client of the account, by name, as a plain array; `search` "
        "filters by name, NIF, email or city. `page` and `limit` (both optional) return one "
        "page of that array instead of all of it; `X-Total-Count` always gives how many "
        "clients match.",
        parameters=[
            SEARCH,
            OpenApiParameter(
                "page",
                {"type": "integer", "minimum": 1, "maximum": MAX_VALUE},
                description="Optional page number, from 1 (pages of `limit`, 50 by default).",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": CLIENT_PAGE_MAX},
                description="Optional page size (1 to 200); without `page`, the first page.",
            ),
            OpenApiParameter(
                "X-Total-Count",
                {"type": "integer", "minimum": 0},
                OpenApiParameter.HEADER,
                response=[200],
                description="How many clients match, whatever the page.",
            ),
        ],
        responses={200: doc.AccountClient.__class__(many=True)},
        examples=doc.CLIENT_LIST_EXAMPLES,
        errors=[400],
    )
    def get(self, request):
        clients = search_clients(self.account, _search(request)).order_by("name", "id")
        total = clients.count()
        if "page" in request.query_params or "limit" in request.query_params:
            page = positive_int(request, "page", 1)
            limit = positive_int(request, "limit", CLIENT_PAGE_SIZE, CLIENT_PAGE_MAX)
            clients = clients[(page - 1) * limit : page * limit]
        response = Response([client_item(c) for c in clients])
        response["X-Total-Count"] = str(total)
        return response

    @doc.operation(
        operation_id="account_clients_create",
        tags=doc.TAGS_CLIENTS,
        summary="Create a client",
        description="The NIF is validated for Spanish clients (country ES).",
        request=s.ClientInputSerializer,
        responses={201: doc.AccountClient},
        examples=doc.CLIENT_CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such taxpayer (`taxpayerId`)."},
    )
    def post(self, request):
        serializer = s.ClientInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        taxpayer = self.taxpayer(data.get("taxpayerId"))
        try:
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
                },
            )
        except DjangoValidationError as exc:
            raise django_errors(exc) from None
        return Response(client_item(client), status=status.HTTP_201_CREATED)


class SeriesListView(AccountView):
    @doc.operation(
        operation_id="account_series_list",
        tags=doc.TAGS_SERIES,
        summary="List invoice series",
        description="The series not archived, with the number the next invoice will take.",
        responses={200: doc.AccountSeries.__class__(many=True)},
        examples=doc.SERIES_EXAMPLES,
    )
    def get(self, request):
        series = Series.objects.filter(account=self.account, archived=False).order_by(
            "taxpayer__name", "code"
        )
        year = timezone.localdate().year
        counters = {}
        for item in series:
            counter = item.counters.filter(year=year).first()
            counters[item.pk] = counter.next_number if counter else 1
        return Response(
            [
                {
                    "id": str(item.pk),
                    "code": item.code,
                    "kind": item.kind,
                    "taxpayerId": str(item.taxpayer_id),
                    "nextNumber": item.format_number(year, counters[item.pk]),
                }
                for item in series
            ]
        )


def expense_item(expense: Expense) -> dict:
    return {
        "id": str(expense.pk),
        "date": expense.date.isoformat(),
        "description": expense.description,
        "amount": expense.amount_cents,
        "isDeductible": expense.is_deductible,
        "categoryName": expense.category.name if expense.category else None,
        "receiptUrl": None,
        "baseAmount": expense.base_cents,
        "ivaRate": expense.iva_rate_bp,
        "ivaAmount": expense.iva_cents,
        "supplierName": expense.supplier_name,
        "supplierNif": expense.supplier_nif,
        "taxpayerId": str(expense.taxpayer_id),
    }


class ExpenseListView(AccountView):
    @doc.operation(
        operation_id="account_expenses_list",
        tags=doc.TAGS_EXPENSES,
        summary="List expenses",
        description="The account's expenses, by date descending, 50 per page. Amounts in "
        "euro cents.",
        parameters=[
            PAGE,
            DATE_FROM,
            DATE_TO,
            OpenApiParameter("deductible", OpenApiTypes.STR, enum=["true", "false"]),
            SEARCH,
        ],
        responses={200: doc.AccountExpensePage},
        examples=doc.EXPENSE_LIST_EXAMPLES,
        errors=[400],
    )
    def get(self, request):
        expenses = Expense.objects.filter(account=self.account).select_related("category")
        date_from, date_to = _query_date(request, "dateFrom"), _query_date(request, "dateTo")
        if date_from:
            expenses = expenses.filter(date__gte=date_from)
        if date_to:
            expenses = expenses.filter(date__lte=date_to)
        deductible = request.query_params.get("deductible")
        if deductible is not None:
            if deductible not in ("true", "false"):
                raise ValidationError({"deductible": ["Use true or false."]})
            expenses = expenses.filter(is_deductible=deductible == "true")
        for term in normalize_search(_search(request)).split():
            expenses = expenses.filter(search_text__contains=term)
        return paginated(request, expenses.order_by("-date", "-id"), expense_item)

    @doc.operation(
        operation_id="account_expenses_create",
        tags=doc.TAGS_EXPENSES,
        summary="Create an expense",
        description="`amount` and `baseAmount` in euro cents, `ivaRate` in basis points; "
        "`categoryId` from `GET /api/expenses/categories`.",
        request=s.ExpenseInputSerializer,
        responses={201: doc.AccountExpenseCreated},
        examples=doc.EXPENSE_CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such taxpayer or category."},
    )
    def post(self, request):
        serializer = s.ExpenseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        taxpayer = self.taxpayer(data.get("taxpayerId"))
        category = None
        if data.get("categoryId"):
            category = categories_for(self.account).filter(pk=data["categoryId"]).first()
            if category is None:
                raise Http404("No such category.")
        try:
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
        except DjangoValidationError as exc:
            raise django_errors(exc) from None
        return Response(
            {
                "id": str(expense.pk),
                "date": expense.date.isoformat(),
                "description": expense.description,
                "amount": expense.amount_cents,
                "isDeductible": expense.is_deductible,
            },
            status=status.HTTP_201_CREATED,
        )


class ExpenseCategoryListView(AccountView):
    @doc.operation(
        operation_id="account_expense_categories_list",
        tags=doc.TAGS_EXPENSES,
        summary="List expense categories",
        responses={200: doc.AccountExpenseCategory.__class__(many=True)},
        examples=doc.CATEGORY_EXAMPLES,
    )
    def get(self, request):
        return Response([{"id": str(c.pk), "name": c.name} for c in categories_for(self.account)])
