"""Demo data of the catalogue for ``seed_demo``: a few services of each demo account.

Items belong to the account, so a gestoría's three taxpayers share them; an item the demo
already has (by name) is left as it is, so running ``seed_demo`` again changes nothing.
"""

from __future__ import annotations

from catalogue.models import Item
from catalogue.services import create_item
from factu.models import Taxpayer, User

ITEMS = [
    {
        "name": "Hora de consultoría",
        "description": "Consultoría (por horas)",
        "unit_price_cents": 6000,
        "iva_type": "general",
        "irpf_bp": 1500,
    },
    {
        "name": "Diseño de logotipo",
        "description": "Diseño de logotipo (tres propuestas y manual básico)",
        "unit_price_cents": 45000,
        "iva_type": "general",
        "irpf_bp": 1500,
    },
    {
        "name": "Mantenimiento web mensual",
        "unit_price_cents": 9900,
        "iva_type": "general",
    },
    {
        "name": "Curso de formación",
        "description": "Curso de formación (exento, art. 20 LIVA)",
        "unit_price_cents": 25000,
        "iva_type": "exento",
    },
]


def seed(taxpayer: Taxpayer, user: User) -> None:
    account = taxpayer.account
    existing = set(Item.objects.filter(account=account).values_list("name", flat=True))
    for data in ITEMS:
        if data["name"] not in existing:
            create_item(account, data)
