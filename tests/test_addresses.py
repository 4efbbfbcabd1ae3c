"""A postal address is written one way (factu.addresses): the PDFs (a draft's lines, an
issued invoice's frozen line, the v1 document of an invoice registered through the API) and
the dashboard show the same parts in the same order."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from clients.services import create_client
from factu.addresses import address_line, address_lines
from invoicing.documents import document_for
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice

LINE = "Calle Mayor 1, 2º, 28013 Madrid, Madrid"


@pytest.fixture
def located(taxpayer):
    taxpayer.address = "Calle Mayor 1, 2º"
    taxpayer.postal_code = "28013"
    taxpayer.city = "Madrid"
    taxpayer.province = "Madrid"
    taxpayer.save()
    return taxpayer


def test_the_parts_in_order_on_lines_or_on_one_line(located):
    assert address_lines(located) == ("Calle Mayor 1, 2º", "28013 Madrid", "Madrid")
    assert address_line(located) == located.address_line == LINE


def test_a_draft_an_issued_invoice_and_its_client_agree(located, series, owner):
    acme = create_client(
        located,
        {
            "name": "Acme SL",
            "nif": "A28045631",
            "country": "ES",
            "address": "Avda. Sol 5",
            "postal_code": "41001",
            "city": "Sevilla",
        },
    )
    actor = Actor(user=owner)
    draft = create_draft(
        located,
        series=series,
        client=acme,
        issue_date=timezone.localdate(),
        lines=[DraftLine("Servicio", quantity=100, unit_price=10000, iva_type="general")],
        actor=actor,
    )
    shown = document_for(draft)
    assert shown.issuer.address_lines == address_lines(located)
    assert shown.client.address_lines == address_lines(acme) == ("Avda. Sol 5", "41001 Sevilla")
    issued = issue_invoice(draft, actor=actor)
    assert issued.issuer_address == LINE
    assert issued.client_address == acme.address_line == "Avda. Sol 5, 41001 Sevilla"
    assert document_for(issued).issuer.address_lines == (LINE,)


def test_the_v1_document_and_the_dashboard_write_it_the_same(
    located, register, login, owner, account
):
    registered = register().invoice
    assert document_for(registered).issuer.address_lines == (LINE,)
    page = login(owner).get(reverse("dashboard", args=[account.slug])).content.decode()
    assert f"<dd>{LINE}</dd>" in page
