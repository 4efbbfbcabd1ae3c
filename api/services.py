"""Creating and revoking API tokens: the only code that ever holds a raw token."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from factu.models import Account, Membership, User
from factu.text import count_of

TOKEN_PREFIX = "kf_"  # noqa: S105 - the public prefix, not a secret
TOKEN_RANDOM_LENGTH = 32
TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9]{{{TOKEN_RANDOM_LENGTH}}}$")
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 4  # "kf_abcd"
NAME_MAX_LENGTH = 100


def generate_raw_token() -> str:
    return TOKEN_PREFIX + "".join(
        secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_RANDOM_LENGTH)
    )


def hash_token(raw: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def looks_like_token(raw: str) -> bool:
    return bool(TOKEN_RE.match(raw))


def create_token(account: Account, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token of ``account`` acting as ``user``; returns it with the raw token.

    The raw token is returned here and nowhere else: show it once, never store it. An
    account holds at most ``API_MAX_ACTIVE_TOKENS`` unrevoked tokens (each has its own rate
    limit, so the cap bounds what one account can ask of the service).
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Ponga un nombre al token."]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"Como mucho {NAME_MAX_LENGTH} caracteres."]})
    if not Membership.objects.filter(user=user, account=account).exists():
        raise ValidationError(f"{user} no es miembro de la cuenta {account.slug}.")
    cap = settings.API_MAX_ACTIVE_TOKENS
    raw = generate_raw_token()
    with transaction.atomic():
        # The account's row serialises token creation, so concurrent requests cannot pass
        # the cap together.
        Account.objects.select_for_update().values_list("pk", flat=True).get(pk=account.pk)
        if ApiToken.objects.filter(account=account, revoked_at__isnull=True).count() >= cap:
            raise ValidationError(
                {
                    "name": [
                        f"La cuenta ya tiene {count_of(cap, 'token activo', 'tokens activos')}, "
                        "el máximo: revoque alguno."
                    ]
                }
            )
        token = ApiToken.objects.create(
            account=account,
            name=name,
            prefix=raw[:DISPLAY_PREFIX_LENGTH],
            token_hash=hash_token(raw),
            created_by=user,
        )
    return token, raw


def revoke_token(token: ApiToken) -> ApiToken:
    """Revoke at once (the next request with it is a 401); revoking twice keeps the first time."""
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def revoke_tokens_of(user: User, account: Account | None = None) -> int:
    """Revoke every active token ``user`` created (in ``account``, or in every account);
    returns how many. Revoked tokens never come back: a member who rejoins makes new ones."""
    tokens = ApiToken.objects.filter(created_by=user, revoked_at__isnull=True)
    if account is not None:
        tokens = tokens.filter(account=account)
    return tokens.update(revoked_at=timezone.now())
