"""Recording expenses: the rules shared by the browser and the account API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from expenses.models import Expense, ExpenseCategory
from expenses.receipts import delete_after_commit
from factu.models import Account, Taxpayer
from factu.money import share_cents
from factu.nif import validate_nif
from factu.text import normalize_search, search_terms


def categories_for(account: Account) -> QuerySet[ExpenseCategory]:
    return ExpenseCategory.objects.filter(Q(account__isnull=True) | Q(account=account)).order_by(
        "name"
    )


def _supplier_nif(raw: str) -> str:
    raw = (raw or "").strip().upper()
    if not raw:
        return ""
    foreign = len(raw) > 2 and raw[:2].isalpha() and raw[:2] != "ES" and not raw[2].isalpha()
    if foreign:
        return raw.replace(" ", "")
    return validate_nif(raw)


# What a received e-invoice can state beyond one IVA rate (see the model): kept when given,
# left as they are by a caller that does not know them (the expense form, the API).
PURCHASE_TAX_FIELDS = (
    "iva_base_cents",
    "surcharge_cents",
    "other_tax_cents",
    "reverse_charge_base_cents",
    "reverse_charge_cents",
    "irpf_base_cents",
    "irpf_withheld_cents",
)


def _validated(taxpayer: Taxpayer, data: Mapping[str, Any]) -> dict[str, Any]:
    """The expense's fields from ``data``, or ``ValidationError`` keyed like the account API."""
    errors: dict[str, list[str]] = {}
    amount = data.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool):
        errors["amount"] = ["El importe es un número entero de céntimos."]
    when = data.get("date")
    if not isinstance(when, date):
        errors["date"] = ["Indique la fecha (AAAA-MM-DD)."]
    description = (data.get("description") or "").strip()
    if not description:
        errors["description"] = ["Indique una descripción."]
    try:
        supplier_nif = _supplier_nif(data.get("supplier_nif", ""))
    except ValidationError as exc:
        errors["supplierNif"] = exc.messages
        supplier_nif = ""
    category = data.get("category")
    if category is not None and not categories_for(taxpayer.account).filter(pk=category.pk):
        errors["categoryId"] = ["Esa categoría no existe en la cuenta."]
    base, rate, iva = data.get("base_cents"), data.get("iva_rate_bp"), data.get("iva_cents")
    if rate is not None and not 0 <= rate <= 10000:
        errors["ivaRate"] = ["El tipo de IVA va de 0 a 10000 puntos básicos."]
    if base is not None and isinstance(amount, int) and abs(base) > abs(amount):
        errors["baseAmount"] = ["La base no puede superar el total."]
    if base is not None and rate is not None and iva is None and "ivaRate" not in errors:
        iva = share_cents(base, rate)
    if base is not None and iva is None and isinstance(amount, int):
        iva = amount - base
    deductible_bp = data.get("deductible_bp", 10000)
    if not 0 <= deductible_bp <= 10000:
        errors["deductiblePercent"] = ["Entre 0 y 10000 puntos básicos."]
    if errors:
        raise ValidationError(errors)
    supplier_name = (data.get("supplier_name") or "").strip()
    return {
        **{name: data[name] for name in PURCHASE_TAX_FIELDS if name in data},
        "date": when,
        "description": description,
        "supplier_name": supplier_name,
        "supplier_nif": supplier_nif,
        "amount_cents": amount,
        "base_cents": base,
        "iva_rate_bp": rate,
        "iva_cents": iva,
        "is_deductible": data.get("is_deductible", True),
        "deductible_bp": deductible_bp,
        "category": category,
        "paid": data.get("paid", True),
        "search_text": normalize_search(
            " ".join([description, supplier_name, supplier_nif, category.name if category else ""])
        ),
    }


def create_expense(taxpayer: Taxpayer, data: Mapping[str, Any]) -> Expense:
    """``data`` uses the model's names; amounts are integer cents, rates basis points."""
    expense = Expense(account=taxpayer.account, taxpayer=taxpayer, **_validated(taxpayer, data))
    expense.save()
    return expense


