"""Fixtures for tests of quotes: a draft quote factory for Acme (tests/invoices.py's)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from invoicing import taxes
from invoicing.services import DraftLine
from quotes import services

DAY = date(2026, 3, 13)
LINES = [
    DraftLine("Diseño de la web", quantity=100, unit_price=120000, iva_type=taxes.GENERAL),
    DraftLine("Hosting anual", quantity=250, unit_price=4990, iva_type=taxes.REDUCIDO),
    DraftLine("Formación", quantity=100, unit_price=30000, iva_type=taxes.EXENTO, cause="E1"),
]


@pytest.fixture
def make_quote(taxpayer, acme, actor):
    """A factory of draft quotes of Acme, valid 30 days, with three lines and 15 % IRPF."""

    def _make(issue_date=DAY, valid_until=None, lines=LINES, **kwargs):
        kwargs.setdefault("irpf_bp", 1500)
        return services.create_quote(
            taxpayer,
            client=kwargs.pop("client", acme),
            issue_date=issue_date,
            valid_until=valid_until or issue_date + timedelta(days=30),
            lines=list(lines),
            actor=actor,
            **kwargs,
        )

    return _make
