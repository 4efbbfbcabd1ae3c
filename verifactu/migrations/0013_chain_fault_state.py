"""``Chain.faulting_since`` and ``last_fault_at``: a chain's run of transient AEAT faults.

With ``next_flush_at`` (the next attempt) they are what the worker backs off on and what the
desk and the invoice page show ("Envío bloqueado desde …, próximo intento …"). Nullable, so
SQLite adds the columns without rebuilding ``verifactu_chain``.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('verifactu', '0012_fiscal_invoice_rectification_surcharge'),
    ]

    operations = [
        migrations.AddField(
            model_name='chain',
            name='faulting_since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='chain',
            name='last_fault_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
