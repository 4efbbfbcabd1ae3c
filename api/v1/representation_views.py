"""``/api/v1/taxpayers/{nif}/representation``: the proof that the account may speak for a NIF.

GET tells what proof exists and whether it holds (:func:`verifactu.representation.describe`);
PUT/POST record an apoderamiento (reference, scope), choose which of the account's
representative certificates serves the taxpayer, or upload the client's signed
representation document (multipart). Everything goes through
:func:`verifactu.representation.record_representation`, as the desk does. Another account's
NIF is a 404; writing needs an owner's or admin's token (as uploading certificates does).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, MultiPartParser

from api import schema as common
from api.v1 import openapi as doc
from api.v1.base import V1View
from api.v1.json import DecimalJSONParser
from api.v1.outputs import Instant, envelope
from factu.models import Role
from verifactu import representation
from verifactu.models import Representation

MANAGE_ROLES = {Role.OWNER, Role.ADMIN}

NIF = OpenApiParameter("nif", OpenApiTypes.STR, OpenApiParameter.PATH, description="The NIF.")


class _RepresentationInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Representation.Kind.values, required=False)
    certificate_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="One of the account's representative certificates (Settings → "
        "Certificados); null to stop using one.",
    )
    reference = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text="Apoderamiento reference."
    )
    scope = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Apoderamiento scope, e.g. GENERALLEY58 or the VERI*FACTU procedure.",
    )
    valid_until = serializers.DateField(required=False, allow_null=True)
    document = serializers.FileField(
        required=False,
        help_text="Colaborador social: the client's signed representation document (PDF, "
        "PNG or JPEG; multipart/form-data only).",
    )


class _CertificateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    subject = serializers.CharField()
    holder_nif = serializers.CharField(allow_null=True)
    holder_name = serializers.CharField(allow_null=True)
    seal = serializers.BooleanField()
    not_valid_after = Instant()
    valid = serializers.BooleanField()


@extend_schema_serializer(component_name="V1RepresentationCertificate")
class OwnCertificateSerializer(_CertificateSerializer):
    """One of the taxpayer's own certificates."""

    proves_nif = serializers.BooleanField()


@extend_schema_serializer(component_name="V1RepresentationChosenCertificate")
class ChosenCertificateSerializer(_CertificateSerializer):
    """The representative certificate chosen for the taxpayer."""


@extend_schema_serializer(component_name="V1Representante")
class RepresentanteSerializer(serializers.Serializer):
    nif = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="V1RepresentationDocument")
class RepresentationDocumentSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = Instant()


@extend_schema_serializer(component_name="V1RepresentationRecord")
class RepresentationRecordSerializer(serializers.Serializer):
    kind = serializers.CharField(allow_null=True)
    certificate = ChosenCertificateSerializer(allow_null=True)
    reference = serializers.CharField(allow_null=True)
    scope = serializers.CharField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    document = RepresentationDocumentSerializer(allow_null=True)
    problems = serializers.ListField(child=serializers.CharField())
    updated_at = Instant()


@extend_schema_serializer(component_name="V1RepresentationData")
class RepresentationSerializer(serializers.Serializer):
    """What proves the account may send for the taxpayer, and whether it holds."""

    nif = serializers.CharField()
    may_send = serializers.BooleanField(
        help_text="Whether the taxpayer's records are sent to the AEAT now."
    )
    basis = serializers.ChoiceField(choices=list(representation.BASIS_LABELS), allow_null=True)
    message = serializers.CharField(help_text="What holds, or what to upload (Spanish).")
    sandbox = serializers.BooleanField()
    representante = RepresentanteSerializer(allow_null=True)
    seal_endpoint = serializers.BooleanField()
    own_certificates = OwnCertificateSerializer(many=True)
    representation = RepresentationRecordSerializer(allow_null=True)
    deployment_certificate_allowed = serializers.BooleanField()


