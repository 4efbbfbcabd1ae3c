"""Resolving the objects a request names, always within the token's account.

One rule for both APIs: an id of another account is a 404, never a 403; an omitted taxpayer
is fine only when the account has exactly one.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.exceptions import ValidationError

from factu.models import Account, Taxpayer
from factu.nif import normalize_nif
from factu.rows import columns, db_id, instances
from verifactu.models import ComputerSystem


def one_or_named(queryset: QuerySet, object_id, *, field: str, noun: str) -> Model:
    """The object ``object_id`` of ``queryset`` (404 if absent), or, when no id is given,
    the only one there is (400 naming ``field`` when there are none or several)."""
    if object_id is None:
        only = list(queryset[:2])
        if len(only) != 1:
            raise ValidationError(
                {field: [f"Required: this account has several {noun}s."]}
                if only
                else {field: [f"This account has no {noun} yet: create one first."]}
            )
        return only[0]
    found = queryset.filter(pk=object_id).first()
    if found is None:
        raise Http404(f"No such {noun} in this account.")
    return found


def account_taxpayer(account: Account, taxpayer_id, *, field: str) -> Taxpayer:
    return one_or_named(
        Taxpayer.objects.filter(account=account), taxpayer_id, field=field, noun="taxpayer"
    )


def account_taxpayer_by_nif(account: Account, nif: str) -> Taxpayer:
    """The taxpayer of ``account`` a URL names by NIF (``/taxpayers/{nif}/...``), or 404."""
    nif = normalize_nif(nif)
    taxpayer = None
    if nif.isascii() and nif.isalnum() and len(nif) <= 20:  # else never a stored NIF
        taxpayer = Taxpayer.objects.filter(account=account, nif=nif).first()
    if taxpayer is None:
        raise Http404("No such taxpayer in this account.")
    return taxpayer


def account_computer_system(account: Account, system_id, *, field: str) -> ComputerSystem:
    return one_or_named(
        ComputerSystem.objects.filter(account=account),
        system_id,
        field=field,
        noun="computer system",
    )


# The hottest write of the API names both: one hand-written statement (factu.rows), since
# as an ORM join (a FilteredRelation) it costs the v1 write benchmark its throughput target
# (bench/README.md).
_TAXPAYER_AND_SYSTEM = """
SELECT {taxpayer_columns}, {system_columns}
FROM {taxpayer} t, {system} s
WHERE t.id = %s AND t.account_id = %s AND s.id = %s AND s.account_id = %s
"""


def account_taxpayer_and_system(
    account: Account, taxpayer_id, system_id, *, taxpayer_field: str, system_field: str
) -> tuple[Taxpayer, ComputerSystem]:
    """The taxpayer and the computer system an invoice names, in one query when both ids
    are given (both in the account); otherwise, or when one is not found, each alone, for its
    own 400 or 404."""
    if taxpayer_id is not None and system_id is not None:
        sql = _TAXPAYER_AND_SYSTEM.format(
            taxpayer_columns=columns(Taxpayer, "t"),
            system_columns=columns(ComputerSystem, "s"),
            taxpayer=Taxpayer._meta.db_table,
            system=ComputerSystem._meta.db_table,
        )
        account_id = db_id(Account, account.pk)
        ids = [
            db_id(Taxpayer, taxpayer_id),
            account_id,
            db_id(ComputerSystem, system_id),
            account_id,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, ids)
            row = cursor.fetchone()
        if row is not None:
            taxpayer, system = instances(row, Taxpayer, ComputerSystem)
            return taxpayer, system
    return (
        account_taxpayer(account, taxpayer_id, field=taxpayer_field),
        account_computer_system(account, system_id, field=system_field),
    )
