"""``manage.py verifactu_export_events --nif NIF [--from DATE] [--to DATE] --output FILE``.

Writes a taxpayer's signed event log (every RegistroEvento of its chains, created between the
dates, inclusive) to one XML file (:func:`verifactu.events.export_events`) and logs event 09
for the export on each NO VERI*FACTU chain exported. Events not signed yet are signed first,
as the worker would (commands run outside requests).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from factu.models import Taxpayer
from factu.nif import normalize_nif
from verifactu import events


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = "Export a taxpayer's signed event log (RegistroEvento) to an XML file; logs event 09."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--nif", required=True, metavar="NIF")
        parser.add_argument("--account", metavar="SLUG", help="when the NIF is in several")
        parser.add_argument("--from", dest="date_from", metavar="DATE", help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", metavar="DATE", help="YYYY-MM-DD")
        parser.add_argument("--output", required=True, metavar="FILE", help="'-' for stdout")

    def handle(self, *args, **options) -> None:
        taxpayers = Taxpayer.objects.filter(nif=normalize_nif(options["nif"]))
        if options.get("account"):
            taxpayers = taxpayers.filter(account__slug=options["account"])
        found = list(taxpayers[:2])
        if not found:
            raise CommandError(f"No taxpayer with NIF {options['nif']}.")
        if len(found) > 1:
            raise CommandError("The NIF is in several accounts: name one with --account.")
        date_from = _date(options["date_from"]) if options.get("date_from") else None
        date_to = _date(options["date_to"]) if options.get("date_to") else None
        if date_from and date_to and date_from > date_to:
            raise CommandError("--from is after --to.")
        export = events.export_events(
            found[0], date_from=date_from, date_to=date_to, sign_missing=True
        )
        output = options["output"]
        if output == "-":
            self.stdout.write(export.xml.decode("utf-8"), ending="")
        else:
            target = Path(output)
            partial = target.with_name(target.name + ".part")
            partial.write_bytes(export.xml)
            os.replace(partial, target)
            self.stdout.write(
                f"{len(export.events)} event(s) written to {target}; "
                f"{len(export.logged)} event(s) 09 logged."
            )
        if export.unsigned:
            self.stderr.write(
                f"{export.unsigned} event(s) left out: they could not be signed (no usable "
                "certificate for the taxpayer)."
            )
