"""Official numbers are taken when an invoice is issued, no longer when its draft is made.

Every draft gives back its number and takes a provisional one ("Borrador" and the end of its
id, frozen here); the series counters are not touched, so a number a draft had taken is
never handed out again and no issued invoice changes. Drafts cancelled before this keep the
number they burnt, so the series still shows why it is missing; a draft that gives back its
number records it in its history ("number_released"), so the gap it leaves is explained. Then the numbers are unique
per series and year (and per taxpayer) only among numbered invoices, drafts are never
numbered, and an issued invoice always is.

Going back numbers the drafts from the counters again, in the order they were created.
"""

from django.db import migrations, models
from django.db.models import Q

PREFIX = "Borrador "


def _provisional(invoice_id) -> str:
    return PREFIX + invoice_id.hex[-8:].upper()


def _renumber_search(text: str, old: str, new: str) -> str:
    old, new = old.casefold(), new.casefold()
    return text.replace(old, new, 1) if old else text


def drafts_become_provisional(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    InvoiceEvent = apps.get_model("invoicing", "InvoiceEvent")
    for invoice in Invoice.objects.filter(status="draft").only("id", "number", "search_text"):
        number = _provisional(invoice.id)
        if invoice.number and not invoice.number.startswith(PREFIX):
            InvoiceEvent.objects.create(
                invoice_id=invoice.pk, action="number_released", detail={"number": invoice.number}
            )
        Invoice.objects.filter(pk=invoice.pk).update(
            sequence=None,
            number=number,
            search_text=_renumber_search(invoice.search_text, invoice.number, number),
        )


def drafts_take_numbers(apps, schema_editor):
    from invoicing.numbering import render

    apps.get_model("invoicing", "InvoiceEvent").objects.filter(action="number_released").delete()
    Invoice = apps.get_model("invoicing", "Invoice")
    SeriesCounter = apps.get_model("invoicing", "SeriesCounter")
    provisional = Invoice.objects.filter(sequence__isnull=True).select_related("series")
    for invoice in provisional.order_by("created_at", "id"):
        counter, _ = SeriesCounter.objects.get_or_create(series=invoice.series, year=invoice.year)
        series = invoice.series
        number = render(
            series.number_format,
            year=invoice.year,
            code=series.code,
            number=str(counter.next_number).zfill(series.padding),
        )
        Invoice.objects.filter(pk=invoice.pk).update(
            sequence=counter.next_number,
            number=number,
            search_text=_renumber_search(invoice.search_text, invoice.number, number),
        )
        counter.next_number += 1
        counter.save(update_fields=["next_number"])


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0009_invoice_count_model"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="invoice", name="invoice_unique_sequence"),
        migrations.RemoveConstraint(model_name="invoice", name="invoice_unique_number"),
        migrations.AlterField(
            model_name="invoice",
            name="sequence",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(drafts_become_provisional, drafts_take_numbers),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                condition=Q(sequence__isnull=False),
                fields=("series", "year", "sequence"),
                name="invoice_unique_sequence",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                condition=Q(sequence__isnull=False),
                fields=("taxpayer", "number"),
                name="invoice_unique_number",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=Q(issued_at__isnull=True) | Q(sequence__isnull=False),
                name="issued_is_numbered",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=~Q(status="draft") | Q(sequence__isnull=True),
                name="draft_is_provisional",
            ),
        ),
    ]
