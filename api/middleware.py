"""What every ``/api/`` request goes through before and after DRF.

* the rate limit (:mod:`api.ratelimit`) when a Bearer token is presented: 429 with
  ``Retry-After`` over the limit, and ``X-RateLimit-*`` headers on every response; the
  account-wide limit, counted at authentication, adds ``X-Account-RateLimit-*``;
* a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413 before anything reads it;
* the counter's cache unreachable: a JSON 503 (django-ratelimit fails closed; so do we);
* an unhandled exception becomes a JSON 500 in the API's envelope (and is logged).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError

from api import ratelimit
from api.authentication import bearer_credentials
from api.exceptions import describe, error_response, to_api_exception
from api.services import hash_token

logger = logging.getLogger("api")
API_PREFIX = "/api/"


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


OUTAGE_LOG_INTERVAL = 30.0
_outage_logged_at = float("-inf")


def log_counter_outage() -> None:
    """Log a lost rate-limit counter with its traceback once per interval, not per request:
    during an outage every API call lands here, and a traceback each would bury the logs."""
    global _outage_logged_at
    now = time.monotonic()
    if now - _outage_logged_at >= OUTAGE_LOG_INTERVAL:
        _outage_logged_at = now
        logger.exception("Rate limit counter unavailable; API calls get 503 until it is back")
    else:
        logger.debug("Rate limit counter still unavailable")


class ApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api(request.path):
            return self.get_response(request)
        usage = None
        raw = bearer_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
        if raw:
            try:
                usage = ratelimit.hit(request, hash_token(raw))
            except Exception:  # the cache is down: say so rather than a bare 500
                log_counter_outage()
                return error_response(
                    request.path,
                    503,
                    "service_unavailable",
                    "The service is temporarily unavailable; retry shortly.",
                    headers={"Retry-After": "5"},
                )
        response = self.refuse(request, usage) or self.get_response(request)
        if usage is not None:
            for name, value in usage.headers().items():
                response[name] = value
        account_usage = getattr(request, "account_rate_usage", None)
        if account_usage is not None:
            for name, value in account_usage.headers(ratelimit.ACCOUNT_HEADER_PREFIX).items():
                response[name] = value
        return response

    def refuse(self, request, usage):
        if usage is not None and usage.exceeded:
            return error_response(
                request.path,
                429,
                "rate_limited",
                f"Rate limit exceeded: {usage.limit} requests per "
                f"{settings.API_RATE_WINDOW} seconds. Retry after {usage.reset} seconds.",
                headers={"Retry-After": str(usage.reset)},
            )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return error_response(
                request.path,
                413,
                "payload_too_large",
                f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return None

    def process_exception(self, request, exception):
        if not is_api(request.path):
            return None
        known = to_api_exception(exception)
        if known is not None:  # raised outside a DRF view: same envelope as inside one
            code, message, fields = describe(known, request.path)
            return error_response(request.path, known.status_code, code, message, fields)
        if isinstance(exception, (DatabaseOperationalError, DatabaseInterfaceError)):
            # The database is down or restarting: nothing was half-written (the request's
            # transaction rolled back), so say so and invite a retry instead of a 500.
            logger.warning(
                "Database unavailable for %s %s: %s", request.method, request.path, exception
            )
            return error_response(
                request.path,
                503,
                "service_unavailable",
                "The database is unavailable; retry in a few seconds.",
                headers={"Retry-After": "5"},
            )
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return error_response(
            request.path, 500, "server_error", "Internal server error. It has been logged."
        )
