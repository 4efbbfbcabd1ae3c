"""The desk's inbox in its order: ``record_needs_action`` ``(created_at DESC, position DESC)``
of the records rejected, in error or accepted with errors (a partial index: the few records
that need the accountant; written when the AEAT's answer puts a record in one of those
states, never on the registration path). The inbox reads its newest rows from it instead of
sorting every such record of the account.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('verifactu', '0020_desk_counts'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='billingrecord',
            index=models.Index(condition=models.Q(('status__in', ('rejected', 'error', 'accepted_with_errors'))), fields=['-created_at', '-position'], name='record_needs_action'),
        ),
    ]
