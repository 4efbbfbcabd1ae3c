"""Namespaced installations of the one software (:mod:`verifactu.sistema`).

An account's computer systems are installations of the deployment's software: the
``NumeroInstalacion`` is the account's id and a label unique in the account, so an
installation number can never be one another account uses, and nothing a tenant declares can
reach the chain of a (NIF, installation) pair another account keeps. Factu's own issuance
(the browser and the account API) is the account's default installation, labelled
:data:`DEFAULT_LABEL`; the v1 API creates the others.
"""

from __future__ import annotations

import re
import secrets
import uuid

from django.db import IntegrityError, transaction

from factu.models import Account
from verifactu.models import Chain, ComputerSystem
from verifactu.sistema import Software, software

DEFAULT_LABEL = "factu"
LABEL_MAX_LENGTH = 40
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class LabelRefused(ValueError):
    """The label cannot name a new installation of this account (the message says why)."""


def installation_number(account_id: uuid.UUID | str, label: str) -> str:
    """The NumeroInstalacion of the installation ``label`` of an account.

    The account's UUID (36 characters, fixed length, so the number reads back unambiguously)
    makes it unique to the account; the label makes it unique in the account. At most 77
    characters, within AEAT's 100.
    """
    return f"{uuid.UUID(str(account_id))}-{label}"


def check_label(label: str) -> str:
    """The label, or :class:`LabelRefused` saying what a label may be."""
    if not LABEL_RE.fullmatch(label or ""):
        raise LabelRefused(
            f"1 to {LABEL_MAX_LENGTH} letters, digits, '.', '_' or '-', starting with a letter "
            "or digit."
        )
    if label == DEFAULT_LABEL:
        raise LabelRefused(f'"{DEFAULT_LABEL}" is the installation of Factu\'s own invoices.')
    return label


def _free_number(account: Account, label: str, sif: Software) -> str:
    """The label's number, or, in the one case it is taken, that number and a random suffix.

    Before the namespacing a tenant could declare any number, so a legacy installation (or a
    chain another account opened on it) may already hold this account's ``<uuid>-<label>``;
    a chain found there would be another account's, or fork this one's. Both are looked
    for here, at creation, and never in the answer: the number is all that changes.
    """
    number = installation_number(account.pk, label)
    key = {"producer_nif": sif.producer_nif, "system_id": sif.system_id}
    while (
        ComputerSystem.objects.filter(installation_number=number, **key).exists()
        or Chain.objects.filter(installation_number=number, **key).exists()
    ):
        number = f"{installation_number(account.pk, label)}-{secrets.token_hex(4)}"
    return number


def _new(account: Account, label: str, multi_taxpayer_capable: bool) -> ComputerSystem:
    sif = software()
    return ComputerSystem.objects.create(
        account=account,
        label=label,
        installation_number=_free_number(account, label, sif),
        producer_name=sif.producer_name,
        producer_nif=sif.producer_nif,
        name=sif.name,
        system_id=sif.system_id,
        version=sif.version,
        multi_taxpayer_capable=multi_taxpayer_capable,
    )


def create_installation(
    account: Account, label: str | None = None, *, multi_taxpayer_capable: bool = True
) -> ComputerSystem:
    """A new installation of the account (the v1 API's "computer system").

    Without a label one is made up (``sif-`` and 8 hex digits). A label the account already
    uses is refused (:class:`LabelRefused`): only the account's own installations are
    looked at, so the answer says nothing about any other account.
    """
    if label is None:
        label = f"sif-{secrets.token_hex(4)}"
    check_label(label)
    if ComputerSystem.objects.filter(account=account, label=label).exists():
        raise LabelRefused("Already used by another computer system of this account.")
    try:
        with transaction.atomic():
            return _new(account, label, multi_taxpayer_capable)
    except IntegrityError:  # a concurrent request took the label meanwhile
        raise LabelRefused("Already used by another computer system of this account.") from None


def default_installation(account_id: uuid.UUID | str) -> ComputerSystem:
    """The account's installation for the invoices issued in Factu, created on first use.

    Called while issuing, inside its transaction: the account row is locked first, so that
    concurrent first issues of an account create the installation once, not once each.
    ``FOR NO KEY UPDATE``: rows that name the account check it with ``FOR KEY SHARE`` when
    their transaction commits, and one holding a chain this issue waits for must not wait
    for this lock (the lock order of ``verifactu.modes``).
    """
    with transaction.atomic():
        account = Account.objects.select_for_update(no_key=True).get(pk=account_id)
        system = ComputerSystem.objects.filter(account=account, label=DEFAULT_LABEL).first()
        if system is None:
            system = _new(account, DEFAULT_LABEL, multi_taxpayer_capable=True)
    return system


def default_installation_number(account: Account) -> str:
    """The default installation's number: the stored one (an account from before the
    namespacing keeps its own), or the one it will get when Factu first issues."""
    stored = (
        ComputerSystem.objects.filter(account=account, label=DEFAULT_LABEL)
        .values_list("installation_number", flat=True)
        .first()
    )
    return stored or installation_number(account.pk, DEFAULT_LABEL)
