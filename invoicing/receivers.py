from __future__ import annotations

from invoicing.models import Series


def create_first_series(sender=None, *, taxpayer, **kwargs) -> None:
    """A new taxpayer from sign-up can invoice at once: series A (2026-A-001, …)."""
    Series.objects.get_or_create(account=taxpayer.account, taxpayer=taxpayer, code="A")
