"""What every view of the VERI*FACTU API shares: Decimal JSON, the account's objects, the
response envelopes."""

from __future__ import annotations

from functools import cache

from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from api.exceptions import Refused, refusal_response
from api.idempotency import IdempotentMixin
from api.tenancy import account_taxpayer_by_nif
from api.v1.json import DecimalJSONParser, DecimalJSONRenderer
from factu.models import Taxpayer
from verifactu.models import FiscalInvoice
from verifactu.records import RecordRefused

NIF_PARAMETER = OpenApiParameter(
    "nif", OpenApiTypes.STR, OpenApiParameter.PATH, description="The taxpayer's NIF."
)


@cache
def rendering(serializer: type[Serializer]) -> Serializer:
    """The one instance of a response serializer that renders every response of its kind.

    Its fields never change and ``to_representation`` keeps no state, so it is built once per
    process, as DRF's ``ListSerializer`` renders every item with one child; building the
    fields for each response was most of the cost of answering the hottest write.
    """
    return serializer()


class V1AutoSchema(AutoSchema):
    def get_paginated_name(self, serializer_name: str) -> str:
        """``V1InvoiceSummary`` → ``V1InvoicePage``: the names the schema always had."""
        return serializer_name.removesuffix("Summary").removesuffix("Item") + "Page"


class V1View(IdempotentMixin, GenericAPIView):
    parser_classes = [DecimalJSONParser]
    renderer_classes = [DecimalJSONRenderer]
    pagination_class = None
    filter_backends: list = []
    schema = V1AutoSchema()

    @property
    def account(self):
        return self.request.auth.account

    def taxpayer_by_nif(self, nif: str) -> Taxpayer:
        return account_taxpayer_by_nif(self.account, nif)

    def answer(
        self,
        serializer: type[Serializer],
        instance,
        *,
        message: str | None = None,
        status: int = 200,
    ) -> Response:
        """``instance`` rendered by ``serializer``, an :func:`api.v1.outputs.envelope`."""
        body = {"data": instance} if message is None else {"message": message, "data": instance}
        return Response(rendering(serializer).to_representation(body), status)

    def refuse(self, exc: APIException) -> Response:
        """A refusal that is the outcome of the work, answered in the one error envelope
        (:func:`api.exceptions.refusal_response`)."""
        return refusal_response(exc, self.request)


class InvoiceView(V1View):
    """A view of one fiscal invoice of the account, ``/invoices/{invoice_id}/...``."""

    lookup_url_kwarg = "invoice_id"

    def get_queryset(self):
        return FiscalInvoice.objects.filter(account=self.account).select_related(
            "taxpayer", "computer_system"
        )

    def get_object(self) -> FiscalInvoice:
        invoice = self.get_queryset().filter(pk=self.kwargs[self.lookup_url_kwarg]).first()
        if invoice is None:
            raise Http404("No such invoice.")
        self.check_object_permissions(self.request, invoice)
        return invoice


def refused(exc: RecordRefused, status_code: int) -> Refused:
    """The engine's refusal: each problem under its field, an AEAT rule adding its code."""
    errors: dict[str, list[str]] = {}
    for p in exc.problems:
        errors.setdefault(p.field, []).append(p.message)
        if p.code.isdigit():
            errors[p.field].append(f"AEAT {p.code}")
    return Refused(exc.message, errors, status_code=status_code)
