"""``Job`` moves from ``transfers`` to ``factu``: its rows stay, in the same table, renamed.

The model is created in ``factu``'s state over the existing ``transfers_job`` table (no
schema change), then the table is renamed ``factu_job``; ``transfers/0003`` drops the model
from ``transfers``' state only. Nothing is copied, so every row survives on SQLite and
PostgreSQL (``tests/test_job_move.py``), and the migration reverses the same way.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("factu", "0004_taxpayer_no_verifactu"),
        ("transfers", "0002_resubmit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("import_clients", "Importar clientes"),
                                    ("import_invoices", "Importar facturas históricas"),
                                    ("export_zip", "Exportar para la gestoría"),
                                    ("resubmit", "Reenviar registros a la AEAT"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "En cola"),
                                    ("running", "En curso"),
                                    ("done", "Terminado"),
                                    ("failed", "Fallido"),
                                ],
                                default="queued",
                                max_length=10,
                            ),
                        ),
                        (
                            "mode",
                            models.CharField(
                                blank=True,
                                choices=[
                                    (
                                        "all",
                                        "Todo o nada: si alguna fila falla, no se importa nada",
                                    ),
                                    (
                                        "valid",
                                        "Solo las filas válidas: se importan y se informa de "
                                        "las demás",
                                    ),
                                ],
                                max_length=5,
                            ),
                        ),
                        ("params", models.JSONField(blank=True, default=dict)),
                        ("total", models.PositiveIntegerField(default=0)),
                        ("done", models.PositiveIntegerField(default=0)),
                        ("report", models.JSONField(blank=True, default=dict)),
                        ("source_path", models.CharField(blank=True, max_length=200)),
                        ("result_path", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="factu.account",
                            ),
                        ),
                        (
                            "taxpayer",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="factu.taxpayer",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["account", "-created_at"], name="job_account_order"
                            )
                        ],
                        "db_table": "transfers_job",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="job", table=None),
    ]
