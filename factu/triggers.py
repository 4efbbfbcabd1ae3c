"""Database triggers: declared by the app that owns the table, (re)created by one command.

Each app lists the triggers of its tables in its own ``triggers`` module with
:func:`register` (``verifactu.triggers``, ``invoicing.triggers``); :func:`all_triggers`
finds them all, so ``manage.py ensure_triggers --list`` is the one list. Migrations created
them once, but SQLite drops a table's triggers without a word when a migration rebuilds the
table (an added column, an altered field). So :func:`ensure` creates every registered
trigger that is missing, and runs after every complete ``migrate`` (a ``post_migrate``
receiver, :func:`ensure_after_migrate`) and at ``make run``; ``tests/test_triggers.py`` fails
when one is missing on SQLite or PostgreSQL.

A migration that rebuilds a table *another* trigger's body names (SQLite refuses to rename a
table a trigger refers to) still drops that trigger before and creates it after, as
``verifactu`` 0009 and 0014 do.

SQLite's delete guards call ``factu_deletes_allowed()``, a SQL function every Django
connection registers (:func:`register_sql_functions`, a ``connection_created`` receiver): it
answers 1 only while :data:`DELETES` ``.allowed`` is set, which only the test runner's flush
does (``tests/conftest.py``); a client without the function gets an error either way.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class Trigger:
    """A trigger on ``table``; ``create`` maps a database vendor to the statements that
    (re)create it idempotently. A vendor not in ``create`` has no such trigger."""

    name: str
    table: str
    does: str
    create: Mapping[str, tuple[str, ...]]


_registry: dict[str, Trigger] = {}

# Whether SQLite's delete guards let deletes through, in this thread: set by the test
# runner's flush only, never by product code.
DELETES = threading.local()


def _deletes_allowed() -> int:
    return 1 if getattr(DELETES, "allowed", False) else 0


def register_sql_functions(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """``connection_created``: give a SQLite connection the functions its triggers call."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("factu_deletes_allowed", 0, _deletes_allowed)


def register(*triggers: Trigger) -> None:
    for trigger in triggers:
        _registry[trigger.name] = trigger


def all_triggers() -> list[Trigger]:
    """Every trigger of every installed app, by table and name."""
    autodiscover_modules("triggers")
    return sorted(_registry.values(), key=lambda t: (t.table, t.name))


def expected(connection: BaseDatabaseWrapper) -> list[Trigger]:
    """The triggers ``connection``'s database should have: its vendor's, on tables it has."""
    tables = set(connection.introspection.table_names())
    return [t for t in all_triggers() if connection.vendor in t.create and t.table in tables]


def present(connection: BaseDatabaseWrapper) -> set[str]:
    """The names of the triggers the database has."""
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    elif connection.vendor == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {name for (name,) in cursor.fetchall()}


def missing(connection: BaseDatabaseWrapper) -> list[Trigger]:
    there = present(connection)
    return [t for t in expected(connection) if t.name not in there]


def ensure(using: str = DEFAULT_DB_ALIAS) -> list[Trigger]:
    """Create every expected trigger the database lacks, in one transaction; the created."""
    connection = connections[using]
    created = missing(connection)
    if created:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for trigger in created:
                for statement in trigger.create[connection.vendor]:
                    cursor.execute(statement)
    return created


def fully_migrated(using: str) -> bool:
    executor = MigrationExecutor(connections[using])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def ensure_after_migrate(sender, *, using: str = DEFAULT_DB_ALIAS, plan=None, **kwargs) -> None:
    """``post_migrate``: after a ``migrate`` that left nothing to apply (a partial one is
    left alone: a later migration may create a trigger itself). A ``flush`` sends the signal
    too, without a plan, and drops no trigger."""
    if plan is None or not fully_migrated(using):
        return
    ensure(using)


# ---------------------------------------------------------------------------------------
# Row counts kept by triggers (PostgreSQL)
# ---------------------------------------------------------------------------------------


