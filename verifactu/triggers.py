"""The triggers of the engine's tables (created by migrations 0002, 0005, 0006, 0008 and 0019;
re-created when missing by ``manage.py ensure_triggers``, see :mod:`factu.triggers`).

- **Immutability**: a billing record's hashed or sent columns, and every column of an event
  and of a signature, never change, and none of them, nor a chain, is ever deleted, on
  either engine. SQLite's delete guards (``*_kept``) let a delete through only while the SQL
  function ``factu_deletes_allowed()`` answers 1, which only the test runner's flush makes it
  do (:data:`factu.triggers.DELETES`, ``tests/conftest.py``); a client without the function
  (the ``sqlite3`` shell) gets an error either way.
- **The chain row follows its heads**: inserting a billing record moves its chain's
  ``length``, ``head``, ``last_huella``, the head's quoted number and date and its
  generation time (0019), and inserting
  an event moves ``events_length`` and ``last_event_huella``, in the inserting statement.
  This is the one home of that rule: every insert obeys it (the engine's, a ``bulk_create``
  of the bench's seeding), and the appender, who holds the chain's lock, sends no ``UPDATE``
  of its own (one round trip fewer while every other appender of the chain waits).
  :func:`verifactu.records._store` only refreshes its in-memory copy of the locked row the
  same way, as a cache for a next append in the same transaction; it writes nothing.
- **The chain row's heads only move forward** (``verifactu_chain_guard``): a change of the
  record head columns is refused unless they name, all of them, the record at the next
  position of that chain whose predecessor is the old head; the same for the event head.
  The check is one primary-key (records) or unique-index (events) lookup, as it runs at
  every append. Every other column of the row (leases, fault state, ``multiple_taxpayers``)
  stays writable.
"""

from __future__ import annotations

from factu.triggers import Trigger, register, row_count_triggers
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
    """Refuse a change of ``columns`` of ``table`` (and, on PostgreSQL, any delete: SQLite's
    delete guard is :func:`kept`)."""
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


def kept(name: str, table: str, noun: str) -> Trigger:
    """SQLite: refuse deleting rows of ``table`` unless ``factu_deletes_allowed()`` says 1
    (PostgreSQL refuses in the table's update guard, and its flush truncates)."""
    return Trigger(
        name=name,
        table=table,
        does=f"SQLite: refuses deleting {noun} (but in the test runner's flush)",
        create={
            "sqlite": (
                f"DROP TRIGGER IF EXISTS {name}",
                f"""CREATE TRIGGER {name} BEFORE DELETE ON {table}
                WHEN factu_deletes_allowed() IS NOT 1
                BEGIN SELECT RAISE(ABORT, '{noun} are never deleted'); END""",
            ),
        },
    )


FOLLOW_HEAD = """UPDATE verifactu_chain
    SET length = NEW.position,
        head_id = NEW.id,
        last_huella = NEW.huella,
        head_invoice_number = NEW.invoice_number,
        head_invoice_date_text = NEW.invoice_date_text,
        head_generated_at_text = NEW.generated_at_text
    WHERE id = NEW.chain_id;"""


