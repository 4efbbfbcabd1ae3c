"""The open-redirect guard is one function (factu.redirects.safe_next): every page that
accepts ``next`` drops another site, a scheme, a protocol-relative or backslashed path, and
follows a path of its own section."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import RequestFactory
from django.urls import reverse

from clients.services import create_client
from expenses.services import create_expense
from factu.models import Taxpayer
from factu.redirects import safe_next

ATTACKS = [
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://testserver@evil.example/",
    "/c/x/\r\n//evil.example",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_the_guard_drops_every_attack(target):
    for request in (
        RequestFactory().post("/", {"next": target}),
        RequestFactory().get("/", {"next": target}),
    ):
        assert safe_next(request) == ""


def test_the_guard_follows_a_path_of_the_site_and_keeps_to_its_section():
    request = RequestFactory().get("/", {"next": "/c/acme/clientes/?page=2"})
    assert safe_next(request) == "/c/acme/clientes/?page=2"
    assert safe_next(request, within="/c/acme/clientes/") == "/c/acme/clientes/?page=2"
    assert safe_next(request, within="/c/acme/gastos/") == ""
    assert safe_next(RequestFactory().get("/")) == ""


@pytest.mark.parametrize(
    "target",
    ["/c/acme/clientes/../../otra/", "/c/acme/clientes/%2e%2e/gastos/", "/c/acme/clientes/./x"],
)
def test_the_guard_drops_a_path_that_climbs_out_of_its_section(target):
    request = RequestFactory().post("/", {"next": target})
    assert safe_next(request, within="/c/acme/clientes/") == ""


@pytest.fixture
def web(login, owner):
    return login(owner)


def _posts(account, taxpayer):
    """Each page that accepts ``next``: (url, valid data, where it goes without next, a
    path of its own to follow)."""
    slug = account.slug
    other = Taxpayer.objects.create(account=account, nif="B12345674", name="Bar Pepe SL")
    spent = create_expense(
        taxpayer, {"date": date(2026, 2, 3), "description": "Gasto", "amount_cents": 12100}
    )
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    return {
        "switch taxpayer": (
            reverse("switch_taxpayer", args=[slug]),
            lambda: {"taxpayer": str(other.pk)},
            reverse("dashboard", args=[slug]),
            reverse("client_list", args=[slug]),
        ),
        "series": (
            reverse("series_create", args=[slug]),
            lambda: (
                {"code": f"S{_posts.n}", "kind": "F1", "number_format": "{number}"}
                | {"padding": "3"}
            ),
            reverse("series_list", args=[slug]),
            reverse("invoice_list", args=[slug]) + "?estado=sent",
        ),
        "client": (
            reverse("client_edit", args=[slug, acme.pk]),
            lambda: {"name": "Acme SL", "nif": "A28045631", "country": "ES"},
            reverse("client_list", args=[slug]),
            reverse("client_list", args=[slug]) + "?page=1",
        ),
        "expense": (
            reverse("expense_edit", args=[slug, spent.pk]),
            lambda: {
                "date": "2026-02-03",
                "description": "Licencia",
                "amount": "121,00",
                "base": "100,00",
                "iva_rate": "2100",
                "is_deductible": "on",
                "deductible_percent": "100",
            },
            reverse("expense_list", args=[slug]),
            reverse("expense_list", args=[slug]) + "?q=x",
        ),
    }


_posts.n = 0


def test_every_page_that_redirects_to_next_refuses_the_attacks(web, account, taxpayer):
    for name, (url, data, fallback, own) in _posts(account, taxpayer).items():
        for target in [*ATTACKS, own]:
            _posts.n += 1
            response = web.post(url, data() | {"next": target})
            assert response.status_code == 302, (name, target, response.content[:300])
            expected = own if target == own else fallback
            assert response["Location"] == expected, (name, target)


def test_the_desk_offers_no_attack_as_the_way_back(web, account, taxpayer, register):
    fiscal_invoice = register().invoice
    url = reverse("desk_anular", args=[account.slug, fiscal_invoice.pk])
    for target in ATTACKS:
        assert web.get(url, {"next": target}).context["next"] == "", target
        response = web.post(
            reverse("desk_reintentar", args=[account.slug, fiscal_invoice.pk]), {"next": target}
        )
        assert response["Location"] == reverse("desk", args=[account.slug]), target
    own = reverse("desk", args=[account.slug]) + "?contribuyente=" + str(taxpayer.pk)
    assert web.get(url, {"next": own}).context["next"] == own
