"""Business rules of tenancy, shared by the views, the API and the commands."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from factu.models import Account, Membership, Role, Taxpayer, User


def choose_taxpayer(membership: Membership, taxpayer: Taxpayer) -> None:
    """Remember the taxpayer a member works on, across sessions and devices."""
    if taxpayer.account_id != membership.account_id:
        raise ValueError("That taxpayer belongs to another account.")
    Membership.objects.filter(pk=membership.pk).update(current_taxpayer=taxpayer)
    membership.current_taxpayer = taxpayer


def unique_account_slug(name: str) -> str:
    base = slugify(name)[:50] or "cuenta"
    slug, n = base, 2
    while Account.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


@transaction.atomic
def create_account(
    owner: User, name: str, kind: str = Account.Kind.AUTONOMO, slug: str | None = None
) -> Account:
    account = Account.objects.create(name=name, kind=kind, slug=slug or unique_account_slug(name))
    Membership.objects.create(user=owner, account=account, role=Role.OWNER)
    return account


def accounts_of(user: User):
    return Account.objects.filter(memberships__user=user).order_by("name")
