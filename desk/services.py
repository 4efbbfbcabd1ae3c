"""The accountant's fixes: what the desk's buttons do to a fiscal invoice whose latest
record the AEAT rejected, failed to receive or accepted with errors, and what they say.

Plain functions the views and the bulk re-submission call (what needs a fix is read in
:mod:`desk.worklist`). The fixes only route to the engine's services
(:mod:`verifactu.corrections`) or, for an invoice issued in Factu, to
:func:`invoicing.services.cancel_invoice`, so that the invoice is marked cancelled too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from factu.models import User
from factu.nif import normalize_nif
from invoicing import services as invoicing_services
from verifactu import corrections
from verifactu.errors import RECIPIENT_NOT_IN_CENSUS, describe
from verifactu.facts import BreakdownFacts, InvoiceFacts, from_cents
from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus
from verifactu.records import RecordRefused, SigningRefused, facts_of

# The fixes, by key: what the button says.
SUBSANAR = "subsanar"
CORREGIR = "corregir"
REINTENTAR = "reintentar"
ANULAR = "anular"
ACTION_LABELS = {
    SUBSANAR: "Subsanar",
    CORREGIR: "Corregir datos",
    REINTENTAR: "Reintentar",
    ANULAR: "Anular",
}


def factu_invoice_of(fiscal_invoice: FiscalInvoice):
    """The invoice issued in Factu that ``fiscal_invoice`` registers; None for one from the
    v1 API."""
    try:
        return fiscal_invoice.factu_invoice
    except FiscalInvoice.factu_invoice.RelatedObjectDoesNotExist:
        return None


def _explanation(record: BillingRecord) -> str:
    if record.aeat_error_code or record.aeat_error_description:
        return describe(record.aeat_error_code, record.aeat_error_description)
    if record.status == RecordStatus.ERROR:
        return (
            "No se pudo enviar a la AEAT (sin respuesta o fallo de conexión). "
            "La factura no tiene por qué estar mal: reintente el envío."
        )
    return ""


# ---------------------------------------------------------------------------------------
# The fixes
# ---------------------------------------------------------------------------------------


def _latest(fiscal_invoice: FiscalInvoice) -> BillingRecord | None:
    return fiscal_invoice.records.order_by("-position").first()


def subsanar(
    fiscal_invoice: FiscalInvoice,
    facts=None,
    *,
    reason: str = "",
    user: User | None = None,
    matches_delivered_invoice: bool = False,
    now: datetime | None = None,
) -> BillingRecord:
    """A new chained record fixing the latest, with corrected ``facts`` or the same data:
    after a rejected anulación a new one, else a subsanación with the flags
    :func:`verifactu.corrections.correction_for` decides."""
    fix = corrections.correction_for(fiscal_invoice)
    if fix is not None and fix.kind == corrections.ANULACION and facts is None:
        return corrections.retry(fiscal_invoice, now=now)
    return corrections.subsanar(
        fiscal_invoice,
        facts,
        reason=reason,
        actor=corrections.Actor(user=user),
        matches_delivered_invoice=matches_delivered_invoice,
        now=now,
    )


# The correction form's fields open on an invoice issued in Factu: what
# corrections.outside_the_invoice lets a subsanación change there (it enforces the rule).
CORRECTABLE_ON_FACTU_INVOICES = ("no_censado", "reason")


def correction_initial(fiscal_invoice: FiscalInvoice) -> tuple[dict, list[dict]]:
    """The correction form's starting values: the invoice's current version, in cents and
    basis points (the form's fields show them as a person writes them)."""
    fi = fiscal_invoice
    data = {
        "description": fi.description,
        "recipient_name": fi.recipient_name,
        "recipient_nif": fi.recipient_nif,
        "recipient_id_type": fi.recipient_id_type,
        "recipient_id": fi.recipient_id,
        "recipient_country": fi.recipient_country,
        "total_amount": fi.total_amount_cents,
        "total_tax_amount": fi.total_tax_amount_cents,
    }
    lines = [
        {
            "tax_type": line["tax_type"],
            "regime_type": line.get("regime_type") or "",
            "operation_type": line["operation_type"],
            "base": line["base_cents"],
            "rate": line.get("rate_bp"),
            "tax": line.get("tax_cents"),
            "surcharge_rate": line.get("surcharge_rate_bp"),
            "surcharge": line.get("surcharge_cents"),
            "base_cost": line.get("base_cost_cents"),
        }
        for line in fi.breakdown
    ]
    return data, lines


def _cents(value: int | None):
    return None if value is None else from_cents(value)


def corrected_facts(fiscal_invoice: FiscalInvoice, data: dict, lines: list[dict]) -> InvoiceFacts:
    """The invoice's facts with the correction form's cleaned ``data`` and breakdown
    ``lines``; what the form does not show keeps its value. «No censado» sends the
    recipient's NIF as IDOtro type 07 (SPEC §6)."""
    nif = normalize_nif(data["recipient_nif"] or "")
    id_type, foreign_id = data["recipient_id_type"] or "", data["recipient_id"] or ""
    country = (data["recipient_country"] or "").upper()
    if data.get("no_censado") and nif:
        nif, id_type, foreign_id, country = "", "07", nif, country or "ES"
    return replace(
        facts_of(fiscal_invoice),
        description=data["description"],
        recipient_name=data["recipient_name"] or "",
        recipient_nif=nif,
        recipient_id_type=id_type if foreign_id else "",
        recipient_id=foreign_id,
        recipient_country=country if foreign_id else "",
        breakdown=tuple(
            BreakdownFacts(
                tax_type=line["tax_type"],
                regime_type=line["regime_type"] or None,
                operation_type=line["operation_type"],
                base_amount=from_cents(line["base"]),
                tax_rate=_cents(line["rate"]),
                tax_amount=_cents(line["tax"]),
                surcharge_rate=_cents(line["surcharge_rate"]),
                surcharge_amount=_cents(line["surcharge"]),
                base_cost_amount=_cents(line.get("base_cost")),
            )
            for line in lines
        ),
        total_amount=from_cents(data["total_amount"]),
        total_tax_amount=from_cents(data["total_tax_amount"]),
    )


# Why a correction was refused, in the desk's words (the engine's are the API's, in English).
CORRECTION_REFUSALS = {
    corrections.CorrectionRefused.NEEDS_NEW_INVOICE: (
        "La AEAT rechazó el número o la fecha de la factura, que no pueden cambiarse en una "
        "subsanación: anule la factura y emita una nueva."
    ),
    corrections.CorrectionRefused.IDENTITY: (
        "El número, la fecha y el emisor no cambian en una subsanación: anule la factura y "
        "emita una nueva."
    ),
    corrections.CorrectionRefused.NOTHING_CHANGED: (
        "No ha cambiado ningún dato: para reenviar los mismos datos use «Subsanar» en la mesa."
    ),
    corrections.CorrectionRefused.NO_REASON: "Indique el motivo de la corrección.",
    corrections.CorrectionRefused.ISSUED_IN_FACTU: (
        "La factura se emitió en Factu con sus propias líneas y cliente: la subsanación solo "
        "puede enviar al cliente como «no censado»; lo demás se corrige con una factura "
        "rectificativa."
    ),
    corrections.CorrectionRefused.NEEDS_RECTIFICATIVA: (
        "Cambiar importes o la identidad del cliente corrige la factura, no solo su registro: "
        "emita una factura rectificativa, o marque que la factura entregada al cliente ya "
        "llevaba estos datos."
    ),
}


def reintentar(fiscal_invoice: FiscalInvoice) -> BillingRecord:
    """Resend the same record after a failed submission (back to ``queued``)."""
    latest = _latest(fiscal_invoice)
    if latest is None or corrections.correction_kind(latest) != corrections.RESEND:
        raise corrections.InvalidCorrection("Only a failed record is resent.")
    return corrections.retry(fiscal_invoice)


def anular(
    fiscal_invoice: FiscalInvoice, *, user: User | None = None, reason: str = ""
) -> BillingRecord:
    """Chain a RegistroAnulacion; an invoice issued in Factu is cancelled through invoicing,
    so that the invoice is marked cancelled along with its record."""
    invoice = factu_invoice_of(fiscal_invoice)
    if invoice is None:
        return corrections.cancel(fiscal_invoice)
    invoicing_services.cancel_invoice(
        invoice, actor=invoicing_services.Actor(user=user), reason=reason
    )
    return _latest(fiscal_invoice)


# What the engine raises when a fix does not apply; the views and the bulk job report it.
REFUSALS = (
    corrections.InvalidCorrection,
    corrections.CorrectionRefused,
    RecordRefused,
    invoicing_services.InvalidTransition,
)


def done_message(record: BillingRecord) -> str:
    """What a fix did, in Spanish, without the invoice number (the caller adds it)."""
    if record.record_type == record.RecordType.CANCELLATION:
        return (
            f"registro de anulación encadenado (n.º {record.position}); "
            "queda en cola para enviarse a la AEAT."
        )
    if record.record_type == record.RecordType.CORRECTION:
        flags = "Subsanación=S" + (
            f", RechazoPrevio={record.rechazo_previo}" if record.rechazo_previo else ""
        )
        return (
            f"subsanación encadenada (n.º {record.position}, {flags}); "
            "queda en cola para enviarse a la AEAT."
        )
    return f"el registro n.º {record.position} vuelve a la cola para reenviarse a la AEAT."


def explain(record: BillingRecord | None) -> str:
    """What AEAT said of ``record``, in plain Spanish with the fix (empty when nothing)."""
    return _explanation(record) if record is not None else ""


def census_error(record: BillingRecord | None) -> bool:
    """AEAT did not find the recipient's NIF in its census: «no censado» may fix it."""
    return record is not None and record.aeat_error_code in RECIPIENT_NOT_IN_CENSUS


def problem_texts(exc: Exception, label=lambda field: field) -> list[str]:
    """The AEAT rules the corrected data break, one Spanish line each, the field named by
    ``label`` (the form's words for the engine's field path)."""
    if not isinstance(exc, RecordRefused):
        return []
    return [
        f"{label(p.field)}: {describe(p.code, p.message)} (AEAT {p.code})"
        if p.code and p.code.isdigit()
        else f"{label(p.field)}: {p.message}"
        for p in exc.problems
    ]


def refusal_reason(exc: Exception, fiscal_invoice: FiscalInvoice) -> str:
    """Why a fix was refused, in Spanish for the accountant."""
    if isinstance(exc, SigningRefused):  # not the AEAT's rule: no certificate signs
        return exc.message
    if isinstance(exc, RecordRefused):
        problems = [
            f"{describe(p.code, p.message)} (AEAT {p.code})"
            if p.code and p.code.isdigit()
            else p.message
            for p in exc.problems
        ]
        return "La AEAT lo rechazaría: " + " ".join(problems or [exc.message])
    if isinstance(exc, invoicing_services.InvalidTransition):
        return str(exc)
    latest = _latest(fiscal_invoice)
    if isinstance(exc, corrections.CorrectionRefused):
        return CORRECTION_REFUSALS.get(exc.code, exc.message)
    if latest is None:
        return "La factura no tiene ningún registro."
    if corrections.is_cancelled(fiscal_invoice):
        return "La factura ya está anulada (o su anulación está en camino a la AEAT)."
    return (
        f"Su último registro está «{latest.get_status_display().lower()}»: "
        "esta acción no se aplica en ese estado."
    )


# ---------------------------------------------------------------------------------------
# Sending many records again (the desk's bulk re-submission, run as a background job)
# ---------------------------------------------------------------------------------------


def resubmit_action(record: BillingRecord | None) -> str | None:
    """The fix that sends a fiscal invoice whose latest record is ``record`` to the AEAT
    again with the same data: reintentar after a failed submission, subsanar after a
    rejection (not one of the number or date: only a new invoice fixes that); else None."""
    if record is None:
        return None
    kind = corrections.correction_kind(record)
    if kind == corrections.RESEND:
        return REINTENTAR
    if record.status == RecordStatus.REJECTED and not corrections.needs_new_invoice(record):
        return SUBSANAR
    return None


@dataclass(frozen=True)
class ResubmitOutcome:
    """What the bulk re-submission did with one fiscal invoice, for the job's report."""

    fiscal_invoice_id: str
    number: str
    taxpayer: str
    action: str
    ok: bool
    message: str

    def as_report(self) -> dict:
        return {
            "fiscal_invoice": self.fiscal_invoice_id,
            "number": self.number,
            "taxpayer": self.taxpayer,
            "action": self.action,
            "ok": self.ok,
            "message": self.message,
        }


_STATE_REFUSALS = {
    RecordStatus.QUEUED: (
        "Ya estaba en cola para enviarse a la AEAT (otra petición se adelantó): "
        "no se ha vuelto a encolar."
    ),
    RecordStatus.SENDING: (
        "Se estaba enviando a la AEAT en ese momento: no se ha vuelto a encolar."
    ),
    RecordStatus.ACCEPTED: "La AEAT ya lo ha aceptado: no hay nada que reenviar.",
    RecordStatus.ACCEPTED_WITH_ERRORS: (
        "La AEAT lo aceptó con errores: no se reenvía en bloque. Corrija el dato y use "
        "«Subsanar» en la mesa."
    ),
}


def _not_resubmitted(fiscal_invoice: FiscalInvoice, action: str, exc: Exception):
    latest = _latest(fiscal_invoice)
    reason = _STATE_REFUSALS.get(latest.status) if latest is not None else None
    return ResubmitOutcome(
        str(fiscal_invoice.pk),
        fiscal_invoice.invoice_number,
        fiscal_invoice.taxpayer.name,
        action,
        False,
        reason or refusal_reason(exc, fiscal_invoice),
    )


def resubmit(fiscal_invoice: FiscalInvoice) -> ResubmitOutcome:
    """Send one fiscal invoice to the AEAT again with the desk's own fix for its state
    (:func:`reintentar` or :func:`subsanar`), or say why not.

    The state is read again here, and the fixes re-check it under the chain's lock, so a
    record another click already requeued is reported, never queued twice.
    """
    action = resubmit_action(_latest(fiscal_invoice))
    if action is None:
        return _not_resubmitted(fiscal_invoice, "", corrections.InvalidCorrection())
    fix = reintentar if action == REINTENTAR else subsanar
    try:
        record = fix(fiscal_invoice)
    except REFUSALS as exc:
        return _not_resubmitted(fiscal_invoice, action, exc)
    message = done_message(record)
    return ResubmitOutcome(
        str(fiscal_invoice.pk),
        fiscal_invoice.invoice_number,
        fiscal_invoice.taxpayer.name,
        action,
        True,
        message[0].upper() + message[1:],
    )
