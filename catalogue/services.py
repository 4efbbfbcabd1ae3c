"""Business rules of the catalogue, for the pages and the invoice form's search.

Every write validates with :meth:`Item.full_clean`: errors are ``ValidationError`` dicts keyed
by field, with Spanish messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from catalogue.models import Item
from factu.archiving import set_archived
from factu.models import Account
from factu.text import search_terms
from invoicing.forms import format_decimal

EDITABLE_FIELDS = ("name", "description", "unit_price_cents", "iva_type", "irpf_bp")
SEARCH_LIMIT = 10


def _assign(item: Item, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable catalogue fields: {', '.join(sorted(unknown))}")
    for field, value in data.items():
        setattr(item, field, value)


def create_item(account: Account, data: Mapping[str, Any]) -> Item:
    """A new item of ``account``; ``ValidationError`` (by field) when ``data`` breaks a rule."""
    item = Item(account=account)
    _assign(item, data)
    item.full_clean()
    item.save()
    return item


def update_item(item: Item, data: Mapping[str, Any]) -> Item:
    _assign(item, data)
    item.full_clean()
    item.save()
    return item


def archive_item(item: Item) -> Item:
    """Hide the item from the list and the invoice form; invoices that used it are untouched."""
    return set_archived(item, True)


def restore_item(item: Item) -> Item:
    return set_archived(item, False)


def search_items(account: Account, q: str = "", include_archived: bool = False) -> QuerySet[Item]:
    """The account's items whose name or concept contain every word of ``q`` (accents and
    case ignored), by name."""
    items = Item.objects.filter(account=account)
    if not include_archived:
        items = items.filter(archived_at__isnull=True)
    words = Q()
    for term in search_terms(q):
        words &= Q(search_text__contains=term)
    return items.filter(words).order_by("name", "id")


def as_suggestion(item: Item) -> dict[str, Any]:
    """What the invoice form's type-ahead needs to fill a line: the line's field values as the
    line form parses them (Spanish decimals), and the amounts in cents / basis points."""
    irpf = item.irpf_bp
    return {
        "id": str(item.pk),
        "name": item.name,
        "description": item.line_description,
        "unitPriceCents": item.unit_price_cents,
        "unitPrice": format_decimal(item.unit_price_cents),
        "ivaType": item.iva_type,
        "ivaLabel": item.tax_display,
        "irpfBp": irpf,
        "irpf": None if irpf is None else format_decimal(irpf),
    }
