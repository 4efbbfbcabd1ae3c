"""Numbers read as codes (years, basis points in data attributes) are never grouped.

``USE_THOUSAND_SEPARATOR`` with the Spanish locale prints an integer 2026 as "2 026": right for
amounts, wrong for a year or for a value a script parses.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from desk import overview
from factu.models import Job
from invoicing.services import DraftLine, issue_invoice
from transfers import services as transfers


def grouped(number: int) -> list[str]:
    head, tail = divmod(number, 1000)
    return [f"{head}{sep}{tail:03d}" for sep in ("\xa0", "\u202f", " ", ".", ",")]


def assert_plain(html: str, number: int) -> None:
    assert str(number) in html
    for form in grouped(number):
        assert form not in html, f"{form!r} printed grouped"


def test_grouped_helper_sees_what_the_locale_prints(settings):
    from django.template import Context, Template

    html = Template("{{ year }}").render(Context({"year": 2026}))
    assert html in grouped(2026)


@pytest.mark.parametrize("year", [2026, 2025])
def test_the_tax_summary_prints_years_without_separator(login, owner, account, taxpayer, year):
    client = login(owner)
    response = client.get(reverse("tax_summary", args=[account.slug]), {"year": year, "quarter": 2})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<title>Impuestos 2T {year}" in html
    assert f"Impuestos del 2T {year}" in html
    assert f"Operaciones con terceros de {year}" in html
    assert f'<option value="{year}" selected>{year}</option>' in html
    for shown in range(year - 3, year + 2):
        assert_plain(html, shown)


def test_the_overview_and_dashboard_print_the_quarters_year_without_separator(
    login, owner, account, taxpayer
):
    client = login(owner)
    year = overview.build(taxpayer, timezone.localdate()).quarter_year
    for params in ({}, {"fragment": "1"}):
        response = client.get(reverse("taxpayer_overview", args=[account.slug]), params)
        assert response.status_code == 200
        html = response.content.decode()
        assert "T " + str(year) in html
        assert_plain(html, year)
    dashboard = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    for form in grouped(year):
        assert form not in dashboard


def test_export_jobs_print_their_year_without_separator(login, owner, account, taxpayer):
    job = transfers.start_export(account, taxpayer, owner, 2026, 3)
    assert job.kind == Job.Kind.EXPORT_ZIP
    client = login(owner)
    for url in (
        reverse("transfers_home", args=[account.slug]),
        reverse("transfers_export", args=[account.slug]),
        reverse("transfers_job", args=[account.slug, job.pk]),
    ):
        html = client.get(url).content.decode()
        assert "3T 2026" in html, url
        assert_plain(html, 2026)


@pytest.fixture
def issued_with_irpf(draft, actor):
    """10.000 € of consultancy issued today with 15 % IRPF (today: the overview's window)."""
    ten_thousand = DraftLine("Consultoría", quantity=100, unit_price=1000000, iva_type="general")
    invoice = draft(lines=[ten_thousand], issue_date=timezone.localdate(), irpf_bp=1500)
    return issue_invoice(invoice, actor=actor)


def test_the_rectify_forms_irpf_is_posted_back_unlocalized_and_counts_in_the_live_total(
    login, owner, account, issued_with_irpf, rect_series
):
    client = login(owner)
    rectify = reverse("invoice_rectify", args=[account.slug, issued_with_irpf.pk])
    html = client.get(rectify).content.decode()
    posted = re.search(r'<input type="hidden" name="irpf_rate" value="([^"]*)">', html)
    assert posted is not None and posted.group(1) == "15.00"
    totals = client.post(
        reverse("invoice_totals_for", args=[account.slug, issued_with_irpf.pk]),
        {
            "series": str(rect_series.pk),
            "irpf_rate": posted.group(1),
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-description": "Consultoría",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "10000",
            "lines-0-iva_type": "general",
        },
    ).content.decode()
    assert "Retención IRPF 15 %" in totals and "-1.500,00 €" in totals
    assert re.search(r'data-total="total">10\.600,00 €<', totals)


def test_the_overview_tables_cents_are_plain_integers(
    login, owner, account, taxpayer, issued_with_irpf
):
    client = login(owner)
    html = client.get(reverse("taxpayer_overview", args=[account.slug])).content.decode()
    assert 'data-cents="1000000"' in html
    assert not re.search(r'data-cents="[^"]*[^0-9"-]', html)
