"""``Chain.head_invoice_number`` and ``head_invoice_date_text``: the head's quoted fields.

With the chain's NIF and ``last_huella`` they are the ``RegistroAnterior`` of the next
record, so an appender reads them from the row it locks. Existing chains are filled in from
their head record.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_from_head(apps, schema_editor):
    Chain = apps.get_model("verifactu", "Chain")
    BillingRecord = apps.get_model("verifactu", "BillingRecord")
    head = BillingRecord.objects.filter(pk=OuterRef("head_id"))
    Chain.objects.filter(head__isnull=False).update(
        head_invoice_number=Subquery(head.values("invoice_number")[:1]),
        head_invoice_date_text=Subquery(head.values("invoice_date_text")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("verifactu", "0006_event_log_immutability_triggers"),
    ]

    operations = [
        migrations.AddField(
            model_name="chain",
            name="head_invoice_number",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name="chain",
            name="head_invoice_date_text",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.RunPython(fill_from_head, migrations.RunPython.noop),
    ]
