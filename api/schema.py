"""drf-spectacular: the Bearer security scheme of :mod:`api.authentication`, and the frame
that every operation of both APIs shares (see :func:`operation`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.fields import empty


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "kf_ + 32 letters and digits",
            "description": "Create a token in Settings → API tokens, or with "
            "`manage.py create_api_token`.",
        }


# -- What every operation of both APIs shares ------------------------------------------------
#
# The views describe their own bodies (``api.account.schema``, ``api.v1.schema``); this is the
# common frame: the headers the API middleware adds, ``Idempotency-Key`` on POSTs, and the
# error statuses that any authenticated operation can answer, in the envelope of its API.

HEADER = OpenApiParameter.HEADER


def _rate_limit_headers(prefix: str, allowed: str, left: str, resets: str) -> list:
    def header(name: str, minimum: int, description: str) -> OpenApiParameter:
        schema = {"type": "integer", "minimum": minimum}
        return OpenApiParameter(name, schema, HEADER, response=True, description=description)

    return [
        header(f"{prefix}-Limit", 1, allowed),
        header(f"{prefix}-Remaining", 0, left),
        header(f"{prefix}-Reset", 1, resets),
    ]


RATE_LIMIT_HEADERS = [
    *_rate_limit_headers(
        "X-RateLimit",
        "Requests allowed per window to this token. Sent on every response to a request that "
        "presented a Bearer token, errors included.",
        "Requests left in the current window.",
        "Seconds until the window resets.",
    ),
    *_rate_limit_headers(
        "X-Account-RateLimit",
        "Requests allowed per window to all of the account's tokens together (several times "
        "the per-token limit). Sent once the token is authenticated.",
        "Requests left to the account in the current window.",
        "Seconds until the account's window resets.",
    ),
    OpenApiParameter(
        "Retry-After",
        {"type": "integer", "minimum": 1},
        HEADER,
        response=[429, 503],
        description="Seconds to wait before retrying.",
    ),
    OpenApiParameter(
        "WWW-Authenticate",
        OpenApiTypes.STR,
        HEADER,
        response=[401],
        description='`Bearer realm="api"` when the token is missing or not valid.',
    ),
]

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    HEADER,
    required=False,
    description="Optional. The same key with the same body (and the same token) within 24 "
    "hours replays the first response, with `Idempotent-Replayed: true`, without doing the "
    "work again; the same key with another body is a 409. 1 to 255 printable characters, "
    "e.g. a UUID.",
    examples=[OpenApiExample("uuid", value="6f1c2a9e-4b7d-4e0a-9c3f-2d8e5b1a7c40")],
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    HEADER,
    response=True,
    description="`true` when this is the stored response of an earlier request with the same "
    "`Idempotency-Key`.",
)

# What each error status means, and an example (code, message) of each, for both APIs.
ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "Bad request: a field, query parameter, header or the JSON itself is not valid "
        "(the fields named).",
        "validation_error",
        "",
    ),
    401: (
        "Missing, malformed, unknown, revoked or inactive token.",
        "token_unknown",
        "Unknown token.",
    ),
    403: (
        "The token is read-only: its creator is a viewer of the account.",
        "permission_denied",
        "This token is read-only: its creator is a viewer of the account.",
    ),
    404: ("No such object in this account.", "not_found", "No such invoice."),
    405: ("The method is not allowed here.", "method_not_allowed", 'Method "PUT" not allowed.'),
    409: (
        "Conflict with the current state, or an `Idempotency-Key` reused with another body or "
        "still in progress.",
        "conflict",
        "This Idempotency-Key was already used with a different request body.",
    ),
    413: (
        "The body is over the size limit (checked before it is read).",
        "payload_too_large",
        "The request body is 10485760 bytes; the limit is 2621440 bytes.",
    ),
    415: (
        "The body is not `application/json`.",
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
    ),
    422: (
        "Understood, but not a change this operation may make (the message says which route does).",
        "unprocessable",
        "Nothing changes: the corrected data equal the current ones.",
    ),
    429: (
        "Rate limit exceeded (the token's, or the account's across its tokens: "
        "`account_rate_limited`): retry after `Retry-After` seconds.",
        "rate_limited",
        "Rate limit exceeded: 100 requests per 60 seconds. Retry after 42 seconds.",
    ),
    502: (
        "The AEAT did not answer, or answered with an error: nothing was recorded as sent.",
        "bad_gateway",
        "The AEAT could not be reached; retry later.",
    ),
    503: (
        "The rate-limit counter is unreachable: retry shortly.",
        "service_unavailable",
        "The service is temporarily unavailable; retry shortly.",
    ),
}
SUCCESS = {200: "OK.", 201: "Created.", 202: "Accepted."}
ALWAYS = (401, 429, 503)  # any operation behind a token
BODY = (400, 403, 413, 415)  # any write that reads a JSON body
WRITE = (403, 413)  # any write (413: any body over the limit, read or not)


def error_responses(
    envelope,
    example_body,
    statuses: Iterable[int],
    overrides: dict[int, str] | None = None,
) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse(envelope)}`` for each error status, with an example each.

    ``example_body(code, message)`` builds the example in the API's envelope; ``overrides``
    replaces the description of a status for one operation.
    """
    result = {}
    for code in sorted(set(statuses)):
        description, error_code, message = ERRORS[code]
        if code == 400:
            message = ""
        result[code] = OpenApiResponse(
            envelope,
            description=(overrides or {}).get(code, description),
            examples=[
                OpenApiExample(
                    f"{code} {error_code}",
                    value=example_body(error_code, message),
                    response_only=True,
                    status_codes=[str(code)],
                )
            ],
        )
    return result


def _status(key) -> int:
    return int(key[0] if isinstance(key, tuple) else key)


def operation(
    *,
    envelope,
    example_body,
    operation_id: str,
    tags: Sequence[str],
    summary: str,
    responses: dict,
    errors: Iterable[int] = (),
    description: str | None = None,
    request=empty,
    parameters: Sequence = (),
    examples: Sequence[OpenApiExample] = (),
    idempotent: bool = False,
    error_descriptions: dict[int, str] | None = None,
):
    """``extend_schema`` for one operation: its bodies, plus the frame every one shares."""
    statuses = set(errors) | set(ALWAYS)
    if request is not empty and request is not None:  # reads a JSON body
        statuses |= {400, 413, 415}
    params = list(parameters) + RATE_LIMIT_HEADERS
    if idempotent:
        statuses |= {400, 409}
        params += [IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED]
    all_responses = {
        key: value
        if isinstance(value, OpenApiResponse)
        else OpenApiResponse(value, description=SUCCESS.get(_status(key), ""))
        for key, value in responses.items()
    }
    all_responses.update(error_responses(envelope, example_body, statuses, error_descriptions))
    kwargs = {}
    if request is not empty:  # None: no body
        kwargs["request"] = request
    return extend_schema(
        operation_id=operation_id,
        tags=list(tags),
        summary=summary,
        description=description,
        parameters=params,
        responses=all_responses,
        examples=list(examples),
        **kwargs,
    )
