"""``manage.py verifactu_verify [--taxpayer NIF]``: recompute every huella and link.

Prints one line per chain and exits non-zero, naming the first break of each broken chain,
when anything does not verify.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from factu.nif import normalize_nif
from verifactu.integrity import verify_all


class Command(BaseCommand):
    help = "Verify every VERI*FACTU chain (or one taxpayer's) from the stored XML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxpayer", metavar="NIF", help="only the chains of this NIF")

    def handle(self, *args, taxpayer: str | None = None, **options) -> None:
        nif = normalize_nif(taxpayer) if taxpayer else None
        reports = verify_all(nif)
        if nif and not reports:
            raise CommandError(f"No chain found for NIF {nif}.")
        broken = []
        for report in reports:
            chain = report.chain
            if report.ok:
                self.stdout.write(
                    f"OK chain {chain.pk} {chain}: {report.records} records, "
                    f"head #{chain.length} {chain.last_huella or '-'}"
                )
                continue
            broken.append(report)
            more = len(report.breaks) - 1
            self.stdout.write(
                f"BROKEN chain {chain.pk} {chain}: {report.records} records; first break: "
                f"{report.breaks[0]}" + (f" (+{more} more problems)" if more else "")
            )
        self.stdout.write(f"{len(reports)} chains verified, {len(broken)} broken.")
        if broken:
            raise CommandError(
                "Broken chains: " + "; ".join(str(report.breaks[0]) for report in broken)
            )
