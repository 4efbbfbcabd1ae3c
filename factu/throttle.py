"""Who is knocking, and how often: the client address and the throttles of anonymous pages.

The login lockout is django-axes' (settings ``AXES_*``): it calls :func:`client_ip` and
:func:`login_username` here. The pages that send email to whatever address is typed (sign-up,
password reset) are throttled with django-ratelimit's counters (:func:`throttled`), per
client address and per (address, email), so a flood from one address stops, and nobody can
use up someone else's password reset.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

THROTTLED_MESSAGE = (
    "Demasiados intentos en poco tiempo. Por seguridad, espere un rato y vuelva a intentarlo."
)


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or, when that is a proxy of ours, the
    right-most address of ``X-Forwarded-For`` that is not a trusted proxy (the left part of
    that header is the client's to write). A proxy of ours is one of ``TRUSTED_PROXY_IPS``,
    or any peer under ``FACTU_TRUST_PROXY`` (docker-compose: only Caddy reaches gunicorn, at
    an address Docker picks, and Caddy replaces the header with the connection's address).
    Without that, behind a proxy every client would share its address, and one stranger's
    failures would lock everyone out. IPv6 addresses count as their /64, which one client
    usually holds whole."""
    trusted = set(settings.TRUSTED_PROXY_IPS)
    address = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 - a key, not a bind
    if settings.FACTU_TRUST_PROXY or address in trusted:
        trusted.add(address)
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for candidate in reversed([a for a in forwarded if a]):
            if candidate not in trusted:
                address = candidate
                break
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "0.0.0.0"  # noqa: S104
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def normalized_email(value: str | None) -> str:
    return (value or "").strip().lower()


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The email a login attempt is for, as axes counts it: the login form and the admin post
    ``username``; case and spaces do not make another email."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None:
        value = request.POST.get("username") or request.POST.get("email")
    return normalized_email(value) or None


def throttled(request: HttpRequest, group: str, email: str) -> bool:
    """Count one attempt of ``group`` (``"sign_up"`` or ``"password_reset"``) from the client's
    address, and for ``email`` from that address; True when either count is over its rate
    (``<GROUP>_RATE_PER_ADDRESS`` and ``<GROUP>_RATE_PER_ADDRESS_AND_EMAIL`` in settings).

    Never per email alone: a stranger could then use up an email's count from anywhere and
    refuse its owner the reset of their own password. The price is that a mailbox can be
    sent more mail by spreading the requests over many addresses, each of them counted.
    """
    prefix = group.upper()
    address = client_ip(request)
    checks = (
        ("address", address, getattr(settings, f"{prefix}_RATE_PER_ADDRESS")),
        (
            "address_email",
            f"{address}|{normalized_email(email)}",
            getattr(settings, f"{prefix}_RATE_PER_ADDRESS_AND_EMAIL"),
        ),
    )
    limited = False
    for kind, value, rate in checks:
        over = is_ratelimited(
            request,
            group=f"factu.{group}.{kind}",
            key=lambda _group, _request, value=value: value,
            rate=rate,
            increment=True,
        )
        limited = limited or over
    return limited
