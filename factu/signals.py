"""Hooks other apps connect to, so that ``factu`` never imports them.

``signed_up`` is sent inside the sign-up transaction, after the user, the account (with
its owner membership) and the first taxpayer exist; a receiver that raises rolls the whole
sign-up back. The invoicing app can connect to it to create the taxpayer's first series.
``tokens_revocation_requested`` is how tenancy rules (a member removed, a password changed)
revoke the API tokens that the api app keeps.
"""

from django.dispatch import Signal

# Sent with: user, account, taxpayer.
signed_up = Signal()

# Sent with: taxpayer, mode (when a user asks to change a taxpayer's VERI*FACTU mode). The
# receiver returns what it did; factu never applies the legal rule itself. A refusal is a
# ValidationError on ``verifactu_mode``, raised before anything changed.
verifactu_mode_requested = Signal()

# Sent with: taxpayer (perhaps not saved yet), mode, before a form asks for that mode. Each
# receiver returns why the taxpayer cannot run in it (Spanish: NO VERI*FACTU needs a
# certificate that signs), or None.
verifactu_mode_checked = Signal()

# Sent with: user, account (None: every account). Asks that the API tokens ``user`` created
# (in ``account``) be revoked: a member removed, a password changed or reset with the box
# ticked. The api app, which owns tokens, listens; sent inside the caller's transaction.
tokens_revocation_requested = Signal()
