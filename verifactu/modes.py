"""VERI*FACTU / NO VERI*FACTU: which mode a taxpayer runs, and the rules for switching.

The rule (RD 1007/2023 and Orden HAC/1177/2024, as Factu applies it):

- From NO VERI*FACTU to VERI*FACTU: at any time, effective at once.
- From VERI*FACTU to NO VERI*FACTU: at once only if no VERI*FACTU record was generated in the
  current year (nothing was, or will be, sent to the AEAT this year). Otherwise the taxpayer
  stays in VERI*FACTU for the rest of the natural year: ``Taxpayer.verifactu_until`` is set to
  31 December and the switch happens on 1 January (:func:`apply_due_change`, called before
  every registration and by the daily task). Until then the envelopes sent to the AEAT carry
  ``RemisionVoluntaria/FechaFinVeriFactu`` = that date (SPEC §3). Asking for VERI*FACTU again
  before then simply cancels the scheduled switch.

Each effective switch is written to the event log of every chain (installation) of the
taxpayer: event 01 (start of NO VERI*FACTU operation) or 02 (end). A chain opened later for
a NO VERI*FACTU taxpayer gets its 01 with its first record (:func:`ensure_event_log`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from factu.models import Taxpayer

log = logging.getLogger(__name__)

VERIFACTU = Taxpayer.VerifactuMode.VERIFACTU
NO_VERIFACTU = Taxpayer.VerifactuMode.NO_VERIFACTU


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


def chains_of(taxpayer: Taxpayer):
    from verifactu.models import Chain

    return Chain.objects.filter(account=taxpayer.account_id, issuer_nif=taxpayer.nif).order_by("pk")


def verifactu_used_in(taxpayer: Taxpayer, year: int) -> bool:
    """Whether VERI*FACTU records of ``taxpayer`` were generated in ``year``.

    Generated, not only answered: a queued VERI*FACTU record will reach the AEAT anyway.
    """
    from verifactu.models import BillingRecord

    return BillingRecord.objects.filter(
        fiscal_invoice__taxpayer=taxpayer, no_verifactu=False, created_at__year=year
    ).exists()


def _log_on_chains(taxpayer: Taxpayer, tipo_evento: str) -> int:
    from verifactu import events

    logged = 0
    for chain in chains_of(taxpayer):
        active = events.no_verifactu_active(chain)
        if (tipo_evento == "01" and not active) or (tipo_evento == "02" and active):
            events.log_event(chain, tipo_evento)
            logged += 1
    return logged


def _locked(taxpayer: Taxpayer) -> Taxpayer:
    return Taxpayer.objects.select_for_update().get(pk=taxpayer.pk)


def _sync(taxpayer: Taxpayer, locked: Taxpayer) -> None:
    taxpayer.verifactu_mode = locked.verifactu_mode
    taxpayer.verifactu_until = locked.verifactu_until


def change_mode(taxpayer: Taxpayer, mode: str, today: date | None = None) -> ModeChange:
    """Ask for ``mode``; apply it now or schedule it for 1 January (see the module doc)."""
    today = today or timezone.localdate()
    mode = Taxpayer.VerifactuMode(mode)
    with transaction.atomic():
        locked = _locked(taxpayer)
        _apply_due(locked, today)
        current = locked.verifactu_mode
        if mode == VERIFACTU:
            if current == NO_VERIFACTU:
                _log_on_chains(locked, "02")
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
            _switch_to_no_verifactu(locked)
            result = ModeChange(NO_VERIFACTU, mode, today, changed=True)
    _sync(taxpayer, locked)
    return result


def _switch_to_no_verifactu(locked: Taxpayer) -> None:
    locked.verifactu_mode = NO_VERIFACTU
    locked.verifactu_until = None
    locked.save(update_fields=["verifactu_mode", "verifactu_until"])
    _log_on_chains(locked, "01")


def _apply_due(locked: Taxpayer, today: date) -> bool:
    if locked.verifactu_until is not None and today > locked.verifactu_until:
        _switch_to_no_verifactu(locked)
        return True
    return False


def apply_due_change(taxpayer: Taxpayer, today: date | None = None) -> bool:
    """Make a scheduled switch to NO VERI*FACTU effective once its year is over."""
    today = today or timezone.localdate()
    if taxpayer.verifactu_until is None or today <= taxpayer.verifactu_until:
        return False
    with transaction.atomic():
        locked = _locked(taxpayer)
        applied = _apply_due(locked, today)
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

    Applies a due switch first and opens the chain's event log (event 01) if this is the
    first NO VERI*FACTU record of the installation. The mode is reread here unless the
    caller did so after taking the lock (``reread=False``): a switch commits under the
    chain's lock, so a mode read before it may be stale.
    """
    if reread:
        taxpayer.refresh_from_db(fields=["verifactu_mode", "verifactu_until"])
    apply_due_change(taxpayer, today)
    if taxpayer.verifactu_mode != NO_VERIFACTU:
        return False
    ensure_event_log(chain, system)
    return True


def ensure_event_log(chain, system=None) -> None:
    from verifactu import events

    if not events.no_verifactu_active(chain):
        events.log_event(chain, "01", system=system)


def fecha_fin_verifactu(chain) -> str | None:
    """``FechaFinVeriFactu`` (dd-mm-yyyy) for the envelopes of a taxpayer leaving VERI*FACTU."""
    until = (
        Taxpayer.objects.filter(account=chain.account_id, nif=chain.issuer_nif)
        .values_list("verifactu_until", flat=True)
        .first()
    )
    return until.strftime("%d-%m-%Y") if until else None


def on_mode_requested(sender=None, *, taxpayer: Taxpayer, mode: str, **kwargs):
    """Receiver of ``factu.signals.verifactu_mode_requested`` (connected in apps.py)."""
    return change_mode(taxpayer, mode)
