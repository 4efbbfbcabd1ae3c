"""Invoices as Factu issues them: series, drafts, lines, and the legal snapshot at issue.

Money is integer cents, quantities hundredths of a unit, rates basis points. Once issued,
an invoice is a legal document: its lines, parties and amounts never change again (guarded
``save``/``delete``); what can still change is its payment state. Corrections are new
invoices (rectificativas) or a cancellation, never edits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from factu.models import Account, Taxpayer
from invoicing import numbering, taxes


class InvoiceLocked(Exception):
    """Raised on any attempt to change what an issued invoice says."""


class Series(models.Model):
    class Kind(models.TextChoices):
        NORMAL = "F1", "Ordinaria (F1)"
        SIMPLIFIED = "F2", "Simplificada (F2)"
        RECTIFYING = "R", "Rectificativa"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="series")
    code = models.CharField("código", max_length=20)
    kind = models.CharField("tipo", max_length=2, choices=Kind.choices, default=Kind.NORMAL)
    number_format = models.CharField(
        "formato",
        max_length=40,
        default="{year}-{code}-{number}",
        help_text="Con {year}, {code} y {number}: 2026-A-001.",
    )
    padding = models.PositiveSmallIntegerField("cifras", default=3)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(fields=["taxpayer", "code"], name="series_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"

    def format_number(self, year: int, number: int) -> str:
        """The number of the ``number``-th invoice of ``year`` (:mod:`invoicing.numbering`)."""
        return numbering.render(
            self.number_format, year=year, code=self.code, number=str(number).zfill(self.padding)
        )


class SeriesCounter(models.Model):
    """The next number of a series in a year: the row locked while a number is taken."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="counters")
    year = models.PositiveSmallIntegerField()
    next_number = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="counter_unique_year")
        ]

    def __str__(self) -> str:
        return f"{self.series.code} {self.year}: {self.next_number}"

    @classmethod
    def take(cls, series: Series, year: int, count: int = 1) -> int:
        """Reserve ``count`` consecutive numbers of ``series`` in ``year``; the first.

        The counter row is locked until the transaction ends, so two issuers never get the
        same number and numbers are taken without gaps.
        """
        cls.objects.get_or_create(series=series, year=year)
        counter = cls.objects.select_for_update().get(series=series, year=year)
        first = counter.next_number
        counter.next_number = first + count
        counter.save(update_fields=["next_number"])
        return first


def with_next_number(series: models.QuerySet[Series], year: int) -> models.QuerySet[Series]:
    """``series`` annotated with ``next_in_year``: the sequence the next invoice issued in
    ``year`` takes (1 before the year's first), every counter read in the same query."""
    counters = SeriesCounter.objects.filter(series=OuterRef("pk"), year=year)
    return series.annotate(
        next_in_year=Coalesce(Subquery(counters.values("next_number")[:1]), Value(1))
    )


class InvoiceCount(models.Model):
    """The exact number of an account's invoices, kept by triggers (PostgreSQL only).

    The table and its triggers are the database's (migration 0003, re-created by
    ``manage.py ensure_triggers``): every insert, delete, move and truncate of invoices,
    whatever the path (a ``bulk_create``, a cascade, a bench's ``INSERT … SELECT``), counts
    in its own transaction. Read only, through :mod:`invoicing.counts`.
    """

    account_id = models.UUIDField(primary_key=True)
    invoices = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "invoicing_invoicecount"

    def __str__(self) -> str:
        return f"{self.account_id}: {self.invoices}"


PROVISIONAL_PREFIX = "Borrador "


def provisional_number(invoice_id: uuid.UUID) -> str:
    """A draft's number: a label that reserves nothing and cannot pass for an official one.

    Taken from the end of the invoice's id, so it stays the same while the draft lives.
    """
    return PROVISIONAL_PREFIX + invoice_id.hex[-8:].upper()


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Borrador"
    SENT = "sent", "Emitida"
    PAID = "paid", "Cobrada"
    OVERDUE = "overdue", "Vencida"
    CANCELLED = "cancelled", "Anulada"


# A rectificativa por sustitución ("S") replaces its original; one by differences ("I") adds
# to it.
SUBSTITUTION = "S"
DECLARED_STATUSES = (InvoiceStatus.SENT, InvoiceStatus.PAID, InvoiceStatus.OVERDUE)
# The rectifications (rows of Invoice) that replace their original: issued, not cancelled.
SUBSTITUTES = Q(
    rectification_type=SUBSTITUTION, issued_at__isnull=False, status__in=DECLARED_STATUSES
)


