"""Tampering with the stored chains as someone with access to the storage would, and the
signed NO VERI*FACTU chains the tampering cases start from.

:func:`tamper` (a fixture, through ``tests/conftest.py``) lifts every database guard of the
engine's tables for the test (rolled back with it): the immutability triggers, SQLite's
delete guards and the chain row's guard. :func:`signed` is the one place a test obtains a
chain whose records and events are all signed (:func:`signed_chain` the fixture).
:func:`assert_named_by_both` is how a tampering case ends: both commands name it, the check
logs it, and nothing signs the forgery.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from factu.triggers import present

GUARDS = (
    ("verifactu_billingrecord", "verifactu_record_immutable"),
    ("verifactu_eventrecord", "verifactu_event_immutable"),
    ("verifactu_recordsignature", "verifactu_signature_immutable"),
    ("verifactu_chain", "verifactu_chain_guard"),
    ("verifactu_billingrecord", "verifactu_record_kept"),
    ("verifactu_eventrecord", "verifactu_event_kept"),
    ("verifactu_recordsignature", "verifactu_signature_kept"),
    ("verifactu_chain", "verifactu_chain_kept"),
    ("verifactu_signercertificate", "verifactu_signer_immutable"),
    ("verifactu_signercertificate", "verifactu_signer_kept"),
)


class Tamper:
    """Writes behind the models' back: ``tamper(obj, column, value)``, :meth:`update`,
    :meth:`delete` (raw SQL: no model guard, no signal)."""

    def __call__(self, obj: Any, column: str, value: Any) -> None:
        self.update(obj, **{column: value})

    def update(self, obj: Any, **values: Any) -> None:
        # QuerySet.update skips the model's guard; only the (now absent) trigger stood in the way
        assert type(obj).objects.filter(pk=obj.pk).update(**values) == 1

    def restore_guards(self) -> None:
        """Put every guard back, as ``manage.py ensure_triggers`` (or an operator) would."""
        from django.core.management import call_command

        if connection.vendor == "postgresql":
            there = present(connection)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table, name in GUARDS:
                    if name in there:
                        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        else:
            call_command("ensure_triggers", verbosity=0)

    def delete(self, *objs: Any) -> None:
        with connection.cursor() as cursor:
            for obj in objs:
                meta = obj._meta
                pk = meta.pk.get_db_prep_value(obj.pk, connection)
                sql = f"DELETE FROM {meta.db_table} WHERE {meta.pk.column} = %s"  # noqa: S608
                cursor.execute(sql, [pk])
                assert cursor.rowcount == 1


def lift_guards() -> None:
    """Lift every database guard of the engine's tables for the current transaction (the
    test's: rolled back with it), as an attacker with access to the storage would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # fire the deferred FK checks of this test's inserts first, or ALTER TABLE refuses
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        there = present(connection)
        for table, name in GUARDS:
            if name not in there:
                continue
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            else:
                cursor.execute(f"DROP TRIGGER {name}")
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def tamper(db) -> Tamper:
    """Lift the database's guards for this test and write behind the models' back."""
    lift_guards()
    return Tamper()


def signed(chain):
    """``chain`` as stored, every record and event it holds signed (at birth)."""
    chain.refresh_from_db()
    return chain


@pytest.fixture
def signed_chain(taxpayer, register, signing_certificate):
    """A signed NO VERI*FACTU chain: event 01, two altas, all signed by the taxpayer's
    certificate (``signing_certificate``), whose root the CA bundle setting trusts."""
    from factu.models import Taxpayer
    from verifactu import modes
    from verifactu.models import Chain

    modes.change_mode(taxpayer, Taxpayer.VerifactuMode.NO_VERIFACTU)
    register()
    second = register(invoice_number="F-2026-043")
    return signed(Chain.objects.get(pk=second.record.chain_id))


def records(chain) -> list:
    from verifactu.models import BillingRecord

    return list(BillingRecord.objects.filter(chain=chain).order_by("position"))


def log(chain) -> list:
    from verifactu.models import EventRecord

    return list(EventRecord.objects.filter(chain=chain).order_by("position"))


def summarized(chain):
    """A 10 logged (and signed) on ``chain``."""
    from verifactu import events

    summary = events.log_summary(chain)
    signed(chain)
    return summary


def verify_fails() -> str:
    with pytest.raises(CommandError) as exc:
        call_command("verifactu_verify", stdout=StringIO())
    return str(exc.value)


def check_fails() -> str:
    with pytest.raises(CommandError) as exc:
        call_command("verifactu_check_anomalies", stdout=StringIO())
    return str(exc.value)


def assert_named_by_both(chain, *needles: str, tipo: tuple[str, str]) -> None:
    """``verifactu_verify`` and then the anomaly check name the first finding with
    ``needles``, the check logs it as ``tipo`` (04/06, TipoAnomalia), and nothing forged is
    signed: the only signatures made meanwhile are those of the events the check logged."""
    from verifactu.models import EventRecord, RecordSignature

    signatures = set(RecordSignature.objects.values_list("pk", flat=True))
    items = set(EventRecord.objects.values_list("pk", flat=True))
    for message in (verify_fails(), check_fails()):
        for needle in needles:
            assert needle in message, message
    signed(chain)  # what the run logged
    code = f"<TipoAnomalia>{tipo[1]}</TipoAnomalia>"
    logged = EventRecord.objects.filter(chain=chain, tipo_evento=tipo[0])
    assert any(code in event.xml for event in logged), [e.xml for e in logged]
    made = RecordSignature.objects.exclude(pk__in=signatures)
    assert made.exists() and not made.filter(record__isnull=False).exists()
    assert not made.filter(event__in=items).exists()
    assert {s.event.tipo_evento for s in made.select_related("event")} <= {"03", "04", "05", "06"}
