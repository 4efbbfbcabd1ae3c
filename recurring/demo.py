"""Demo data of recurring plans for ``seed_demo``: one monthly plan per demo taxpayer, for its
first client, from today (it generates nothing before its first period)."""

from __future__ import annotations

from django.utils import timezone

from clients.models import Client
from factu.models import Taxpayer, User
from invoicing.models import Series
from invoicing.services import DraftLine
from recurring.models import Plan
from recurring.services import create_plan


def seed(taxpayer: Taxpayer, user: User) -> None:
    if Plan.objects.filter(taxpayer=taxpayer).exists():
        return
    client = Client.objects.filter(taxpayer=taxpayer, archived_at__isnull=True).order_by("name")
    series = Series.objects.filter(taxpayer=taxpayer, archived=False, kind=Series.Kind.NORMAL)
    if not client.exists() or not series.exists():
        return
    create_plan(
        taxpayer,
        name="Mantenimiento mensual",
        client=client.first(),
        series=series.order_by("code").first(),
        description="Mantenimiento y soporte del mes",
        payment_days=30,
        irpf_bp=taxpayer.default_irpf_bp,
        frequency="monthly",
        day_of_month=1,
        start_date=timezone.localdate(),
        lines=[DraftLine("Mantenimiento y soporte", quantity=100, unit_price=30000)],
        created_by=user,
    )
