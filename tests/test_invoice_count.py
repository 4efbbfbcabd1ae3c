"""The unfiltered invoice list's exact ``total``, kept by database triggers on PostgreSQL
(invoicing migration 0003) so that 1,000,000 invoices are not counted on every page."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, transaction

from invoicing.counts import account_invoice_count
from invoicing.models import Invoice, Series

pytestmark = pytest.mark.postgres


@pytest.fixture
def series(taxpayer):
    return Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="C")


def invoices(series, first: int, count: int) -> list[Invoice]:
    return Invoice.objects.bulk_create(
        Invoice(
            account=series.account,
            taxpayer=series.taxpayer,
            series=series,
            year=2026,
            sequence=n,
            number=f"C-{n:04d}",
            status="sent",  # numbered: only an issued invoice has its number
            issue_date=date(2026, 3, 1 + n % 28),
        )
        for n in range(first, first + count)
    )


def test_inserts_and_deletes_keep_the_count_of_each_account_exact(series, other_account):
    from factu.models import Taxpayer

    assert account_invoice_count(series.account_id) == 0
    invoices(series, 1, 5)
    theirs = Taxpayer.objects.get(account=other_account)
    invoices(Series.objects.create(account=other_account, taxpayer=theirs, code="Z"), 1, 2)
    assert account_invoice_count(series.account_id) == 5
    assert account_invoice_count(other_account.pk) == 2

    gone = Invoice.objects.filter(account=series.account).order_by("sequence")[0]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM invoicing_invoice WHERE id = %s", [gone.pk])
    assert (
        account_invoice_count(series.account_id)
        == 4
        == Invoice.objects.filter(account=series.account).count()
    )


def test_a_rolled_back_insert_is_not_counted(series):
    invoices(series, 1, 3)
    with pytest.raises(RuntimeError), transaction.atomic():
        invoices(series, 10, 4)
        assert account_invoice_count(series.account_id) == 7
        raise RuntimeError("roll back")
    assert account_invoice_count(series.account_id) == 3


def test_the_unfiltered_list_answers_the_kept_count_and_filters_count_rows(api_client, series):
    invoices(series, 1, 60)
    page = api_client.get("/api/invoices?page=2").json()
    assert page["total"] == 60 and len(page["items"]) == 10
    first = api_client.get("/api/invoices").json()["items"]
    assert [i["issueDate"] for i in first] == sorted((i["issueDate"] for i in first), reverse=True)
    with connection.cursor() as cursor:  # a count the triggers did not make shows through
        cursor.execute(
            "UPDATE invoicing_invoicecount SET invoices = 61 WHERE account_id = %s",
            [series.account_id],
        )
    assert api_client.get("/api/invoices").json()["total"] == 61
    assert (
        api_client.get("/api/invoices?dateFrom=2026-03-01&dateTo=2026-03-01").json()["total"] == 2
    )


def test_an_invoice_moved_to_another_account_is_counted_there(series, other_account):
    invoices(series, 1, 3)
    Invoice.objects.filter(account=series.account, sequence__lte=2).update(account=other_account)
    Invoice.objects.filter(account=series.account).update(status="sent")
    assert account_invoice_count(series.account_id) == 1
    assert account_invoice_count(other_account.pk) == 2
