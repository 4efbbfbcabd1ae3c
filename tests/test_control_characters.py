"""Control characters are one rule (factu.text.has_control_characters): tab, line feed and
carriage return lay text out; any other control character is refused, by the pages' forms
(in Spanish) and by the account API's serializers alike."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from api.account.serializers import ClientInputSerializer
from clients.forms import ClientForm
from clients.models import Client
from expenses.forms import ExpenseForm
from factu.text import CONTROL_CHARACTERS_MESSAGE_ES, has_control_characters
from invoicing.forms import InvoiceFilterForm, LineForm

REFUSED = ["\x00", "\x08", "\r", "\x1b", "\x7f", "\x85", "\x9f"]
LAYOUT = ["\t", "\n", "\r\n"]


@pytest.mark.parametrize("char", REFUSED)
def test_control_characters_are_refused(char):
    assert has_control_characters(f"Acme{char}SL")


@pytest.mark.parametrize("char", [*LAYOUT, "ñ", "€", "\u00a0"])
def test_layout_and_letters_are_text(char):
    assert not has_control_characters(f"Acme{char}SL")


@pytest.mark.parametrize("char", REFUSED)
def test_the_account_api_and_the_forms_refuse_the_same_characters(taxpayer, account, char):
    name = f"Acme{char}SL"
    api = ClientInputSerializer(data={"name": name, "nif": "A28045631", "country": "ES"})
    assert not api.is_valid()
    assert "Control characters are not allowed." in [str(e) for e in api.errors["name"]]
    form = ClientForm(
        {"name": name, "nif": "A28045631", "country": "ES"}, taxpayer=taxpayer, read_only=False
    )
    assert not form.is_valid()
    assert CONTROL_CHARACTERS_MESSAGE_ES in form.errors["name"]
    line = LineForm(
        {"description": name, "quantity": "1", "unit_price": "10", "iva_type": "general"}
    )
    assert not line.is_valid() and CONTROL_CHARACTERS_MESSAGE_ES in line.errors["description"]
    assert not InvoiceFilterForm({"q": name}).is_valid()
    expense = ExpenseForm({"description": name}, account=account)
    assert not expense.is_valid()
    assert CONTROL_CHARACTERS_MESSAGE_ES in expense.errors["description"]


@pytest.mark.parametrize("text", ["Calle Mayor 1\r\n2º izda.", "Calle\tMayor\n1"])
def test_layout_passes_both(taxpayer, text):
    data = {"name": "Acme SL", "nif": "A28045631", "country": "ES", "address": text}
    assert ClientInputSerializer(data=data).is_valid()
    form = ClientForm(data, taxpayer=taxpayer, read_only=False)
    assert "address" not in form.errors


def test_the_page_and_the_api_refuse_a_name_with_escape(
    login, owner, account, taxpayer, api_client
):
    data = {"name": "Acme\x1bSL", "nif": "A28045631", "country": "ES"}
    page = login(owner).post(reverse("client_create", args=[account.slug]), data)
    assert page.status_code in (200, 400)
    assert CONTROL_CHARACTERS_MESSAGE_ES in page.content.decode()
    api = api_client.post(reverse("api-clients"), json.dumps(data), content_type="application/json")
    assert api.status_code == 400
    assert not Client.objects.filter(taxpayer=taxpayer).exists()
