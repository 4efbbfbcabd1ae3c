"""Series formats outside the grammar of :mod:`invoicing.numbering` go back to the default.

The form refused anything ``str.format`` could not render, but let through what the grammar
now refuses (attribute access, other format specs, ``< > " ' =``). Such a format can no longer
be rendered, so it becomes ``{year}-{code}-{number}``: numbers already issued keep their text,
the next ones take the default shape; the counter is not touched.
"""

from django.db import migrations

DEFAULT = "{year}-{code}-{number}"


def reset_invalid_formats(apps, schema_editor):
    from invoicing import numbering

    Series = apps.get_model("invoicing", "Series")
    for series in Series.objects.exclude(number_format=DEFAULT).only("pk", "number_format", "code", "padding"):
        try:
            numbering.check(series.number_format, code=series.code, padding=series.padding)
        except numbering.FormatError:
            Series.objects.filter(pk=series.pk).update(number_format=DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0007_invoice_replaced_simplified_invoices")]

    operations = [migrations.RunPython(reset_invalid_formats, migrations.RunPython.noop)]