def row_count_triggers(
    table: str,
    counts: str,
    key: str,
    events: tuple[str, ...] = ("INSERT", "DELETE", "UPDATE", "TRUNCATE"),
) -> tuple[Trigger, ...]:
    """The statement-level triggers that keep ``counts`` (``key`` → ``invoices``) equal to
    the number of rows of ``table`` per ``key``, in the rows' own transaction: inserts,
    deletes, an update that moves rows to another ``key``, a truncate (those of ``events``;
    a caller that counts inserts elsewhere leaves ``INSERT`` out). PostgreSQL only.

    Each trigger's statements create the table when missing and count the rows again (the
    count may have drifted while a trigger was gone); the reader counts rows itself where the
    table is not there (SQLite)."""
    create_table = (
        f"CREATE TABLE IF NOT EXISTS {counts} ({key} uuid PRIMARY KEY, invoices bigint NOT NULL)"
    )
    recount = (
        f"LOCK TABLE {table} IN SHARE MODE",
        f"DELETE FROM {counts}",  # noqa: S608 (names are the callers' constants, as below)
        f"""INSERT INTO {counts} ({key}, invoices)
    SELECT {key}, count(*) FROM {table} GROUP BY {key}""",  # noqa: S608
    )
    functions = {
        "inserted": f"""
    INSERT INTO {counts} AS c ({key}, invoices)
    SELECT {key}, count(*) FROM inserted_rows GROUP BY {key}
    ON CONFLICT ({key}) DO UPDATE SET invoices = c.invoices + excluded.invoices;""",  # noqa: S608
        "deleted": f"""
    UPDATE {counts} AS c SET invoices = c.invoices - d.n
    FROM (SELECT {key}, count(*) AS n FROM deleted_rows GROUP BY {key}) AS d
    WHERE c.{key} = d.{key};""",  # noqa: S608
        "moved": f"""
    INSERT INTO {counts} AS c ({key}, invoices)
    SELECT {key}, sum(delta) FROM (
        SELECT n.{key}, 1 AS delta FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.{key} <> n.{key}
        UNION ALL
        SELECT o.{key}, -1 FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.{key} <> n.{key}
    ) AS moves GROUP BY {key}
    ON CONFLICT ({key}) DO UPDATE SET invoices = c.invoices + excluded.invoices;""",  # noqa: S608
        "truncated": f"DELETE FROM {counts};",  # noqa: S608
    }
    kinds = (
        ("INSERT", "inserted", "REFERENCING NEW TABLE AS inserted_rows", "counts inserted rows"),
        ("DELETE", "deleted", "REFERENCING OLD TABLE AS deleted_rows", "uncounts deleted rows"),
        (
            "UPDATE",
            "moved",
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            f"moves the count of rows moved to another {key}",
        ),
        ("TRUNCATE", "truncated", "", "empties the counts"),
    )
    made = []
    for event, function, referencing, does in kinds:
        if event not in events:
            continue
        name = f"{counts}_{event.lower()}"
        made.append(
            Trigger(
                name=name,
                table=table,
                does=does,
                create={
                    "postgresql": (
                        create_table,
                        f"""CREATE OR REPLACE FUNCTION {counts}_{function}()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN {functions[function]}
                    RETURN NULL;
                END $$""",
                        f"DROP TRIGGER IF EXISTS {name} ON {table}",
                        f"""CREATE TRIGGER {name} AFTER {event} ON {table} {referencing}
                FOR EACH STATEMENT EXECUTE FUNCTION {counts}_{function}()""",
                        *recount,
                    )
                },
            )
        )
    return tuple(made)


_count_tables: dict[tuple[str, str], bool] = {}


def count_table_present(table: str) -> bool:
    """Whether the default database keeps the counts table ``table`` (PostgreSQL, migrated):
    looked up once per database name and table."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return False
    key = (connection.settings_dict["NAME"], table)
    if key not in _count_tables:
        _count_tables[key] = table in connection.introspection.table_names()
    return _count_tables[key]
