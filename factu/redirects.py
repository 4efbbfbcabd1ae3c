"""Where a page may send a person back to: the one open-redirect guard.

A ``next`` parameter (posted, or in the query string) is followed only when it is a path of
this site: it starts with one ``/``, holds no ``//``, no backslash (browsers read ``/\\`` as
``//``), no whitespace or control character, no ``.`` or ``..`` segment (a browser resolves
them, even percent-encoded, and would leave ``within``), names no other host or scheme (Django's
``url_has_allowed_host_and_scheme``), and, when the caller says so, lies under ``within``
(the pages of one section of the account). Anything else is dropped: the caller falls
back to its own page.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def _plain_path(target: str) -> bool:
    segments = unquote(urlsplit(target).path).split("/")
    return (
        target.startswith("/")
        and "//" not in target
        and "\\" not in target
        and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target)
        and not any(segment in (".", "..") for segment in segments)
    )


def safe_next(request: HttpRequest, *, within: str = "/") -> str:
    """The request's ``next`` when it is safe to redirect to (and starts with ``within``),
    else ``""``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        _plain_path(target)
        and target.startswith(within)
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return ""


def section_next(request: HttpRequest, section: str) -> str:
    """The safe ``next`` when it is a page of ``section`` (``clientes``, ``gastos``,
    ``facturas``) of the request's account, else ``""``."""
    return safe_next(request, within=f"/c/{request.account.slug}/{section}/")


def back_to_list(request: HttpRequest, section: str, list_url_name: str) -> str:
    """Back to the list the person came from (same search and page: the section's safe
    ``next``), or else the plain list."""
    return section_next(request, section) or reverse(list_url_name, args=[request.account.slug])
