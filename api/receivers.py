"""What the api app does when tenancy (``factu.signals``) asks it to."""

from __future__ import annotations

from django.dispatch import receiver

from api.services import revoke_tokens_of
from factu.signals import tokens_revocation_requested


@receiver(tokens_revocation_requested, dispatch_uid="api.revoke_tokens_of")
def revoke_requested_tokens(sender, *, user, account=None, **kwargs) -> int:
    return revoke_tokens_of(user, account)
