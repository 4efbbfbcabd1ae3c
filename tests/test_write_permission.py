"""Who may write is one rule (factu.models.Role.may_write): the pages, the account API and
the v1 API give every role the same answer, a role no list knows included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api.services import create_token
from factu.models import Membership, Role
from tests.conftest import make_user

UNKNOWN_ROLE = "auditor"  # a role added later, or a value no choice knows: reads only
ROLES = [*Role.values, UNKNOWN_ROLE]


def _answers(client, account, role: str) -> dict[str, bool]:
    """Whether a member of ``role`` was let through (any answer but 403) on a write."""
    user = make_user(f"{role}@example.com")
    Membership.objects.create(user=user, account=account, role=role)
    _, raw = create_token(account, user, f"token {role}")
    client.force_login(user)
    page = client.post(reverse("client_create", args=[account.slug]), {})
    client.logout()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    account_api = client.post(
        reverse("api-clients"), "{}", content_type="application/json", **bearer
    )
    v1 = client.post(reverse("v1-invoices"), "{}", content_type="application/json", **bearer)
    return {
        "page": page.status_code != 403,
        "account API": account_api.status_code != 403,
        "v1 API": v1.status_code != 403,
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_the_same_answer_on_the_pages_and_both_apis(
    client, account, taxpayer, role
):
    expected = Role.may_write(role)
    assert Membership(role=role).can_write is expected
    assert _answers(client, account, role) == {
        "page": expected,
        "account API": expected,
        "v1 API": expected,
    }


def test_only_owners_admins_and_accountants_may_write():
    assert [r for r in ROLES if Role.may_write(r)] == [Role.OWNER, Role.ADMIN, Role.ACCOUNTANT]
    assert not Role.may_write(None)
