"""The arguments the engine's commands share: a taxpayer named by NIF (and account, when the
NIF is registered in several) and an inclusive date range."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError, CommandParser

from factu.models import Taxpayer
from factu.nif import normalize_nif


def add_taxpayer_arguments(parser: CommandParser, flag: str) -> None:
    """``flag`` NIF (required), ``--account`` SLUG, ``--from`` and ``--to`` DATE."""
    parser.add_argument(flag, required=True, metavar="NIF")
    parser.add_argument("--account", metavar="SLUG", help="when the NIF is in several")
    parser.add_argument("--from", dest="date_from", metavar="DATE", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", metavar="DATE", help="YYYY-MM-DD")


def taxpayer(nif: str, account: str | None) -> Taxpayer:
    """The one taxpayer with ``nif`` (in ``account``, a slug, if given), or a CommandError."""
    taxpayers = Taxpayer.objects.filter(nif=normalize_nif(nif))
    if account:
        taxpayers = taxpayers.filter(account__slug=account)
    found = list(taxpayers[:2])
    if not found:
        raise CommandError(f"No taxpayer with NIF {nif}.")
    if len(found) > 1:
        raise CommandError("The NIF is in several accounts: name one with --account.")
    return found[0]


def date_range(options: dict) -> tuple[date | None, date | None]:
    """``--from`` and ``--to`` as dates (either may be absent); a CommandError if unreadable
    or if ``--from`` is after ``--to``."""
    date_from, date_to = (_date(options.get(key)) for key in ("date_from", "date_to"))
    if date_from and date_to and date_from > date_to:
        raise CommandError("--from is after --to.")
    return date_from, date_to


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from exc
