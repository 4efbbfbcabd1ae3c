"""Sending many records to the AEAT again, as one background job with progress.

The accountant picks records on the desk (or asks for every record in ``error``), confirms,
and a :class:`factu.models.Job` of kind ``resubmit`` carries the chosen fiscal invoice
ids to a Celery task (:mod:`desk.tasks`, queued by its registered name after the commit:
:func:`factu.jobs.enqueue`). The task applies, record by record, the very
service the desk's single-record buttons call (:func:`desk.services.resubmit` routes to
``reintentar`` or ``subsanar``), so no rule lives here: only selection, tenancy and progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from desk import services, worklist
from factu import jobs
from factu.models import Account, Job, Taxpayer, User
from factu.text import count_of
from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus


class NothingToResubmit(Exception):
    """None of the records asked for (in this account) needs sending again."""


def parse_ids(values: Iterable[str]) -> list[str]:
    """The distinct well-formed UUIDs among ``values``, in order; anything else is dropped."""
    seen: dict[str, None] = {}
    for value in values:
        try:
            seen[str(uuid.UUID(str(value).strip()))] = None
        except ValueError:
            continue
    return list(seen)


@dataclass
class TaxpayerShare:
    taxpayer: Taxpayer
    errors: int = 0
    rejected: int = 0

    @property
    def count(self) -> int:
        return self.errors + self.rejected


@dataclass
class Selection:
    """What a re-submission would send: the latest record of each chosen fiscal invoice."""

    records: list[BillingRecord]
    asked: int = 0
    everything: bool = False
    taxpayer: Taxpayer | None = None
    shares: list[TaxpayerShare] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def left_out(self) -> int:
        """Ids asked for that will not be sent: another account's, unknown, or no longer in
        error or rejected."""
        return max(0, self.asked - self.count) if not self.everything else 0

    @property
    def fiscal_invoice_ids(self) -> list[str]:
        return [str(r.fiscal_invoice_id) for r in self.records]

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.shares)

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.shares)


def select(
    account: Account,
    *,
    fiscal_invoice_ids: Iterable[str] = (),
    everything: bool = False,
    taxpayer: Taxpayer | None = None,
) -> Selection:
    """The records to send again: the chosen ones still in error or rejected, or with
    ``everything`` every record of ``account`` in error (of ``taxpayer`` when given).

    Only ``account``'s fiscal invoices can match: a foreign or made-up id is left out.
    """
    if everything:
        records = worklist.resubmit_candidates(
            account, taxpayer=taxpayer, statuses=(RecordStatus.ERROR,)
        )
        asked = 0
    else:
        ids = parse_ids(fiscal_invoice_ids)
        asked = len(ids)
        records = worklist.resubmit_candidates(account, fiscal_invoice_ids=ids) if ids else []
    records = list(records)
    shares: dict[int, TaxpayerShare] = {}
    for record in records:
        share = shares.setdefault(
            record.fiscal_invoice.taxpayer_id, TaxpayerShare(record.fiscal_invoice.taxpayer)
        )
        if record.status == RecordStatus.ERROR:
            share.errors += 1
        else:
            share.rejected += 1
    return Selection(
        records=records,
        asked=asked,
        everything=everything,
        taxpayer=taxpayer,
        shares=list(shares.values()),
    )


def start(account: Account, user: User | None, selection: Selection) -> Job:
    """The job that sends ``selection`` again, queued once the transaction commits."""
    if not selection.records:
        raise NothingToResubmit("Nothing to resubmit.")
    taxpayers = [s.taxpayer for s in selection.shares]
    if any(t.account_id != account.pk for t in taxpayers):
        raise ValueError("A record of another account was selected.")
    with transaction.atomic():
        job = Job.objects.create(
            account=account,
            taxpayer=taxpayers[0] if len(taxpayers) == 1 else None,
            user=user,
            kind=Job.Kind.RESUBMIT,
            params={
                "fiscal_invoices": selection.fiscal_invoice_ids,
                "taxpayers": [f"{t.name} · {t.nif}" for t in taxpayers],
                "scope": "errors" if selection.everything else "selection",
            },
        )
        jobs.enqueue(job)
    return job


def run(job: Job) -> None:
    """The job's work: each fiscal invoice sent again (or refused, with the reason), the
    progress written as it goes, and a report listing every record."""
    ids = [str(i) for i in job.params.get("fiscal_invoices", [])]
    progress = jobs.Progress(job, len(ids))
    invoices = {
        str(fi.pk): fi
        for fi in FiscalInvoice.objects.filter(account=job.account, pk__in=ids).select_related(
            "taxpayer"
        )
    }
    outcomes: list[dict] = []
    for fiscal_invoice_id in ids:
        fiscal_invoice = invoices.get(fiscal_invoice_id)
        if fiscal_invoice is None:
            outcome = services.ResubmitOutcome(
                fiscal_invoice_id, "—", "—", "", False, "No existe en esta cuenta: no se ha tocado."
            )
        else:
            outcome = services.resubmit(fiscal_invoice)
        outcomes.append(outcome.as_report())
        job.report = {"records": outcomes}  # kept if the job fails half-way
        progress.advance()
    progress.flush()
    jobs.finish(job, report(outcomes))


def report(outcomes: list[dict]) -> dict:
    sent = sum(1 for o in outcomes if o["ok"])
    refused = len(outcomes) - sent
    message = (
        f"Se han reenviado {sent} de {count_of(len(outcomes), 'registro', 'registros')} a la AEAT."
    )
    if refused:
        message += f" No reenviados: {refused}; el informe dice por qué."
    return {
        "message": message,
        "resubmitted": sent,
        "retried": sum(1 for o in outcomes if o["ok"] and o["action"] == services.REINTENTAR),
        "corrected": sum(1 for o in outcomes if o["ok"] and o["action"] == services.SUBSANAR),
        "refused": refused,
        "records": outcomes,
    }