def update_expense(expense: Expense, data: Mapping[str, Any]) -> Expense:
    """Replace the expense's fields with ``data`` (all of them, as for :func:`create_expense`).

    The receipt is not touched here: see :mod:`expenses.receipts`.
    """
    fields = _validated(expense.taxpayer, data)
    changed = (fields["base_cents"], fields["iva_cents"]) != (expense.base_cents, expense.iva_cents)
    if changed and "iva_base_cents" not in data:
        fields["iva_base_cents"] = None  # the received file's split no longer holds (303, 28)
    for field, value in fields.items():
        setattr(expense, field, value)
    expense.save()
    return expense


def delete_expense(expense: Expense) -> None:
    """Delete the expense and, once the transaction commits, its receipt file."""
    name = expense.receipt.name if expense.receipt else ""
    with transaction.atomic():
        expense.delete()
        delete_after_commit(name)


def create_category(account: Account, name: str) -> ExpenseCategory:
    """An account's own category; its name must differ from every category it can use."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": ["Indique el nombre de la categoría."]})
    if len(name) > 80:
        raise ValidationError({"name": ["Como mucho 80 caracteres."]})
    wanted = normalize_search(name)
    if any(normalize_search(c.name) == wanted for c in categories_for(account)):
        raise ValidationError({"name": [f"Ya existe la categoría «{name}»."]})
    try:
        with transaction.atomic():
            return ExpenseCategory.objects.create(account=account, name=name)
    except IntegrityError:
        raise ValidationError({"name": [f"Ya existe la categoría «{name}»."]}) from None


def delete_category(category: ExpenseCategory) -> None:
    """Delete an account's own category; its expenses keep existing, without category."""
    if category.account_id is None:
        raise ValidationError("Las categorías de Factu no se pueden borrar.")
    category.delete()


@dataclass(frozen=True)
class ExpenseFilters:
    date_from: date | None = None
    date_to: date | None = None
    category: ExpenseCategory | None = None
    uncategorised: bool = False
    deductible: bool | None = None
    text: str = ""


def filter_expenses(taxpayer: Taxpayer, filters: ExpenseFilters) -> QuerySet[Expense]:
    """The taxpayer's expenses matching ``filters``, newest first."""
    expenses = Expense.objects.filter(account=taxpayer.account, taxpayer=taxpayer)
    if filters.date_from:
        expenses = expenses.filter(date__gte=filters.date_from)
    if filters.date_to:
        expenses = expenses.filter(date__lte=filters.date_to)
    if filters.category is not None:
        expenses = expenses.filter(category=filters.category)
    elif filters.uncategorised:
        expenses = expenses.filter(category__isnull=True)
    if filters.deductible is not None:
        expenses = expenses.filter(is_deductible=filters.deductible)
    for term in search_terms(filters.text):
        expenses = expenses.filter(search_text__contains=term)
    return expenses.select_related("category").order_by("-date", "-id")


def expense_totals(expenses: QuerySet[Expense]) -> dict[str, int]:
    """Count and sums (cents) of a set of expenses: total, base, IVA and deductible amount.

    The deductible amount is the sum of each expense's :attr:`Expense.deductible_cents`.
    """
    sums = expenses.aggregate(
        count=Count("id"),
        amount=Coalesce(Sum("amount_cents"), 0),
        base=Coalesce(Sum("base_cents"), 0),
        iva=Coalesce(Sum("iva_cents"), 0),
    )
    deductible_fields = (
        "is_deductible",
        "base_cents",
        "amount_cents",
        "surcharge_cents",
        "other_tax_cents",
        "deductible_bp",
    )
    deductible = expenses.filter(is_deductible=True).select_related(None).only(*deductible_fields)
    sums["deductible"] = sum(e.deductible_cents for e in deductible.iterator())
    return sums
