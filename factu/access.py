"""Turning "not yours" into 404 and "read-only" into 403, in one place.

Every account page resolves its account through :func:`membership_or_404`, so an object of
another account is indistinguishable from one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from factu.models import Membership, Taxpayer

M = TypeVar("M", bound=Model)

TOUCH_EVERY = timedelta(minutes=5)


def membership_or_404(user, account_slug: str) -> Membership:
    membership = (
        Membership.objects.select_related("account", "current_taxpayer")
        .filter(user=user, account__slug=account_slug)
        .first()
    )
    if membership is None:
        raise Http404("No existe esa cuenta.")
    return membership


def current_taxpayer(membership: Membership) -> Taxpayer | None:
    """The taxpayer this member last chose, or the account's first one."""
    chosen = membership.current_taxpayer
    if chosen is not None and chosen.account_id == membership.account_id:
        return chosen
    return membership.account.taxpayers.order_by("name", "id").first()


def require_write(request: HttpRequest) -> None:
    if not request.membership.can_write:
        raise PermissionDenied("Su rol es de solo lectura en esta cuenta.")


def require_manage(request: HttpRequest) -> None:
    if not request.membership.can_manage:
        raise PermissionDenied("Solo el propietario o un administrador pueden hacer esto.")


def account_view(write: bool = False, manage: bool = False) -> Callable:
    """Decorate a view taking ``account_slug``: sets ``request.account``, ``.membership``,
    ``.taxpayer``; refuses writes (any method but GET/HEAD) by roles that may not make them.
    """

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, account_slug: str, *args, **kwargs) -> HttpResponse:
            membership = membership_or_404(request.user, account_slug)
            request.membership = membership
            request.account = membership.account
            request.taxpayer = current_taxpayer(membership)
            unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
            if manage and unsafe:
                require_manage(request)
            elif (write or manage) and unsafe:
                require_write(request)
            now = timezone.now()
            if membership.last_used_at is None or now - membership.last_used_at > TOUCH_EVERY:
                Membership.objects.filter(pk=membership.pk).update(last_used_at=now)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def account_object_or_404(
    request: HttpRequest, queryset: QuerySet[M], pk: object, message: str
) -> M:
    """The object ``pk`` of ``queryset`` that belongs to the request's account. Another
    account's object does not exist, and neither does a malformed id: both are a 404
    saying ``message``."""
    try:
        return queryset.get(pk=pk, account=request.account)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        raise Http404(message) from None


def taxpayer_or_404(request: HttpRequest, taxpayer_id) -> Taxpayer:
    return account_object_or_404(
        request, Taxpayer.objects.all(), taxpayer_id, "No existe ese contribuyente en esta cuenta."
    )
