"""``/api/recurring``: the account's recurring plans (list, create, get, PATCH, pause, resume,
end), thin views over :mod:`recurring.services`, as the plan pages use them."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import OpenApiExample
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api import schema as common
from api.account import recurring_serializers as s
from api.account import schema as doc
from api.account.serializers import draft_lines
from api.account.views import AccountView
from api.exceptions import Conflict
from api.pagination import FixedPagePagination
from clients.models import Client
from invoicing.models import Series
from recurring import services
from recurring.models import GeneratedPeriod, Plan

TAGS = ["account: recurring"]
PLAN_UUID = "6a1f3c2e-9b8d-4e7a-a5c4-3d2e1f0a9b8c"
PLAN_INPUT_EXAMPLE = {
    "name": "Hosting Acme",
    "clientId": doc.CLIENT_UUID,
    "seriesId": doc.SERIES_UUID,
    "description": "Hosting mensual",
    "paymentDays": 15,
    "irpfRate": 0,
    "frequency": "monthly",
    "dayOfMonth": 1,
    "startDate": "2026-01-01",
    "count": 12,
    "autoIssue": True,
    "autoSend": False,
    "lines": [{"description": "Hosting", "quantity": 100, "unitPrice": 2500, "ivaType": "general"}],
}
PLAN_EXAMPLE = {
    "id": PLAN_UUID,
    "name": "Hosting Acme",
    "status": "active",
    "taxpayerId": doc.TAXPAYER_UUID,
    "clientId": doc.CLIENT_UUID,
    "clientName": "Acme SL",
    "seriesId": doc.SERIES_UUID,
    "description": "Hosting mensual",
    "notes": "",
    "paymentDetails": "",
    "paymentDays": 15,
    "irpfRate": 0,
    "frequency": "monthly",
    "dayOfMonth": 1,
    "startDate": "2026-01-01",
    "endDate": None,
    "count": 12,
    "autoIssue": True,
    "autoSend": False,
    "nextDate": "2026-02-01",
    "generatedCount": 1,
    "problem": "",
    "total": 3025,
    "lines": [
        {
            "description": "Hosting",
            "quantity": 100,
            "unitPrice": 2500,
            "ivaType": "general",
            "discount": 0,
        }
    ],
    "invoices": [
        {
            "id": doc.UUID,
            "invoiceNumber": "2026-A-001",
            "period": "2026-01-01",
            "issueDate": "2026-01-01",
            "status": "sent",
            "total": 3025,
            "problem": "",
        }
    ],
}
LIST_EXAMPLES = [
    OpenApiExample("Plan", value=PLAN_EXAMPLE, response_only=True, status_codes=["200"])
]
CREATE_EXAMPLES = [
    OpenApiExample("Plan", value=PLAN_INPUT_EXAMPLE, request_only=True),
    OpenApiExample(
        "Plan",
        value={**PLAN_EXAMPLE, "nextDate": "2026-01-01", "generatedCount": 0, "invoices": []},
        response_only=True,
        status_codes=["201"],
    ),
]

# The API's field names and the plan's.
FIELDS = {
    "name": "name",
    "description": "description",
    "notes": "notes",
    "paymentDetails": "payment_details",
    "paymentDays": "payment_days",
    "irpfRate": "irpf_bp",
    "frequency": "frequency",
    "dayOfMonth": "day_of_month",
    "startDate": "start_date",
    "endDate": "end_date",
    "count": "max_invoices",
    "autoIssue": "auto_issue",
    "autoSend": "auto_send",
}


def plans():
    periods = GeneratedPeriod.objects.select_related("invoice").order_by("period")
    return Plan.objects.select_related("client").prefetch_related(
        "lines", Prefetch("periods", queryset=periods)
    )


class PlanView(AccountView):
    """The account's plans; one of them by ``plan_id`` (another account's is a 404)."""

    serializer_class = s.PlanSerializer

    def get_queryset(self):
        return plans().filter(account=self.account).order_by("-created_at", "-id")

    def get_object(self) -> Plan:
        plan = self.get_queryset().filter(pk=self.kwargs["plan_id"]).first()
        if plan is None:
            raise Http404("No such recurring plan.")
        return plan

    def fields_of(self, data: dict) -> dict:
        """The plan's fields from a validated body: the client and series of the account
        (else a 404), the others renamed."""
        fields = {FIELDS[key]: value for key, value in data.items() if key in FIELDS}
        if "clientId" in data:
            fields["client"] = Client.objects.filter(
                account=self.account, pk=data["clientId"]
            ).first()
            if fields["client"] is None:
                raise Http404("No such client.")
        if "seriesId" in data:
            fields["series"] = Series.objects.filter(
                account=self.account, pk=data["seriesId"]
            ).first()
            if fields["series"] is None:
                raise Http404("No such series.")
        if "lines" in data:
            fields["lines"] = draft_lines(data["lines"])
        return fields

    def respond(self, plan: Plan, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(plans().get(pk=plan.pk)).data, status=code)


class PlanListView(PlanView, generics.ListAPIView):
    pagination_class = FixedPagePagination
    filter_backends = []

    @doc.operation(
        operation_id="account_recurring_list",
        tags=TAGS,
        summary="List recurring plans",
        description="The account's recurring plans, newest first, 50 per page, each with "
        "the invoices it generated.",
        responses={200: s.PlanSerializer(many=True)},
        examples=LIST_EXAMPLES,
        errors=[400],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_recurring_create",
        tags=TAGS,
        summary="Create a recurring plan",
        description="An active plan: an invoice of its lines for its client in its series on "
        "every period of its calendar, made by a daily run and dated the day it is made. "
        "`unitPrice` in euro cents, `quantity` in hundredths, `irpfRate` and `discount` in "
        "basis points.",
        request=s.PlanInputSerializer,
        responses={201: s.PlanSerializer},
        examples=CREATE_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={404: "No such series (`seriesId`) or client (`clientId`)."},
    )
    def post(self, request):
        data = self.validated(s.PlanInputSerializer)
        fields = self.fields_of(data)
        taxpayer = fields["series"].taxpayer
        if data.get("taxpayerId") and data["taxpayerId"] != taxpayer.pk:
            raise ValidationError({"taxpayerId": ["The series belongs to another taxpayer."]})
        fields.setdefault("irpf_bp", taxpayer.default_irpf_bp)
        plan = services.create_plan(taxpayer, created_by=self.request.auth.created_by, **fields)
        return self.respond(plan, status.HTTP_201_CREATED)


class PlanDetailView(PlanView, generics.RetrieveAPIView):
    @doc.operation(
        operation_id="account_recurring_retrieve",
        tags=TAGS,
        summary="Get a recurring plan",
        description="The plan, its lines and the invoices it generated.",
        responses={200: s.PlanSerializer},
        errors=[404],
    )
    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_recurring_update",
        tags=TAGS,
        summary="Change a recurring plan",
        description="Only the fields sent change; `lines`, when sent, replace every line. A "
        "change of `frequency`, `dayOfMonth` or `startDate` moves the next period to one step "
        "after the last one invoiced, and never before today. An ended plan is a 409.",
        request=s.PlanInputSerializer(partial=True),
        responses={200: s.PlanSerializer},
        errors=[*common.BODY, 404, 409],
        error_descriptions={409: "The plan has ended."},
    )
    def patch(self, request, plan_id):
        plan = self.get_object()
        serializer = s.PlanInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "lines" in data:
            # "lines" replaces the whole list: each line is validated whole (its defaults
            # filled), never partially as the other fields of a PATCH are.
            try:
                data["lines"] = (
                    s.PlanInputSerializer().fields["lines"].run_validation(request.data["lines"])
                )
            except ValidationError as exc:
                raise ValidationError({"lines": exc.detail}) from None
        if "taxpayerId" in data and data["taxpayerId"] != plan.taxpayer_id:
            raise ValidationError({"taxpayerId": ["A plan stays with its taxpayer."]})
        try:
            plan = services.update_plan(plan, **self.fields_of(data))
        except services.PlanStateError as exc:
            raise Conflict(str(exc)) from None
        return self.respond(plan)


class PlanActionView(PlanView):
    """POST without a body: one change of the plan's status."""

    def act(self, action) -> Response:
        plan = self.get_object()
        try:
            plan = action(plan)
        except services.PlanStateError as exc:
            raise Conflict(str(exc)) from None
        return self.respond(plan)


def action_doc(name: str, summary: str, description: str):
    return doc.operation(
        operation_id=f"account_recurring_{name}",
        tags=TAGS,
        summary=summary,
        description=description,
        request=None,
        responses={200: s.PlanSerializer},
        errors=[404, 409, *common.WRITE],
        idempotent=True,
        error_descriptions={409: "The plan's status does not allow it."},
    )


class PlanPauseView(PlanActionView):
    @action_doc(
        "pause",
        "Pause a recurring plan",
        "An active plan makes no invoice while paused; the periods that fall due meanwhile "
        "are skipped.",
    )
    def post(self, request, plan_id):
        return self.act(services.pause_plan)


class PlanResumeView(PlanActionView):
    @action_doc(
        "resume",
        "Resume a recurring plan",
        "A paused plan is active again from its next period on or after today (it ends if "
        "none is left).",
    )
    def post(self, request, plan_id):
        return self.act(services.resume_plan)


class PlanEndView(PlanActionView):
    @action_doc("end", "End a recurring plan", "No more invoices, for good; those generated stay.")
    def post(self, request, plan_id):
        return self.act(services.end_plan)
