"""``/api/v1/taxpayers/{nif}/events``: a taxpayer's NO VERI*FACTU event log.

The JSON list pages through the events (50 a page, like the other v1 lists); ``POST
/events.xml`` answers the signed XML of all the events selected
(:func:`verifactu.events.export_events`), which is an export of the event log: event 09 is
logged for it, so a GET of it (or ``?format=xml``) is a 405 pointing to the POST. Every event
is signed when it is logged; one without a signature (an anomaly) is left out of the XML, and
the document says how many in its ``SinFirma`` attribute. When the 09 cannot be signed (no
certificate may sign for the taxpayer) the export is refused with a 409.
"""

from __future__ import annotations

from django.http import HttpResponse
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.generics import ListAPIView

from api import schema as common
from api.exceptions import Refused
from api.v1 import openapi as doc
from api.v1.base import NIF_PARAMETER, V1View
from api.v1.filters import EventFilter
from api.v1.outputs import Instant, OptionalText, huella_field
from api.v1.pagination import V1PageNumberPagination
from factu.downloads import file_response
from factu.models import Taxpayer
from verifactu import events
from verifactu.models import EventRecord
from verifactu.signatures import SigningUnavailable

XML_DESCRIPTION = (
    "The signed XML of the selected events: an `ExportacionRegistrosEvento` element holding "
    "each signed `RegistroEvento` (EventosSIF.xsd) byte for byte, so each one verifies on its "
    "own. An event without a signature (an anomaly: every event is signed when it is logged) is "
    "left out and counted in `SinFirma`. An export: event 09 is logged for it on each "
    "NO VERI*FACTU installation; 409 when no certificate may sign that 09."
)


class _Signed(serializers.BooleanField):
    """Whether the event has its XAdES signature (every event is signed when it is logged)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", **kwargs)

    def to_representation(self, event: EventRecord) -> bool:
        return getattr(event, "signature", None) is not None


@extend_schema_serializer(component_name="V1EventItem")
class EventItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_type = serializers.ChoiceField(
        choices=EventRecord.Tipo.values,
        source="tipo_evento",
        help_text="TipoEvento (EventosSIF.xsd).",
    )
    event_type_label = serializers.CharField(source="get_tipo_evento_display")
    position = serializers.IntegerField(
        min_value=1, help_text="Position in the event chain of its installation."
    )
    system_id = serializers.CharField(help_text="IdSistemaInformatico.")
    installation_number = serializers.CharField(help_text="NumeroInstalacion.")
    generated_at = serializers.DateTimeField(
        source="generated_at_text", help_text="FechaHoraHusoGenEvento."
    )
    hash = huella_field("HuellaEvento (SHA-256).", source="huella")
    previous_hash = OptionalText(
        source="previous_huella",
        help_text="The previous event's HuellaEvento; null for the first.",
    )
    signed = _Signed(help_text="Signed (XAdES) when logged; false only for an anomaly.")
    signed_at = Instant(source="signature.signed_at", allow_null=True)


class _EventsBase(V1View):
    def event_filter(self, taxpayer: Taxpayer) -> EventFilter:
        """The query's dates and format, validated (400 naming the parameter)."""
        selection = EventFilter(self.request.query_params, taxpayer=taxpayer, request=self.request)
        if not selection.is_valid():
            raise translate_validation(selection.errors)
        return selection

    def xml_export(self, taxpayer: Taxpayer, selection: EventFilter) -> HttpResponse:
        try:
            export = events.export_events(taxpayer, **selection.dates)
        except SigningUnavailable as exc:
            return self.refuse(Refused(exc.message, {"certificate": [exc.message]}))
        return file_response(
            export.xml, "application/xml; charset=utf-8", f"eventos-{taxpayer.nif}.xml"
        )


class TaxpayerEventsView(_EventsBase, ListAPIView):
    serializer_class = EventItemSerializer
    pagination_class = V1PageNumberPagination

    @doc.operation(
        operation_id="v1_taxpayer_events_list",
        tags=doc.TAGS_TAXPAYERS,
        summary="List a taxpayer's event log (NO VERI*FACTU)",
        description="The RegistroEvento of every installation of the taxpayer, by installation "
        "and chain position, 50 per page. `format=xml` is a 405: the XML is an export, logged "
        "as event 09, made with `POST /api/v1/taxpayers/{nif}/events.xml`.",
        parameters=[NIF_PARAMETER, *EventFilter.parameters(with_format=True)],
        responses={(200, "application/json"): EventItemSerializer(many=True)},
        errors=[400, 404, 405],
        error_descriptions={
            404: "No taxpayer with this NIF in the account.",
            405: "`format=xml`: export the XML with `POST .../events.xml`.",
        },
    )
    def get(self, request, nif):
        return self.list(request)

    def get_queryset(self):
        selection = self.event_filter(self.taxpayer_by_nif(self.kwargs["nif"]))
        if selection.wants_xml:
            raise export_by_post(self.kwargs["nif"])
        return selection.qs.select_related("signature")


class TaxpayerEventsXmlView(_EventsBase):
    export_action = True  # a viewer's token may export (api.permissions)

    @doc.operation(
        operation_id="v1_taxpayer_events_xml",
        tags=doc.TAGS_TAXPAYERS,
        summary="Export a taxpayer's signed event log as XML (NO VERI*FACTU)",
        description=XML_DESCRIPTION + " No body; the dates go in the query.",
        parameters=[NIF_PARAMETER, *EventFilter.parameters()],
        request=None,
        responses={(200, "application/xml"): OpenApiTypes.STR},
        errors=[*common.WRITE, 400, 404, 409],
        idempotent=True,
        error_descriptions={
            403: "Not raised here: a viewer's token may export too.",
            404: "No taxpayer with this NIF in the account.",
            409: "No certificate may sign the event 09 of the export.",
        },
    )
    def post(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        return self.xml_export(taxpayer, self.event_filter(taxpayer))

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
