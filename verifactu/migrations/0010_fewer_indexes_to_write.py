"""Fewer index entries per registration: four indexes that no query needs.

Every registration inserts a fiscal invoice and a billing record, the latter while it holds
its chain's lock, and every index of the table is written then. Dropped:

- ``billingrecord.chain_id`` and ``fiscalinvoice.taxpayer_id``, the foreign keys' own
  indexes: the unique (chain, position) and (taxpayer, invoice number) indexes lead with
  the same column and serve every lookup by it;
- ``billingrecord.status`` with, on PostgreSQL, the ``varchar_pattern_ops`` index that
  ``db_index`` adds for LIKE (no query matches a status by pattern): one plain index;
- ``billingrecord.submission_id``: now partial, without the rows that have no submission,
  which is every record when it is inserted.

Only the indexes change (``SeparateDatabaseAndState``): altering the fields would make
SQLite rebuild ``verifactu_billingrecord`` and lose its triggers (0002, 0008). The old
indexes are found by introspection, since their names are Django's hashes.
"""

from django.db import migrations, models

SINGLE_COLUMN_INDEXES = [  # (model, field) whose own index is dropped
    ("billingrecord", "chain"),
    ("billingrecord", "status"),
    ("billingrecord", "submission"),
    ("fiscalinvoice", "taxpayer"),
]


def _old_indexes(schema_editor, model, column: str) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        found = schema_editor.connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    return [
        name
        for name, info in found.items()
        if info["index"] and not info["unique"] and not info["primary_key"]
        and info["columns"] == [column]
    ]


def drop(apps, schema_editor):
    for model_name, field_name in SINGLE_COLUMN_INDEXES:
        model = apps.get_model("verifactu", model_name)
        column = model._meta.get_field(field_name).column
        for name in _old_indexes(schema_editor, model, column):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create(apps, schema_editor):
    for model_name, field_name in SINGLE_COLUMN_INDEXES:
        model = apps.get_model("verifactu", model_name)
        field = model._meta.get_field(field_name)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))
        if schema_editor.connection.vendor == "postgresql" and field.get_internal_type() == (
            "CharField"
        ):
            schema_editor.execute(schema_editor._create_like_index_sql(model, field))


class Migration(migrations.Migration):
    dependencies = [
        ("factu", "0004_taxpayer_no_verifactu"),
        ("verifactu", "0009_chain_head_not_indexed"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="billingrecord",
                    name="chain",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="records",
                        to="verifactu.chain",
                    ),
                ),
                migrations.AlterField(
                    model_name="billingrecord",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("queued", "En cola"),
                            ("sending", "Enviando"),
                            ("accepted", "Aceptado"),
                            ("accepted_with_errors", "Aceptado con errores"),
                            ("rejected", "Rechazado"),
                            ("error", "Error"),
                        ],
                        default="queued",
                        max_length=24,
                    ),
                ),
                migrations.AlterField(
                    model_name="billingrecord",
                    name="submission",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="records",
                        to="verifactu.submission",
                    ),
                ),
                migrations.AlterField(
                    model_name="fiscalinvoice",
                    name="taxpayer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="fiscal_invoices",
                        to="factu.taxpayer",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, create)],
        ),
        migrations.AddIndex(
            model_name="billingrecord",
            index=models.Index(fields=["status"], name="record_status"),
        ),
        migrations.AddIndex(
            model_name="billingrecord",
            index=models.Index(
                condition=models.Q(("submission__isnull", False)),
                fields=["submission"],
                name="record_submission",
            ),
        ),
    ]
