"""Query filters of the account API's lists (seed 000), as django-filter FilterSets.

Each parameter is parsed strictly, with one message of its own when it is not valid (a 400
through the API's exception handler): ``dateFrom`` only as ``YYYY-MM-DD``, ``deductible`` only
as ``true`` or ``false``, ``search`` as plain text. A parameter that is absent or empty does
not filter (but an empty ``deductible`` is refused).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend

from api.tenancy import account_taxpayer
from clients.models import Client
from clients.services import matching
from expenses.models import Expense
from factu.text import has_control_characters, normalize_search
from invoicing.models import Invoice, InvoiceStatus


class ParsedField(forms.Field):
    """A query parameter read by ``parse``, whose ``ValueError`` is the one message shown.

    Unlike Django's form fields it neither strips the value nor accepts other formats, so
    that the API reads a parameter exactly as the contract writes it.
    """

    parse: Callable[[str], object] = str
    message = "Not valid."

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return type(self).parse(value)
        except ValueError:
            raise forms.ValidationError(self.message, code="invalid") from None


class IsoDateField(ParsedField):
    parse = date.fromisoformat
    message = "Use YYYY-MM-DD."


class UUIDParamField(ParsedField):
    parse = uuid.UUID
    message = "Must be a UUID."


def _true_or_false(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(value)
    return value == "true"


class TrueFalseField(ParsedField):
    """``true`` or ``false``; anything else, the empty string included, is refused."""

    parse = _true_or_false
    message = "Use true or false."

    def to_python(self, value):
        if value == "":
            raise forms.ValidationError(self.message, code="invalid")
        return super().to_python(value)


def _search_terms(value: str) -> list[str]:
    """Control characters are refused (:func:`factu.text.has_control_characters`): they are
    no text, and PostgreSQL refuses NUL in a query."""
    if has_control_characters(value):
        raise ValueError(value)
    return normalize_search(value).split()


class SearchField(ParsedField):
    """Plain text, cleaned to its normalized words (an empty list: no filter)."""

    parse = _search_terms
    message = "Control characters are not allowed."


def _plain_text(value: str) -> str:
    _search_terms(value)
    return value


class SearchTextField(SearchField):
    """Plain text, cleaned to itself (for a service that does its own matching)."""

    parse = _plain_text


class IsoDateFilter(django_filters.DateFilter):
    field_class = IsoDateField


class UUIDParamFilter(django_filters.UUIDFilter):
    field_class = UUIDParamField


class TrueFalseFilter(django_filters.BooleanFilter):
    field_class = TrueFalseField


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField

    def filter(self, qs: QuerySet, value) -> QuerySet:
        for term in value or ():
            qs = qs.filter(**{f"{self.field_name}__contains": term})
        return qs


class SearchTextFilter(django_filters.CharFilter):
    field_class = SearchTextField


SEARCH_HELP = (
    "Words to find (all of them), ignoring case and accents. Plain text; control characters "
    "(but tab and newlines) are refused."
)


class ClientFilter(django_filters.FilterSet):
    search = SearchTextFilter(
        method="filter_search",
        help_text="Words to find (all of them) in the name, NIF (in any spelling), email or "
        "city, ignoring case and accents. Plain text; control characters (but tab and "
        "newlines) are refused.",
    )

    class Meta:
        model = Client
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return matching(queryset, value)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend that leaves the bound FilterSet on the view
    (``view.filterset``), for a view that must know whether any parameter filtered."""

    def get_filterset(self, request, queryset, view):
        view.filterset = super().get_filterset(request, queryset, view)
        return view.filterset


class AccountFilterSet(django_filters.FilterSet):
    def narrows(self) -> bool:
        """Whether any parameter filters the list (else it is the whole account's)."""
        data = self.form.cleaned_data
        return any(data.get(name) not in (None, "", []) for name in self.filters)


class InvoiceFilter(AccountFilterSet):
    status = django_filters.ChoiceFilter(
        choices=InvoiceStatus.choices,
        error_messages={"invalid_choice": f"One of {', '.join(InvoiceStatus.values)}."},
    )
    dateFrom = IsoDateFilter(  # noqa: N815 - the seed's name
        field_name="issue_date", lookup_expr="gte", help_text="From (inclusive)."
    )
    dateTo = IsoDateFilter(  # noqa: N815
        field_name="issue_date", lookup_expr="lte", help_text="To (inclusive)."
    )
    search = SearchFilter(field_name="search_text", help_text=SEARCH_HELP)
    taxpayerId = UUIDParamFilter(  # noqa: N815
        method="filter_taxpayer", help_text="Only this taxpayer's invoices."
    )

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_taxpayer(self, queryset: QuerySet, name: str, value: uuid.UUID) -> QuerySet:
        """A taxpayer of another account is a 404, as everywhere in the API."""
        taxpayer = account_taxpayer(self.request.auth.account, value, field="taxpayerId")
        return queryset.filter(taxpayer=taxpayer)


class ExpenseFilter(AccountFilterSet):
    dateFrom = IsoDateFilter(  # noqa: N815
        field_name="date", lookup_expr="gte", help_text="From (inclusive)."
    )
    dateTo = IsoDateFilter(field_name="date", lookup_expr="lte", help_text="To (inclusive).")  # noqa: N815
    deductible = TrueFalseFilter(field_name="is_deductible", help_text="Only deductible ones.")
    search = SearchFilter(field_name="search_text", help_text=SEARCH_HELP)

    class Meta:
        model = Expense
        fields: list[str] = []
