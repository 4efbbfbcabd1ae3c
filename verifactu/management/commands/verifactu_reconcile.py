from django.core.management.base import BaseCommand, CommandError

from factu.text import count_of
from verifactu.aeat import AeatError
from verifactu.reconcile import reconcile


class Command(BaseCommand):
    help = "Compare local billing records with what the AEAT holds (Consulta); list differences."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--taxpayer", metavar="NIF", help="only this obligado's chains")

    def handle(self, *args, taxpayer: str | None = None, **options) -> None:
        try:
            differences = reconcile(taxpayer)
        except AeatError as exc:
            raise CommandError(f"The AEAT could not be queried: {exc}") from exc
        for d in differences:
            self.stdout.write(
                f"{d.nif} {d.invoice_number} {d.invoice_date}: {d.problem}: {d.detail}"
            )
        if differences:
            found = count_of(len(differences), "difference", "differences")
            raise CommandError(f"{found} with the AEAT.")
        self.stdout.write("No differences with the AEAT.")
