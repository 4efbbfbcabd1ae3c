"""Recording expenses: the rules shared by the browser and the account API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from expenses.models import Expense, ExpenseCategory
from factu.models import Account, Taxpayer
from factu.nif import validate_nif
from factu.text import normalize_search


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


def create_expense(taxpayer: Taxpayer, data: Mapping[str, Any]) -> Expense:
    """``data`` uses the model's names; amounts are integer cents, rates basis points."""
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
        iva = (base * rate + 5000) // 10000
    if base is not None and iva is None and isinstance(amount, int):
        iva = amount - base
    deductible_bp = data.get("deductible_bp", 10000)
    if not 0 <= deductible_bp <= 10000:
        errors["deductiblePercent"] = ["Entre 0 y 10000 puntos básicos."]
    if errors:
        raise ValidationError(errors)
    expense = Expense(
        account=taxpayer.account,
        taxpayer=taxpayer,
        date=when,
        description=description,
        supplier_name=(data.get("supplier_name") or "").strip(),
        supplier_nif=supplier_nif,
        amount_cents=amount,
        base_cents=base,
        iva_rate_bp=rate,
        iva_cents=iva,
        is_deductible=data.get("is_deductible", True),
        deductible_bp=deductible_bp,
        category=category,
        paid=data.get("paid", True),
    )
    expense.search_text = normalize_search(
        " ".join(
            [description, expense.supplier_name, supplier_nif, category.name if category else ""]
        )
    )
    expense.save()
    return expense
