"""Numbers only at issue: a draft's number is provisional and reserves nothing; the series'
number is taken when the invoice is issued, under the counter's lock, so discarded drafts
leave no gap; ``/api/series``' ``nextNumber`` is what the next issued invoice takes; the
migration makes existing drafts provisional without rewinding a counter or renumbering an
issued invoice."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.services import create_client
from invoicing.models import Invoice, InvoiceStatus, Series, SeriesCounter
from invoicing.services import (
    Actor,
    cancel_invoice,
    create_draft,
    issue_invoice,
    rectify_invoice,
    update_draft,
)
from tests.invoices import CONSULTING
from tests.payloads import seed_000_invoice
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together
from verifactu.integrity import verify_all

TODAY = timezone.localdate()


def counter(series: Series, year: int = TODAY.year) -> int:
    found = SeriesCounter.objects.filter(series=series, year=year).first()
    return found.next_number if found else 1


def test_a_draft_has_a_provisional_number_and_takes_nothing_from_the_counter(draft, series):
    first, second = draft(), draft()
    for invoice in (first, second):
        assert invoice.number.startswith("Borrador ") and invoice.sequence is None
        assert invoice.is_provisional
    assert first.number != second.number
    assert not SeriesCounter.objects.filter(series=series).exists()


def test_discarding_drafts_leaves_no_gap(draft, actor, series):
    kept, dropped, also_dropped = draft(), draft(), draft()
    cancel_invoice(dropped, actor=actor)
    cancel_invoice(also_dropped, actor=actor, reason="Repetido")
    assert issue_invoice(kept, actor=actor).number == "2026-A-001"
    assert issue_invoice(draft(), actor=actor).number == "2026-A-002"
    dropped.refresh_from_db()
    assert (dropped.status, dropped.sequence, dropped.status_label) == (
        InvoiceStatus.CANCELLED,
        None,
        "Borrador eliminado",
    )
    assert [e.action for e in dropped.events.all()] == ["created", "discarded"]
    assert counter(series, 2026) == 3


def test_a_refused_issue_gives_its_number_back(draft, actor, series):
    issue_invoice(draft(issue_date=date(2026, 3, 10)), actor=actor)
    earlier = draft(issue_date=date(2026, 3, 5))
    with pytest.raises(ValidationError):
        issue_invoice(earlier, actor=actor)
    earlier.refresh_from_db()
    assert earlier.is_draft and earlier.number.startswith("Borrador ")
    assert counter(series, 2026) == 2
    assert issue_invoice(draft(issue_date=date(2026, 3, 11)), actor=actor).number == "2026-A-002"


def test_a_draft_may_change_year_and_is_numbered_in_the_year_it_is_issued(draft, actor, acme):
    invoice = draft(issue_date=date(2025, 12, 30))
    update_draft(invoice, client=acme, issue_date=date(2026, 1, 5), lines=[CONSULTING], actor=actor)
    issued = issue_invoice(invoice, actor=actor)
    assert (issued.number, issued.year, issued.sequence) == ("2026-A-001", 2026, 1)


def test_a_rectificativa_draft_is_provisional_too(issued, actor, rect_series):
    draft = rectify_invoice(
        issued,
        series=rect_series,
        rectification_type="S",
        lines=[CONSULTING],
        issue_date=issued.issue_date,
        actor=actor,
    )
    assert draft.is_provisional and not SeriesCounter.objects.filter(series=rect_series).exists()
    assert issue_invoice(draft, actor=actor).number == "2026-R-001"


def test_issued_numbers_are_unique_per_series_and_year_and_drafts_are_never_numbered(
    draft, actor, series
):
    issued = issue_invoice(draft(), actor=actor)
    twin = draft()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=twin.pk).update(sequence=issued.sequence, number=issued.number)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=twin.pk).update(issued_at=timezone.now(), status="sent")
    same_text = draft()
    Invoice.objects.filter(pk=same_text.pk).update(number=twin.number)  # drafts are free


# -- The account API ------------------------------------------------------------------------


def _post(api_client, path, payload):
    return api_client.post(path, payload, content_type="application/json")


def _patch_status(api_client, invoice_id, status):
    return api_client.patch(
        f"/api/invoices/{invoice_id}/status", {"status": status}, content_type="application/json"
    )


def _next_number(api_client, series) -> str:
    [found] = [s for s in api_client.get("/api/series").json() if s["id"] == str(series.pk)]
    return found["nextNumber"]


def test_api_draft_cancelled_is_gone_from_the_numbering_and_reads_as_cancelled(
    api_client, series, acme
):
    today = TODAY.isoformat()
    created = _post(
        api_client, "/api/invoices", seed_000_invoice(series.pk, acme.pk, issueDate=today)
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["invoiceNumber"].startswith("Borrador ")
    assert _next_number(api_client, series) == f"{TODAY.year}-A-001"

    cancelled = _patch_status(api_client, body["id"], "cancelled")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json() == {
        "id": body["id"],
        "invoiceNumber": body["invoiceNumber"],
        "status": "cancelled",
        "paidAt": None,
    }
    detail = api_client.get(f"/api/invoices/{body['id']}")
    assert detail.status_code == 200
    assert detail.json()["invoice"]["status"] == "cancelled"
    assert detail.json()["invoice"]["invoiceNumber"] == body["invoiceNumber"]
    listed = api_client.get("/api/invoices", {"status": "cancelled"}).json()["items"]
    assert [i["id"] for i in listed] == [body["id"]]
    assert _patch_status(api_client, body["id"], "sent").status_code == 409

    second = _post(
        api_client, "/api/invoices", seed_000_invoice(series.pk, acme.pk, issueDate=today)
    )
    sent = _patch_status(api_client, second.json()["id"], "sent")
    assert sent.status_code == 200, sent.content
    assert sent.json()["invoiceNumber"] == f"{TODAY.year}-A-001"
    assert _next_number(api_client, series) == f"{TODAY.year}-A-002"


def test_next_number_is_what_the_next_issued_invoice_takes(api_client, series, draft, actor):
    assert _next_number(api_client, series) == f"{TODAY.year}-A-001"
    drafts = [draft(issue_date=TODAY) for _ in range(3)]
    assert _next_number(api_client, series) == f"{TODAY.year}-A-001"
    cancel_invoice(drafts[0], actor=actor)
    expected = _next_number(api_client, series)
    assert issue_invoice(drafts[2], actor=actor).number == expected
    assert _next_number(api_client, series) == f"{TODAY.year}-A-002"


def test_next_number_reads_every_counter_in_one_query(api_client, taxpayer, series):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get("/api/series").status_code == 200
        return len(captured)

    queries()  # the token's first use is recorded once
    one = queries()
    for code in ("B", "C", "D"):
        other = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code=code)
        SeriesCounter.objects.create(series=other, year=TODAY.year, next_number=7)
    assert queries() == one
    numbers = {s["code"]: s["nextNumber"] for s in api_client.get("/api/series").json()}
    assert numbers == {
        "A": f"{TODAY.year}-A-001",
        "B": f"{TODAY.year}-B-007",
        "C": f"{TODAY.year}-C-007",
        "D": f"{TODAY.year}-D-007",
    }


# -- PostgreSQL: issuers at once ------------------------------------------------------------

ISSUER = (
    DJANGO_CHILD
    + """
