"""``Idempotency-Key`` for POSTs of both APIs.

The same key, with the same body (method, path and canonical JSON, hashed) and the same
token, within 24 hours, returns the first response — status, body byte for byte, and the
headers the view set — with ``Idempotent-Replayed: true``, without doing the work again.
The same key with another body is a 409 ``conflict``. The key is optional; without it a POST
is not deduplicated.

How it is safe under concurrency (documented choice: **the second request waits**): the
record is inserted at the start of one transaction that also runs the view, and completed
at its end, so the work and its record commit or roll back together. A concurrent request
with the same key blocks on the unique (token, key) index (PostgreSQL) or on the write lock
(SQLite, ``BEGIN IMMEDIATE``) until the first commits, and then replays its response; if the
first rolled back, the second does the work. Errors raised by the view (4xx from exceptions,
5xx) roll back and are not remembered, so the key may be retried; a 4xx that the view
*returns* is remembered like a success.

Use :func:`idempotent` on a view's ``post`` method (or on a function view), or inherit
:class:`IdempotentMixin`, which applies it to ``post``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.exceptions import Conflict
from api.models import ApiToken, IdempotencyRecord
from api.parsers import loads

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
KEY_MAX_LENGTH = 255
IN_PROGRESS = 0  # status of a record whose transaction has not committed yet


class _Discard(Exception):  # noqa: N818 - control flow, never escapes this module
    """Roll back the record (and the work) but still return this response."""

    def __init__(self, response):
        self.response = response


def _split(args) -> tuple[object | None, Request | HttpRequest]:
    if args and isinstance(args[0], (Request, HttpRequest)):
        return None, args[0]
    return args[0], args[1]


def canonical_body(request) -> bytes:
    """The body as canonical JSON (key order and spacing do not matter), else its bytes."""
    django_request = getattr(request, "_request", request)
    try:
        raw = django_request.body
    except RawPostDataException:  # multipart, already parsed: its fields and files' digests
        return json.dumps(_parsed_fields(request.data), sort_keys=True).encode()
    try:
        data = loads(raw, parse_float=str, parse_int=str)
    except ParseError:  # the view's parser refuses it with the same 400
        return raw
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _parsed_fields(data) -> dict:
    """Every field of a parsed body, an uploaded file by its name and content's SHA-256 (two
    documents of one name are two bodies)."""

    def fingerprint(value):
        if isinstance(value, UploadedFile):
            digest = hashlib.sha256()
            for chunk in value.chunks():
                digest.update(chunk)
            value.seek(0)
            return {"file": value.name, "sha256": digest.hexdigest()}
        return str(value)

    items = data.lists() if hasattr(data, "lists") else ((k, [v]) for k, v in data.items())
    return {key: [fingerprint(v) for v in values] for key, values in items}


def body_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(canonical_body(request))
    return digest.hexdigest()


def valid_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationError(
            {HEADER: [f"Must be 1 to {KEY_MAX_LENGTH} printable characters, e.g. a UUID."]}
        )
    return key


def _claim(token: ApiToken, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert this request's record (None), or return the committed one to replay."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(token=token, key=key, created_at__lt=now - TTL).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                token=token, key=key, body_hash=digest, status=IN_PROGRESS, created_at=now
            )
        return None
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(token=token, key=key).first()
    if existing is None or existing.status == IN_PROGRESS:
        raise Conflict(
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            code="idempotency_in_progress",
        )
    if existing.body_hash != digest:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="conflict",
        )
    return existing


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(record.response_body.encode("utf-8"), status=record.status)
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _render(view, request, response) -> None:
    if isinstance(response, Response) and not response.is_rendered:
        response.accepted_renderer = request.accepted_renderer
        response.accepted_media_type = request.accepted_media_type
        response.renderer_context = (
            view.get_renderer_context() if view is not None else {"request": request}
        )
        response.render()
    elif hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()


def _remember(token, key, view, request, response) -> None:
    if response.status_code >= 500:
        raise _Discard(response)
    record = IdempotencyRecord.objects.get(token=token, key=key)
    if response.streaming:  # not replayable: the work stands, the key is forgotten
        record.delete()
        return
    _render(view, request, response)
    record.status = response.status_code
    record.response_body = response.content.decode("utf-8")
    record.response_headers = dict(response.items())
    record.save(update_fields=["status", "response_body", "response_headers"])


def idempotent(view_method):
    """Make a POST handler honour ``Idempotency-Key`` (see the module's docstring)."""
    if getattr(view_method, "is_idempotent", False):
        return view_method

    @wraps(view_method)
    def wrapper(*args, **kwargs):
        view, request = _split(args)
        token = getattr(request, "auth", None)
        raw_key = request.headers.get(HEADER)
        if raw_key is None or not isinstance(token, ApiToken):
            return view_method(*args, **kwargs)
        key = valid_key(raw_key)
        digest = body_hash(request)
        try:
            with transaction.atomic():
                existing = _claim(token, key, digest)
                if existing is not None:
                    return _replay(existing)
                response = view_method(*args, **kwargs)
                _remember(token, key, view, request, response)
                return response
        except _Discard as discard:
            return discard.response

    wrapper.is_idempotent = True
    return wrapper


class IdempotentMixin:
    """Apply :func:`idempotent` to the ``post`` of every subclass of a view."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        post = cls.__dict__.get("post")
        if post is not None:
            cls.post = idempotent(post)


def purge_expired(now=None) -> int:
    """Delete records older than 24 h (they are also replaced lazily when a key is reused)."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - TTL).delete()
    return deleted
