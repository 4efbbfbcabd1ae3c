"""The triggers of the engine's tables (created by migrations 0002, 0005, 0006 and 0008;
re-created when missing by ``manage.py ensure_triggers``, see :mod:`factu.triggers`).

- **Immutability**: a billing record's hashed or sent columns, and every column of an event
  and of a signature, never change; on PostgreSQL they are never deleted either. SQLite
  leaves deletes to the models' guards, because the test runner empties tables with
  ``DELETE`` (PostgreSQL's ``TRUNCATE`` fires no row trigger).
- **The chain row follows its head**: inserting a billing record moves its chain's
  ``length``, ``head``, ``last_huella`` and the head's quoted number and date, in the
  inserting statement. This is the one home of that rule: every insert obeys it (the
  engine's, a ``bulk_create`` of the bench's seeding), and the appender, who holds the
  chain's lock, sends no ``UPDATE`` of its own (one round trip fewer while every other
  appender of the chain waits). :func:`verifactu.records._store` only refreshes its
  in-memory copy of the locked row the same way, as a cache for a next append in the same
  transaction; it writes nothing.
"""

from __future__ import annotations

from factu.triggers import Trigger, register
from verifactu.models import BillingRecord

RECORD_COLUMNS = BillingRecord.IMMUTABLE_FIELDS
EVENT_COLUMNS = (
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
)
SIGNATURE_COLUMNS = (
    "id",
    "record_id",
    "event_id",
    "signed_xml",
    "signed_at",
    "certificate_subject",
    "certificate_serial",
    "signer_id",
)


def immutable(name: str, table: str, noun: str, columns: tuple[str, ...]) -> Trigger:
    """Refuse a change of ``columns`` of ``table`` (and, on PostgreSQL, any delete)."""
    new = ", ".join(f"NEW.{c}" for c in columns)
    old = ", ".join(f"OLD.{c}" for c in columns)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return Trigger(
        name=name,
        table=table,
        does=f"refuses changing {noun} (PostgreSQL: and deleting them)",
        create={
            "postgresql": (
                f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
                BEGIN
                  IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{noun} are never deleted';
                  END IF;
                  IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                    RAISE EXCEPTION '{noun} are immutable';
                  END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql""",
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"""CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {name}()""",
            ),
            "sqlite": (
                f"DROP TRIGGER IF EXISTS {name}",
                f"""CREATE TRIGGER {name} BEFORE UPDATE ON {table} WHEN {changed}
                BEGIN SELECT RAISE(ABORT, '{noun} are immutable'); END""",
            ),
        },
    )


FOLLOW_HEAD = """UPDATE verifactu_chain
    SET length = NEW.position,
        head_id = NEW.id,
        last_huella = NEW.huella,
        head_invoice_number = NEW.invoice_number,
        head_invoice_date_text = NEW.invoice_date_text
    WHERE id = NEW.chain_id;"""

CHAIN_FOLLOWS_HEAD = Trigger(
    name="verifactu_chain_follows_head",
    table="verifactu_billingrecord",
    does="an inserted record becomes its chain's head (length, head, last_huella, quoted)",
    create={
        "postgresql": (
            f"""CREATE OR REPLACE FUNCTION verifactu_chain_follows_head() RETURNS trigger AS $$
            BEGIN
              {FOLLOW_HEAD}
              RETURN NULL;
            END $$ LANGUAGE plpgsql""",
            "DROP TRIGGER IF EXISTS verifactu_chain_follows_head ON verifactu_billingrecord",
            """CREATE TRIGGER verifactu_chain_follows_head AFTER INSERT ON verifactu_billingrecord
            FOR EACH ROW EXECUTE FUNCTION verifactu_chain_follows_head()""",
        ),
        "sqlite": (
            "DROP TRIGGER IF EXISTS verifactu_chain_follows_head",
            f"""CREATE TRIGGER verifactu_chain_follows_head AFTER INSERT ON verifactu_billingrecord
            BEGIN {FOLLOW_HEAD} END""",
        ),
    },
)

register(
    immutable(
        "verifactu_record_immutable", "verifactu_billingrecord", "billing records", RECORD_COLUMNS
    ),
    immutable("verifactu_event_immutable", "verifactu_eventrecord", "event records", EVENT_COLUMNS),
    immutable(
        "verifactu_signature_immutable",
        "verifactu_recordsignature",
        "signatures",
        SIGNATURE_COLUMNS,
    ),
    CHAIN_FOLLOWS_HEAD,
)
register(
    immutable(
        "verifactu_signer_immutable",
        "verifactu_signercertificate",
        "signer certificates",
        (
            "id",
            "account_id",
            "obligado_nif",
            "der",
            "fingerprint",
            "subject",
            "serial",
            "not_valid_before",
            "not_valid_after",
            "created_at",
        ),
    )
)