from django.db import connections
from invoicing.models import Invoice
from invoicing.services import Actor, cancel_invoice, issue_invoice

mine = list(Invoice.objects.filter(pk__in={ids}))
drop = set({drop})
"""
    + AT_THE_STARTING_LINE
    + """
for invoice in mine:
    if str(invoice.pk) in drop:
        cancel_invoice(invoice, actor=Actor())
    else:
        issue_invoice(invoice, actor=Actor())
connections.close_all()
"""
)


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_issuers_of_existing_drafts_never_share_a_number_nor_leave_a_gap(
    transactional_db, taxpayer, tmp_path
):
    series = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="P")
    client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    writers, per_writer = 8, 4
    drafts = [
        create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=TODAY,
            lines=[CONSULTING],
            actor=Actor(),
        )
        for _ in range(writers * per_writer)
    ]
    scripts, dropped = [], set()
    go = tmp_path / "go"
    for w in range(writers):
        mine = drafts[w * per_writer : (w + 1) * per_writer]
        drop = {str(mine[0].pk)} if w % 2 else set()  # half the writers discard one draft
        dropped |= drop
        ids = [str(d.pk) for d in mine]
        scripts.append(ISSUER.format(ids=ids, drop=sorted(drop), go=go))
    run_together(go, scripts)

    issued = Invoice.objects.filter(series=series, issued_at__isnull=False)
    total = writers * per_writer - len(dropped)
    assert sorted(issued.values_list("sequence", flat=True)) == list(range(1, total + 1))
    assert issued.values("number").distinct().count() == total
    assert counter(series) == total + 1
    assert set(Invoice.objects.filter(pk__in=dropped).values_list("status", "sequence")) == {
        (InvoiceStatus.CANCELLED, None)
    }
    assert all(report.ok for report in verify_all())


# -- The migration --------------------------------------------------------------------------

BEFORE = [("invoicing", "0009_invoice_count_model")]
AFTER = [("invoicing", "0010_numbers_at_issue")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_drafts_provisional_and_keeps_every_number_taken(taxpayer, owner, acme):
    ids = {name: uuid.uuid4() for name in ("issued", "draft", "burnt", "later")}
    try:
        old = _migrate(BEFORE)
        series = old.get_model("invoicing", "Series").objects.create(
            account_id=taxpayer.account_id, taxpayer_id=taxpayer.pk, code="M"
        )
        old.get_model("invoicing", "SeriesCounter").objects.create(
            series=series, year=2026, next_number=5
        )
        invoice = old.get_model("invoicing", "Invoice")
        common = {
            "account_id": taxpayer.account_id,
            "taxpayer_id": taxpayer.pk,
            "series": series,
            "year": 2026,
            "client_id": acme.pk,
            "issue_date": date(2026, 3, 1),
        }
        invoice.objects.create(
            id=ids["issued"],
            sequence=1,
            number="2026-M-001",
            status="sent",
            issued_at=timezone.now(),
            search_text="2026-m-001 acme sl",
            **common,
        )
        invoice.objects.create(
            id=ids["draft"],
            sequence=2,
            number="2026-M-002",
            status="draft",
            search_text="2026-m-002 acme sl",
            **common,
        )
        invoice.objects.create(
            id=ids["burnt"], sequence=3, number="2026-M-003", status="cancelled", **common
        )
        invoice.objects.create(
            id=ids["later"],
            sequence=4,
            number="2026-M-004",
            status="sent",
            issued_at=timezone.now(),
            **common,
        )
        _migrate(AFTER)
    finally:
        _to_latest()

    rows = {k: Invoice.objects.get(pk=v) for k, v in ids.items()}
    provisional = "Borrador " + ids["draft"].hex[-8:].upper()
    assert (rows["draft"].number, rows["draft"].sequence) == (provisional, None)
    assert rows["draft"].search_text == provisional.lower() + " acme sl"
    assert (rows["issued"].number, rows["issued"].sequence) == ("2026-M-001", 1)
    assert (rows["later"].number, rows["later"].sequence) == ("2026-M-004", 4)
    assert rows["burnt"].number == "2026-M-003" and rows["burnt"].status_label == (
        "Anulada antes de emitir"
    )
    series = Series.objects.get(code="M")
    assert counter(series, 2026) == 5  # the draft's old number 2 is never handed out again
    released = rows["draft"].events.get(action="number_released")  # the gap is explained
    assert released.detail == {"number": "2026-M-002"}
    assert not rows["issued"].events.filter(action="number_released").exists()
