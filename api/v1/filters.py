"""The query parameters of the VERI*FACTU API's lists, as django-filter FilterSets.

Their messages are the API's (DRF's wording), not Django forms': a bad value answers 400 with
the parameter named, like a bad body field.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from verifactu import events
from verifactu.models import EventRecord, FiscalInvoice, RecordStatus

DATE_FORMAT = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."


def _choice_message(choices: list[str]) -> str:
    return f"One of {', '.join(choices)}."


class TaxpayerInvoiceFilter(django_filters.FilterSet):
    """``?status=``: only invoices whose latest record has this AEAT status (the view
    annotates ``latest_status``)."""

    status = django_filters.ChoiceFilter(
        field_name="latest_status",
        choices=RecordStatus.choices,
        help_text="Only invoices whose latest record has this AEAT status.",
        error_messages={"invalid_choice": _choice_message(RecordStatus.values)},
    )

    class Meta:
        model = FiscalInvoice
        fields: list[str] = []


class _DateRangeForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Must not be before date_from.")
        return data


def _day(help_text: str) -> django_filters.DateFilter:
    return django_filters.DateFilter(
        method="by_dates",
        input_formats=["%Y-%m-%d"],
        help_text=help_text,
        error_messages={"invalid": DATE_FORMAT},
    )


class EventFilter(django_filters.FilterSet):
    """``?date_from=&date_to=`` (Madrid days, inclusive) of a taxpayer's event log, selected
    by :func:`verifactu.events.taxpayer_events`, the rule the XML export follows too."""

    date_from = _day("Only events generated on or after this day.")
    date_to = _day("Only events generated on or before this day.")
    format = django_filters.ChoiceFilter(
        method="by_dates",
        choices=[("json", "json"), ("xml", "xml")],
        help_text="`json` (the default). `xml` answers 405: export the XML with "
        "`POST .../events.xml`.",
        error_messages={"invalid_choice": '"%(value)s" is not a valid choice.'},
    )

    class Meta:
        model = EventRecord
        fields: list[str] = []
        form = _DateRangeForm

    def __init__(self, data=None, queryset=None, *, taxpayer, **kwargs) -> None:
        self.taxpayer = taxpayer
        super().__init__(data, queryset, **kwargs)

    @classmethod
    def parameters(cls, *, with_format: bool = False) -> list[OpenApiParameter]:
        """The query parameters in the schema (the view builds this FilterSet itself, for the
        taxpayer of its path)."""
        names = ["date_from", "date_to", "format"] if with_format else ["date_from", "date_to"]
        types = {"date_from": OpenApiTypes.DATE, "date_to": OpenApiTypes.DATE}
        return [
            OpenApiParameter(
                name,
                types.get(name, OpenApiTypes.STR),
                enum=["json", "xml"] if name == "format" else None,
                description=cls.base_filters[name].extra["help_text"],
            )
            for name in names
        ]

    @property
    def wants_xml(self) -> bool:
        return self.form.cleaned_data.get("format") == "xml"

    @property
    def dates(self) -> dict:
        """``{"date_from": …, "date_to": …}`` as given (``None`` when left out)."""
        return {name: self.form.cleaned_data.get(name) for name in ("date_from", "date_to")}

    def by_dates(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # both bounds at once, in filter_queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return events.taxpayer_events(self.taxpayer, **self.dates)
