"""``manage.py verifactu_export_events --nif NIF [--from DATE] [--to DATE] --output FILE``.

Writes a taxpayer's signed event log (every RegistroEvento of its chains, created between the
dates, inclusive) to one XML file (:func:`verifactu.events.export_events`) and logs event 09
for the export on each NO VERI*FACTU chain exported. Events are signed at birth: an unsigned
one (an anomaly) is left out and counted; nothing is signed here.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from factu.text import count_of
from verifactu import events
from verifactu.management.arguments import add_taxpayer_arguments, date_range, taxpayer
from verifactu.signatures import SigningUnavailable


class Command(BaseCommand):
    help = "Export a taxpayer's signed event log (RegistroEvento) to an XML file; logs event 09."

    def add_arguments(self, parser: CommandParser) -> None:
        add_taxpayer_arguments(parser, "--nif")
        parser.add_argument("--output", required=True, metavar="FILE", help="'-' for stdout")

    def handle(self, *args, **options) -> None:
        date_from, date_to = date_range(options)
        try:
            export = events.export_events(
                taxpayer(options["nif"], options.get("account")),
                date_from=date_from,
                date_to=date_to,
            )
        except SigningUnavailable as exc:
            raise CommandError(exc.message) from None
        output = options["output"]
        if output == "-":
            self.stdout.write(export.xml.decode("utf-8"), ending="")
        else:
            target = Path(output)
            partial = target.with_name(target.name + ".part")
            partial.write_bytes(export.xml)
            os.replace(partial, target)
            self.stdout.write(
                f"{count_of(len(export.events), 'event', 'events')} written to {target}; "
                f"{count_of(len(export.logged), 'event', 'events')} 09 logged."
            )
        if export.unsigned:
            self.stderr.write(
                f"{count_of(export.unsigned, 'event', 'events')} left out: no signature "
                "(an anomaly: every event is signed when it is logged)."
            )
