"""Concurrent issues in one series on PostgreSQL: consecutive numbers, none duplicated,
and one unbroken chain of billing records."""

from __future__ import annotations

import pytest

from clients.services import create_client
from invoicing.models import Invoice, InvoiceStatus, Series
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together
from verifactu.integrity import verify_all

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITERS = 12
PER_WRITER = 3

WRITER = (
    DJANGO_CHILD
    + """
import time
from django.db import connections
from django.utils import timezone
from clients.models import Client
from invoicing.models import Series
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice

series = Series.objects.select_related("taxpayer").get(pk="{series}")
client = Client.objects.get(pk="{client}")
"""
    + AT_THE_STARTING_LINE
    + """
for _ in range({n}):
    draft = create_draft(series.taxpayer, series=series, client=client,
                         issue_date=timezone.localdate(), actor=Actor(),
                         lines=[DraftLine("Servicio", 100, 10000, "general")])
    issue_invoice(draft, actor=Actor())
connections.close_all()
"""
)


def test_concurrent_issues_in_one_series_give_consecutive_numbers(
    transactional_db, taxpayer, tmp_path
):
    series = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="C")
    client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    go = tmp_path / "go"
    script = WRITER.format(series=series.pk, client=client.pk, go=go, n=PER_WRITER)
    run_together(go, [script] * WRITERS)

    invoices = Invoice.objects.filter(series=series)
    total = WRITERS * PER_WRITER
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, total + 1))
    assert invoices.values("number").distinct().count() == total
    assert set(invoices.values_list("status", flat=True)) == {InvoiceStatus.SENT}
    assert all(report.ok for report in verify_all())
