from django.core.management.base import BaseCommand, CommandError

from factu.text import count_of
from verifactu.management.arguments import add_taxpayer_arguments, date_range, taxpayer
from verifactu.requerimiento import RequerimientoFailed, RequerimientoRefused, send_requested


class Command(BaseCommand):
    help = (
        "Answer an AEAT requerimiento: send a NO VERI*FACTU taxpayer's signed records (all, or "
        "those issued between --from and --to, or --number ones) to the Requerimiento endpoint."
    )

    def add_arguments(self, parser) -> None:
        add_taxpayer_arguments(parser, "--taxpayer")
        parser.add_argument("--ref", required=True, help="RefRequerimiento (≤18 characters)")
        parser.add_argument("--number", action="append", dest="numbers", metavar="NUMSERIE")

    def handle(self, *args, **options) -> None:
        found = taxpayer(options["taxpayer"], options.get("account"))
        date_from, date_to = date_range(options)
        try:
            result = send_requested(
                found,
                options["ref"],
                options.get("numbers"),
                date_from=date_from,
                date_to=date_to,
            )
        except (RequerimientoRefused, RequerimientoFailed) as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Requerimiento {result.ref}: {count_of(result.sent, 'record', 'records')} sent in "
            f"{count_of(len(result.envelopes), 'envelope', 'envelopes')}; "
            f"{result.accepted} accepted by the AEAT."
        )
