"""Demo data of invoicing for ``seed_demo``: series, clients and invoices in every status.

Only seeded into a taxpayer that has no invoices yet, neither issued here nor registered
through ``/api/v1``: running ``seed_demo`` again changes nothing, and the back-dated demo
invoices never meet a later record of the taxpayer (the chronology would refuse them).
Records are queued; the worker of ``make run`` sends them to the simulator.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clients.models import Client
from clients.services import create_client
from factu.models import Taxpayer, User
from invoicing.models import Invoice, Series
from invoicing.services import (
    Actor,
    DraftLine,
    cancel_invoice,
    create_draft,
    issue_invoice,
    mark_overdue,
    mark_paid,
)

CLIENTS = [
    {
        "name": "Acme Consultores SL",
        "nif": "B12345674",
        "email": "facturas@acme.test",
        "address": "Calle Mayor 1",
        "postal_code": "28001",
        "city": "Madrid",
        "country": "ES",
    },
    {
        "name": "Librería Cervantes",
        "nif": "A28045631",
        "email": "compras@cervantes.test",
        "address": "Rúa Nova 4",
        "postal_code": "15705",
        "city": "Santiago de Compostela",
        "country": "ES",
        "recargo_equivalencia": True,
    },
    {
        "name": "Nordic Design AB",
        "country": "SE",
        "id_type": "02",
        "foreign_id": "SE556677889901",
        "email": "ap@nordic.test",
        "city": "Stockholm",
    },
]


def seed(taxpayer: Taxpayer, user: User) -> None:
    if Invoice.objects.filter(taxpayer=taxpayer).exists() or taxpayer.fiscal_invoices.exists():
        return
    account = taxpayer.account
    series, _ = Series.objects.get_or_create(account=account, taxpayer=taxpayer, code="A")
    Series.objects.get_or_create(
        account=account, taxpayer=taxpayer, code="R", defaults={"kind": Series.Kind.RECTIFYING}
    )
    Series.objects.get_or_create(
        account=account, taxpayer=taxpayer, code="T", defaults={"kind": Series.Kind.SIMPLIFIED}
    )
    clients = []
    for data in CLIENTS:
        existing = Client.objects.filter(taxpayer=taxpayer, name=data["name"]).first()
        clients.append(existing or create_client(taxpayer, data))
    actor = Actor(user=user)
    today = timezone.localdate()
    now = timezone.now()

    def invoice(days_ago: int, client: Client, lines: list[DraftLine], due_in: int = 30, **kw):
        issue_date = today - timedelta(days=days_ago)
        return create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=due_in),
            lines=lines,
            actor=actor,
            **kw,
        )

    design = [DraftLine("Diseño de identidad corporativa", 100, 180000, "general")]
    paid = issue_invoice(invoice(60, clients[0], design, irpf_bp=1500), actor=actor)
    mark_paid(paid, paid_at=now - timedelta(days=40), actor=actor)
    books = [
        DraftLine("Ilustraciones para catálogo", 1200, 4500, "general"),
        DraftLine("Libro de estilo impreso", 300, 1500, "superreducido"),
    ]
    issue_invoice(invoice(45, clients[1], books, due_in=15), actor=actor)
    export = [
        DraftLine("Consultoría UX (exportación de servicios)", 800, 9000, "no_sujeto", cause="N2")
    ]
    issue_invoice(invoice(20, clients[2], export), actor=actor)
    wrong = issue_invoice(
        invoice(10, clients[0], [DraftLine("Servicio duplicado", 100, 50000)]), actor=actor
    )
    cancel_invoice(wrong, actor=actor, reason="Emitida por error")
    draft = invoice(
        0,
        clients[0],
        [
            DraftLine("Mantenimiento web (diciembre)", 100, 30000),
            DraftLine("Hosting anual", 100, 12000, discount_bp=1000),
        ],
        irpf_bp=1500,
    )
    cancelled_draft = invoice(0, clients[1], [DraftLine("Presupuesto descartado", 100, 1000)])
    cancel_invoice(cancelled_draft, actor=actor, reason="Presupuesto no aceptado")
    assert draft.is_draft
    mark_overdue(today)
