"""``Authorization: Bearer kf_…`` for both APIs: the only way in (no sessions, no CSRF).

A request authenticates as ``(user, token)``: ``request.user`` is the token's creator and
``request.auth`` the :class:`~api.models.ApiToken`, whose ``account`` scopes every query. The
creator's role in the account is read with the token, in the same query, at every request
(``token.role``): a viewer's token is read-only and a token whose creator left the account
stops working.

Each failure has its own code, so an integrator can tell a typo from a revoked token:
``token_missing`` (raised by the permission, see :mod:`api.permissions`), ``token_malformed``,
``token_unknown``, ``token_revoked`` and ``token_inactive``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from api import ratelimit
from api.models import ApiToken
from api.services import hash_token, looks_like_token
from factu.models import Account, Membership, User
from factu.rows import columns, instances

KEYWORD = "Bearer"
TOUCH_EVERY = timedelta(seconds=60)


def bearer_credentials(header: str) -> str | None:
    """The credentials of a ``Bearer`` Authorization header; None for another scheme."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != KEYWORD.lower():
        return None
    return credentials.strip()


# Every API request runs it, so it is one hand-written join (factu.rows): as an ORM query
# (select_related with a FilteredRelation) building it costs about as much as running it, and
# the v1 write benchmark misses its targets without it (bench/README.md).
_AUTHENTICATING_QUERY = """
SELECT {token_columns}, {account_columns}, {user_columns}, m.role
FROM {token} tok
JOIN {account} a ON a.id = tok.account_id
LEFT JOIN {user} u ON u.id = tok.created_by_id
LEFT JOIN {membership} m ON m.user_id = tok.created_by_id AND m.account_id = tok.account_id
WHERE tok.token_hash = %s
"""


def token_with_account_creator_and_role(token_hash: str) -> ApiToken | None:
    """The token of ``token_hash`` with its account and creator loaded, and ``role``: the
    creator's role in the account now (None once they left it or if the creator is gone).

    One query: the creator's membership of the token's own account is a left join."""
    sql = _AUTHENTICATING_QUERY.format(
        token_columns=columns(ApiToken, "tok"),
        account_columns=columns(Account, "a"),
        user_columns=columns(User, "u"),
        token=ApiToken._meta.db_table,
        account=Account._meta.db_table,
        user=User._meta.db_table,
        membership=Membership._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    token, account, user = instances(row[:-1], ApiToken, Account, User)
    token.account = account
    token.created_by = user if token.created_by_id is not None else None
    token.role = row[-1]
    return token


class BearerTokenAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.strip():
            return None
        raw = bearer_credentials(header)
        if raw is None:
            raise exceptions.AuthenticationFailed(
                "Use the Bearer scheme: 'Authorization: Bearer kf_…'.", code="token_malformed"
            )
        if not looks_like_token(raw):
            raise exceptions.AuthenticationFailed(
                "Malformed token: expected 'kf_' and 32 letters and digits.",
                code="token_malformed",
            )
        user, token = self.authenticate_credentials(raw)
        ratelimit.check_account(request, token.account_id)
        return user, token

    def authenticate_credentials(self, raw: str):
        token = token_with_account_creator_and_role(hash_token(raw))
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown token.", code="token_unknown")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                "This token has been revoked.", code="token_revoked"
            )
        user = token.created_by
        if user is None or not user.is_active or token.role is None:
            raise exceptions.AuthenticationFailed(
                "This token's creator is no longer a member of the account.",
                code="token_inactive",
            )
        self.touch(token)
        return user, token

    @staticmethod
    def touch(token: ApiToken) -> None:
        """Record the use, at most once a minute per token (one conditional UPDATE)."""
        now = timezone.now()
        if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
            return
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'
