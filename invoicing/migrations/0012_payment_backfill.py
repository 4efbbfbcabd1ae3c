"""Every invoice already paid gets the payment its status implies (its whole total, on its
``paid_at`` date, method "other"), so that balance and status agree for old invoices too."""

import uuid

from django.db import migrations
from django.utils import timezone


def backfill(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    Payment = apps.get_model("invoicing", "Payment")
    paid = Invoice.objects.filter(status="paid", payments__isnull=True).exclude(total_cents=0)
    batch = []
    for invoice in paid.only("id", "account_id", "paid_at", "total_cents").iterator():
        batch.append(
            Payment(
                id=uuid.uuid4(),
                account_id=invoice.account_id,
                invoice_id=invoice.id,
                date=timezone.localdate(invoice.paid_at),
                amount_cents=abs(invoice.total_cents),
                method="other",
            )
        )
        if len(batch) >= 1000:
            Payment.objects.bulk_create(batch)
            batch = []
    Payment.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0011_payment")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
