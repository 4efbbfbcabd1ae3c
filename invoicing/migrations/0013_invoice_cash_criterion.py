"""An invoice keeps whether it was issued under the criterio de caja: the taxpayer's option
at issue. Invoices already issued by a taxpayer in the regime are marked as issued in it."""

from django.db import migrations, models


def mark_issued_in_the_regime(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    Invoice.objects.filter(taxpayer__cash_criterion=True, issued_at__isnull=False).update(
        cash_criterion=True
    )


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0012_payment_backfill")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="cash_criterion",
            field=models.BooleanField(
                db_default=False, default=False, editable=False, verbose_name="criterio de caja"
            ),
        ),
        migrations.RunPython(mark_issued_in_the_regime, migrations.RunPython.noop),
    ]
