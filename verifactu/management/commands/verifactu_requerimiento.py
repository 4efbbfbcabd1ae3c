from datetime import date

from django.core.management.base import BaseCommand, CommandError

from factu.models import Taxpayer
from factu.nif import normalize_nif
from verifactu.requerimiento import RequerimientoFailed, RequerimientoRefused, send_requested


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = (
        "Answer an AEAT requerimiento: send a NO VERI*FACTU taxpayer's signed records (all, or "
        "those issued between --from and --to, or --number ones) to the Requerimiento endpoint."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--taxpayer", metavar="NIF", required=True)
        parser.add_argument("--account", metavar="SLUG", help="when the NIF is in several")
        parser.add_argument("--ref", required=True, help="RefRequerimiento (≤18 characters)")
        parser.add_argument("--from", dest="date_from", metavar="DATE", help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", metavar="DATE", help="YYYY-MM-DD")
        parser.add_argument("--number", action="append", dest="numbers", metavar="NUMSERIE")

    def handle(self, *args, **options) -> None:
        taxpayers = Taxpayer.objects.filter(nif=normalize_nif(options["taxpayer"]))
        if options.get("account"):
            taxpayers = taxpayers.filter(account__slug=options["account"])
        found = list(taxpayers[:2])
        if not found:
            raise CommandError(f"No taxpayer with NIF {options['taxpayer']}.")
        if len(found) > 1:
            raise CommandError("The NIF is in several accounts: name one with --account.")
        try:
            result = send_requested(
                found[0],
                options["ref"],
                options.get("numbers"),
                date_from=_date(options["date_from"]) if options.get("date_from") else None,
                date_to=_date(options["date_to"]) if options.get("date_to") else None,
                sign_missing=True,  # the command runs outside requests, like the worker
            )
        except (RequerimientoRefused, RequerimientoFailed) as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Requerimiento {result.ref}: {result.sent} record(s) sent in "
            f"{len(result.envelopes)} envelope(s); {result.accepted} accepted by the AEAT."
        )
