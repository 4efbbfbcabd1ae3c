"""Reporting B2B invoice statuses to the AEAT, behind one internal interface.

The AEAT has not published the technical order (format, channel) for the statuses of
Real Decreto 238/2026, so nothing here sends anything. A :class:`StatusReporter` takes a
taxpayer and a period and gives a file; the one implementation,
:class:`ProvisionalCsvReporter`, writes a CSV whose name and every row say it is
provisional and not an official format. When the order is out, a reporter that speaks it
replaces this one and its callers do not change.

The statuses come from **sources**: functions registered with :func:`register_source`, each
giving :class:`StatusRecord` rows for a taxpayer and a period. The issued invoices' answers
are one source (:func:`issued_answers`, registered by ``einvoice.apps``); the received
invoices' answers register a second one beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from django.utils import timezone

from einvoice.models import IssuedStatusEvent, ReceivedInvoiceEvent
from einvoice.status import B2BStatus
from factu.models import Taxpayer
from factu.spreadsheets import csv_amount, csv_bytes, csv_text
from invoicing import taxes

PROVISIONAL = "PROVISIONAL, formato no oficial"
ISSUED = "emitida"
RECEIVED = "recibida"


@dataclass(frozen=True)
class StatusRecord:
    """One status of one invoice, whichever side it is on (``direction``: "emitida" when
    the taxpayer issued it and its client answered, "recibida" when the taxpayer answers
    its supplier)."""

    direction: str
    invoice_number: str
    invoice_date: dt.date
    counterpart_nif: str
    counterpart_name: str
    status: str
    at: dt.datetime
    reason: str = ""
    paid_on: dt.date | None = None
    paid_cents: int | None = None

    @property
    def status_label(self) -> str:
        return dict(B2BStatus.choices).get(self.status, self.status)

    @property
    def paid_label(self) -> str:
        if not self.paid_cents or self.paid_on is None:
            return ""
        return f"Pagado {taxes.format_euros(self.paid_cents)} el {self.paid_on:%d/%m/%Y}."


StatusSource = Callable[[Taxpayer, dt.date, dt.date], Iterable[StatusRecord]]

_sources: list[StatusSource] = []


def register_source(source: StatusSource) -> None:
    if source not in _sources:
        _sources.append(source)


def status_records(taxpayer: Taxpayer, start: dt.date, end: dt.date) -> list[StatusRecord]:
    """Every registered source's statuses of ``taxpayer`` answered from ``start`` to
    ``end`` (both included), in the order they were given."""
    records = [record for source in _sources for record in source(taxpayer, start, end)]
    return sorted(records, key=lambda r: (r.at, r.direction, r.invoice_number))


def issued_answers(taxpayer: Taxpayer, start: dt.date, end: dt.date) -> list[StatusRecord]:
    """The source of the issued invoices: their clients' answers in the period."""
    events = IssuedStatusEvent.objects.filter(
        invoice__taxpayer=taxpayer, at__date__gte=start, at__date__lte=end
    ).select_related("invoice")
    return [
        StatusRecord(
            direction=ISSUED,
            invoice_number=e.invoice.number,
            invoice_date=e.invoice.issue_date,
            counterpart_nif=e.invoice.client_nif or e.invoice.client_foreign_id,
            counterpart_name=e.invoice.client_name,
            status=e.status,
            at=e.at,
            reason=e.reason,
            paid_on=e.paid_on,
            paid_cents=e.paid_cents,
        )
        for e in events
    ]


def received_answers(taxpayer: Taxpayer, start: dt.date, end: dt.date) -> list[StatusRecord]:
    """The source of the received invoices: the answers given to their suppliers."""
    events = ReceivedInvoiceEvent.objects.filter(
        invoice__taxpayer=taxpayer, at__date__gte=start, at__date__lte=end
    ).select_related("invoice")
    return [
        StatusRecord(
            direction=RECEIVED,
            invoice_number=e.invoice.number,
            invoice_date=e.invoice.issue_date,
            counterpart_nif=e.invoice.supplier_nif,
            counterpart_name=e.invoice.supplier_name,
            status=e.status,
            at=e.at,
            reason=e.reason,
            paid_on=e.paid_on,
            paid_cents=e.paid_cents,
        )
        for e in events
    ]


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content: bytes
    mimetype: str


class StatusReporter(Protocol):
    """What reports a taxpayer's B2B statuses of a period."""

    def report(self, taxpayer: Taxpayer, start: dt.date, end: dt.date) -> ReportFile: ...


HEADER = [
    "aviso",
    "NIF obligado",
    "sentido",
    "número factura",
    "fecha factura",
    "NIF contraparte",
    "nombre contraparte",
    "estado",
    "fecha estado",
    "motivo",
    "fecha pago",
    "importe pagado",
]


class ProvisionalCsvReporter:
    """A CSV for the taxpayer's records (Spanish Excel's conventions, ``factu.spreadsheets``),
    until the AEAT's format exists. Its name and each row carry :data:`PROVISIONAL`."""

    def report(self, taxpayer: Taxpayer, start: dt.date, end: dt.date) -> ReportFile:
        rows = [
            [
                PROVISIONAL,
                taxpayer.nif,
                r.direction,
                csv_text(r.invoice_number),
                r.invoice_date.strftime("%d/%m/%Y"),
                csv_text(r.counterpart_nif),
                csv_text(r.counterpart_name),
                r.status_label,
                timezone.localtime(r.at).strftime("%d/%m/%Y %H:%M"),
                csv_text(r.reason),
                r.paid_on.strftime("%d/%m/%Y") if r.paid_on else "",
                csv_amount(r.paid_cents),
            ]
            for r in status_records(taxpayer, start, end)
        ]
        filename = (
            f"estados-factura-electronica-{taxpayer.nif}-{start:%Y%m%d}-{end:%Y%m%d}"
            "-PROVISIONAL-formato-no-oficial.csv"
        )
        return ReportFile(filename, csv_bytes(HEADER, rows), "text/csv; charset=utf-8")


def reporter() -> StatusReporter:
    """The reporter in use."""
    return ProvisionalCsvReporter()