def has_substitute() -> Exists:
    """Whether the outer invoice was replaced by an issued rectificativa por sustitución,
    for ``annotate(has_substitute=...)``, which :attr:`Invoice.is_substituted` reads."""
    return Exists(Invoice.objects.filter(SUBSTITUTES, rectified_invoice=OuterRef("pk")))


class IssuedBy(models.TextChoices):
    """Who expedites the invoice (EmitidaPorTerceroODestinatario): its issuer by default, or
    a third party (T, named in Tercero) or the recipient (D, autofacturación) for it."""

    ISSUER = "", "El propio emisor"
    THIRD_PARTY = "third_party", "Un tercero (T)"
    RECIPIENT = "recipient", "El destinatario (D)"


class Invoice(models.Model):
    # What may still change once the invoice is issued.
    MUTABLE_AFTER_ISSUE = {"status", "paid_at", "cancelled_at", "updated_at", "search_text"}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # Indexed by invoice_taxpayer_order, which it leads.
    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="invoices")
    year = models.PositiveSmallIntegerField()
    # The official number, taken when the invoice is issued (None on a draft, whose
    # ``number`` is provisional: :func:`provisional_number`).
    sequence = models.PositiveIntegerField(null=True, blank=True)
    number = models.CharField("número", max_length=60)
    invoice_type = models.CharField(max_length=2, default="F1")
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    issue_date = models.DateField("fecha de expedición")
    due_date = models.DateField("vencimiento", null=True, blank=True)
    operation_date = models.DateField("fecha de operación", null=True, blank=True)
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    description = models.CharField("descripción", max_length=500, blank=True)
    irpf_bp = models.PositiveSmallIntegerField("IRPF", default=0)
    issued_by = models.CharField(
        "expedida por", max_length=12, choices=IssuedBy.choices, blank=True, default=""
    )
    third_party_nif = models.CharField("NIF del tercero", max_length=9, blank=True)
    third_party_name = models.CharField("nombre del tercero", max_length=120, blank=True)
    surcharge = models.BooleanField("recargo de equivalencia", default=False)
    notes = models.TextField("notas", blank=True)
    payment_details = models.CharField("forma de pago", max_length=200, blank=True)

    # Snapshot of the parties, frozen when the invoice is issued.
    issuer_name = models.CharField(max_length=120, blank=True)
    issuer_nif = models.CharField(max_length=9, blank=True)
    issuer_address = models.CharField(max_length=300, blank=True)
    client_name = models.CharField(max_length=120, blank=True)
    client_nif = models.CharField(max_length=9, blank=True)
    client_country = models.CharField(max_length=2, blank=True)
    client_id_type = models.CharField(max_length=2, blank=True)
    client_foreign_id = models.CharField(max_length=20, blank=True)
    client_address = models.CharField(max_length=300, blank=True)
    client_email = models.EmailField(blank=True)

    subtotal_cents = models.BigIntegerField(default=0)
    iva_cents = models.BigIntegerField(default=0)
    surcharge_cents = models.BigIntegerField(default=0)
    irpf_cents = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)

    rectified_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rectifications"
    )
    rectification_type = models.CharField(max_length=1, blank=True)
    # The simplified invoices (F2) a complete invoice replaces: it is then an F3, and its
    # record lists them in FacturasSustituidas. Set only on drafts (services.create_draft).
    replaced_invoices = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="replaced_by"
    )
    fiscal_invoice = models.OneToOneField(
        "verifactu.FiscalInvoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="factu_invoice",
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    search_text = models.TextField(blank=True, editable=False)
    # Issued under the régimen especial del criterio de caja (the taxpayer's option at the
    # time, frozen at issue): its IVA accrues on collection (expenses.cash_criterion), its
    # record declares key 07, its PDF says so. Switching the option later changes nothing.
    cash_criterion = models.BooleanField(
        "criterio de caja", default=False, db_default=False, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "sequence"],
                condition=Q(sequence__isnull=False),
                name="invoice_unique_sequence",
            ),
            models.UniqueConstraint(
                fields=["taxpayer", "number"],
                condition=Q(sequence__isnull=False),
                name="invoice_unique_number",
            ),
            models.CheckConstraint(
                condition=Q(issued_at__isnull=True) | Q(sequence__isnull=False),
                name="issued_is_numbered",
            ),
            models.CheckConstraint(
                condition=~Q(status="draft") | Q(sequence__isnull=True),
                name="draft_is_provisional",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="paid_needs_paid_at"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-issue_date", "-id"], name="invoice_account_order"),
            # A taxpayer's list (the invoice pages, the overview): in an account of many
            # taxpayers the account's order reads every other taxpayer's newer invoices first.
            models.Index(fields=["taxpayer", "-issue_date", "-id"], name="invoice_taxpayer_order"),
            models.Index(
                fields=["account", "status", "-issue_date", "-id"], name="invoice_status_order"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            issued = (
                Invoice.objects.filter(pk=self.pk, issued_at__isnull=False).exists()
                if self.pk
                else False
            )
            if issued and (update_fields is None or set(update_fields) - self.MUTABLE_AFTER_ISSUE):
                raise InvoiceLocked(
                    "An issued invoice cannot be changed: rectify or cancel it instead."
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise InvoiceLocked("Invoices are never deleted: cancel it and its number stays.")

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_issued(self) -> bool:
        return self.issued_at is not None

    @property
    def is_provisional(self) -> bool:
        """Numbered only provisionally: a draft, or a draft discarded before issue."""
        return self.sequence is None

    @property
    def is_discarded_draft(self) -> bool:
        """A draft deleted ("Eliminar borrador"): it never had an official number."""
        return self.status == InvoiceStatus.CANCELLED and self.sequence is None

    @property
    def cancelled_before_issue(self) -> bool:
        """A draft cancelled before numbers were taken at issue: it kept the official number
        it had burnt ("anulada antes de emitir"), so the series shows why it is missing."""
        return (
            self.status == InvoiceStatus.CANCELLED
            and self.issued_at is None
            and self.sequence is not None
        )

    @property
    def status_label(self) -> str:
        """The status as the pages and exports say it."""
        if self.is_discarded_draft:
            return "Borrador eliminado"
        if self.cancelled_before_issue:
            return "Anulada antes de emitir"
        return self.get_status_display()

    @property
    def irpf_rate(self) -> Decimal:
        """The IRPF withholding as a percentage with two places (1500 → 15.00)."""
        return taxes.percent(self.irpf_bp)

    @property
    def total_display(self) -> str:
        return taxes.format_euros(self.total_cents)

    @property
    def recipient_name(self) -> str:
        """The client's name frozen at issue, else the client's name today (a draft)."""
        return self.client_name or (self.client.name if self.client else "")

    @property
    def recipient_nif(self) -> str:
        """The client's NIF frozen at issue, else the client's NIF today (a draft)."""
        return self.client_nif or (self.client.nif if self.client else "")

    @property
    def paid_cents(self) -> int:
        """What has been collected, with the sign of the total (a refund on a negative
        rectificativa is negative): the payments' amounts, or the ``paid_total`` a list
        annotated (:func:`invoicing.payments.with_paid`)."""
        collected = getattr(self, "paid_total", None)
        if collected is None:
            collected = self.payments.aggregate(s=models.Sum("amount_cents"))["s"] or 0
        return -collected if self.total_cents < 0 else collected

    @property
    def is_substituted(self) -> bool:
        """Replaced by an issued rectificativa por sustitución: the substitute is what the
        client owes, so nothing more is collected on this invoice (its balance, reminders,
        the criterio de caja's 31 December rule). A rectificativa por diferencias does not
        replace its original: the original stays to be collected in full and the difference
        is settled on the rectificativa. Reads the ``has_substitute`` annotation
        (:func:`has_substitute`) when the query made one."""
        flag = getattr(self, "has_substitute", None)
        if flag is None:
            flag = self.pk is not None and self.rectifications.filter(SUBSTITUTES).exists()
        return flag

    @property
    def outstanding_cents(self) -> int:
        """What the client still owes (signed like the total): the total less what was paid
        while the invoice is issued and unpaid (``sent`` or ``overdue``); 0 for a draft, a
        paid or a cancelled invoice, and for one a substitute replaced
        (:attr:`is_substituted`). The reminders and the pages read this."""
        if self.status not in (InvoiceStatus.SENT, InvoiceStatus.OVERDUE) or self.is_substituted:
            return 0
        return self.total_cents - self.paid_cents

    @property
    def partly_paid(self) -> bool:
        """Issued, unpaid, and something collected already."""
        return self.outstanding_cents != 0 and self.paid_cents != 0


@dataclass(frozen=True)
class DraftLine:
    """A line as a draft (an invoice's, a quote's, a plan's) takes it, before it is priced."""

    description: str
    quantity: int
    unit_price: int
    iva_type: str = taxes.GENERAL
    discount_bp: int = 0
    cause: str = ""
    tobacco: bool = False
    regime: str = ""


class PricedLine:
    """What a stored line priced by :mod:`invoicing.taxes` does with its columns (those of
    :class:`LineColumns`): a mixin, so that :class:`recurring.models.PlanLine`, which keeps
    the same columns without an amount, shares it without a change to its table."""

    description: str
    quantity: int
    unit_price_cents: int
    discount_bp: int
    iva_type: str
    cause: str
    tobacco: bool
    regime: str

    def __str__(self) -> str:
        return self.description

    # The columns :meth:`as_input` reads, in the order :meth:`input_of` takes them: a
    # reader that needs only the arithmetic loads these (``values_list``), not the line.
    INPUT_COLUMNS = (
        "quantity",
        "unit_price_cents",
        "iva_type",
        "discount_bp",
        "cause",
        "tobacco",
        "regime",
    )

    def as_input(self) -> taxes.LineInput:
        return self.input_of(*(getattr(self, column) for column in self.INPUT_COLUMNS))

    @staticmethod
    def input_of(
        quantity: int,
        unit_price_cents: int,
        iva_type: str,
        discount_bp: int,
        cause: str,
        tobacco: bool,
        regime: str,
    ) -> taxes.LineInput:
        """The line's input to :func:`invoicing.taxes.compute_totals`, from its columns."""
        return taxes.LineInput(
            quantity=quantity,
            unit_price=unit_price_cents,
            iva_type=iva_type,
            discount_bp=discount_bp,
            cause=cause,
            tobacco=tobacco,
            regime=regime,
        )

    def as_draft_line(self) -> DraftLine:
        """The stored line as a new draft takes it (a copy, a quote's conversion, a plan's
        invoice)."""
        return DraftLine(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price_cents,
            iva_type=self.iva_type,
            discount_bp=self.discount_bp,
            cause=self.cause,
            tobacco=self.tobacco,
            regime=self.regime,
        )


class LineColumns(PricedLine, models.Model):
    """The columns of a line priced by :mod:`invoicing.taxes`: an invoice's, and anything
    priced as one (a quote's)."""

    description = models.CharField("concepto", max_length=500)
    quantity = models.IntegerField("cantidad", help_text="Centésimas de unidad: 100 = 1.")
    unit_price_cents = models.BigIntegerField("precio unitario")
    discount_bp = models.PositiveSmallIntegerField("descuento", default=0)
    iva_type = models.CharField("IVA", max_length=30, default=taxes.GENERAL)
    cause = models.CharField("causa", max_length=2, blank=True)
    tobacco = models.BooleanField("tabaco (recargo 1,75 %)", default=False)
    regime = models.CharField("régimen", max_length=2, blank=True)
    amount_cents = models.BigIntegerField()

    class Meta:
        abstract = True


class InvoiceLine(LineColumns):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="line_unique_position")
        ]

    def save(self, *args, **kwargs) -> None:
        self._check_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_draft()
        return super().delete(*args, **kwargs)

    def _check_draft(self) -> None:
        if Invoice.objects.filter(pk=self.invoice_id, issued_at__isnull=False).exists():
            raise InvoiceLocked("The lines of an issued invoice never change.")


class EventColumns(models.Model):
    """An audit row: who did what, written in the same transaction as what it records."""

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_label = models.CharField(max_length=120, blank=True)
    action = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} @ {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor(self) -> str:
        if self.token_label:
            return f"API: {self.token_label}"
        return str(self.user) if self.user else "Sistema"


class InvoiceEvent(EventColumns):
    """The audit log: who did what to an invoice, written in the same transaction."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="events")

    class Meta(EventColumns.Meta):
        pass


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", "Transferencia"
    CARD = "card", "Tarjeta"
    CASH = "cash", "Efectivo"
    DIRECT_DEBIT = "direct_debit", "Domiciliación"
    BIZUM = "bizum", "Bizum"
    OTHER = "other", "Otro"


class Payment(models.Model):
    """Money that changed hands for an invoice: collected from the client, or refunded to
    them for a rectificativa with a negative total. ``amount_cents`` is always positive;
    the invoice's sign says which way it went (:attr:`Invoice.paid_cents`). Written and
    removed only by :mod:`invoicing.payments`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    date = models.DateField("fecha")
    amount_cents = models.BigIntegerField("importe")
    method = models.CharField(
        "forma de pago",
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.TRANSFER,
    )
    note = models.CharField("nota", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_positive"),
        ]
        indexes = [models.Index(fields=["invoice", "date"], name="payment_invoice_date")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.date} {self.amount_cents}"
