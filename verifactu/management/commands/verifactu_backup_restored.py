"""``manage.py verifactu_backup_restored [--taxpayer NIF] [--note TEXT]``: event 07.

Run by the operator right after restoring a backup of Factu's database: every chain running
NO VERI*FACTU (of one NIF, or all) logs a «restauración de copia de seguridad» event, chained
and signed. A chain whose event cannot be signed (no certificate) is named on stderr and the
others go on. The anomaly check (``verifactu.anomaly_check``) should be run
next, since a restore may have lost records or events generated after the backup.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from factu.nif import normalize_nif
from factu.text import count_of
from verifactu import event_log, events
from verifactu.signatures import SigningUnavailable


class Command(BaseCommand):
    help = (
        "Record the restore of a backup (event 07) on every NO VERI*FACTU chain, or on those "
        "of one NIF. Run it after restoring Factu's database from a backup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxpayer", metavar="NIF", help="only the chains of this NIF")
        parser.add_argument(
            "--note", help="OtrosDatosEvento: e.g. the backup's date (up to 100 characters)"
        )

    def handle(self, *args, taxpayer: str | None = None, note: str | None = None, **options):
        chains = event_log.chains_with_event_log()
        if taxpayer:
            chains = chains.filter(issuer_nif=normalize_nif(taxpayer))
        if note is not None and len(note.strip()) > 100:
            raise CommandError("--note must have at most 100 characters.")
        logged = []
        for chain in chains:
            try:
                event = events.log_backup_restored(chain, note=note)
            except SigningUnavailable as exc:
                self.stderr.write(f"Chain {chain.pk} {chain}: not logged. {exc.message}")
                continue
            if event is not None:
                logged.append(event)
                self.stdout.write(f"Event 07 #{event.position} logged on chain {chain.pk} {chain}")
        if not logged:
            raise CommandError(
                "No chain runs NO VERI*FACTU"
                + (f" for NIF {normalize_nif(taxpayer)}" if taxpayer else "")
                + ": nothing to record (the event log is kept only in that mode)."
            )
        self.stdout.write(
            f"{count_of(len(logged), 'event', 'events')} 07 logged, signed. Run the anomaly check "
            "next (celery task verifactu.anomaly_check)."
        )
