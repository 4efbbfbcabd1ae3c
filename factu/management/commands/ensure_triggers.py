"""``manage.py ensure_triggers``: create every database trigger that is missing (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from factu import triggers


class Command(BaseCommand):
    help = "Create every database trigger the apps declare that the database lacks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--list", action="store_true", help="list the expected triggers, change nothing"
        )

    def handle(self, *args, database: str, list: bool, **options) -> None:  # noqa: A002
        connection = connections[database]
        if list:
            there = triggers.present(connection)
            for trigger in triggers.expected(connection):
                state = "present" if trigger.name in there else "MISSING"
                self.stdout.write(f"{trigger.table}\t{trigger.name}\t{state}\t{trigger.does}")
            return
        if not triggers.fully_migrated(database):
            # The triggers are today's: on an older schema they would name columns that do not
            # exist yet, and the migration that creates one would then find it there.
            raise CommandError("The database has unapplied migrations: run `migrate` first.")
        for trigger in triggers.ensure(database):
            self.stdout.write(f"created {trigger.name} on {trigger.table}")
