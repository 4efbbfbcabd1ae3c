"""One DRF exception handler for both APIs; the envelope depends on the path.

* account API (``/api/...``)::

    {"error": {"code": "validation_error", "message": "…", "fields": {"nif": ["…"]}}}

* VERI*FACTU API (``/api/v1/...``)::

    {"message": "…", "errors": {"breakdown.0.tax_rate": ["…", "AEAT 1124"]}}

Nested serializer errors are flattened to dotted paths in both. :func:`error_response` builds
the same bodies for code that runs outside DRF (the API middleware: 413, 429, 500).
"""

from __future__ import annotations

import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

V1_PREFIX = "/api/v1/"


class Conflict(exceptions.APIException):
    """409: the request is valid but clashes with the current state (raise it from views)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class Refused(exceptions.APIException):
    """A refusal in the raiser's own words: its status, its message and, when it is about
    fields, their messages (``{"invoice_number": ["Already registered.", "AEAT 3000"]}``)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request was refused."
    default_code = "conflict"
    CODES = {
        status.HTTP_400_BAD_REQUEST: "validation_error",
        status.HTTP_409_CONFLICT: "conflict",
        status.HTTP_422_UNPROCESSABLE_ENTITY: "unprocessable",
        status.HTTP_502_BAD_GATEWAY: "bad_gateway",
    }

    def __init__(
        self,
        message: str,
        fields: dict[str, list[str]] | None = None,
        *,
        status_code: int = status.HTTP_409_CONFLICT,
    ) -> None:
        super().__init__(message, self.CODES.get(status_code, "error"))
        self.status_code = status_code
        self.fields = fields


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


# DRF's own codes that we rename, and the code of each exception class by default.
CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
    (Conflict, "conflict"),
    (PayloadTooLarge, "payload_too_large"),
]
# DRF's generic codes, replaced by ours; any other code given by the raiser is kept
# (``token_revoked``, ``idempotency_in_progress``, …).
GENERIC_CODES = {
    "invalid",
    "error",
    "parse_error",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "unsupported_media_type",
    "throttled",
}
V1_VALIDATION_MESSAGE = "The given data was invalid."
ACCOUNT_VALIDATION_MESSAGE = "Some fields are not valid: see fields."


def is_v1(path: str) -> bool:
    return path.startswith(V1_PREFIX) or path == V1_PREFIX.rstrip("/")


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """``{"breakdown": [{}, {"tax_rate": ["…"]}]}`` → ``{"breakdown.1.tax_rate": ["…"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, (list, tuple)):
        if all(not isinstance(item, (dict, list, tuple)) for item in detail):
            if detail:
                flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                flat.update(flatten_errors(item, name))
    elif detail is not None:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def envelope(
    path: str, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict:
    """The error body for ``path``: the v1 shape under ``/api/v1/``, else the account one."""
    if is_v1(path):
        return {"message": message, "errors": fields or {}}
    body: dict = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return {"error": body}


def error_response(
    path: str,
    status_code: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """An error outside DRF (middleware), in the same envelope as the handler's."""
    response = JsonResponse(envelope(path, code, message, fields), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def to_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    return None


def code_of(exc: exceptions.APIException) -> str:
    given = exc.detail.code if isinstance(exc.detail, exceptions.ErrorDetail) else None
    if given and given not in GENERIC_CODES:
        return given
    for cls, code in CODES:
        if isinstance(exc, cls):
            return code
    return given or "error"


def describe(exc: exceptions.APIException, path: str) -> tuple[str, str, dict | None]:
    """``(code, message, fields)`` of an API exception."""
    code = code_of(exc)
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        message = V1_VALIDATION_MESSAGE if is_v1(path) else ACCOUNT_VALIDATION_MESSAGE
        return code, message, fields
    if isinstance(exc, Refused):
        return code, str(exc.detail), exc.fields
    detail = exc.detail
    if isinstance(detail, (list, dict)):
        fields = flatten_errors(detail)
        message = next(iter(fields.values()))[0] if fields else str(exc.default_detail)
        return code, message, fields
    return code, str(detail), None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every API error in the envelope of its API."""
    api_exc = to_api_exception(exc)
    if api_exc is None:
        return None  # a bug: the API middleware answers a JSON 500 and logs it
    response = refusal_response(api_exc, context.get("request"))
    set_rollback()
    return response


def refusal_response(api_exc: exceptions.APIException, request) -> Response:
    """The response of ``api_exc`` in the envelope of the request's API.

    The handler answers what a view raises. A view *returns* this instead when the refusal
    is an outcome of the work, to be remembered by an ``Idempotency-Key`` like a success
    and to leave the work done before it in place (:mod:`api.idempotency`).
    """
    path = request.path if request is not None else ""
    code, message, fields = describe(api_exc, path)
    headers = {}
    auth_header = getattr(api_exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(api_exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return Response(
        envelope(path, code, message, fields), status=api_exc.status_code, headers=headers
    )
