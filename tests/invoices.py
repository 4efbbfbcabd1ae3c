"""Fixtures for tests that issue invoices: the owner as actor, the client Acme, a draft factory.

tests/conftest.py offers the fixtures to every test module; a module may define its own instead.
"""

from __future__ import annotations

from datetime import date

import pytest

from clients.services import create_client, update_client
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice, rectify_invoice

ISSUE = date(2026, 3, 13)
# Addresses complete enough for Facturae's AddressInSpain (postal code and town).
MADRID = {
    "address": "Calle Mayor 1",
    "postal_code": "28013",
    "city": "Madrid",
    "province": "Madrid",
}
BILBAO = {"address": "Gran Vía 7", "postal_code": "48001", "city": "Bilbao", "province": "Bizkaia"}
CONSULTING = DraftLine("Consultoría", quantity=100, unit_price=100000, iva_type="general")
BOOKS = DraftLine("Libros", quantity=300, unit_price=2550, iva_type="superreducido")


@pytest.fixture
def actor(owner):
    return Actor(user=owner)


@pytest.fixture
def acme(taxpayer):
    return create_client(
        taxpayer,
        {"name": "Acme SL", "nif": "A28045631", "country": "ES", "email": "billing@acme.es"},
    )


@pytest.fixture
def draft(taxpayer, series, acme, actor):
    """A factory of drafts in series A for Acme: one line of 1.000 € consultancy by default."""

    def _draft(lines=(CONSULTING,), issue_date=ISSUE, client=acme, **kwargs):
        return create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=issue_date,
            lines=list(lines),
            actor=actor,
            **kwargs,
        )

    return _draft


@pytest.fixture
def issued(draft, actor):
    """The seed example issued: 1.000 € + 21 % IVA - 15 % IRPF."""
    return issue_invoice(draft(irpf_bp=1500), actor=actor)


def issued_rectificativa(
    original,
    series,
    actor,
    rectification_type: str,
    line: DraftLine | list[DraftLine],
    invoice_type: str = "R1",
):
    draft = rectify_invoice(
        original,
        series=series,
        rectification_type=rectification_type,
        lines=line if isinstance(line, list) else [line],
        issue_date=date(2026, 3, 20),
        invoice_type=invoice_type,
        actor=actor,
    )
    return issue_invoice(draft, actor=actor)


def retailer(taxpayer):
    """A Spanish client under recargo de equivalencia."""
    return create_client(
        taxpayer,
        {
            "name": "Tienda Paz",
            "nif": "B12345674",
            "country": "ES",
            "recargo_equivalencia": True,
            **BILBAO,
        },
    )


def give_addresses(taxpayer, *clients) -> None:
    """The taxpayer in Madrid and each client in Bilbao."""
    for field, value in MADRID.items():
        setattr(taxpayer, field, value)
    taxpayer.save()
    for client in clients:
        update_client(client, BILBAO)


def foreign_client(taxpayer, country, id_type, foreign_id):
    """Acme in ``country``, identified by ``foreign_id`` of AEAT's ``id_type`` (02 NIF-IVA,
    03 passport, 04 official document of the country)."""
    return create_client(
        taxpayer,
        {"name": "Acme", "country": country, "id_type": id_type, "foreign_id": foreign_id},
    )


def exempt_sale_abroad(taxpayer, draft, actor, country, id_type, foreign_id, cause):
    """An issued sale of 3.000 €, exempt by ``cause``, to Acme in ``country``."""
    client = foreign_client(taxpayer, country, id_type, foreign_id)
    line = DraftLine("Maquinaria", 100, 300000, "exento", cause=cause)
    return issue_invoice(draft([line], client=client), actor=actor)


def issued_substitution(draft, actor, rect_series):
    """An issued invoice of 1.000 € and its rectificativa by substitution for 900 €."""
    original = issue_invoice(draft(), actor=actor)
    cheaper = DraftLine("Consultoría", quantity=100, unit_price=90000, iva_type="general")
    return original, issued_rectificativa(original, rect_series, actor, "S", cheaper)


REFUND = DraftLine("Descuento", quantity=-100, unit_price=10000, iva_type="general")


def issued_refund(draft, actor, rect_series, **kwargs):
    """An issued invoice of 1.000 € (``kwargs`` for its draft) and its rectificativa by
    differences crediting 100 € of base."""
    original = issue_invoice(draft(**kwargs), actor=actor)
    return original, issued_rectificativa(original, rect_series, actor, "I", REFUND)


def exempt_beside_taxed(draft, actor):
    """An issued invoice of 1.000 € at 21 % and 500 € exempt (E1), with 7 % IRPF."""
    training = DraftLine("Formación", 100, 50000, "exento", cause="E1")
    return issue_invoice(draft([CONSULTING, training], irpf_bp=700), actor=actor)
