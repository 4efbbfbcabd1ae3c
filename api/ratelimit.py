"""Per-token rate limit: ``API_RATE_LIMIT`` requests per fixed ``API_RATE_WINDOW`` seconds.

The counter is django-ratelimit's (:func:`django_ratelimit.core.get_usage`) over the Django
cache, keyed by the SHA-256 of the presented token: ``cache.add`` then ``cache.incr``, which
on Redis is an atomic ``INCR`` shared by every process. The window is fixed; django-ratelimit
offsets its edge per key (a CRC of the key), so tokens do not all reset at the same second.

It runs in :class:`api.middleware.ApiMiddleware`, before authentication, so that every
response to a request that presented a token carries the ``X-RateLimit-*`` headers — 401s
included — and a flood is refused before it touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework import exceptions

GROUP = "api.token"
ACCOUNT_GROUP = "api.account"
ACCOUNT_HEADER_PREFIX = "X-Account-RateLimit"


@dataclass(frozen=True)
class Usage:
    limit: int
    count: int
    reset: int  # whole seconds until the window resets (≥ 1)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    def headers(self, prefix: str = "X-RateLimit") -> dict[str, str]:
        return {
            f"{prefix}-Limit": str(self.limit),
            f"{prefix}-Remaining": str(self.remaining),
            f"{prefix}-Reset": str(self.reset),
        }


def rate() -> str:
    return f"{settings.API_RATE_LIMIT}/{settings.API_RATE_WINDOW}s"


def hit(request, key: str) -> Usage:
    """Count one request of the token whose hash is ``key``."""
    return _count(request, GROUP, key, int(settings.API_RATE_LIMIT))


def hit_account(request, account_id) -> Usage:
    """Count one authenticated request of the account, whichever of its tokens made it.

    The per-token limit stays what seed 000 documents; this one, several times larger
    (``API_ACCOUNT_RATE_LIMIT``), bounds an account however many tokens it holds. It is
    counted after authentication (the account is known only then) and answered with its own
    ``X-Account-RateLimit-*`` headers.
    """
    return _count(request, ACCOUNT_GROUP, str(account_id), int(settings.API_ACCOUNT_RATE_LIMIT))


def _count(request, group: str, key: str, limit: int) -> Usage:
    usage = get_usage(
        request,
        group=group,
        key=lambda group, req: key,
        rate=f"{limit}/{settings.API_RATE_WINDOW}s",
        increment=True,
    )
    if usage is None:  # RATELIMIT_ENABLE = False
        return Usage(limit=limit, count=0, reset=int(settings.API_RATE_WINDOW))
    if usage["limit"] == 0:  # the cache failed and django-ratelimit fails closed
        return Usage(limit=limit, count=limit + 1, reset=1)
    # The window's last whole second is ``time_left`` seconds away; it resets just after it.
    # ``time_left`` is -1 when that second ended while the request was being counted: a
    # count like any other, not the failure above (which reports a limit of 0).
    return Usage(limit=limit, count=usage["count"], reset=max(1, usage["time_left"] + 1))


def check_account(request, account_id) -> Usage:
    """Count the request against its account (:func:`hit_account`); keep the usage on the
    Django request for the middleware's headers; ``Throttled`` (429) over the limit."""
    django_request = getattr(request, "_request", request)
    try:
        usage = hit_account(django_request, account_id)
    except Exception as exc:  # the cache is down: fail closed, as the per-token limit does
        unavailable = exceptions.APIException(
            "The service is temporarily unavailable; retry shortly.", code="service_unavailable"
        )
        unavailable.status_code = 503
        unavailable.wait = 5
        raise unavailable from exc
    django_request.account_rate_usage = usage
    if usage.exceeded:
        refusal = exceptions.Throttled(
            detail=f"Account rate limit exceeded: {usage.limit} requests per "
            f"{settings.API_RATE_WINDOW} seconds across all of the account's tokens. "
            f"Retry after {usage.reset} seconds.",
            code="account_rate_limited",
        )
        refusal.wait = usage.reset
        raise refusal
    return usage
