"""The database itself refuses to change what a billing record hashed or sent.

On PostgreSQL a trigger refuses such updates and every delete. On SQLite a trigger refuses
the updates; deletes are left to the model's guard because the test runner empties tables
with DELETE between tests (PostgreSQL's TRUNCATE does not fire row triggers).
"""

from django.db import migrations

COLUMNS = [
    "fiscal_invoice_id",
    "chain_id",
    "position",
    "previous_id",
    "kind",
    "record_type",
    "issuer_nif",
    "invoice_number",
    "invoice_date_text",
    "invoice_type",
    "cuota_total_text",
    "importe_total_text",
    "previous_huella",
    "generated_at_text",
    "huella",
    "subsanacion",
    "rechazo_previo",
    "sin_registro_previo",
    "ref_externa",
    "xml",
]
TABLE = "verifactu_billingrecord"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        new = ", ".join(f"NEW.{c}" for c in COLUMNS)
        old = ", ".join(f"OLD.{c}" for c in COLUMNS)
        schema_editor.execute(f"""
            CREATE OR REPLACE FUNCTION verifactu_record_immutable() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'billing records are never deleted';
              END IF;
              IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                RAISE EXCEPTION 'billing records are immutable';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
        """)
        schema_editor.execute(f"""
            CREATE TRIGGER verifactu_record_immutable BEFORE UPDATE OR DELETE ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION verifactu_record_immutable();
        """)
    elif vendor == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
        schema_editor.execute(f"""
            CREATE TRIGGER verifactu_record_immutable BEFORE UPDATE ON {TABLE}
            WHEN {changed}
            BEGIN SELECT RAISE(ABORT, 'billing records are immutable'); END;
        """)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS verifactu_record_immutable ON {TABLE}")
        schema_editor.execute("DROP FUNCTION IF EXISTS verifactu_record_immutable()")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS verifactu_record_immutable")


class Migration(migrations.Migration):
    dependencies = [("verifactu", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
