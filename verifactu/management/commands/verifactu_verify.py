"""``manage.py verifactu_verify [--taxpayer NIF] [--file PATH]``: verify what is stored, or
an exported file.

Without ``--file``: every chain (of one NIF with ``--taxpayer``) through
:func:`verifactu.verification.verify`: the records' huellas, links and dates, the chain row,
and, where the chain keeps an event log (NO VERI*FACTU), every signature, the events and the
anchors. One line per chain; exits non-zero naming the first finding of each broken chain.

With ``--file``: the exported event log, record XML, requerimiento envelope or ZIP of them,
offline (:func:`verifactu.offline.verify_file`): signatures against the CA bundle, huellas,
links and dates; exits non-zero naming the first broken item, or refuses when the CA bundle
of ``VERIFACTU_SIGNATURE_CA_FILE`` cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from factu.nif import normalize_nif
from verifactu.offline import BundleUnreadable, verify_file
from verifactu.verification import verify_all


class Command(BaseCommand):
    help = (
        "Verify every chain (or one taxpayer's) from the stored XML, signatures, event log "
        "and anchors; or an exported file with --file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxpayer", metavar="NIF", help="only the chains of this NIF")
        parser.add_argument("--file", metavar="PATH", help="verify an exported file offline")

    def handle(self, *args, taxpayer: str | None = None, file: str | None = None, **options):
        if file:
            return self.verify_file(file)
        nif = normalize_nif(taxpayer) if taxpayer else None
        results = verify_all(nif)
        if nif and not results:
            raise CommandError(f"No chain found for NIF {nif}.")
        broken = []
        for result in results:
            chain = result.chain
            events = (
                f", {result.events} events, event head #{chain.events_length} "
                f"{chain.last_event_huella or '-'}"
                if result.events or chain.events_length
                else ""
            )
            if result.ok:
                self.stdout.write(
                    f"OK chain {chain.pk} {chain}: {result.records} records, "
                    f"head #{chain.length} {chain.last_huella or '-'}{events}"
                )
                continue
            broken.append(result)
            more = len(result.findings) - 1
            self.stdout.write(
                f"BROKEN chain {chain.pk} {chain}: {result.records} records{events}; first "
                f"break: {result.findings[0]}" + (f" (+{more} more problems)" if more else "")
            )
        self.stdout.write(f"{len(results)} chains verified, {len(broken)} broken.")
        if broken:
            raise CommandError(
                "Broken chains: " + "; ".join(str(result.findings[0]) for result in broken)
            )

    def verify_file(self, file: str) -> None:
        if not Path(file).is_file():
            raise CommandError(f"No such file: {file}")
        try:
            report = verify_file(file)
        except BundleUnreadable as exc:
            raise CommandError(f"Cannot verify {file}: {exc}.") from exc
        for item in report.broken:
            self.stdout.write(f"BROKEN {item}")
        self.stdout.write(
            f"{report.path}: {report.count('event')} events, {report.count('record')} records, "
            f"{report.signed()} signed, {len(report.broken)} broken."
        )
        if not report.items:
            raise CommandError(f"{file} holds no RegistroEvento nor billing record.")
        if report.broken:
            raise CommandError(f"First broken item: {report.broken[0]}")
