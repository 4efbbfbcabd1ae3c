"""Expense forms: euros typed by people ("49,99", "49.99", "1.234,56") become integer cents
through ``Decimal`` (:func:`invoicing.forms.parse_decimal`), percentages basis points. The
rules stay in :mod:`expenses.services` and :mod:`expenses.receipts`; the forms read input
and put the services' errors next to the fields they concern.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from expenses import receipts
from expenses.models import Expense
from expenses.services import ExpenseFilters, categories_for
from factu.models import Account
from factu.text import NoControlCharactersForm
from invoicing.forms import DATE_FORMATS, DateInput, ScaledDecimalField

IVA_RATE_CHOICES = [
    ("", "— (sin desglose de IVA)"),
    ("2100", "21 %"),
    ("1000", "10 %"),
    ("400", "4 %"),
    ("0", "0 %"),
]
DEDUCTIBLE_CHOICES = [("", "Todos"), ("si", "Deducibles"), ("no", "No deducibles")]
NO_CATEGORY = "ninguna"

# The service's error keys (those of the account API) → this form's fields.
SERVICE_FIELDS = {
    "amount": "amount",
    "date": "date",
    "description": "description",
    "supplierNif": "supplier_nif",
    "categoryId": "category",
    "ivaRate": "iva_rate",
    "baseAmount": "base",
    "deductiblePercent": "deductible_percent",
}


class EurosField(ScaledDecimalField):
    """Euros with two decimals shown as an amount is written: 12100 → ``121,00``."""

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            sign = "-" if value < 0 else ""
            euros, cents = divmod(abs(value), 100)
            return f"{sign}{euros:,}".replace(",", ".") + f",{cents:02d}"
        return value


def _category_choices(account: Account) -> list[tuple[str, str]]:
    return [(str(c.pk), c.name) for c in categories_for(account)]


class ExpenseForm(NoControlCharactersForm, forms.Form):
    date = forms.DateField(label="Fecha", input_formats=DATE_FORMATS, widget=DateInput())
    description = forms.CharField(label="Descripción", max_length=300)
    supplier_name = forms.CharField(label="Proveedor", max_length=120, required=False)
    supplier_nif = forms.CharField(
        label="NIF del proveedor",
        max_length=20,
        required=False,
        help_text="Se comprueba si es español; uno extranjero empieza por el país (FR…).",
    )
    amount = EurosField(
        label="Importe total (€)", help_text="Lo que dice el ticket o la factura: 49,99."
    )
    base = EurosField(label="Base imponible (€)", required=False, help_text="Opcional: sin IVA.")
    iva_rate = forms.ChoiceField(label="Tipo de IVA", choices=IVA_RATE_CHOICES, required=False)
    iva_amount = EurosField(
        label="Cuota de IVA (€)",
        required=False,
        help_text="Si la deja vacía, se calcula con la base y el tipo.",
    )
    is_deductible = forms.BooleanField(label="Deducible", required=False, initial=True)
    deductible_percent = ScaledDecimalField(
        label="Porcentaje deducible (%)",
        places=2,
        minimum=0,
        maximum=10000,
        initial=10000,
        help_text="100 si se deduce entero; 50 para un vehículo de uso mixto, por ejemplo.",
    )
    category = forms.ChoiceField(label="Categoría", required=False)
    paid = forms.BooleanField(label="Pagado", required=False, initial=True)
    receipt = forms.FileField(
        label="Justificante",
        required=False,
        help_text="PDF, JPEG o PNG.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
    remove_receipt = forms.BooleanField(label="Quitar el justificante", required=False)

    def __init__(self, *args, account: Account, expense: Expense | None = None, **kwargs):
        if expense is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(expense)
        super().__init__(*args, **kwargs)
        self.account = account
        self.expense = expense
        self.fields["category"].choices = [("", "— Sin categoría")] + _category_choices(account)
        limit = receipts.max_bytes() // (1024 * 1024)
        self.fields["receipt"].help_text = f"PDF, JPEG o PNG, hasta {limit} MB."
        if expense is None or not expense.receipt:
            del self.fields["remove_receipt"]
        self.receipt_type: receipts.ReceiptType | None = None

    def clean_receipt(self):
        upload = self.cleaned_data.get("receipt")
        if upload:
            self.receipt_type = receipts.check_receipt(upload)
        return upload

    def clean_iva_rate(self):
        value = self.cleaned_data.get("iva_rate")
        return int(value) if value not in (None, "") else None

    def clean_category(self):
        value = self.cleaned_data.get("category")
        if not value:
            return None
        category = categories_for(self.account).filter(pk=value).first()
        if category is None:
            raise ValidationError("Elija una categoría de la lista.")
        return category

    def clean(self):
        data = super().clean()
        base, iva = data.get("base"), data.get("iva_amount")
        amount = data.get("amount")
        if base is None and iva is not None and amount is not None:
            data["base"] = amount - iva
        return data

    @property
    def data_for_service(self) -> dict:
        d = self.cleaned_data
        return {
            "date": d["date"],
            "description": d["description"],
            "supplier_name": d.get("supplier_name", ""),
            "supplier_nif": d.get("supplier_nif", ""),
            "amount_cents": d["amount"],
            "base_cents": d.get("base"),
            "iva_rate_bp": d.get("iva_rate"),
            "iva_cents": d.get("iva_amount"),
            "is_deductible": d.get("is_deductible", False),
            "deductible_bp": d["deductible_percent"],
            "category": d.get("category"),
            "paid": d.get("paid", False),
        }

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.message_dict.items():
            target = SERVICE_FIELDS.get(key)
            self.add_error(target if target in self.fields else None, messages)


def initial_for(expense: Expense) -> dict:
    return {
        "date": expense.date,
        "description": expense.description,
        "supplier_name": expense.supplier_name,
        "supplier_nif": expense.supplier_nif,
        "amount": expense.amount_cents,
        "base": expense.base_cents,
        "iva_rate": "" if expense.iva_rate_bp is None else str(expense.iva_rate_bp),
        "iva_amount": expense.iva_cents,
        "is_deductible": expense.is_deductible,
        "deductible_percent": expense.deductible_bp,
        "category": str(expense.category_id) if expense.category_id else "",
        "paid": expense.paid,
    }


def new_expense_initial() -> dict:
    return {"date": timezone.localdate(), "deductible_percent": 10000, "is_deductible": True}


class ExpenseFilterForm(NoControlCharactersForm, forms.Form):
    desde = forms.DateField(
        label="Desde", required=False, input_formats=DATE_FORMATS, widget=DateInput()
    )
    hasta = forms.DateField(
        label="Hasta", required=False, input_formats=DATE_FORMATS, widget=DateInput()
    )
    categoria = forms.ChoiceField(label="Categoría", required=False)
    deducible = forms.ChoiceField(label="Deducible", required=False, choices=DEDUCTIBLE_CHOICES)
    q = forms.CharField(label="Buscar", required=False, max_length=200)

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["categoria"].choices = (
            [("", "Todas")] + _category_choices(account) + [(NO_CATEGORY, "Sin categoría")]
        )

    def filters(self) -> ExpenseFilters:
        """The filters to apply; invalid fields are ignored (their errors are shown)."""
        d = {}
        if self.is_bound:
            self.is_valid()
            d = self.cleaned_data  # only the fields that validated
        chosen = d.get("categoria") or ""
        category = None
        if chosen and chosen != NO_CATEGORY:
            category = categories_for(self.account).filter(pk=chosen).first()
        deductible = {"si": True, "no": False}.get(d.get("deducible") or "")
        return ExpenseFilters(
            date_from=d.get("desde"),
            date_to=d.get("hasta"),
            category=category,
            uncategorised=chosen == NO_CATEGORY,
            deductible=deductible,
            text=(d.get("q") or "").strip(),
        )


class CategoryForm(NoControlCharactersForm, forms.Form):
    name = forms.CharField(label="Nombre", max_length=80)


class QuarterForm(forms.Form):
    year = forms.IntegerField(label="Año", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="Trimestre",
        coerce=int,
        choices=[(1, "1T"), (2, "2T"), (3, "3T"), (4, "4T")],
    )


def default_quarter() -> tuple[int, int]:
    """The last quarter that has ended: the one being declared now."""
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    if quarter == 1:
        return today.year - 1, 4
    return today.year, quarter - 1


__all__ = [
    "CategoryForm",
    "ExpenseFilterForm",
    "ExpenseForm",
    "QuarterForm",
    "default_quarter",
]