V1Representation = envelope("V1Representation", RepresentationSerializer())
V1RepresentationRecorded = envelope(
    "V1RepresentationRecorded", RepresentationSerializer(), message=True
)

_WRITE_DOC = {
    "tags": doc.TAGS_TAXPAYERS,
    "description": "Records how the account's representative certificate speaks for the "
    "taxpayer: `kind` `apoderamiento` (with `reference` and `scope` of the apoderamiento "
    "registered at the AEAT) or `colaborador_social` (with `document`, the client's signed "
    "representation document, as multipart/form-data), and `certificate_id`, the "
    "representative certificate chosen for this taxpayer. Only the fields sent change. "
    "Records held for want of proof are sent as soon as it holds. Owner or admin tokens.",
    "request": {
        "application/json": _RepresentationInput,
        "multipart/form-data": _RepresentationInput,
    },
    "responses": {200: V1RepresentationRecorded},
    "parameters": [NIF],
    "errors": [*common.WRITE, 400, 404],
}


class TaxpayerRepresentationView(V1View):
    parser_classes = [DecimalJSONParser, MultiPartParser, FormParser]

    @doc.operation(
        operation_id="v1_taxpayer_representation",
        tags=doc.TAGS_TAXPAYERS,
        summary="What proves the account may send for this NIF, and whether it holds",
        description="Until a proof holds, the taxpayer's records are kept queued, not sent "
        "(their `aeat_response.error_code` is `4112`, with the reason). Proofs: the "
        "taxpayer's own certificate (its NIF in the subject), a representative certificate "
        "with a recorded apoderamiento or representation document, or the operator's "
        "allow-list for the deployment certificate. Against the simulator (sandbox) every "
        "NIF may send.",
        responses={200: V1Representation},
        parameters=[NIF],
        errors=[404],
        error_descriptions={404: "No taxpayer with this NIF in the account."},
    )
    def get(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        return self.answer(V1Representation, representation.describe(taxpayer))

    @doc.operation(
        operation_id="v1_taxpayer_representation_put",
        summary="Record the representation of a taxpayer",
        **_WRITE_DOC,
    )
    def put(self, request, nif):
        return self._record(request, nif)

    @doc.operation(
        operation_id="v1_taxpayer_representation_post",
        summary="Record the representation of a taxpayer (same as PUT; for multipart forms)",
        idempotent=True,
        **{**_WRITE_DOC, "errors": [*common.WRITE, 400, 404, 409]},
    )
    def post(self, request, nif):
        return self._record(request, nif)

    def _record(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        if getattr(request.auth, "role", None) not in MANAGE_ROLES:
            raise exceptions.PermissionDenied(
                "Only an owner's or admin's token may record representations.",
                code="permission_denied",
            )
        body = _RepresentationInput(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        kwargs: dict = {}
        for name in ("kind", "reference", "scope", "valid_until"):
            if name in values:
                kwargs[name] = values[name]
        try:
            if "certificate_id" in values:
                cert_id = values["certificate_id"]
                cert = (
                    representation.representative_certificates(taxpayer.account_id)
                    .filter(pk=cert_id)
                    .first()
                    if cert_id
                    else None
                )
                if cert_id and cert is None:
                    raise DjangoValidationError(
                        {"certificate_id": "No such representative certificate in the account."}
                    )
                kwargs["certificate"] = cert
            if values.get("document") is not None:
                upload = values["document"]
                kwargs["document"] = representation.read_document(upload)
                kwargs["document_name"] = upload.name
            user = getattr(request.auth, "created_by", None)
            representation.record_representation(taxpayer, user=user, **kwargs)
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            if isinstance(detail, dict) and "certificate" in detail:
                detail["certificate_id"] = detail.pop("certificate")
            raise exceptions.ValidationError(detail) from None
        described = representation.describe(taxpayer)
        return self.answer(V1RepresentationRecorded, described, message=described["message"])
