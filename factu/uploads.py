"""A cap on every request body of the web pages, applied before any of it is read.

Django bounds the form fields it keeps in memory (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but streams
uploaded files to disk whatever their size; the forms then check the size of a file already
received. Here the cap comes first: a view that takes a file declares how much it takes with
:func:`accepts_upload` (the CSV import, receipts, certificates); every other view takes at
most ``DATA_UPLOAD_MAX_MEMORY_SIZE``. :class:`RequestSizeMiddleware` answers 413 when the
``Content-Length`` says more, and parses a multipart body itself, through
:class:`LimitedUploadHandler`, which stops at the cap whatever the header said. ``/api/`` has
its own 413 (:mod:`api.middleware`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

FORM_MARGIN = 64 * 1024  # the form's other fields and the multipart boundaries
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class UploadTooLarge(Exception):  # noqa: N818 - named for what happened, like Django's
    """The body went past the view's cap while it was being read."""


def accepts_upload(file_bytes: int | Callable[[], int]) -> Callable:
    """Let a view take a body of ``file_bytes`` (or what the callable says) plus the form."""

    def decorator(view: Callable) -> Callable:
        view.upload_limit = file_bytes
        return view

    return decorator


def body_limit(view: Callable) -> int:
    declared = getattr(view, "upload_limit", None)
    if declared is None:
        return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)
    return (declared() if callable(declared) else int(declared)) + FORM_MARGIN


class LimitedUploadHandler(FileUploadHandler):
    """First of the upload handlers: passes every chunk on, and stops the parse at the cap."""

    def __init__(self, limit: int, request: HttpRequest | None = None):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit:
            raise UploadTooLarge

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge
        return raw_data

    def file_complete(self, file_size: int):
        return None  # the next handler (memory or temporary file) builds the file


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    megabytes = limit / (1024 * 1024)
    shown = f"{megabytes:.1f}".replace(".", ",").replace(",0", "")
    return render(request, "413.html", {"limit": shown}, status=413)


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class RequestSizeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in SAFE_METHODS or request.path.startswith("/api/"):
            return None
        limit = body_limit(view_func)
        if _content_length(request) > limit:
            return too_large(request, limit)
        if request.content_type == "multipart/form-data":
            request.upload_handlers.insert(0, LimitedUploadHandler(limit, request))
            try:
                request.POST  # noqa: B018 - parse now, under the cap, before any view reads it
            except UploadTooLarge:
                return too_large(request, limit)
        return None
