"""The fiscal facts of an invoice (``FiscalInvoice``, the v1 API's ``{id}``) and their
immutable versions, one per subsanación with corrected data."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from factu.models import Account, Taxpayer

from .chains import ComputerSystem
from .immutable import ImmutableRecordError
from .records import BillingRecord


class FiscalInvoice(models.Model):
    """The fiscal facts of one invoice of one taxpayer; the v1 API's ``{id}``."""

    class Source(models.TextChoices):
        FACTU = "factu", "Factura emitida en Factu"
        API_V1 = "api_v1", "API VERI*FACTU"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # Indexed by the unique (taxpayer, number) and (taxpayer, date) indexes it leads (0010).
    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.PROTECT, related_name="fiscal_invoices", db_index=False
    )
    computer_system = models.ForeignKey(ComputerSystem, on_delete=models.PROTECT)
    source = models.CharField(max_length=10, choices=Source.choices)
    issuer_nif = models.CharField(max_length=9)
    issuer_name = models.CharField(max_length=120)
    invoice_number = models.CharField(max_length=60)
    invoice_date = models.DateField()
    invoice_type = models.CharField(max_length=2)
    description = models.CharField(max_length=500)
    operation_date = models.DateField(null=True, blank=True)
    issued_by = models.CharField(max_length=12, blank=True)
    third_party_nif = models.CharField(max_length=9, blank=True)
    third_party_name = models.CharField(max_length=120, blank=True)
    regime_types = models.JSONField(default=list, blank=True)
    reverse_charge = models.BooleanField(default=False)
    recipient_nif = models.CharField(max_length=9, blank=True)
    recipient_name = models.CharField(max_length=120, blank=True)
    recipient_country = models.CharField(max_length=2, blank=True)
    recipient_id_type = models.CharField(max_length=2, blank=True)
    recipient_id = models.CharField(max_length=20, blank=True)
    not_subject_amount_cents = models.BigIntegerField(null=True, blank=True)
    not_subject_cause = models.CharField(max_length=2, blank=True)
    breakdown = models.JSONField(
        help_text="Lines: tax_type, regime_type, operation_type, base_cents, rate_bp, "
        "tax_cents, surcharge_rate_bp, surcharge_cents and, when given, base_cost_cents "
        "(BaseImponibleACoste) (integers; rates in basis points)."
    )
    total_amount_cents = models.BigIntegerField()
    total_tax_amount_cents = models.BigIntegerField()
    rectification_type = models.CharField(max_length=1, blank=True)
    rectified_invoices = models.JSONField(default=list, blank=True)
    replaced_invoices = models.JSONField(default=list, blank=True)
    rectification_base_cents = models.BigIntegerField(null=True, blank=True)
    rectification_tax_cents = models.BigIntegerField(null=True, blank=True)
    rectification_surcharge_cents = models.BigIntegerField(null=True, blank=True)
    # The number of the current :class:`FiscalInvoiceVersion`; the fiscal columns above are
    # that version's facts. Version 1 is the registration; a subsanación with corrected data
    # makes the next one (the only writer of these columns after creation).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    # The IRPF withheld, as the v1 API was told it: printed on the PDF (retención and the
    # amount to pay) and never part of a billing record (ImporteTotal excludes it), so not a
    # fact a version snapshots or a subsanación changes.
    irpf_rate_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    irpf_amount_cents = models.BigIntegerField(null=True, blank=True)

    # Not facts of the record: who keeps it, where its records go, bookkeeping, and IRPF.
    NOT_FACTS = frozenset(
        {
            "id",
            "account",
            "taxpayer",
            "computer_system",
            "source",
            "version",
            "created_at",
            "irpf_rate_bp",
            "irpf_amount_cents",
        }
    )

    class Meta:
        ordering = ["-invoice_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxpayer", "invoice_number"], name="fiscal_invoice_unique_number"
            )
        ]
        indexes = [models.Index(fields=["taxpayer", "-invoice_date", "-id"])]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.issuer_nif})"

    @property
    def latest_record(self) -> BillingRecord | None:
        return self.records.order_by("-position").first()

    @property
    def registration(self) -> BillingRecord | None:
        """The latest RegistroAlta: what AEAT holds of the invoice, and what the QR shows."""
        return self.records.filter(kind=BillingRecord.Kind.ALTA).order_by("-position").first()

    @property
    def qr_url(self) -> str:
        """The cotejo URL, built from the literals of the registered record (SPEC §2)."""
        alta = self.registration
        return alta.qr_url if alta is not None else ""

    @property
    def no_verifactu(self) -> bool:
        """Whether the invoice's registration was generated in NO VERI*FACTU mode.

        The mode of the record, not the taxpayer's mode today: an invoice registered (and sent)
        under VERI*FACTU keeps ``ValidarQR`` after a later switch, and vice versa.
        """
        alta = self.registration
        if alta is None:
            return self.taxpayer.verifactu_mode == Taxpayer.VerifactuMode.NO_VERIFACTU
        return alta.no_verifactu

    @classmethod
    def fact_fields(cls) -> list[models.Field]:
        """The columns that hold the invoice's fiscal facts (what a version snapshots)."""
        return [f for f in cls._meta.concrete_fields if f.name not in cls.NOT_FACTS]

    def facts_snapshot(self) -> dict:
        """The current fiscal columns, JSON-ready (dates as ISO strings)."""
        return {f.attname: f.value_from_object(self) for f in self.fact_fields()}


