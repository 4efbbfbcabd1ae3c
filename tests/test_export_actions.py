"""NO VERI*FACTU exports are explicit actions: every export is logged (08 for billing
records, 09 for the event log), and only a POST exports — with CSRF on the pages — so a GET
(a link, a prefetch, an <img> on another site) never writes the taxpayer's event log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_no_verifactu import (  # noqa: F401 - fixtures (_signer: autouse)
    _signer,
    go_no_verifactu,
    issued,
    kept,
    tipos,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_verifactu_record(taxpayer, register):
    go_no_verifactu(taxpayer)
    return register(invoice_number="N-1").record


def test_a_get_of_a_no_verifactu_invoice_xml_logs_nothing_and_the_post_needs_csrf(
    taxpayer,
    account,
    owner,
    issued,  # noqa: F811
):
    go_no_verifactu(taxpayer)
    invoice = issued()
    chain = invoice.fiscal_invoice.latest_record.chain
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    url = reverse("invoice_xml", args=[account.slug, invoice.pk])
    page = strict.get(url)
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    assert strict.head(url).status_code == 200
    assert strict.post(url).status_code == 403  # no token: another site cannot export
    assert tipos(chain) == ["01"]
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    exported = strict.post(url, {"csrfmiddlewaretoken": token})
    assert exported.status_code == 200 and b"RegistroAlta" in exported.content
    assert tipos(chain) == ["01", "08"]


def test_the_invoice_page_offers_the_xml_as_a_form(
    login,
    taxpayer,
    account,
    owner,
    issued,  # noqa: F811
):
    invoice = issued()
    page = login(owner).get(reverse("invoice_detail", args=[account.slug, invoice.pk]))
    url = reverse("invoice_xml", args=[account.slug, invoice.pk])
    html = page.content.decode()
    assert f'action="{url}"' in html and f'href="{url}"' not in html


def test_a_verifactu_record_keeps_its_get_as_seed_003_says(api_client, register):
    record = register(invoice_number="V-1").record
    response = api_client.get(f"/api/v1/invoices/{record.fiscal_invoice_id}/xml")
    assert response.status_code == 200 and b"RegistroAlta" in response.content


def test_v1_get_of_a_no_verifactu_xml_is_a_405_and_post_exports(api_client, no_verifactu_record):
    url = f"/api/v1/invoices/{no_verifactu_record.fiscal_invoice_id}/xml"
    refused = api_client.get(url)
    assert refused.status_code == 405
    assert refused.json()["message"].endswith(f"export it with POST {url}.")
    assert "POST" in refused["Allow"]
    assert tipos(no_verifactu_record.chain) == ["01"]
    assert api_client.post(url).status_code == 200
    assert tipos(no_verifactu_record.chain) == ["01", "08"]


def test_a_viewers_token_may_export(client, account, viewer, kept):  # noqa: F811
    from api.services import create_token

    raw = create_token(account, viewer, "lectura")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    url = f"/api/v1/invoices/{kept[0].fiscal_invoice_id}/xml"
    assert client.post(url, **auth).status_code == 200
    nif = kept[0].chain.issuer_nif
    assert client.post(f"/api/v1/taxpayers/{nif}/events.xml", **auth).status_code == 200
    assert tipos(kept[0].chain) == ["01", "08", "09"]
    assert client.post("/api/v1/invoices", "{}", "application/json", **auth).status_code == 403


def test_the_settings_export_of_the_event_log_is_a_post(
    login,
    account,
    owner,
    taxpayer,
    kept,  # noqa: F811
):
    url = reverse("event_log_download", args=[account.slug, taxpayer.pk])
    client = login(owner)
    assert "Exportar y descargar" in client.get(url).content.decode()
    assert tipos(kept[0].chain) == ["01"]
    assert client.post(url).status_code == 200
    assert tipos(kept[0].chain) == ["01", "09"]


def test_the_gestoria_zip_is_exported_by_a_post_and_its_pages_log_nothing(
    login, account, owner, taxpayer, no_verifactu_record, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = login(owner)
    assert client.get(reverse("transfers_export", args=[account.slug])).status_code == 200
    assert client.get(reverse("transfers_home", args=[account.slug])).status_code == 200
    assert tipos(no_verifactu_record.chain) == ["01"]


def test_the_schema_documents_the_export_posts():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "post" in paths["/api/v1/invoices/{invoice_id}/xml"]
    assert "405" in paths["/api/v1/invoices/{invoice_id}/xml"]["get"]["responses"]
    events_xml = paths["/api/v1/taxpayers/{nif}/events.xml"]
    assert set(events_xml) == {"post"}
