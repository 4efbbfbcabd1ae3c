"""Hooks other apps connect to, so that ``factu`` never imports them.

``signed_up`` is sent inside the sign-up transaction, after the user, the account (with
its owner membership) and the first taxpayer exist; a receiver that raises rolls the whole
sign-up back. The invoicing app can connect to it to create the taxpayer's first series.
"""

from django.dispatch import Signal

# Sent with: user, account, taxpayer.
signed_up = Signal()

# Sent with: taxpayer, mode (when a user asks to change a taxpayer's VERI*FACTU mode). The
# receiver returns what it did; factu never applies the legal rule itself.
verifactu_mode_requested = Signal()
