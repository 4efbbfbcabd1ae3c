"""The chain row follows its head: inserting a billing record moves it, in the database.

An ``AFTER INSERT`` trigger on ``verifactu_billingrecord`` sets the chain's ``length``,
``head_id``, ``last_huella`` and the head's quoted number and date from the new record, in
the inserting statement. Before, the appender sent that ``UPDATE`` itself, one more round
trip while it held the chain's lock, which every other appender of the chain waits for.

As with the immutability trigger (0002, recreated in 0005): a later migration that makes
SQLite rebuild ``verifactu_billingrecord`` drops this trigger and must call ``create``, and
one that rebuilds ``verifactu_chain`` must ``drop`` it first and ``create`` it after (0009).
"""

from django.db import migrations

TABLE = "verifactu_billingrecord"
FOLLOW = """
    UPDATE verifactu_chain
    SET length = NEW.position,
        head_id = NEW.id,
        last_huella = NEW.huella,
        head_invoice_number = NEW.invoice_number,
        head_invoice_date_text = NEW.invoice_date_text
    WHERE id = NEW.chain_id;
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"""
            CREATE OR REPLACE FUNCTION verifactu_chain_follows_head() RETURNS trigger AS $$
            BEGIN
              {FOLLOW}
              RETURN NULL;
            END $$ LANGUAGE plpgsql;
        """)
        schema_editor.execute(f"""
            CREATE TRIGGER verifactu_chain_follows_head AFTER INSERT ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION verifactu_chain_follows_head();
        """)
    elif vendor == "sqlite":
        schema_editor.execute(f"""
            CREATE TRIGGER verifactu_chain_follows_head AFTER INSERT ON {TABLE}
            BEGIN {FOLLOW} END;
        """)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS verifactu_chain_follows_head ON {TABLE}")
        schema_editor.execute("DROP FUNCTION IF EXISTS verifactu_chain_follows_head()")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS verifactu_chain_follows_head")


class Migration(migrations.Migration):
    dependencies = [("verifactu", "0007_chain_head_quoted_fields")]
    operations = [migrations.RunPython(create, drop)]
