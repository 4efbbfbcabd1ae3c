"""VERI*FACTU / NO VERI*FACTU: which mode a taxpayer runs, and the rules for switching.

The rule (RD 1007/2023 and Orden HAC/1177/2024, as Factu applies it):

- From NO VERI*FACTU to VERI*FACTU: at any time, effective at once.
- From VERI*FACTU to NO VERI*FACTU: at once only if no VERI*FACTU record was generated in the
  current year (nothing was, or will be, sent to the AEAT this year). Otherwise the taxpayer
  stays in VERI*FACTU for the rest of the natural year: ``Taxpayer.verifactu_until`` is set to
  31 December and the switch happens on 1 January. Until then the envelopes sent to the
  AEAT carry ``RemisionVoluntaria/FechaFinVeriFactu`` = that date (SPEC §3). Asking for
  VERI*FACTU again before then simply cancels the scheduled switch.

The mode of a record is derived when it is built, from the taxpayer's mode and switch date
(:func:`effective_mode`): a record made on 1 January before the daily task has run is
already NO VERI*FACTU. The taxpayer's row catches up later (:func:`apply_due_change`, by the
daily task, by the next :func:`change_mode`, or after the commit of that first record).

NO VERI*FACTU requires a certificate that signs (every record and event is signed when it is
chained, :mod:`verifactu.signatures`): a switch to it, at once or scheduled, is refused with
:class:`ModeRefused` while :func:`verifactu.signers.signing_problem_for` names a problem. A
due year-end switch that cannot be signed is not applied (a warning says so); records of the
new year are refused meanwhile (:class:`verifactu.records.SigningRefused`: upload a
certificate or return to VERI*FACTU), never stored unsigned.

Each effective switch is written to the event log of every chain (installation) of the
taxpayer: event 01 (start of NO VERI*FACTU operation) or 02 (end). A chain whose first
NO VERI*FACTU record comes before the switch's events gets its 01 with that record
(:func:`ensure_event_log`); each chain's 01/02 is decided under that chain's lock, so a
switch and a registration never log it twice.

**Lock order** (the one order every transaction follows, so none waits in a cycle):

1. the taxpayer's row — a switch locks it (:func:`change_mode`, :func:`apply_due_change`);
   a registration never does, except the one that opens a chain, which shares it, so that
   a switch deciding from the records it sees does not miss a chain being opened. Issuing
   in Factu takes the account's row at this level
   (``verifactu.installations.default_installation``);
2. an installation's lock — only the opening of a chain (``verifactu.chains.lock_chain``);
3. chain rows, one at a time, or several in primary-key order (a switch locks all the
   taxpayer's chains in one statement).

A registration holds one chain's lock and waits for nothing after it; a switch holds the
taxpayer and then waits for chains, never the other way round. Rows of levels 1 and 3 are
locked ``FOR NO KEY UPDATE`` where a registration may still reference them: the foreign
keys of its rows are checked at its commit with ``FOR KEY SHARE``, which that allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from factu.models import Taxpayer
from factu.queue import after_commit
from verifactu import event_log, signers
from verifactu.models import BillingRecord, Chain
from verifactu.signatures import SigningUnavailable

log = logging.getLogger(__name__)

VERIFACTU = Taxpayer.VerifactuMode.VERIFACTU
NO_VERIFACTU = Taxpayer.VerifactuMode.NO_VERIFACTU


END_UNSIGNED = (
    "El fin de NO VERI*FACTU se registra con un evento firmado, y ahora no se puede firmar."
)


class ModeRefused(ValidationError):
    """A switch to NO VERI*FACTU refused: no certificate may sign for the taxpayer, or the one
    that would is unusable. Nothing changed. A ``ValidationError`` on ``verifactu_mode``, so
    the taxpayer form shows ``reason`` on that field without importing the engine."""

    def __init__(self, reason: str) -> None:
        super().__init__({"verifactu_mode": [reason]})
        self.reason = reason


@dataclass(frozen=True)
class ModeChange:
    """What :func:`change_mode` did: ``effective_from`` is today unless ``scheduled``."""

    mode: str  # the mode in force now
    requested: str
    effective_from: date | None
    scheduled: bool = False
    changed: bool = False

    @property
    def message(self) -> str:
        if self.scheduled:
            return (
                "Este año ya se han generado registros VERI*FACTU: el contribuyente sigue en "
                f"VERI*FACTU hasta el 31/12/{self.effective_from.year - 1} y pasa a "
                f"NO VERI*FACTU el {self.effective_from:%d/%m/%Y}."
            )
        if self.changed:
            return f"Modalidad cambiada a {Taxpayer.VerifactuMode(self.mode).label}."
        return f"Sin cambios: la modalidad es {Taxpayer.VerifactuMode(self.mode).label}."


def chains_of(taxpayer: Taxpayer) -> QuerySet[Chain]:
    """The chains (one per installation) of ``taxpayer``, in primary-key order."""
    return Chain.objects.filter(account=taxpayer.account_id, issuer_nif=taxpayer.nif).order_by("pk")


def verifactu_used_in(taxpayer: Taxpayer, year: int) -> bool:
    """Whether VERI*FACTU records of ``taxpayer`` were generated in ``year``.

    Generated, not only answered: a queued VERI*FACTU record will reach the AEAT anyway.
    """
    return BillingRecord.objects.filter(
        fiscal_invoice__taxpayer=taxpayer, no_verifactu=False, created_at__year=year
    ).exists()


def effective_mode(mode: str, until: date | None, today: date) -> str:
    """The mode a record built on ``today`` runs in: a switch scheduled for the end of
    ``until``'s year is in force from the next day, whether or not it was applied yet."""
    if until is not None and today > until:
        return NO_VERIFACTU
    return mode


