"""Recurring plans: a template of an invoice and the calendar it is repeated on.

A plan belongs to one taxpayer and invoices one client in one series. Each period of its
calendar (:mod:`recurring.schedule`) gives at most one invoice: the :class:`GeneratedPeriod`
row, unique per plan and period, is written in the transaction that creates the invoice,
under the plan's row lock (:func:`recurring.services.generate_due`).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import Client
from factu.models import Account, Taxpayer
from invoicing import taxes
from invoicing.models import Invoice, PricedLine, Series


class Frequency(models.TextChoices):
    MONTHLY = "monthly", "Mensual"
    QUARTERLY = "quarterly", "Trimestral"
    YEARLY = "yearly", "Anual"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Activo"
    PAUSED = "paused", "En pausa"
    ENDED = "ended", "Terminado"


class Plan(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="+")
    name = models.CharField("nombre", max_length=120)
    description = models.CharField("descripción de la factura", max_length=500, blank=True)
    notes = models.TextField("notas", blank=True)
    payment_details = models.CharField("forma de pago", max_length=200, blank=True)
    payment_days = models.PositiveSmallIntegerField("días para el vencimiento", null=True)
    irpf_bp = models.PositiveSmallIntegerField("IRPF", default=0)
    frequency = models.CharField(
        "periodicidad", max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    day_of_month = models.PositiveSmallIntegerField("día del mes", default=1)
    start_date = models.DateField("primera fecha posible")
    end_date = models.DateField("última fecha posible", null=True)
    max_invoices = models.PositiveIntegerField("número de facturas", null=True)
    auto_issue = models.BooleanField("emitir automáticamente", default=True)
    auto_send = models.BooleanField("enviar por correo automáticamente", default=False)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    # The date of the next period to invoice (None once the plan has ended).
    next_date = models.DateField(null=True)
    generated_count = models.PositiveIntegerField(default=0)
    # Why the last generation did not give an issued invoice (empty when it did).
    problem = models.TextField(blank=True)
    problem_at = models.DateTimeField(null=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1, day_of_month__lte=31),
                name="recurring_plan_day_of_month",
            ),
            models.CheckConstraint(
                condition=Q(max_invoices__isnull=True) | Q(max_invoices__gte=1),
                name="recurring_plan_max_invoices",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_date"], name="recurring_plan_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == PlanStatus.ACTIVE


class PlanLine(PricedLine, models.Model):  # noqa: DJ008 - its __str__ is PricedLine's
    """A line of the plan's invoices, as :class:`invoicing.models.InvoiceLine` stores one
    (priced when each invoice is made, so without an amount)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField("concepto", max_length=500)
    quantity = models.IntegerField("cantidad", help_text="Centésimas de unidad: 100 = 1.")
    unit_price_cents = models.BigIntegerField("precio unitario")
    discount_bp = models.PositiveSmallIntegerField("descuento", default=0)
    iva_type = models.CharField("IVA", max_length=30, default=taxes.GENERAL)
    cause = models.CharField("causa", max_length=2, blank=True)
    tobacco = models.BooleanField(default=False)
    regime = models.CharField("régimen", max_length=2, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="plan_line_unique_position")
        ]


class GeneratedPeriod(models.Model):
    """One period of a plan and the invoice made for it: never two for one period."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="periods")
    period = models.DateField("periodo")
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField()
    # Why the invoice was left a draft when the plan issues automatically (a rule refused).
    problem = models.TextField(blank=True)
    # The plan sends by email: sending was queued (recurring.sending.send_generated), or why not.
    send_requested = models.BooleanField(default=False)
    send_problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "period"], name="recurring_one_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.period:%Y-%m-%d}"
