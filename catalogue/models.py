"""The catalogue: the products and services an account invoices again and again.

An :class:`Item` is a template for an invoice line (its concept, a default unit price in
integer cents, the tax type and, optionally, the IRPF withholding it usually carries). Picking
one in the invoice form copies those values into the line; nothing links the line back to the
item, so editing or archiving an item never changes an invoice. Items belong to the account
(a gestoría's taxpayers share them) and are archived, never deleted.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models

from factu.models import Account
from factu.text import normalize_search, refreshing_search_text
from invoicing import taxes

BP_MAX = 10_000


class Item(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="catalogue_items", editable=False
    )
    name = models.CharField("nombre", max_length=120)
    description = models.CharField(
        "concepto en la factura",
        max_length=500,
        blank=True,
        help_text="El texto de la línea. Vacío: el nombre.",
    )
    unit_price_cents = models.BigIntegerField("precio unitario por defecto")
    iva_type = models.CharField("impuesto", max_length=30, default=taxes.GENERAL)
    irpf_bp = models.PositiveSmallIntegerField(
        "retención IRPF",
        null=True,
        blank=True,
        help_text="En puntos básicos (1500 = 15 %). Vacío: no cambia la retención de la factura.",
    )
    archived_at = models.DateTimeField("archivado", null=True, blank=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "producto o servicio"
        verbose_name_plural = "productos y servicios"
        indexes = [models.Index(fields=["account", "archived_at", "name"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.search_text = normalize_search(f"{self.name} {self.description}")
        super().save(*args, **refreshing_search_text(kwargs))

    def clean(self) -> None:
        errors = {}
        if self.iva_type not in taxes.TAX_RATES_BP:
            errors["iva_type"] = "Elija un tipo de impuesto de la lista."
        if self.irpf_bp is not None and not 0 <= self.irpf_bp <= BP_MAX:
            errors["irpf_bp"] = "La retención va de 0 a 100 %."
        if self.unit_price_cents is not None and self.unit_price_cents < 0:
            errors["unit_price_cents"] = "El precio por defecto no puede ser negativo."
        if errors:
            raise ValidationError(errors)

    @property
    def line_description(self) -> str:
        """What an invoice line picked from this item says."""
        return self.description or self.name

    @property
    def price_display(self) -> str:
        return taxes.format_euros(self.unit_price_cents)

    @property
    def tax_display(self) -> str:
        from invoicing.forms import IGIC_LABELS, IPSI_LABELS, IVA_LABELS

        labels = {**IVA_LABELS, **IGIC_LABELS, **IPSI_LABELS}
        return labels.get(self.iva_type, self.iva_type)

    @property
    def irpf_display(self) -> str:
        return "—" if self.irpf_bp is None else taxes.format_percent(self.irpf_bp)
