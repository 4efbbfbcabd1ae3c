"""The accountant's worklist: what the AEAT said about the account's records, read for the
desk. The summary per taxpayer, the inbox of records that need the accountant (with the fixes
of :mod:`desk.services` that apply), the records the bulk re-submission may send again, and
the chains that do not send.

The summary and the inbox read the *latest* record of each fiscal invoice (the highest chain
position among its records: all of them sit in one chain) with a handful of aggregate
queries, however many invoices there are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Exists, IntegerField, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from desk.services import ANULAR, CORREGIR, REINTENTAR, SUBSANAR, explain, factu_invoice_of
from factu.models import Account, Taxpayer
from invoicing.views import AEAT_TONES
from verifactu import corrections, counts, faults
from verifactu.models import BillingRecord, Chain, FiscalInvoice, RecordStatus

logger = logging.getLogger(__name__)

NEEDS_ACTION = (
    RecordStatus.REJECTED,
    RecordStatus.ERROR,
    RecordStatus.ACCEPTED_WITH_ERRORS,
)
UNSENT = (RecordStatus.QUEUED, RecordStatus.SENDING)
NOT_ACCEPTED = tuple(status for status in RecordStatus if status != RecordStatus.ACCEPTED)
# What "send it to the AEAT again" applies to: a failed submission is resent as it is
# (reintentar), a rejected record is followed by a subsanación (subsanar).
RESUBMITTABLE = (RecordStatus.ERROR, RecordStatus.REJECTED)


def records_of(account: Account) -> QuerySet[BillingRecord]:
    """The records of ``account``, found through its chains.

    A record sits in the chain of its fiscal invoice's account (:func:`verifactu.chains.
    lock_chain` reaches only its account's chains), so this is the same set as the records
    of the account's fiscal invoices, without joining them: filtered by the fiscal invoice's
    account, PostgreSQL answered a status filter with a scan of every fiscal invoice once it
    expected a few thousand records (bench/README.md, "The desk beside other tenants'
    records").
    """
    return BillingRecord.objects.filter(chain__account=account)


def latest_records(account: Account) -> QuerySet[BillingRecord]:
    """Each fiscal invoice's latest record, for the invoices of ``account``."""
    later = BillingRecord.objects.filter(
        fiscal_invoice=OuterRef("fiscal_invoice"), position__gt=OuterRef("position")
    )
    return records_of(account).filter(~Exists(later))


# ---------------------------------------------------------------------------------------
# Summary per taxpayer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int
    tone: str


@dataclass
class TaxpayerSummary:
    taxpayer: Taxpayer
    counts: dict[str, int] = field(default_factory=dict)
    oldest_unsent_at: datetime | None = None

    def count(self, status: str) -> int:
        return self.counts.get(str(status), 0)

    @property
    def queued(self) -> int:
        return self.count(RecordStatus.QUEUED)

    @property
    def sending(self) -> int:
        return self.count(RecordStatus.SENDING)

    @property
    def accepted(self) -> int:
        return self.count(RecordStatus.ACCEPTED)

    @property
    def accepted_with_errors(self) -> int:
        return self.count(RecordStatus.ACCEPTED_WITH_ERRORS)

    @property
    def rejected(self) -> int:
        return self.count(RecordStatus.REJECTED)

    @property
    def error(self) -> int:
        return self.count(RecordStatus.ERROR)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def needs_action(self) -> int:
        return sum(self.count(status) for status in NEEDS_ACTION)

    @property
    def badges(self) -> list[StatusCount]:
        """The non-zero counts, in the order a record goes through them."""
        return [
            StatusCount(status.value, status.label, self.count(status), AEAT_TONES[status])
            for status in RecordStatus
            if self.count(status)
        ]

    def oldest_unsent_age(self, now: datetime | None = None) -> timedelta | None:
        if self.oldest_unsent_at is None:
            return None
        return (now or timezone.now()) - self.oldest_unsent_at


def fiscal_invoice_totals(taxpayer_ids: list) -> dict:
    """Each taxpayer's fiscal invoices: kept by triggers on PostgreSQL, counted elsewhere."""
    kept = counts.fiscal_invoice_counts(taxpayer_ids)
    if kept is not None:
        return kept
    totals = (
        FiscalInvoice.objects.filter(taxpayer_id__in=taxpayer_ids)
        .values("taxpayer_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["taxpayer_id"]: row["n"] for row in totals}


def desk_summary(account: Account) -> list[TaxpayerSummary]:
    """Every taxpayer of ``account`` with the latest status of its invoices, counted.

    Three queries whatever the number of invoices: the taxpayers; the fiscal invoices per
    taxpayer (every fiscal invoice has at least one record, made with it), read from the
    counts the triggers keep on PostgreSQL (:mod:`verifactu.counts`; counting them was an
    index-only scan of every fiscal invoice); and the account's chains, each with its latest
    records that are not accepted counted per status and its oldest unsent record
    (:func:`chain_statuses`). What is neither of those is accepted: counting the latest
    record of every invoice instead reads them all (the anti-join over every record of the
    account was most of the desk's time at 600,000).

    Counted per chain, then added up per taxpayer: a taxpayer's chains are the account's
    chains of its NIF (:func:`verifactu.modes.chains_of`). The records of a chain whose NIF
    no taxpayer holds now (its taxpayer's NIF was corrected after issuing) are counted per
    fiscal invoice, in two more queries, so that none is left out.
    """
    summaries = {
        t.pk: TaxpayerSummary(taxpayer=t) for t in account.taxpayers.order_by("name", "id")
    }
    for taxpayer_id, n in fiscal_invoice_totals(list(summaries)).items():
        summary = summaries.get(taxpayer_id)
        if summary is not None:
            summary.counts[RecordStatus.ACCEPTED] = n
    by_nif = {summary.taxpayer.nif: pk for pk, summary in summaries.items()}
    counted: list[tuple] = []
    oldest: list[tuple] = []
    orphans = []
    for chain in chain_statuses(account):
        taxpayer_id = by_nif.get(chain["issuer_nif"])
        if taxpayer_id is None:
            orphans.append(chain["pk"])
            continue
        counted += [(taxpayer_id, status, chain[status]) for status in NOT_ACCEPTED]
        oldest.append((taxpayer_id, chain["oldest_unsent_at"]))
    if orphans:
        counted += [
            (row["fiscal_invoice__taxpayer_id"], row["status"], row["n"])
            for row in latest_records(account)
            .filter(chain_id__in=orphans, status__in=NOT_ACCEPTED)
            .values("fiscal_invoice__taxpayer_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        ]
        oldest += [
            (row["fiscal_invoice__taxpayer_id"], row["oldest"])
            for row in records_of(account)
            .filter(chain_id__in=orphans, status__in=UNSENT)
            .values("fiscal_invoice__taxpayer_id")
            .annotate(oldest=Min("created_at"))
            .order_by()
        ]
    for taxpayer_id, status, n in counted:
        summary = summaries.get(taxpayer_id)
        if summary is not None and n:
            summary.counts[status] = summary.counts.get(status, 0) + n
            accepted = summary.counts.get(RecordStatus.ACCEPTED, 0) - n
            summary.counts[RecordStatus.ACCEPTED] = accepted
    for summary in summaries.values():
        accepted = summary.counts.get(RecordStatus.ACCEPTED, 0)
        if accepted < 0:
            logger.error(
                "Taxpayer %s: its count of fiscal invoices is %s under its records' latest "
                "statuses (manage.py ensure_triggers counts again)",
                summary.taxpayer.pk,
                -accepted,
            )
        if accepted <= 0:
            summary.counts.pop(RecordStatus.ACCEPTED, None)
    for taxpayer_id, at in oldest:
        summary = summaries.get(taxpayer_id)
        if at is None or summary is None:
            continue
        if summary.oldest_unsent_at is None or at < summary.oldest_unsent_at:
            summary.oldest_unsent_at = at
    return list(summaries.values())


def chain_statuses(account: Account) -> QuerySet[Chain]:
    """The chains of ``account`` as dicts: ``pk``, ``issuer_nif``, the number of its fiscal
    invoices whose latest record is in each status of :data:`NOT_ACCEPTED` (keyed by the
    status) and ``oldest_unsent_at``.

    One subquery per chain and status, so each is answered from the ``(chain, status,
    position)`` index for that chain alone, however many records other accounts have in
    those states. Grouped in one query over the account's records instead, PostgreSQL read
    the status index of the whole database (every tenant's unsent records) or, grouping by
    the fiscal invoice's taxpayer, scanned every fiscal invoice (bench/README.md, "The desk
    beside other tenants' records").
    """
    later = BillingRecord.objects.filter(
        fiscal_invoice=OuterRef("fiscal_invoice"), position__gt=OuterRef("position")
    )

    def latest_in(status: str) -> Coalesce:
        records = (
            BillingRecord.objects.filter(chain=OuterRef("pk"), status=status)
            .filter(~Exists(later))
            .order_by()
            .values("chain")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(records, output_field=IntegerField()), 0)

    unsent = (
        BillingRecord.objects.filter(chain=OuterRef("pk"), status__in=UNSENT)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return (
        Chain.objects.filter(account=account)
        .annotate(
            **{str(status): latest_in(status) for status in NOT_ACCEPTED},
            oldest_unsent_at=Subquery(unsent),
        )
        .order_by()
        .values("pk", "issuer_nif", *(str(status) for status in NOT_ACCEPTED), "oldest_unsent_at")
    )


# ---------------------------------------------------------------------------------------
# The inbox: what needs the accountant
# ---------------------------------------------------------------------------------------


def actions_for(record: BillingRecord) -> tuple[str, ...]:
    """The fixes that apply to a fiscal invoice whose latest record is ``record``, as
    :func:`verifactu.corrections.correction_kind` decides; a rejection of the number or the
    date offers only the cancellation (a new invoice follows it)."""
    kind = corrections.correction_kind(record)
    if kind == corrections.RESEND:
        return (REINTENTAR,)
    if kind == corrections.ANULACION:  # a new anulación (RechazoPrevio=S): "Subsanar"
        return (SUBSANAR,)
    if kind == corrections.SUBSANACION:
        if corrections.needs_new_invoice(record):
            return (ANULAR,)
        return (SUBSANAR, CORREGIR, ANULAR)
    return ()


@dataclass(frozen=True)
class InboxItem:
    record: BillingRecord
    fiscal_invoice: FiscalInvoice
    taxpayer: Taxpayer
    code: str
    aeat_description: str
    explanation: str
    actions: tuple[str, ...]
    invoice: object | None  # the Factu invoice, when the fiscal invoice came from one

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def status_label(self) -> str:
        return self.record.get_status_display()

    @property
    def tone(self) -> str:
        return AEAT_TONES[RecordStatus(self.record.status)]


# What the inbox and its fixes read of each record and its invoice: not their other columns
# (the XML sent is kilobytes a record). tests/test_page_queries.py sees a column read that is
# not here: a query per row.
INBOX_COLUMNS = (
    "id",
    "fiscal_invoice_id",
    "chain_id",
    "position",
    "kind",
    "record_type",
    "status",
    "created_at",
    "aeat_error_code",
    "aeat_error_description",
    "fiscal_invoice__id",
    "fiscal_invoice__invoice_number",
    "fiscal_invoice__invoice_date",
    "fiscal_invoice__account_id",
    "fiscal_invoice__taxpayer_id",
    "fiscal_invoice__taxpayer__id",
    "fiscal_invoice__taxpayer__account_id",
    "fiscal_invoice__taxpayer__name",
    "fiscal_invoice__taxpayer__nif",
    "fiscal_invoice__factu_invoice__id",
    "fiscal_invoice__factu_invoice__account_id",
    "fiscal_invoice__factu_invoice__fiscal_invoice_id",
)


def inbox(
    account: Account, taxpayer: Taxpayer | None = None, limit: int | None = None
) -> list[InboxItem]:
    """The fiscal invoices whose latest record was rejected, failed or accepted with errors,
    newest first, with AEAT's code and description, our explanation and the fixes."""
    records = (
        latest_records(account)
        .filter(status__in=NEEDS_ACTION)
        .select_related("fiscal_invoice__taxpayer", "fiscal_invoice__factu_invoice")
        .only(*INBOX_COLUMNS)
        .order_by("-created_at", "-position")
    )
    if taxpayer is not None:
        records = records.filter(fiscal_invoice__taxpayer=taxpayer)
    if limit is not None:
        records = records[:limit]
    return [
        InboxItem(
            record=record,
            fiscal_invoice=record.fiscal_invoice,
            taxpayer=record.fiscal_invoice.taxpayer,
            code=record.aeat_error_code,
            aeat_description=record.aeat_error_description,
            explanation=explain(record),
            actions=actions_for(record),
            invoice=factu_invoice_of(record.fiscal_invoice),
        )
        for record in records
    ]


def resubmit_candidates(
    account: Account,
    *,
    fiscal_invoice_ids: list | None = None,
    taxpayer: Taxpayer | None = None,
    statuses: tuple = RESUBMITTABLE,
) -> QuerySet[BillingRecord]:
    """The latest records of ``account``'s fiscal invoices that can be sent again, oldest
    first; only among ``fiscal_invoice_ids`` when given. Another account's ids never match."""
    records = (
        latest_records(account)
        .filter(status__in=statuses)
        .select_related("fiscal_invoice__taxpayer")
        .order_by("fiscal_invoice__taxpayer__name", "created_at", "position")
    )
    if fiscal_invoice_ids is not None:
        records = records.filter(fiscal_invoice_id__in=fiscal_invoice_ids)
    if taxpayer is not None:
        records = records.filter(fiscal_invoice__taxpayer=taxpayer)
    return records


# ---------------------------------------------------------------------------------------
# Chains that do not send (an AEAT outage being retried, or a record in error)
# ---------------------------------------------------------------------------------------


def blocked_chains(account: Account) -> list[faults.Blockage]:
    """The chains of ``account`` whose pending records are not reaching the AEAT."""
    return faults.blockages(Chain.objects.filter(account=account))
