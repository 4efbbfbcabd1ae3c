"""The database itself refuses to change or delete the event log and the signatures.

Same approach as 0002 for billing records: on PostgreSQL a trigger refuses any change of the
guarded columns and every delete; on SQLite a trigger refuses the changes, and deletes are
left to the models' guards (the test runner empties tables with DELETE between tests, while
PostgreSQL's TRUNCATE fires no row trigger). Every column is guarded: an event and a
signature are written once, whole, and never touched again. A later migration that makes
SQLite rebuild either table drops its trigger and must create it again (as 0005 does).
"""

from django.db import migrations

GUARDED = {
    "verifactu_eventrecord": (
        "event",
        "event records",
        [
            "id",
            "chain_id",
            "position",
            "previous_id",
            "tipo_evento",
            "producer_nif",
            "system_id",
            "version",
            "installation_number",
            "obligado_nif",
            "previous_huella",
            "generated_at_text",
            "huella",
            "xml",
            "anomaly_key",
            "created_at",
        ],
    ),
    "verifactu_recordsignature": (
        "signature",
        "signatures",
        [
            "id",
            "record_id",
            "event_id",
            "signed_xml",
            "signed_at",
            "certificate_subject",
            "certificate_serial",
        ],
    ),
}


def _name(short: str) -> str:
    return f"verifactu_{short}_immutable"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, (short, noun, columns) in GUARDED.items():
        name = _name(short)
        if vendor == "postgresql":
            new = ", ".join(f"NEW.{c}" for c in columns)
            old = ", ".join(f"OLD.{c}" for c in columns)
            schema_editor.execute(f"""
                CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
                BEGIN
                  IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{noun} are never deleted';
                  END IF;
                  IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                    RAISE EXCEPTION '{noun} are immutable';
                  END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql;
            """)
            schema_editor.execute(f"""
                CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {name}();
            """)
        elif vendor == "sqlite":
            changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
            schema_editor.execute(f"""
                CREATE TRIGGER {name} BEFORE UPDATE ON {table}
                WHEN {changed}
                BEGIN SELECT RAISE(ABORT, '{noun} are immutable'); END;
            """)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, (short, _, _) in GUARDED.items():
        name = _name(short)
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("verifactu", "0005_billingrecord_no_verifactu")]
    operations = [migrations.RunPython(create, drop)]