def _log_on_chains(chains, tipo_evento: str) -> int:
    """Log ``tipo_evento`` on each of the locked ``chains`` whose log does not say so yet."""
    logged = 0
    for chain in chains:
        active = event_log.no_verifactu_active(chain)
        if (tipo_evento == "01" and not active) or (tipo_evento == "02" and active):
            event_log.log_event(chain, tipo_evento)
            logged += 1
    return logged


def _locked(taxpayer: Taxpayer) -> tuple[Taxpayer, list]:
    """Lock the taxpayer, then every chain of it in primary-key order (the lock order of
    the module's docstring). With its chains held, no registration of the taxpayer is
    half-way while the switch decides: each one waiting rereads the mode after it.

    ``FOR NO KEY UPDATE``: a registration's foreign keys to the taxpayer and the chain are
    checked at its commit with ``FOR KEY SHARE``, which ``FOR UPDATE`` would block while
    this switch waits for that registration's chain.
    """
    locked = Taxpayer.objects.select_for_update(no_key=True).get(pk=taxpayer.pk)
    return locked, list(chains_of(locked).select_for_update(no_key=True))


def _sync(taxpayer: Taxpayer, locked: Taxpayer) -> None:
    taxpayer.verifactu_mode = locked.verifactu_mode
    taxpayer.verifactu_until = locked.verifactu_until


def change_mode(taxpayer: Taxpayer, mode: str, today: date | None = None) -> ModeChange:
    """Ask for ``mode``; apply it now or schedule it for 1 January (see the module doc).

    Raises :class:`ModeRefused` (nothing changed) for a switch to NO VERI*FACTU without a
    certificate that signs for the taxpayer.
    """
    today = today or timezone.localdate()
    mode = Taxpayer.VerifactuMode(mode)
    with transaction.atomic():
        locked, chains = _locked(taxpayer)
        _apply_due(locked, chains, today)
        if mode == NO_VERIFACTU and locked.verifactu_mode != NO_VERIFACTU:
            problem = signers.signing_problem_for(locked)
            if problem:
                raise ModeRefused(problem)
        current = locked.verifactu_mode
        if mode == VERIFACTU:
            if current == NO_VERIFACTU:
                try:
                    _log_on_chains(chains, "02")
                except SigningUnavailable as exc:
                    raise ModeRefused(f"{END_UNSIGNED} {exc.message}") from None
                locked.verifactu_mode = VERIFACTU
                locked.verifactu_until = None
                locked.save(update_fields=["verifactu_mode", "verifactu_until"])
                result = ModeChange(VERIFACTU, mode, today, changed=True)
            elif locked.verifactu_until is not None:  # cancel the scheduled switch
                locked.verifactu_until = None
                locked.save(update_fields=["verifactu_until"])
                result = ModeChange(VERIFACTU, mode, None, changed=True)
            else:
                result = ModeChange(VERIFACTU, mode, None)
        elif current == NO_VERIFACTU:
            result = ModeChange(NO_VERIFACTU, mode, None)
        elif verifactu_used_in(locked, today.year):
            locked.verifactu_until = date(today.year, 12, 31)
            locked.save(update_fields=["verifactu_until"])
            result = ModeChange(
                VERIFACTU, mode, date(today.year + 1, 1, 1), scheduled=True, changed=True
            )
        else:
            try:
                _switch_to_no_verifactu(locked, chains)
            except SigningUnavailable as exc:
                raise ModeRefused(exc.message) from None
            result = ModeChange(NO_VERIFACTU, mode, today, changed=True)
    _sync(taxpayer, locked)
    return result


def _switch_to_no_verifactu(locked: Taxpayer, chains) -> None:
    """Log the 01s (signed: :class:`SigningUnavailable` when they cannot be), then switch."""
    _log_on_chains(chains, "01")
    locked.verifactu_mode = NO_VERIFACTU
    locked.verifactu_until = None
    locked.save(update_fields=["verifactu_mode", "verifactu_until"])


