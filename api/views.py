"""The API's own small views: ping (the benchmark ceiling) and the JSON 404 of ``/api/``."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema as common
from api.account import schema as doc
from api.idempotency import idempotent
from api.models import ApiPing


class PingInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PingSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ApiPing
        fields = ["id", "account", "note", "created_at"]


class PingView(APIView):
    """``GET`` says which account the token is of; ``POST`` inserts one row."""

    @doc.operation(
        operation_id="ping_retrieve",
        tags=doc.TAGS_TOKEN,
        summary="Check a token",
        description="Which account the token is of.",
        responses={
            200: inline_serializer(
                "PingStatus",
                {"ok": serializers.BooleanField(), "account": serializers.SlugField()},
            )
        },
    )
    def get(self, request):
        return Response({"ok": True, "account": request.auth.account.slug})

    @doc.operation(
        operation_id="ping_create",
        tags=doc.TAGS_TOKEN,
        summary="Insert one row (the minimal authenticated write)",
        request=PingInputSerializer,
        responses={201: PingSerializer},
        errors=common.BODY,
        idempotent=True,
    )
    @idempotent
    def post(self, request):
        data = PingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ping = ApiPing.objects.create(
            account=request.auth.account, token=request.auth, note=data.validated_data["note"]
        )
        return Response(PingSerializer(ping).data, status=status.HTTP_201_CREATED)


class NotFoundView(APIView):
    """Any ``/api/`` path that nothing else matched: a JSON 404 in the API's envelope."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None
    http_method_names: list[str] = []  # every method, OPTIONS included, lands below

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound(f"No API endpoint at {request.path}.")
