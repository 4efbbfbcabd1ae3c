"""Every database trigger the apps declare exists, and ``manage.py ensure_triggers`` puts back
one that is gone (a SQLite table rebuild drops a table's triggers without a word).

The suite runs on SQLite and on PostgreSQL (``DATABASE_URL``): each test checks the
database it runs on.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from factu import triggers
from verifactu.models import BillingRecord

pytestmark = pytest.mark.django_db

VERIFACTU = {
    "verifactu_chain_follows_head",
    "verifactu_chain_follows_event_head",
    "verifactu_chain_guard",
    "verifactu_record_immutable",
    "verifactu_event_immutable",
    "verifactu_signature_immutable",
    "verifactu_signer_immutable",
}
SQLITE_DELETE_GUARDS = {
    "verifactu_record_kept",
    "verifactu_event_kept",
    "verifactu_signature_kept",
    "verifactu_chain_kept",
    "verifactu_signer_kept",
}
ROW_COUNTS = {
    "invoicing_invoicecount_insert",
    "invoicing_invoicecount_delete",
    "invoicing_invoicecount_update",
    "invoicing_invoicecount_truncate",
    "verifactu_fiscalinvoicecount_registered",
    "verifactu_fiscalinvoicecount_delete",
    "verifactu_fiscalinvoicecount_update",
    "verifactu_fiscalinvoicecount_truncate",
}


def definitions() -> dict[str, str]:
    """Each trigger's definition as the database keeps it (with its function on
    PostgreSQL), whitespace collapsed."""
    if connection.vendor == "postgresql":
        sql = """SELECT t.tgname, pg_get_triggerdef(t.oid) || ' ' || p.prosrc
                 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal"""
    else:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {name: " ".join(text.split()) for name, text in cursor.fetchall()}


def drop(trigger: triggers.Trigger) -> None:
    on = f" ON {trigger.table}" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {trigger.name}{on}")


def test_every_declared_trigger_of_this_database_exists():
    names = {t.name for t in triggers.expected(connection)}
    wanted = VERIFACTU | (ROW_COUNTS if connection.vendor == "postgresql" else SQLITE_DELETE_GUARDS)
    assert names == wanted
    assert triggers.missing(connection) == []
    assert names <= set(definitions())


def test_a_dropped_trigger_is_created_again_as_the_migrations_made_it():
    made = definitions()
    for trigger in triggers.expected(connection):
        drop(trigger)
    assert {t.name for t in triggers.missing(connection)} == {
        t.name for t in triggers.expected(connection)
    }
    out = StringIO()
    call_command("ensure_triggers", stdout=out)
    assert out.getvalue().count("created ") == len(made)
    assert definitions() == made
    out = StringIO()
    call_command("ensure_triggers", stdout=out)  # idempotent: nothing left to do
    assert out.getvalue() == ""


def test_the_recreated_immutability_trigger_refuses_a_change_again(register):
    record = register().record
    (immutable,) = [t for t in triggers.expected(connection) if t.name.endswith("record_immutable")]
    drop(immutable)
    with transaction.atomic():
        BillingRecord.objects.filter(pk=record.pk).update(huella="B" * 64)
        transaction.set_rollback(True)
    call_command("ensure_triggers", stdout=StringIO())
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        BillingRecord.objects.filter(pk=record.pk).update(huella="B" * 64)


def test_a_complete_migrate_creates_missing_triggers_and_a_flush_does_not_look():
    (follows,) = [t for t in triggers.expected(connection) if t.name.endswith("follows_head")]
    drop(follows)
    triggers.ensure_after_migrate(None, using=connection.alias)  # a flush: no plan
    assert [t.name for t in triggers.missing(connection)] == [follows.name]
    triggers.ensure_after_migrate(None, using=connection.alias, plan=[])  # migrate, complete
    assert triggers.missing(connection) == []


def test_the_list_names_each_trigger_and_its_state():
    (follows,) = [t for t in triggers.expected(connection) if t.name.endswith("follows_head")]
    drop(follows)
    out = StringIO()
    call_command("ensure_triggers", "--list", stdout=out)
    lines = dict(line.split("\t")[1:3] for line in out.getvalue().splitlines())
    assert lines[follows.name] == "MISSING"
    assert lines["verifactu_record_immutable"] == "present"


def test_the_command_refuses_a_database_with_unapplied_migrations():
    """Today's triggers name today's columns, and a migration still to run may create one
    itself: the command waits for ``migrate`` instead of breaking it."""
    (follows,) = [t for t in triggers.expected(connection) if t.name.endswith("follows_head")]
    drop(follows)
    latest = MigrationRecorder.Migration.objects.filter(app="verifactu").order_by("-name")[0]
    latest.delete()  # as if the app's last migration were still to run (rolled back)
    with pytest.raises(CommandError, match="run `migrate` first"):
        call_command("ensure_triggers", stdout=StringIO())
    assert [t.name for t in triggers.missing(connection)] == [follows.name]