def _apply_due(locked: Taxpayer, chains, today: date) -> bool:
    """Apply a due year-end switch, unless its 01s cannot be signed: then nothing changes (a
    warning says why) and the taxpayer's new records are refused until a certificate is
    uploaded or VERI*FACTU is asked for again (which cancels the switch)."""
    if locked.verifactu_until is None or today <= locked.verifactu_until:
        return False
    problem = signers.signing_problem_for(locked)
    if problem:
        log.warning("switch of %s to NO VERI*FACTU not applied: %s", locked.nif, problem)
        return False
    try:
        with transaction.atomic():  # a savepoint: 01s logged on some chains are undone
            _switch_to_no_verifactu(locked, chains)
    except SigningUnavailable as exc:
        log.warning("switch of %s to NO VERI*FACTU not applied: %s", locked.nif, exc.message)
        return False
    return True


def apply_due_change(taxpayer: Taxpayer, today: date | None = None) -> bool:
    """Make a scheduled switch to NO VERI*FACTU effective once its year is over.

    Never called under a chain's lock (it takes the taxpayer's first): records do not need
    it, their mode is derived (:func:`effective_mode`).
    """
    today = today or timezone.localdate()
    if taxpayer.verifactu_until is None or today <= taxpayer.verifactu_until:
        return False
    with transaction.atomic():
        locked, chains = _locked(taxpayer)
        applied = _apply_due(locked, chains, today)
    _sync(taxpayer, locked)
    return applied


def apply_due_changes(today: date | None = None) -> int:
    """Every scheduled switch that is due (the daily task)."""
    today = today or timezone.localdate()
    due = Taxpayer.objects.filter(verifactu_until__lt=today)
    return sum(apply_due_change(t, today) for t in due)


def mode_for_new_record(
    taxpayer: Taxpayer, chain, system, today: date | None = None, *, reread: bool = True
) -> bool:
    """Called under the chain lock before a record is stored: True for NO VERI*FACTU.

    The mode is derived from the taxpayer's mode and switch date (:func:`effective_mode`);
    nothing else is locked (the lock order of the module's docstring). The chain's event
    log is opened (event 01) if this is its first NO VERI*FACTU record, and a due switch
    is applied to the taxpayer's row after the commit, outside the chain's lock. The mode
    is reread here unless the caller did so after taking the lock (``reread=False``): a
    switch commits holding the taxpayer's chains, so a mode read before it may be stale.
    """
    today = today or timezone.localdate()
    if reread:
        taxpayer.refresh_from_db(fields=["verifactu_mode", "verifactu_until"])
    if effective_mode(taxpayer.verifactu_mode, taxpayer.verifactu_until, today) != NO_VERIFACTU:
        return False
    ensure_event_log(chain, system)
    if taxpayer.verifactu_mode != NO_VERIFACTU:  # due, not applied yet
        after_commit(lambda: apply_due_change(taxpayer, today))
    return True


def ensure_event_log(chain: Chain, system=None) -> None:
    """Open the chain's event log (event 01) unless it runs NO VERI*FACTU already."""
    if not event_log.no_verifactu_active(chain):
        event_log.log_event(chain, "01", system=system)


def fecha_fin_verifactu(chain) -> str | None:
    """``FechaFinVeriFactu`` (dd-mm-yyyy) for the envelopes of a taxpayer leaving VERI*FACTU."""
    until = (
        Taxpayer.objects.filter(account=chain.account_id, nif=chain.issuer_nif)
        .values_list("verifactu_until", flat=True)
        .first()
    )
    return until.strftime("%d-%m-%Y") if until else None


def on_mode_requested(sender=None, *, taxpayer: Taxpayer, mode: str, **kwargs):
    """Receiver of ``factu.signals.verifactu_mode_requested`` (connected in apps.py); raises
    :class:`ModeRefused`, a ``ValidationError`` the form shows on its field."""
    return change_mode(taxpayer, mode)


def mode_problem(taxpayer: Taxpayer, mode: str) -> str | None:
    """Why ``taxpayer`` cannot be put in ``mode`` (Spanish), or None: NO VERI*FACTU needs a
    certificate that signs (:func:`verifactu.signers.signing_problem_for`)."""
    if mode != NO_VERIFACTU or (
        not taxpayer._state.adding and taxpayer.verifactu_mode == NO_VERIFACTU
    ):
        return None
    return signers.signing_problem_for(taxpayer)


def on_mode_checked(sender=None, *, taxpayer: Taxpayer, mode: str, **kwargs) -> str | None:
    """Receiver of ``factu.signals.verifactu_mode_checked`` (connected in apps.py)."""
    return mode_problem(taxpayer, mode)