def follows(name: str, table: str, does: str, update: str) -> Trigger:
    """After each insert into ``table``, run ``update`` (of the chain row, from ``NEW``)."""
    return Trigger(
        name=name,
        table=table,
        does=does,
        create={
            "postgresql": (
                f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
                BEGIN
                  {update}
                  RETURN NULL;
                END $$ LANGUAGE plpgsql""",
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"""CREATE TRIGGER {name} AFTER INSERT ON {table}
                FOR EACH ROW EXECUTE FUNCTION {name}()""",
            ),
            "sqlite": (
                f"DROP TRIGGER IF EXISTS {name}",
                f"""CREATE TRIGGER {name} AFTER INSERT ON {table}
                BEGIN {update} END""",
            ),
        },
    )


CHAIN_FOLLOWS_HEAD = follows(
    "verifactu_chain_follows_head",
    "verifactu_billingrecord",
    "an inserted record becomes its chain's head (length, head, last_huella, quoted)",
    FOLLOW_HEAD,
)

FOLLOW_EVENT_HEAD = """UPDATE verifactu_chain
    SET events_length = NEW.position,
        last_event_huella = NEW.huella
    WHERE id = NEW.chain_id;"""

CHAIN_FOLLOWS_EVENT_HEAD = follows(
    "verifactu_chain_follows_event_head",
    "verifactu_eventrecord",
    "an inserted event becomes its chain's event head (events_length, last_event_huella)",
    FOLLOW_EVENT_HEAD,
)

RECORD_HEAD = (
    "length",
    "head_id",
    "last_huella",
    "head_invoice_number",
    "head_invoice_date_text",
    "head_generated_at_text",
)
EVENT_HEAD = ("events_length", "last_event_huella")
# A head may only move to the item at the next position of the chain, whose predecessor is
# the old head, with the values the row keeps of it. ``{same}`` is the engine's null-safe
# equality.
RECORD_HEAD_MOVES_ON = """EXISTS (SELECT 1 FROM verifactu_billingrecord r
    WHERE r.id = NEW.head_id AND r.chain_id = NEW.id AND r.position = OLD.length + 1
      AND r.position = NEW.length AND r.huella = NEW.last_huella
      AND r.invoice_number = NEW.head_invoice_number
      AND r.invoice_date_text = NEW.head_invoice_date_text
      AND r.generated_at_text = NEW.head_generated_at_text
      AND r.previous_id {same} OLD.head_id)"""
EVENT_HEAD_MOVES_ON = """EXISTS (SELECT 1 FROM verifactu_eventrecord e
    WHERE e.chain_id = NEW.id AND e.position = NEW.events_length
      AND e.position = OLD.events_length + 1 AND e.huella = NEW.last_event_huella
      AND e.previous_huella = OLD.last_event_huella)"""
RECORD_HEAD_REFUSED = "a chain''s record head only moves on to its next record"
EVENT_HEAD_REFUSED = "a chain''s event head only moves on to its next event"
SAME = {"postgresql": "IS NOT DISTINCT FROM", "sqlite": "IS"}
DIFFERENT = {"postgresql": "IS DISTINCT FROM", "sqlite": "IS NOT"}


def _changed(columns: tuple[str, ...], vendor: str) -> str:
    return "(" + " OR ".join(f"NEW.{c} {DIFFERENT[vendor]} OLD.{c}" for c in columns) + ")"


def _moves_on(sql: str, vendor: str) -> str:
    return sql.format(same=SAME[vendor])


CHAIN_GUARD = Trigger(
    name="verifactu_chain_guard",
    table="verifactu_chain",
    does="the chain's record and event heads only move on to the next item (PostgreSQL: "
    "and chains are never deleted)",
    create={
        "postgresql": (
            f"""CREATE OR REPLACE FUNCTION verifactu_chain_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'chains are never deleted';
              END IF;
              IF NEW.id <> OLD.id THEN
                RAISE EXCEPTION 'a chain keeps its id';
              END IF;
              IF {_changed(RECORD_HEAD, "postgresql")}
                 AND NOT {_moves_on(RECORD_HEAD_MOVES_ON, "postgresql")} THEN
                RAISE EXCEPTION '{RECORD_HEAD_REFUSED}';
              END IF;
              IF {_changed(EVENT_HEAD, "postgresql")}
                 AND NOT {_moves_on(EVENT_HEAD_MOVES_ON, "postgresql")} THEN
                RAISE EXCEPTION '{EVENT_HEAD_REFUSED}';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""",
            "DROP TRIGGER IF EXISTS verifactu_chain_guard ON verifactu_chain",
            """CREATE TRIGGER verifactu_chain_guard BEFORE UPDATE OR DELETE ON verifactu_chain
            FOR EACH ROW EXECUTE FUNCTION verifactu_chain_guard()""",
        ),
        "sqlite": (
            "DROP TRIGGER IF EXISTS verifactu_chain_guard",
            f"""CREATE TRIGGER verifactu_chain_guard BEFORE UPDATE ON verifactu_chain
            BEGIN
              SELECT RAISE(ABORT, 'a chain keeps its id') WHERE NEW.id IS NOT OLD.id;
              SELECT RAISE(ABORT, '{RECORD_HEAD_REFUSED}')
                WHERE {_changed(RECORD_HEAD, "sqlite")}
                AND NOT {_moves_on(RECORD_HEAD_MOVES_ON, "sqlite")};
              SELECT RAISE(ABORT, '{EVENT_HEAD_REFUSED}')
                WHERE {_changed(EVENT_HEAD, "sqlite")}
                AND NOT {_moves_on(EVENT_HEAD_MOVES_ON, "sqlite")};
            END""",
        ),
    },
)

MADE_BY_0019 = (
    CHAIN_FOLLOWS_HEAD,
    kept("verifactu_record_kept", "verifactu_billingrecord", "billing records"),
    kept("verifactu_event_kept", "verifactu_eventrecord", "event records"),
    kept("verifactu_signature_kept", "verifactu_recordsignature", "signatures"),
    kept("verifactu_chain_kept", "verifactu_chain", "chains"),
    kept("verifactu_signer_kept", "verifactu_signercertificate", "signer certificates"),
    CHAIN_FOLLOWS_EVENT_HEAD,
    CHAIN_GUARD,
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
    *MADE_BY_0019,
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

# The number of each taxpayer's fiscal invoices (migrations 0020 and 0022), for the desk. A
# fiscal invoice is counted when its first record, the registration, is inserted: under the
# chain's lock, which already serialises the taxpayer's registrations. Counted at the fiscal
# invoice's own insert, before the lock, the count row's lock would be taken a statement
# earlier and held to the commit, and become the taxpayer's queue instead of the chain.
FISCAL_INVOICE_COUNTS = "verifactu_fiscalinvoicecount"
REGISTRATIONS_COUNTED = f"""
    INSERT INTO {FISCAL_INVOICE_COUNTS} AS c (taxpayer_id, invoices)
    SELECT f.taxpayer_id, count(*)
    FROM inserted_records r JOIN verifactu_fiscalinvoice f ON f.id = r.fiscal_invoice_id
    WHERE r.record_type = 'registration'
    GROUP BY f.taxpayer_id
    ON CONFLICT (taxpayer_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;"""  # noqa: S608
register(
    *row_count_triggers(
        "verifactu_fiscalinvoice",
        FISCAL_INVOICE_COUNTS,
        "taxpayer_id",
        events=("DELETE", "UPDATE", "TRUNCATE"),
    ),
    Trigger(
        name=f"{FISCAL_INVOICE_COUNTS}_registered",
        table="verifactu_billingrecord",
        does="counts each fiscal invoice when its registration record is inserted",
        create={
            "postgresql": (
                f"CREATE TABLE IF NOT EXISTS {FISCAL_INVOICE_COUNTS} "
                "(taxpayer_id uuid PRIMARY KEY, invoices bigint NOT NULL)",
                # Fiscal invoices before records, the order a registration locks them in.
                "LOCK TABLE verifactu_fiscalinvoice IN SHARE MODE",
                f"""CREATE OR REPLACE FUNCTION {FISCAL_INVOICE_COUNTS}_registered()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN {REGISTRATIONS_COUNTED}
                    RETURN NULL;
                END $$""",
                f"DROP TRIGGER IF EXISTS {FISCAL_INVOICE_COUNTS}_registered "
                "ON verifactu_billingrecord",
                f"""CREATE TRIGGER {FISCAL_INVOICE_COUNTS}_registered AFTER INSERT
                ON verifactu_billingrecord REFERENCING NEW TABLE AS inserted_records
                FOR EACH STATEMENT EXECUTE FUNCTION {FISCAL_INVOICE_COUNTS}_registered()""",
                f"DELETE FROM {FISCAL_INVOICE_COUNTS}",  # noqa: S608 (constant names)
                f"""INSERT INTO {FISCAL_INVOICE_COUNTS} (taxpayer_id, invoices)
    SELECT taxpayer_id, count(*) FROM verifactu_fiscalinvoice GROUP BY taxpayer_id""",  # noqa: S608
            )
        },
    ),
)