class FiscalInvoiceVersion(models.Model):
    """One immutable version of a fiscal invoice's facts, and why it was made.

    Version 1 is what was registered; each subsanación with corrected data adds the next,
    linked to the one it replaces, naming who made it (a user, or an API token by its id and
    label), when, why, and whether the user stated that the invoice as delivered to the
    client already carried these data. ``record`` is the RegistroAlta that registered it.
    Version 1 is written when the first correction is made (registration stays one insert).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fiscal_invoice = models.ForeignKey(
        FiscalInvoice, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    facts = models.JSONField(encoder=DjangoJSONEncoder)
    record = models.OneToOneField(
        "BillingRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    matches_delivered_invoice = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fiscal_invoice_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_invoice", "number"], name="fiscal_invoice_version_unique"
            ),
            models.CheckConstraint(
                condition=(Q(number=1) & Q(replaces__isnull=True))
                | (Q(number__gt=1) & Q(replaces__isnull=False)),
                name="fiscal_invoice_version_replaces_iff_not_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_invoice} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Fiscal invoice versions are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Fiscal invoice versions are never deleted.")

    def as_invoice(self) -> FiscalInvoice:
        """An unsaved fiscal invoice carrying this version's facts (to read them as facts)."""
        invoice = FiscalInvoice(
            pk=self.fiscal_invoice_id,
            account_id=self.fiscal_invoice.account_id,
            taxpayer_id=self.fiscal_invoice.taxpayer_id,
            computer_system_id=self.fiscal_invoice.computer_system_id,
            version=self.number,
        )
        for field in FiscalInvoice.fact_fields():
            if field.attname in self.facts:
                setattr(invoice, field.attname, field.to_python(self.facts[field.attname]))
        return invoice


class FiscalInvoiceCount(models.Model):
    """The exact number of a taxpayer's fiscal invoices, kept by triggers (PostgreSQL only).

    The table and its triggers are the database's (migrations 0020 and 0022, re-created by
    ``manage.py ensure_triggers``): a fiscal invoice counts when its registration record is
    inserted (under the chain's lock), and every delete, move and truncate of fiscal invoices
    in its own transaction. Read only, through :mod:`verifactu.counts`.
    """

    taxpayer_id = models.UUIDField(primary_key=True)
    invoices = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "verifactu_fiscalinvoicecount"

    def __str__(self) -> str:
        return f"{self.taxpayer_id}: {self.invoices}"
