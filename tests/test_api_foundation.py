"""The API's foundation: error envelopes of both APIs, pagination, Idempotency-Key, body
limits, and the OpenAPI schema and docs served without the internet."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.http import Http404
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import Conflict, Refused, exception_handler, flatten_errors
from api.idempotency import IdempotentMixin, purge_expired
from api.models import ApiPing, IdempotencyRecord
from api.pagination import AccountPagination
from api.services import create_token
from api.v1.pagination import V1PageNumberPagination
from api.views import PingView

pytestmark = pytest.mark.django_db

PING = "/api/ping"


class BoomView(APIView):
    """Raises what ``?kind=`` names, the way other views will."""

    def get(self, request, kind):
        if kind == "django-validation":
            raise DjangoValidationError({"nif": ["El NIF no es válido."]})
        if kind == "http404":
            raise Http404("No such invoice.")
        if kind == "django-permission":
            raise DjangoPermissionDenied("Not yours.")
        if kind == "conflict":
            raise Conflict("The invoice is already issued.")
        if kind == "bug":
            raise RuntimeError("a bug")
        return Response({"kind": kind})


class NumbersView(APIView):
    pagination_class = AccountPagination

    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(list(range(1, 121)), request, self)
        return paginator.get_paginated_response(page)


class Numbers(list):
    """1 to 120, counted as a queryset counts (v1 lists page querysets)."""

    def count(self) -> int:  # type: ignore[override]
        return len(self)


class V1NumbersView(APIView):
    def get(self, request):
        paginator = V1PageNumberPagination()
        page = paginator.paginate_queryset(Numbers(range(1, 121)), request, self)
        return paginator.get_paginated_response(page)


class MixinPingView(IdempotentMixin, PingView):
    post = PingView.post.__wrapped__  # the undecorated handler; the mixin decorates it


urlpatterns = [
    path("api/v1/ping", PingView.as_view()),
    path("api/v1/mixin-ping", MixinPingView.as_view()),
    path("api/v1/boom/<str:kind>", BoomView.as_view()),
    path("api/v1/numbers", V1NumbersView.as_view()),
    path("api/boom/<str:kind>", BoomView.as_view()),
    path("api/numbers", NumbersView.as_view()),
    path("api/", include("api.urls")),
]
local_urls = pytest.mark.urls("tests.test_api_foundation")


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def raw(account, owner):
    return create_token(account, owner, "ERP")[1]


@pytest.fixture
def api(client, raw):
    class Api:
        def get(self, url, **extra):
            return client.get(url, headers={"Authorization": f"Bearer {raw}", **extra})

        def post(self, url, body="{}", content_type="application/json", **extra):
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            headers = {"Authorization": f"Bearer {raw}", **extra}
            return client.post(url, body, content_type=content_type, headers=headers)

        def delete(self, url):
            return client.delete(url, headers={"Authorization": f"Bearer {raw}"})

    return Api()


def account_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def v1_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert body["message"]
    return body


# -- error envelopes ------------------------------------------------------------------------


@local_urls
def test_malformed_json_is_400_never_500(api):
    error = account_error(api.post(PING, '{"note": '), 400, "parse_error")
    assert "JSON" in error["message"]
    assert v1_error(api.post("/api/v1/ping", "{nope"), 400)["errors"] == {}
    account_error(api.post(PING, b"\xff\xfe{"), 400, "parse_error")


def test_unknown_routes_are_json_404_in_both_envelopes(api, client):
    error = account_error(api.get("/api/no-such-endpoint"), 404, "not_found")
    assert "/api/no-such-endpoint" in error["message"]
    account_error(client.post("/api/nothing/here", {}), 404, "not_found")
    v1_error(api.get("/api/v1/no-such-endpoint"), 404)
    account_error(api.get("/api/"), 404, "not_found")


@local_urls
def test_method_not_allowed_is_405(api):
    account_error(api.delete(PING), 405, "method_not_allowed")
    v1_error(api.delete("/api/v1/ping"), 405)


@local_urls
def test_validation_errors_name_their_fields(api):
    error = account_error(api.post(PING, {"note": "x" * 201}), 400, "validation_error")
    assert list(error["fields"]) == ["note"]
    body = v1_error(api.post("/api/v1/ping", {"note": "x" * 201}), 400)
    assert list(body["errors"]) == ["note"]
    assert not ApiPing.objects.exists()


@local_urls
def test_django_exceptions_become_envelopes(api):
    error = account_error(api.get("/api/boom/django-validation"), 400, "validation_error")
    assert error["fields"] == {"nif": ["El NIF no es válido."]}
    assert v1_error(api.get("/api/v1/boom/django-validation"), 400)["errors"] == {
        "nif": ["El NIF no es válido."]
    }
    assert account_error(api.get("/api/boom/http404"), 404, "not_found")["message"] == (
        "No such invoice."
    )
    account_error(api.get("/api/boom/django-permission"), 403, "permission_denied")
    assert account_error(api.get("/api/boom/conflict"), 409, "conflict")["message"] == (
        "The invoice is already issued."
    )
    assert v1_error(api.get("/api/v1/boom/conflict"), 409)["message"] == (
        "The invoice is already issued."
    )


@local_urls
def test_an_unhandled_error_is_a_json_500(api, caplog):
    account_error(api.get("/api/boom/bug"), 500, "server_error")
    v1_error(api.get("/api/v1/boom/bug"), 500)
    assert "a bug" in caplog.text


@local_urls
def test_unsupported_media_type_is_415(api):
    account_error(
        api.post(PING, "note=x", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


@local_urls
def test_a_body_over_the_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    error = account_error(api.post(PING, {"note": "x" * 2000}), 413, "payload_too_large")
    assert "1000" in error["message"]
    v1_error(api.post("/api/v1/ping", {"note": "x" * 2000}), 413)
    assert api.post(PING, {"note": "small"}).status_code == 201


def test_nested_errors_are_flattened_to_dotted_paths():
    detail = {
        "breakdown": [{}, {"tax_rate": ["Not valid.", "AEAT 1124"]}],
        "nif": ["Required."],
        "non_field_errors": ["Totals do not add up."],
    }
    assert flatten_errors(detail) == {
        "breakdown.1.tax_rate": ["Not valid.", "AEAT 1124"],
        "nif": ["Required."],
        "non_field_errors": ["Totals do not add up."],
    }
    assert flatten_errors(["Just wrong."]) == {"non_field_errors": ["Just wrong."]}


# -- pagination -----------------------------------------------------------------------------


@local_urls
def test_account_pagination(api):
    first = api.get("/api/numbers").json()
    assert first["total"] == 120 and first["page"] == 1 and first["limit"] == 50
    assert first["items"] == list(range(1, 51))
    third = api.get("/api/numbers?page=3").json()
    assert third["items"] == list(range(101, 121))
    assert api.get("/api/numbers?page=9").json() == {
        "items": [],
        "total": 120,
        "page": 9,
        "limit": 50,
    }
    assert api.get("/api/numbers?page=2&limit=10").json()["items"] == list(range(11, 21))
    for bad in ("0", "-1", "abc", "1.5"):
        error = account_error(api.get(f"/api/numbers?page={bad}"), 400, "validation_error")
        assert list(error["fields"]) == ["page"]
    account_error(api.get("/api/numbers?limit=1000"), 400, "validation_error")


@local_urls
def test_v1_pagination(api):
    body = api.get("/api/v1/numbers?page=2").json()
    assert body["data"] == list(range(51, 101))
    assert body["meta"] == {"total": 120, "page": 2, "limit": 50}
    assert list(v1_error(api.get("/api/v1/numbers?page=x"), 400)["errors"]) == ["page"]


# -- Idempotency-Key ------------------------------------------------------------------------


@local_urls
def test_a_replay_returns_the_first_response_without_doing_the_work_again(api):
    first = api.post(PING, {"note": "uno"}, **{"Idempotency-Key": "key-1"})
    assert first.status_code == 201
    assert not first.has_header("Idempotent-Replayed")
    # same body, other key order and spacing
    again = api.post(PING, '{ "note" : "uno" }', **{"Idempotency-Key": "key-1"})
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert ApiPing.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.key == "key-1" and record.status == 201


@local_urls
def test_the_same_key_with_another_body_is_409(api):
    assert api.post(PING, {"note": "uno"}, **{"Idempotency-Key": "k"}).status_code == 201
    reused = api.post(PING, {"note": "dos"}, **{"Idempotency-Key": "k"})
    error = account_error(reused, 409, "conflict")
    assert "Idempotency-Key" in error["message"]
    # the key is per endpoint too: the same key and body on another path is another request
    v1_error(api.post("/api/v1/ping", {"note": "uno"}, **{"Idempotency-Key": "k"}), 409)
    assert ApiPing.objects.count() == 1


@local_urls
def test_keys_are_per_token_and_optional(api, client, account, owner):
    other = create_token(account, owner, "Otro")[1]
    assert api.post(PING, {}, **{"Idempotency-Key": "k"}).status_code == 201
    response = client.post(
        PING,
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "k"},
    )
    assert response.status_code == 201 and not response.has_header("Idempotent-Replayed")
    api.post(PING, {})
    api.post(PING, {})
    assert ApiPing.objects.count() == 4


@local_urls
def test_errors_are_not_remembered_so_the_key_can_be_retried(api):
    bad = api.post(PING, {"note": "x" * 300}, **{"Idempotency-Key": "retry-me"})
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = api.post(PING, {"note": "ok"}, **{"Idempotency-Key": "retry-me"})
    assert good.status_code == 201


@local_urls
def test_a_key_expires_after_24_hours(api):
    api.post(PING, {}, **{"Idempotency-Key": "old"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = api.post(PING, {}, **{"Idempotency-Key": "old"})
    assert again.status_code == 201 and not again.has_header("Idempotent-Replayed")
    assert ApiPing.objects.count() == 2
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_expired() == 1


@local_urls
def test_a_bad_key_is_400(api):
    error = account_error(
        api.post(PING, {}, **{"Idempotency-Key": "x" * 256}), 400, "validation_error"
    )
    assert list(error["fields"]) == ["Idempotency-Key"]
    assert not ApiPing.objects.exists()


@local_urls
def test_the_mixin_makes_post_idempotent(api):
    first = api.post("/api/v1/mixin-ping", {"note": "m"}, **{"Idempotency-Key": "m"})
    again = api.post("/api/v1/mixin-ping", {"note": "m"}, **{"Idempotency-Key": "m"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert ApiPing.objects.count() == 1


@local_urls
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_do_the_work_once(account, owner, monkeypatch):
    """The second request waits for the first to commit and then replays it."""
    raw = create_token(account, owner, "ERP")[1]
    original = ApiPing.objects.create
    started = threading.Event()

    def slow_create(**kwargs):
        started.set()
        time.sleep(0.5)  # hold the transaction open while the other request arrives
        return original(**kwargs)

    monkeypatch.setattr(ApiPing.objects, "create", slow_create)
    results = {}

    def post(name):
        try:
            response = Client().post(
                PING,
                '{"note": "a la vez"}',
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "same"},
            )
            results[name] = response
        finally:
            connection.close()

    first = threading.Thread(target=post, args=("first",))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=post, args=("second",))
    second.start()
    first.join(30)
    second.join(30)
    assert results["first"].status_code == 201
    assert results["second"].status_code == 201
    assert results["second"].content == results["first"].content
    assert results["second"]["Idempotent-Replayed"] == "true"
    assert ApiPing.objects.count() == 1


# -- OpenAPI --------------------------------------------------------------------------------


def test_the_schema_is_valid_openapi_with_the_bearer_scheme(client):
    from drf_spectacular.validation import validate_schema

    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "kf_ + 32 letters and digits",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    ping = schema["paths"]["/api/ping"]
    assert {"get", "post"} <= set(ping)
    assert ping["get"]["security"] == [{"bearerAuth": []}]
    assert not any("{" not in p and "no-such" in p for p in schema["paths"])


def test_the_docs_render_without_external_urls(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), html
    assert "cdn" not in html.lower()
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html)
    assert any("sidecar" in asset for asset in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_a_refusal_states_its_own_message_and_fields_in_both_envelopes(rf):
    """What a view refuses (409, 422, 502) is written by the one handler, in each API's
    envelope, with the message and fields the refusal states."""
    refusal = Refused("Taxpayer B1 already exists.", {"nif": ["Already registered."]})
    v1 = exception_handler(refusal, {"request": rf.post("/api/v1/taxpayers")})
    assert (v1.status_code, v1.data) == (
        409,
        {"message": "Taxpayer B1 already exists.", "errors": {"nif": ["Already registered."]}},
    )
    account = exception_handler(refusal, {"request": rf.post("/api/clients")})
    assert account.data == {
        "error": {
            "code": "conflict",
            "message": "Taxpayer B1 already exists.",
            "fields": {"nif": ["Already registered."]},
        }
    }
    gateway = exception_handler(
        Refused("The AEAT could not be reached.", status_code=502),
        {"request": rf.post("/api/v1/taxpayers/B1/requerimiento")},
    )
    assert (gateway.status_code, gateway.data) == (
        502,
        {"message": "The AEAT could not be reached.", "errors": {}},
    )
