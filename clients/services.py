"""Business rules of clients, shared by the browser views and (later) the REST API.

Every function validates with :meth:`Client.full_clean`, so the errors are Django
``ValidationError`` dicts keyed by field, with Spanish messages, whoever the caller is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from clients.models import MESSAGES, Client
from factu.archiving import set_archived
from factu.models import Account, Taxpayer
from factu.nif import normalize_nif
from factu.text import search_terms

# What a person (or an API client) may set; the rest is derived or managed by the services.
EDITABLE_FIELDS = (
    "name",
    "nif",
    "country",
    "id_type",
    "foreign_id",
    "email",
    "address",
    "postal_code",
    "city",
    "province",
    "recargo_equivalencia",
    "einvoice_format",
    "dir3_oficina_contable",
    "dir3_organo_gestor",
    "dir3_unidad_tramitadora",
)


def _assign(client: Client, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable client fields: {', '.join(sorted(unknown))}")
    for field, value in data.items():
        if value is None and field != "recargo_equivalencia":
            value = ""
        setattr(client, field, value)


def _save(client: Client) -> Client:
    client.full_clean()
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError:
        # Two requests created the same NIF at once; the constraint kept one of them.
        clash = client._nif_clash() if client.nif else None
        if clash is None:
            raise
        raise ValidationError(
            {"nif": ValidationError(MESSAGES["nif_taken"].format(name=clash.name), "unique")}
        ) from None
    return client


def create_client(taxpayer: Taxpayer, data: Mapping[str, Any]) -> Client:
    """Create a client of ``taxpayer`` from ``data`` (field → value, see ``EDITABLE_FIELDS``).

    Raises ``ValidationError`` (a dict keyed by field) when the data breaks a rule.
    """
    client = Client(taxpayer=taxpayer, account_id=taxpayer.account_id)
    _assign(client, data)
    return _save(client)


def update_client(client: Client, data: Mapping[str, Any]) -> Client:
    """Change the fields given in ``data``; the others keep their value."""
    _assign(client, data)
    return _save(client)


def archive_client(client: Client) -> Client:
    """Hide a client from lists and new invoices; its invoices and NIF stay reserved."""
    return set_archived(client, True)


def restore_client(client: Client) -> Client:
    return set_archived(client, False)


def clients_of(account: Account, taxpayer: Taxpayer | None = None) -> QuerySet[Client]:
    clients = Client.objects.filter(account=account)
    if taxpayer is not None:
        if taxpayer.account_id != account.pk:
            raise ValueError("That taxpayer belongs to another account.")
        clients = clients.filter(taxpayer=taxpayer)
    return clients


def search_clients(
    account: Account,
    q: str = "",
    taxpayer: Taxpayer | None = None,
    include_archived: bool = False,
) -> QuerySet[Client]:
    """The account's clients (of one taxpayer if given) matching every word of ``q``.

    The match ignores accents and case and covers the name, NIF, foreign id, email and
    city; a NIF typed with spaces, dashes or the ``ES`` prefix is found too.
    """
    clients = clients_of(account, taxpayer)
    if not include_archived:
        clients = clients.filter(archived_at__isnull=True)
    return matching(clients, q).order_by("name", "id")


def matching(clients: QuerySet[Client], q: str) -> QuerySet[Client]:
    """Those of ``clients`` that match every word of ``q`` (see :func:`search_clients`)."""
    terms = search_terms(q)
    if not terms:
        return clients
    words = Q()
    for term in terms:
        words &= Q(search_text__contains=term)
    compact = normalize_nif(q)
    if any(ch.isdigit() for ch in compact):
        words |= Q(nif__contains=compact) | Q(foreign_id__contains=compact)
    return clients.filter(words)
