"""``manage.py verifactu_check_anomalies [--taxpayer NIF]``: the anomaly check, now.

Runs :func:`verifactu.anomalies.run_anomaly_check` on every chain that keeps an event log
(of one NIF with ``--taxpayer``), which logs the runs (03, 05) and each new anomaly (04, 06),
as the beat task does. Exits non-zero naming the first anomaly found of each chain, also
when its run could not be logged (no certificate may sign its events, or the chain row
refuses them), and any chain whose check failed; the other chains are checked either way.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from factu.nif import normalize_nif
from verifactu.anomalies import RunNotLogged, run_anomaly_check
from verifactu.event_log import chains_with_event_log


class Command(BaseCommand):
    help = "Run the anomaly check of every NO VERI*FACTU chain (or one taxpayer's) now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--taxpayer", metavar="NIF", help="only the chains of this NIF")

    def handle(self, *args, taxpayer: str | None = None, **options) -> None:
        chains = chains_with_event_log()
        if taxpayer:
            nif = normalize_nif(taxpayer)
            chains = chains.filter(issuer_nif=nif)
            if not chains:
                raise CommandError(f"No chain of NIF {nif} keeps an event log.")
        first = []
        checked = 0
        for chain in chains:
            checked += 1
            try:
                found = run_anomaly_check(chain)
            except RunNotLogged as exc:
                self.stdout.write(f"chain {chain.pk} {chain}: not logged: {exc.reason}")
                named = f"{exc.findings[0]}; " if exc.findings else ""
                first.append(f"{named}the run cannot be logged: {exc.reason}")
                continue
            except Exception as exc:  # one chain's failure does not hide the others' findings
                self.stderr.write(f"chain {chain.pk} {chain}: the check failed: {exc!r}")
                first.append(f"chain {chain.pk}: the check failed: {exc!r}")
                continue
            state = f"{len(found)} anomalies" if found else "no anomaly"
            self.stdout.write(f"chain {chain.pk} {chain}: {state}")
            if found:
                first.append(found[0])
        self.stdout.write(f"{checked} chains checked, {len(first)} with anomalies.")
        if first:
            raise CommandError("Anomalies: " + "; ".join(str(f) for f in first))
