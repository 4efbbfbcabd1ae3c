"""The chain lock: the one row every registration of (obligado NIF, installation) takes.

:func:`lock_chain` finds the chain of a taxpayer's NIF on an installation and locks it,
opening it on first use; :func:`previous_record` reads, from the locked row alone, what the
next record quotes of its head. Lock order (``verifactu.modes`` documents the whole of it): a
transaction that opens a chain shares its taxpayer's row and locks its installation
(:func:`_open_chain`) before any chain row.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from factu.models import Account, Taxpayer
from factu.rows import columns, db_id, instances
from verifactu.huella import format_timestamp
from verifactu.models import Chain, ComputerSystem
from verifactu.xml import PreviousRecord


def lock_chain(
    account: Account, issuer_nif: str, issuer_name: str, system: ComputerSystem
) -> Chain:
    """The chain of (obligado NIF, installation), created on first use and locked.

    Only ``account`` ever reaches the chains of its installations: their numbers carry the
    account's id (:mod:`verifactu.installations`), a new installation never takes a number
    an installation or a chain already holds, and migration 0017 left no installation number
    in two accounts. So there is no "kept by another account" answer to give, which would
    both block that account's NIF and tell this one it exists.
    """
    key = {"issuer_nif": issuer_nif, **system.installation}
    # the chain exists but on a taxpayer's first record: no savepoint needed then
    chain = _select_chain_for_update(key)
    if chain is None:
        chain = _open_chain(account, key, issuer_name)
    if chain.account_id != account.pk:  # pragma: no cover - defence in depth, see the docstring
        raise RuntimeError(f"installation {system.pk} reaches a chain of another account")
    return chain


def _open_chain(account: Account, key: dict[str, str], issuer_name: str) -> Chain:
    """Create the chain of ``key`` (locked), under the lock of its installation.

    The installation's second chain makes every chain of it say IndicadorMultiplesOT=S
    from now on: the new one at its insert, the first one by an update here. Openers of one
    installation queue for its lock (a transaction-level advisory lock on PostgreSQL;
    SQLite's write lock serialises them anyway), so two first chains opened at once do not
    both miss each other. The installation is locked before any chain of it (the lock
    order of the module's docstring).

    The taxpayer's row is shared first: a mode switch, which decides from the records of
    the taxpayer's chains it can see, waits for a chain being opened, and a chain opened
    while a switch decides waits for it (then reads the new mode).
    """
    _share_taxpayer(account, key["issuer_nif"])
    installation = {name: key[name] for name in INSTALLATION}
    _lock_installation(installation)
    others = Chain.objects.filter(**installation).exclude(issuer_nif=key["issuer_nif"])
    multiple = others.exists()
    try:
        with transaction.atomic():
            chain, created = Chain.objects.select_for_update().get_or_create(
                **key,
                defaults={
                    "account": account,
                    "issuer_name": issuer_name,
                    "multiple_taxpayers": multiple,
                },
            )
    except IntegrityError:  # another first record created it meanwhile (SQLite)
        return Chain.objects.select_for_update().get(**key)
    if created and multiple:
        others.filter(multiple_taxpayers=False).update(multiple_taxpayers=True)
    return chain


INSTALLATION = ("producer_nif", "system_id", "installation_number")


def _share_taxpayer(account: Account, nif: str) -> None:
    """Hold the taxpayer's row ``FOR SHARE`` until the transaction ends (PostgreSQL only;
    SQLite's write lock serialises writers anyway): a switch's ``FOR NO KEY UPDATE`` waits."""
    if connection.vendor != "postgresql":
        return
    sql = _TAXPAYER_FOR_SHARE.format(taxpayer=Taxpayer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_id(Account, account.pk), nif])


_TAXPAYER_FOR_SHARE = "SELECT 1 FROM {taxpayer} WHERE account_id = %s AND nif = %s FOR SHARE"


def _lock_installation(installation: dict[str, str]) -> None:
    """Hold the installation's lock until the transaction ends (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    name = "\x1f".join(installation[part] for part in INSTALLATION)
    digest = hashlib.blake2b(f"verifactu-installation\x1f{name}".encode(), digest_size=8)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            [int.from_bytes(digest.digest(), "big", signed=True)],
        )


# Hand-written for the same reason as the state query below: every registration runs it,
# and the ORM's select_for_update().get() cost twice its round trip in Python.
_CHAIN_FOR_UPDATE = """SELECT {columns} FROM {chain} c
WHERE c.issuer_nif = %s AND c.producer_nif = %s AND c.system_id = %s
AND c.installation_number = %s{for_update}
"""


def _select_chain_for_update(key: dict[str, str]) -> Chain | None:
    """The chain row of ``key``, locked until the transaction ends (as ``select_for_update``:
    SQLite, which has no row locks, holds the database's write lock instead)."""
    if connection.get_autocommit():
        raise transaction.TransactionManagementError(
            "The chain is locked only inside a transaction."
        )
    sql = _CHAIN_FOR_UPDATE.format(
        columns=columns(Chain, "c"),
        chain=Chain._meta.db_table,
        for_update=" FOR UPDATE" if connection.features.has_select_for_update else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [key["issuer_nif"], key["producer_nif"], key["system_id"], key["installation_number"]],
        )
        row = cursor.fetchone()
    return None if row is None else instances(row, Chain)[0]


def generation_time(head: str, now: datetime) -> str:
    """The generation time of the next item of a locked chain (FechaHoraHusoGenRegistro of a
    record, FechaHoraHusoGenEvento of an event): ``now``, or ``head``'s (the time its head
    item states) when ``now`` is earlier. ``now`` is taken before the lock, and an appender
    that waited for it must not date its item before the one appended meanwhile; nor does a
    clock stepped back."""
    stated = format_timestamp(now)
    if head and datetime.fromisoformat(head) > datetime.fromisoformat(stated):
        return head
    return stated


def previous_record(chain: Chain) -> PreviousRecord | None:
    """What the next record of ``chain`` quotes of its head (``RegistroAnterior``).

    Read from the locked chain row itself: appending reads no billing record.
    """
    if chain.head_id is None:
        return None
    return PreviousRecord(
        nif=chain.issuer_nif,
        numserie=chain.head_invoice_number,
        fecha=chain.head_invoice_date_text,
        huella=chain.last_huella,
    )
