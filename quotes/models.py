"""Quotes (presupuestos): an offer to a client, numbered in its own series per taxpayer.

A quote is not a fiscal document: it is never registered with the AEAT, its PDF carries no
QR and no VERI*FACTU legend, and its lines are plain rows that change freely while it is a
draft. Its lines and totals follow the invoice's arithmetic (:mod:`invoicing.draft_lines`,
:mod:`invoicing.taxes`), so the invoice a quote becomes adds up to the same total.

Money is integer cents, quantities hundredths of a unit, rates basis points, as on invoices.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from factu.models import Account, Taxpayer
from invoicing import taxes
from invoicing.models import EventColumns, LineColumns

NUMBER_PREFIX = "P"
NUMBER_PADDING = 3


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Borrador"
    SENT = "sent", "Enviado"
    ACCEPTED = "accepted", "Aceptado"
    REJECTED = "rejected", "Rechazado"
    EXPIRED = "expired", "Caducado"


def format_number(year: int, sequence: int) -> str:
    """The quote number: ``P-2026-001`` (more digits once a year passes 999 quotes)."""
    return f"{NUMBER_PREFIX}-{year}-{sequence:0{NUMBER_PADDING}d}"


class QuoteCounter(models.Model):
    """The next quote number of a taxpayer in a year: the row locked while a number is taken."""

    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    next_number = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["taxpayer", "year"], name="quote_counter_unique_year")
        ]

    def __str__(self) -> str:
        return f"{self.taxpayer_id} {self.year}: {self.next_number}"

    @classmethod
    def take(cls, taxpayer: Taxpayer, year: int) -> int:
        """Reserve the next number of ``taxpayer`` in ``year``. The counter row stays locked
        until the transaction ends, so two users never get the same number."""
        cls.objects.get_or_create(taxpayer=taxpayer, year=year)
        counter = cls.objects.select_for_update().get(taxpayer=taxpayer, year=year)
        number = counter.next_number
        counter.next_number = number + 1
        counter.save(update_fields=["next_number"])
        return number


class Quote(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="quotes")
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField("número", max_length=30)
    status = models.CharField(max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="quotes", verbose_name="cliente"
    )
    issue_date = models.DateField("fecha")
    valid_until = models.DateField("válido hasta")
    notes = models.TextField("notas", blank=True)
    irpf_bp = models.PositiveSmallIntegerField("IRPF", default=0)
    surcharge = models.BooleanField("recargo de equivalencia", default=False)

    subtotal_cents = models.BigIntegerField(default=0)
    iva_cents = models.BigIntegerField(default=0)
    surcharge_cents = models.BigIntegerField(default=0)
    irpf_cents = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)

    # The invoice the quote became: one at most, unless that draft was discarded (is_invoiced).
    invoice = models.OneToOneField(
        "invoicing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quote",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxpayer", "year", "sequence"], name="quote_unique_sequence"
            ),
            models.UniqueConstraint(fields=["taxpayer", "number"], name="quote_unique_number"),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("issue_date")), name="quote_valid_after_issue"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "taxpayer", "-issue_date"], name="quote_list_order"),
        ]

    def __str__(self) -> str:
        return self.number

    def status_on(self, today: date) -> str:
        """The status as of ``today``: a sent quote past its valid-until date is expired even
        before the periodic task (:func:`quotes.services.expire_quotes`) stores it."""
        if self.status == QuoteStatus.SENT and self.valid_until < today:
            return QuoteStatus.EXPIRED
        return self.status

    @property
    def is_draft(self) -> bool:
        return self.status == QuoteStatus.DRAFT

    @property
    def is_invoiced(self) -> bool:
        """Converted into an invoice that still stands. Discarding that draft ("Eliminar
        borrador", it never had a number) frees the quote to be converted again."""
        return self.invoice_id is not None and not self.invoice.is_discarded_draft

    def recomputed(self, lines: Sequence[QuoteLine] | None = None) -> taxes.InvoiceTotals:
        """The totals and tax groups of the stored lines (``lines`` when the caller holds
        them), by the arithmetic that stored them."""
        lines = list(self.lines.all()) if lines is None else lines
        return taxes.compute_totals(
            [line.as_input() for line in lines], irpf_bp=self.irpf_bp, surcharge=self.surcharge
        )

    @property
    def total_display(self) -> str:
        return taxes.format_euros(self.total_cents)


class QuoteLine(LineColumns):
    """One line, with an invoice line's columns, so the invoice form's line editing, the
    invoice's arithmetic and the PDF's line table read either."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "position"], name="quote_line_unique_position")
        ]


class QuoteEvent(EventColumns):
    """The quote's history: who did what, written in the same transaction as the change."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="events")

    class Meta(EventColumns.Meta):
        pass
