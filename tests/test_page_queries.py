"""The pages a gestoría lives on read a fixed number of SQL queries, whatever the data.

Each page is rendered at two sizes of the same account (more taxpayers, more invoices with
lines, payments, records in every AEAT state, rectificativas, expenses, a longer history),
and its query count must be the same at both: a query per row (an N+1) fails here. The
sizes are small on purpose; ``bench/bench_pages.py`` measures the same pages at a
gestoría's scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.services import create_client
from expenses.models import Expense
from factu.models import Account, Membership, Role, Taxpayer, User
from invoicing import views as invoice_views
from invoicing.models import Invoice, Series, SeriesCounter
from invoicing.payments import add_payment
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice, rectify_invoice
from verifactu.models import BillingRecord, RecordStatus

YEAR, QUARTER = 2026, 1
DAYS = [date(2026, 1, 12), date(2026, 2, 9), date(2026, 3, 2)]
LINES = (
    DraftLine("Consultoría", quantity=100, unit_price=100000, iva_type="general"),
    DraftLine("Libros", quantity=200, unit_price=2500, iva_type="superreducido"),
)
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
CLIENT_NIFS = ("A28045631", "B12345674", "B87654323")
PAGE_SIZE = 50
DESK_STATUSES = (
    RecordStatus.REJECTED,
    RecordStatus.ACCEPTED_WITH_ERRORS,
    RecordStatus.ERROR,
    RecordStatus.ACCEPTED,
)


def dni(n: int) -> str:
    number = 10_000_000 + n
    return f"{number}{DNI_LETTERS[number % 23]}"


@dataclass
class Book:
    """What :func:`fill` made: the busy taxpayer and the invoice whose history grows."""

    taxpayer: Taxpayer
    detailed: Invoice


def fill(account, owner, *, taxpayers: int, invoices: int, payments: int) -> Book:
    """``taxpayers`` taxpayers of ``account`` with ``invoices`` issued invoices each (two
    lines, three clients, payments, one rectificativa, records in every AEAT state and an
    expense a month); the busy one's first invoice has ``payments`` partial payments."""
    actor = Actor(user=owner)
    busy = None
    for t in range(taxpayers):
        taxpayer = Taxpayer.objects.create(account=account, nif=dni(t), name=f"Autónomo {t:03d}")
        series = Series.objects.create(account=account, taxpayer=taxpayer, code="A")
        rect = Series.objects.create(
            account=account, taxpayer=taxpayer, code="R", kind=Series.Kind.RECTIFYING
        )
        clients = [
            create_client(taxpayer, {"name": f"Cliente {nif}", "nif": nif, "country": "ES"})
            for nif in CLIENT_NIFS
        ]
        issued = []
        for i in range(invoices):
            draft = create_draft(
                taxpayer,
                series=series,
                client=clients[i % len(clients)],
                issue_date=DAYS[min(i * len(DAYS) // invoices, len(DAYS) - 1)],
                lines=list(LINES),
                irpf_bp=1500 if i % 2 else 0,
                actor=actor,
            )
            issued.append(issue_invoice(draft, actor=actor))
        fix = rectify_invoice(
            issued[-1],
            series=rect,
            rectification_type="S",
            lines=[LINES[0]],
            issue_date=DAYS[-1],
            actor=actor,
        )
        issue_invoice(fix, actor=actor)
        for n, invoice in enumerate(issued):
            status = DESK_STATUSES[n % len(DESK_STATUSES)]
            BillingRecord.objects.filter(fiscal_invoice_id=invoice.fiscal_invoice_id).update(
                status=status, aeat_error_code="" if status == RecordStatus.ACCEPTED else "1124"
            )
        Expense.objects.create(
            account=account,
            taxpayer=taxpayer,
            date=DAYS[0],
            description="Alquiler",
            amount_cents=121000,
            base_cents=100000,
            iva_rate_bp=2100,
            iva_cents=21000,
            supplier_name="Inmobiliaria SA",
            supplier_nif="A28045631",
        )
        if busy is None:
            busy = (taxpayer, issued[0])
    taxpayer, detailed = busy
    for k in range(payments):
        add_payment(detailed, day=DAYS[-1], amount_cents=1000 + k, actor=actor, today=DAYS[-1])
    Membership.objects.filter(account=account).update(current_taxpayer=taxpayer)
    return Book(taxpayer=taxpayer, detailed=detailed)


def count_queries(client, url: str, marker: str) -> int:
    """The page's queries, counted at its second request: what a process looks up once (the
    presence of a counts table, ``factu.triggers.count_table_present``) is not the page's."""
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    assert marker in response.content.decode(), (url, marker)
    return len(queries)


def page_urls(account, book: Book) -> dict[str, tuple[str, str]]:
    """Each page's URL and a marker of its content."""
    slug = account.slug
    invoices = reverse("invoice_list", args=[slug])
    return {
        "desk": (reverse("desk", args=[slug]), "Autónomo 000"),
        "invoice list": (invoices, "Autónomo 000"),
        "invoice list, filtered, page 2": (invoices + "?estado=sent&page=2", "Emitida"),
        "overview": (reverse("taxpayer_overview", args=[slug]), "IVA"),
        "303, 130 and 347": (
            reverse("tax_summary", args=[slug]) + f"?year={YEAR}&quarter={QUARTER}",
            "303",
        ),
        "invoice detail": (
            reverse("invoice_detail", args=[slug, book.detailed.pk]),
            book.detailed.number,
        ),
    }


def gestoria(slug: str) -> tuple[Account, User]:
    account = Account.objects.create(name=slug, slug=slug, kind=Account.Kind.GESTORIA)
    user = User.objects.create_user(f"{slug}@example.com", "correct horse battery")
    Membership.objects.create(user=user, account=account, role=Role.ACCOUNTANT)
    return account, user


def page_queries(client, slug: str, **size) -> dict[str, int]:
    """Each page's query count for an accountant of a new account of ``size``."""
    account, user = gestoria(slug)
    book = fill(account, user, **size)
    client.force_login(user)
    return {
        name: count_queries(client, url, marker)
        for name, (url, marker) in page_urls(account, book).items()
    }


SMALL = {"taxpayers": 2, "invoices": 3, "payments": 1}
LARGE = {"taxpayers": 6, "invoices": 12, "payments": 4}


@pytest.mark.django_db
def test_the_gestoria_pages_read_as_many_queries_with_more_taxpayers_and_invoices(
    client, monkeypatch
):
    monkeypatch.setattr(invoice_views, "PAGE_SIZE", 5)  # page 2 of the filter exists
    small = page_queries(client, "pequena", **SMALL)
    large = page_queries(client, "grande", **LARGE)
    grew = {page: (small[page], large[page]) for page in small if large[page] != small[page]}
    assert not grew, f"queries (small, large) of the pages that grew: {grew}"


@pytest.mark.django_db
def test_the_account_api_lists_every_series_in_as_many_queries_however_many(client):
    def listed(account, user, series: int) -> tuple[int, int]:
        from api.services import create_token

        for t in range(series):
            taxpayer = Taxpayer.objects.create(account=account, nif=dni(t), name=f"T{t}")
            for code in ("A", "B"):
                Series.objects.create(account=account, taxpayer=taxpayer, code=code)
                SeriesCounter.objects.create(
                    series=Series.objects.get(taxpayer=taxpayer, code=code), year=YEAR
                )
        _, raw = create_token(account, user, "tests")
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/series", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200
        return len(response.json()), len(queries)

    few = listed(*gestoria("pocas"), series=1)
    many = listed(*gestoria("muchas"), series=4)
    assert (few[0], many[0]) == (2, 8)
    assert many[1] == few[1]
