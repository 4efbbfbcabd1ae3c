"""Demo data of quotes for ``seed_demo``: a quote in each status of its life, for the demo
clients invoicing seeds. Only into a taxpayer with no quotes yet, so a second run changes
nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clients.models import Client
from factu.models import Taxpayer, User
from invoicing.services import Actor, DraftLine
from quotes.models import Quote
from quotes.services import accept_quote, create_quote, mark_sent, reject_quote

WEB = [
    DraftLine("Rediseño de la web corporativa", 100, 240000),
    DraftLine("Hosting y mantenimiento (12 meses)", 1200, 3500, discount_bp=1000),
]
BRANDING = [DraftLine("Manual de marca", 100, 90000)]


def seed(taxpayer: Taxpayer, user: User) -> None:
    clients = list(Client.objects.filter(taxpayer=taxpayer, archived_at__isnull=True)[:2])
    if not clients or Quote.objects.filter(taxpayer=taxpayer).exists():
        return
    actor = Actor(user=user)
    today = timezone.localdate()

    def quote(days_ago: int, lines: list[DraftLine], client: Client = clients[0]) -> Quote:
        issue_date = today - timedelta(days=days_ago)
        return create_quote(
            taxpayer,
            client=client,
            issue_date=issue_date,
            valid_until=issue_date + timedelta(days=30),
            lines=lines,
            irpf_bp=taxpayer.default_irpf_bp,
            actor=actor,
        )

    accept_quote(
        mark_sent(quote(50, BRANDING), actor=actor, today=today - timedelta(days=50)),
        actor=actor,
        today=today - timedelta(days=45),
    )
    reject_quote(
        mark_sent(quote(40, WEB, clients[-1]), actor=actor, today=today - timedelta(days=40)),
        actor=actor,
        today=today - timedelta(days=35),
    )
    mark_sent(quote(35, BRANDING, clients[-1]), actor=actor, today=today - timedelta(days=35))
    mark_sent(quote(3, WEB), actor=actor, today=today)
    quote(0, WEB)
