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

GROUP = "api.token"


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

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def rate() -> str:
    return f"{settings.API_RATE_LIMIT}/{settings.API_RATE_WINDOW}s"


def hit(request, key: str) -> Usage:
    """Count one request of the token whose hash is ``key``."""
    usage = get_usage(request, group=GROUP, key=lambda group, req: key, rate=rate(), increment=True)
    limit = int(settings.API_RATE_LIMIT)
    if usage is None:  # RATELIMIT_ENABLE = False
        return Usage(limit=limit, count=0, reset=int(settings.API_RATE_WINDOW))
    if usage["limit"] == 0:  # the cache failed and django-ratelimit fails closed
        return Usage(limit=limit, count=limit + 1, reset=1)
    # The window's last whole second is ``time_left`` seconds away; it resets just after it.
    # ``time_left`` is -1 when that second ended while the request was being counted: a
    # count like any other, not the failure above (which reports a limit of 0).
    return Usage(limit=limit, count=usage["count"], reset=max(1, usage["time_left"] + 1))
