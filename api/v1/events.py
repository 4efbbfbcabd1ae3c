"""``/api/v1/taxpayers/{nif}/events``: a taxpayer's NO VERI*FACTU event log.

The JSON list pages through the events (50 a page, like the other v1 lists); ``POST
/events.xml`` answers the signed XML of all the events selected
(:func:`verifactu.events.export_events`), which is an export of the event log: event 09 is
logged for it, so a GET of it (or ``?format=xml``) is a 405 pointing to the POST. Events the
worker has not signed yet are left out of the XML (a request never signs); the document says how
many in its ``PendientesDeFirma`` attribute.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed, ValidationError
from rest_framework.response import Response

from api import schema as common
from api.v1 import schema as doc
from api.v1.views import MAX_PAGE, PAGE_SIZE, V1View, page_number
from factu.models import Taxpayer
from verifactu import events
from verifactu.models import EventRecord

V1EventItem = inline_serializer(
    "V1EventItem",
    {
        "id": serializers.UUIDField(),
        "event_type": serializers.ChoiceField(
            choices=EventRecord.Tipo.values, help_text="TipoEvento (EventosSIF.xsd)."
        ),
        "event_type_label": serializers.CharField(),
        "position": serializers.IntegerField(
            min_value=1, help_text="Position in the event chain of its installation."
        ),
        "system_id": serializers.CharField(help_text="IdSistemaInformatico."),
        "installation_number": serializers.CharField(help_text="NumeroInstalacion."),
        "generated_at": serializers.DateTimeField(help_text="FechaHoraHusoGenEvento."),
        "hash": serializers.RegexField(r"^[0-9A-F]{64}$", help_text="HuellaEvento (SHA-256)."),
        "previous_hash": serializers.CharField(
            allow_null=True, help_text="The previous event's HuellaEvento; null for the first."
        ),
        "signed": serializers.BooleanField(help_text="Signed (XAdES) by the worker yet."),
        "signed_at": serializers.DateTimeField(allow_null=True),
    },
)
V1EventPage = inline_serializer(
    "V1EventPage",
    {
        "data": V1EventItem.__class__(many=True),
        "meta": inline_serializer(
            "V1EventPageMeta",
            {
                "total": serializers.IntegerField(min_value=0),
                "page": serializers.IntegerField(min_value=1),
                "limit": serializers.IntegerField(min_value=1),
            },
        ),
    },
)

NIF_PARAMETER = OpenApiParameter(
    "nif", OpenApiTypes.STR, OpenApiParameter.PATH, description="The taxpayer's NIF."
)
DATE_PARAMETERS = [
    OpenApiParameter(
        "date_from", OpenApiTypes.DATE, description="Only events generated on or after this day."
    ),
    OpenApiParameter(
        "date_to", OpenApiTypes.DATE, description="Only events generated on or before this day."
    ),
]
XML_DESCRIPTION = (
    "The signed XML of the selected events: an `ExportacionRegistrosEvento` element holding "
    "each signed `RegistroEvento` (EventosSIF.xsd) byte for byte, so each one verifies on its "
    "own. Events not signed yet are left out and counted in `PendientesDeFirma`. An export: "
    "event 09 is logged for it on each NO VERI*FACTU installation."
)


class _EventQuery(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    format = serializers.ChoiceField(choices=["json", "xml"], required=False)

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs


class _EventsBase(V1View):
    def query(self) -> dict:
        query = _EventQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def xml_export(self, taxpayer: Taxpayer, query: dict) -> HttpResponse:
        export = events.export_events(
            taxpayer, date_from=query.get("date_from"), date_to=query.get("date_to")
        )
        response = HttpResponse(export.xml, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="eventos-{taxpayer.nif}.xml"'
        return response


def _item(event: EventRecord) -> dict:
    signature = getattr(event, "signature", None)
    return {
        "id": event.pk,
        "event_type": event.tipo_evento,
        "event_type_label": event.get_tipo_evento_display(),
        "position": event.position,
        "system_id": event.system_id,
        "installation_number": event.installation_number,
        "generated_at": event.generated_at_text,
        "hash": event.huella,
        "previous_hash": event.previous_huella or None,
        "signed": signature is not None,
        "signed_at": signature.signed_at if signature is not None else None,
    }


class TaxpayerEventsView(_EventsBase):
    @doc.operation(
        operation_id="v1_taxpayer_events_list",
        tags=doc.TAGS_TAXPAYERS,
        summary="List a taxpayer's event log (NO VERI*FACTU)",
        description="The RegistroEvento of every installation of the taxpayer, by installation "
        "and chain position, 50 per page. `format=xml` is a 405: the XML is an export, logged "
        "as event 09, made with `POST /api/v1/taxpayers/{nif}/events.xml`.",
        parameters=[
            NIF_PARAMETER,
            *DATE_PARAMETERS,
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["json", "xml"],
                description="`json` (the default). `xml` answers 405: export the XML with "
                "`POST .../events.xml`.",
            ),
            OpenApiParameter(
                "page",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                description="Page number; 50 events per page (JSON only).",
            ),
        ],
        responses={(200, "application/json"): V1EventPage},
        errors=[400, 404, 405],
        error_descriptions={
            404: "No taxpayer with this NIF in the account.",
            405: "`format=xml`: export the XML with `POST .../events.xml`.",
        },
    )
    def get(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        query = self.query()
        if query.get("format") == "xml":
            raise export_by_post(nif)
        page = page_number(request)
        selected = events.taxpayer_events(
            taxpayer, date_from=query.get("date_from"), date_to=query.get("date_to")
        ).select_related("signature")
        total = selected.count()
        chunk = selected[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return Response(
            {
                "data": [_item(event) for event in chunk],
                "meta": {"total": total, "page": page, "limit": PAGE_SIZE},
            }
        )


class TaxpayerEventsXmlView(_EventsBase):
    export_action = True  # a viewer's token may export (api.permissions)

    @doc.operation(
        operation_id="v1_taxpayer_events_xml",
        tags=doc.TAGS_TAXPAYERS,
        summary="Export a taxpayer's signed event log as XML (NO VERI*FACTU)",
        description=XML_DESCRIPTION + " No body; the dates go in the query.",
        parameters=[NIF_PARAMETER, *DATE_PARAMETERS],
        request=None,
        responses={(200, "application/xml"): OpenApiTypes.STR},
        errors=[*common.WRITE, 400, 404],
        idempotent=True,
        error_descriptions={
            403: "Not raised here: a viewer's token may export too.",
            404: "No taxpayer with this NIF in the account.",
        },
    )
    def post(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        return self.xml_export(taxpayer, self.query())

    @extend_schema(exclude=True)
    def get(self, request, nif):
        self.taxpayer_by_nif(nif)
        raise export_by_post(nif)


def export_by_post(nif: str) -> MethodNotAllowed:
    """The 405 of a GET that asks for the event log's XML: exporting it logs event 09, so it
    is an explicit action (POST), never a GET a link or a prefetch could make."""
    return MethodNotAllowed(
        "GET",
        detail="Exporting the event log is logged (event 09): "
        f"POST /api/v1/taxpayers/{nif}/events.xml exports it.",
    )
