"""What people do with invoices: the service functions the browser, the account API and the
Celery tasks all call (``create_draft``, ``update_draft``, ``issue_invoice``, ``mark_paid``,
``mark_overdue``, ``cancel_invoice``, ``rectify_invoice``).

Each is one transaction that also writes its audit event. Issuing hands the invoice to the
VERI*FACTU engine (``verifactu.records.register_invoice``), inside the same transaction, so
an invoice is issued if and only if its billing record is chained.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clients.models import Client
from factu.models import Taxpayer
from factu.queue import after_commit
from factu.text import normalize_search
from invoicing import einvoices, payments, taxes
from invoicing.actions import Actor, InvalidTransition
from invoicing.actions import log as _log
from invoicing.draft_lines import (
    DraftLine,
    apply_totals,
    line_inputs,
    line_rows,
    preview_totals,
    store_lines,
)
from invoicing.models import (
    Invoice,
    InvoiceStatus,
    IssuedBy,
    Series,
    SeriesCounter,
    provisional_number,
)
from invoicing.registration import (
    FROZEN_AT_ISSUE,
    date_problems,
    factu_computer_system,
    freeze_parties,
    record_facts,
)
from verifactu import corrections, rules
from verifactu.models import FiscalInvoice
from verifactu.records import RecordRefused, register_invoice

TRANSITIONS = {
    InvoiceStatus.DRAFT: {InvoiceStatus.SENT, InvoiceStatus.CANCELLED},
    InvoiceStatus.SENT: {InvoiceStatus.PAID, InvoiceStatus.OVERDUE, InvoiceStatus.CANCELLED},
    InvoiceStatus.OVERDUE: {InvoiceStatus.PAID, InvoiceStatus.CANCELLED},
    InvoiceStatus.PAID: {InvoiceStatus.CANCELLED},
    InvoiceStatus.CANCELLED: set(),
}


def _check_transition(invoice: Invoice, target: str) -> None:
    if target not in TRANSITIONS[InvoiceStatus(invoice.status)]:
        raise InvalidTransition(
            f"Una factura {invoice.get_status_display().lower()} no puede pasar a "
            f"{InvoiceStatus(target).label.lower()}."
        )


def _validate_parties(taxpayer: Taxpayer, series: Series, client: Client | None) -> None:
    errors = {}
    if series.taxpayer_id != taxpayer.pk:
        errors["series"] = ["Esa serie es de otro contribuyente."]
    elif series.archived:
        errors["series"] = ["Esa serie está archivada."]
    if client is not None:
        if client.taxpayer_id != taxpayer.pk:
            errors["client"] = ["Ese cliente es de otro contribuyente."]
        elif client.archived_at is not None:
            errors["client"] = ["Ese cliente está archivado."]
    if errors:
        raise ValidationError(errors)


def _take_number(invoice: Invoice) -> None:
    """Give ``invoice`` the next correlative number of its series in its issue date's year,
    from the counter, locked until the issuing transaction ends (so a failed issue gives
    the number back and two issuers never share one)."""
    year = invoice.issue_date.year
    sequence = SeriesCounter.take(invoice.series, year)
    invoice.year = year
    invoice.sequence = sequence
    invoice.number = invoice.series.format_number(year, sequence)


def _search_text(invoice: Invoice) -> str:
    client = invoice.client
    parts = [
        invoice.number,
        invoice.description,
        invoice.client_name,
        invoice.client_nif,
        invoice.client_email,
    ]
    if client is not None and not invoice.is_issued:
        parts += [client.name, client.nif, client.email]
    return normalize_search(" ".join(p for p in parts if p))


def _operation_date(operation_date: date | None, issue_date: date) -> date | None:
    """FechaOperacion is declared only when it is not the issue date."""
    return operation_date if operation_date != issue_date else None


def _issuance(issued_by: str, nif: str, name: str) -> dict[str, str]:
    """Who expedites the invoice; a third party's NIF and name are kept only for T."""
    if issued_by not in IssuedBy.values:
        raise ValidationError({"issuedBy": ["Elija el emisor, un tercero o el destinatario."]})
    third = issued_by == IssuedBy.THIRD_PARTY
    return {
        "issued_by": issued_by,
        "third_party_nif": (nif or "").strip().upper() if third else "",
        "third_party_name": (name or "").strip() if third else "",
    }


# The facts a draft's form sets, checked by AEAT's rules when the draft is saved, and the
# service's error key each rule field belongs to; ``breakdown.N.x`` goes to the first line
# of group N (the line's field the rule names, else the line itself).
RULE_FIELDS = {
    "operation_date": "operationDate",
    "issued_by": "issuedBy",
    "third_party_nif": "thirdPartyNif",
    "third_party_name": "thirdPartyName",
    "replaced_invoices": "replacedInvoices",
}
BREAKDOWN_LINE_FIELDS = {
    "regime_type": "regime",
    "operation_type": "ivaType",
    "tax_rate": "ivaType",
    "tax_type": "ivaType",
    "surcharge_rate": "tobacco",
}


def replaceable_invoices(taxpayer: Taxpayer, draft: Invoice | None = None):
    """The taxpayer's simplified invoices (F2) an F3 may replace: issued, not cancelled, and
    not replaced already by another invoice that is not cancelled."""
    taken = Invoice.objects.filter(replaced_invoices=OuterRef("pk")).exclude(
        status=InvoiceStatus.CANCELLED
    )
    if draft is not None:
        taken = taken.exclude(pk=draft.pk)
    return (
        Invoice.objects.filter(taxpayer=taxpayer, invoice_type="F2", issued_at__isnull=False)
        .exclude(status=InvoiceStatus.CANCELLED)
        .exclude(Exists(taken))
        .order_by("-issue_date", "-sequence")
    )


def _replaced(
    taxpayer: Taxpayer,
    series: Series,
    issue_date: date,
    invoices: Sequence[Invoice],
    draft: Invoice | None = None,
) -> list[Invoice]:
    """The F2 invoices an F3 draft replaces, checked: each replaceable, none after it."""
    if not invoices:
        return []
    if series.kind != Series.Kind.NORMAL:
        raise ValidationError(
            {"replacedInvoices": ["Una F3 se expide en una serie ordinaria (F1)."]}
        )
    allowed = set(replaceable_invoices(taxpayer, draft).values_list("pk", flat=True))
    errors = []
    for invoice in invoices:
        if invoice.pk not in allowed:
            errors.append(
                f"La factura {invoice.number} no es una simplificada emitida que se pueda "
                "sustituir (anulada, ya sustituida o de otro contribuyente)."
            )
        elif invoice.issue_date > issue_date:
            errors.append(
                f"La simplificada {invoice.number} es posterior a esta factura: una F3 "
                "sustituye facturas anteriores."
            )
    if errors:
        raise ValidationError({"replacedInvoices": errors})
    return sorted(invoices, key=lambda i: (i.issue_date, i.number))


def _check_rules(
    invoice: Invoice,
    lines: Sequence[DraftLine],
    totals: taxes.InvoiceTotals,
    replaced: Sequence[Invoice] = (),
):
    """AEAT's rules (:func:`verifactu.rules.check_invoice`) on the facts the draft would
    declare if issued now, keeping the problems of what the draft's form sets; each as a
    ``ValidationError`` on its field, with its AEAT code."""
    draft = copy.copy(invoice)
    freeze_parties(draft)
    errors: dict[str, list[str]] = {}
    facts = record_facts(draft, line_rows(draft, lines, totals), replaced)
    for problem in rules.check_invoice(facts, today=timezone.localdate()):
        key = RULE_FIELDS.get(problem.field)
        if problem.field.startswith("breakdown."):
            _, group, name = problem.field.split(".", 2)
            first = totals.line_groups.index(int(group))
            key = f"lines.{first}." + BREAKDOWN_LINE_FIELDS.get(name, "")
            key = key.rstrip(".")
        if key:
            errors.setdefault(key, []).append(f"{problem.message} (AEAT {problem.code})")
    if errors:
        raise ValidationError(errors)


def _save_draft(
    invoice: Invoice,
    lines: Sequence[DraftLine],
    totals: taxes.InvoiceTotals,
    replaced: Sequence[Invoice],
) -> None:
    """Store a draft's totals, lines and replaced invoices once AEAT's rules accept them."""
    apply_totals(invoice, totals)
    _check_rules(invoice, lines, totals, replaced)
    invoice.search_text = _search_text(invoice)
    invoice.save()
    invoice.replaced_invoices.set(replaced)
    store_lines(invoice, lines, totals)


def create_draft(
    taxpayer: Taxpayer,
    *,
    series: Series,
    client: Client | None,
    issue_date: date,
    lines: Sequence[DraftLine],
    due_date: date | None = None,
    irpf_bp: int = 0,
    description: str = "",
    notes: str = "",
    payment_details: str = "",
    actor: Actor,
    rectified_invoice: Invoice | None = None,
    rectification_type: str = "",
    invoice_type: str | None = None,
    operation_date: date | None = None,
    issued_by: str = "",
    third_party_nif: str = "",
    third_party_name: str = "",
    replaced_invoices: Sequence[Invoice] = (),
) -> Invoice:
    """A draft with a provisional number (:func:`invoicing.models.provisional_number`):
    nothing is reserved, the official number is taken by :func:`issue_invoice`.

    ``operation_date`` (FechaOperacion) only when it differs from ``issue_date``. The facts the
    draft will declare are checked against AEAT's rules that concern what the form sets
    (:func:`_check_rules`); the rest (recipient, dates against the chain) when it is issued.
    """
    _validate_parties(taxpayer, series, client)
    replaced = _replaced(taxpayer, series, issue_date, replaced_invoices)
    if replaced:
        invoice_type = "F3"
    if due_date and due_date < issue_date:
        raise ValidationError({"dueDate": ["El vencimiento no puede ser anterior a la fecha."]})
    rectificativa = series.kind == Series.Kind.RECTIFYING
    surcharge = bool(client and client.recargo_equivalencia)
    inputs = line_inputs(lines, rectificativa, surcharge)
    try:
        totals = taxes.compute_totals(
            inputs, irpf_bp=irpf_bp, surcharge=surcharge, rectificativa=rectificativa
        )
    except ValueError as exc:
        raise ValidationError({"irpfRate": [str(exc)]}) from None
    with transaction.atomic():
        invoice = Invoice(
            account=taxpayer.account,
            taxpayer=taxpayer,
            series=series,
            year=issue_date.year,
            sequence=None,
            invoice_type=invoice_type or (series.kind if not rectificativa else "R1"),
            issue_date=issue_date,
            due_date=due_date,
            operation_date=_operation_date(operation_date, issue_date),
            **_issuance(issued_by, third_party_nif, third_party_name),
            client=client,
            description=description.strip(),
            irpf_bp=irpf_bp,
            surcharge=surcharge,
            notes=notes,
            payment_details=payment_details,
            rectified_invoice=rectified_invoice,
            rectification_type=rectification_type,
            created_by=actor.user,
        )
        invoice.number = provisional_number(invoice.pk)
        _save_draft(invoice, lines, totals, replaced)
        _log(invoice, actor, "created", number=invoice.number, total_cents=totals.total_cents)
    return invoice


def update_draft(
    invoice: Invoice,
    *,
    client: Client | None,
    issue_date: date,
    lines: Sequence[DraftLine],
    due_date: date | None = None,
    irpf_bp: int = 0,
    description: str = "",
    notes: str = "",
    payment_details: str = "",
    actor: Actor,
    operation_date: date | None = None,
    issued_by: str = "",
    third_party_nif: str = "",
    third_party_name: str = "",
    replaced_invoices: Sequence[Invoice] = (),
) -> Invoice:
    """Change a draft. Any date will do: its number, and so its year, is taken at issue."""
    if not invoice.is_draft:
        raise InvalidTransition("Solo se pueden modificar los borradores.")
    _validate_parties(invoice.taxpayer, invoice.series, client)
    rectificativa = invoice.series.kind == Series.Kind.RECTIFYING
    surcharge = bool(client and client.recargo_equivalencia)
    replaced = _replaced(
        invoice.taxpayer, invoice.series, issue_date, replaced_invoices, draft=invoice
    )
    inputs = line_inputs(lines, rectificativa, surcharge)
    totals = taxes.compute_totals(
        inputs, irpf_bp=irpf_bp, surcharge=surcharge, rectificativa=rectificativa
    )
    with transaction.atomic():
        if not rectificativa:
            invoice.invoice_type = "F3" if replaced else invoice.series.kind
        invoice.client = client
        invoice.issue_date = issue_date
        invoice.year = issue_date.year
        invoice.due_date = due_date
        invoice.operation_date = _operation_date(operation_date, issue_date)
        for name, value in _issuance(issued_by, third_party_nif, third_party_name).items():
            setattr(invoice, name, value)
        invoice.irpf_bp = irpf_bp
        invoice.surcharge = surcharge
        invoice.description = description.strip()
        invoice.notes = notes
        invoice.payment_details = payment_details
        _save_draft(invoice, lines, totals, replaced)
        _log(invoice, actor, "updated", total_cents=totals.total_cents)
    return invoice


def issue_invoice(invoice: Invoice, *, actor: Actor, now: datetime | None = None) -> Invoice:
    """Issue a draft: take its official number, check its dates, freeze the parties, and
    register its billing record.

    The number is the next of the series in the issue date's year, taken under the series
    counter's lock (held to the end of the transaction, so the date check against the
    series sees every invoice numbered before). Raises ``ValidationError`` (dates, parties)
    or ``RecordRefused`` (AEAT's rules) before anything changes, the number included; on
    success the invoice is ``sent`` and its record ``queued``, and once the transaction
    commits the issue hooks of :mod:`invoicing.einvoices` run (its e-invoices are made).
    """
    now = now or timezone.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        _check_transition(invoice, InvoiceStatus.SENT)
        if invoice.client is None and invoice.invoice_type not in ("F2", "R5"):
            raise ValidationError({"clientId": ["Una factura completa necesita un cliente."]})
        _take_number(invoice)
        problems = date_problems(invoice)
        if problems:
            raise ValidationError(problems)
        freeze_parties(invoice)
        lines = list(invoice.lines.all())
        registration = register_invoice(
            account=invoice.account,
            taxpayer=invoice.taxpayer,
            system=factu_computer_system(invoice.taxpayer),
            facts=record_facts(invoice, lines),
            source=FiscalInvoice.Source.FACTU,
            now=now,
        )
        invoice.fiscal_invoice = registration.invoice
        invoice.status = InvoiceStatus.SENT
        invoice.issued_at = now
        invoice.search_text = _search_text(invoice)
        invoice.save(update_fields=FROZEN_AT_ISSUE)
        _log(invoice, actor, "issued", number=invoice.number, huella=registration.record.huella)
        # Its e-invoices are made once it is committed; a failing hook never undoes an issue.
        issued = invoice
        after_commit(lambda: einvoices.run_issue_hooks(issued))
    return invoice


def mark_paid(invoice: Invoice, *, paid_at: datetime | None, actor: Actor) -> Invoice:
    """Collect the whole balance at ``paid_at`` (:func:`invoicing.payments.pay_balance`)."""
    return payments.pay_balance(invoice, paid_at=paid_at, actor=actor)


def mark_overdue(today: date | None = None) -> int:
    """Sent invoices past their due date become overdue (the periodic task calls this)."""
    today = today or timezone.localdate()
    count = 0
    due = Invoice.objects.filter(status=InvoiceStatus.SENT, due_date__lt=today)
    for invoice in due.iterator():
        with transaction.atomic():
            updated = Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.SENT).update(
                status=InvoiceStatus.OVERDUE, updated_at=timezone.now()
            )
            if updated:
                _log(invoice, Actor(), "overdue", due_date=invoice.due_date.isoformat())
                count += 1
    return count


def cancel_invoice(invoice: Invoice, *, actor: Actor, reason: str = "") -> Invoice:
    """A draft is discarded ("Eliminar borrador"): it had no official number, so the series
    keeps no gap; the row stays, ``cancelled``, for its history. An issued invoice gets a
    RegistroAnulacion chained for it."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        _check_transition(invoice, InvoiceStatus.CANCELLED)
        record = None
        if invoice.fiscal_invoice_id:
            record = corrections.cancel(invoice.fiscal_invoice)
        invoice.status = InvoiceStatus.CANCELLED
        invoice.cancelled_at = timezone.now()
        invoice.save(update_fields=["status", "cancelled_at", "updated_at"])
        if record is None and invoice.is_provisional:
            _log(invoice, actor, "discarded", reason=reason)
        else:
            _log(invoice, actor, "cancelled", reason=reason, huella=record.huella if record else "")
    return invoice


def rectify_invoice(
    original: Invoice,
    *,
    series: Series,
    rectification_type: str,
    lines: Sequence[DraftLine],
    issue_date: date,
    invoice_type: str = "R1",
    actor: Actor,
    description: str = "",
) -> Invoice:
    """A draft rectificativa of an issued invoice, by substitution (S) or differences (I)."""
    if not original.is_issued:
        raise InvalidTransition("Solo se rectifican facturas emitidas; un borrador se edita.")
    if series.kind != Series.Kind.RECTIFYING:
        raise ValidationError({"series": ["Use una serie rectificativa."]})
    if rectification_type not in ("S", "I"):
        raise ValidationError({"rectificationType": ["S (sustitución) o I (diferencias)."]})
    if invoice_type not in ("R1", "R2", "R3", "R4", "R5"):
        raise ValidationError({"invoiceType": ["R1 a R5."]})
    if (original.invoice_type == "F2") != (invoice_type == "R5"):
        raise ValidationError(
            {"invoiceType": ["R5 rectifica facturas simplificadas, y solo ellas."]}
        )
    if issue_date < original.issue_date:
        raise ValidationError(
            {"issueDate": [f"No puede ser anterior a la factura {original.number}."]}
        )
    with transaction.atomic():
        draft = create_draft(
            original.taxpayer,
            series=series,
            client=original.client,
            issue_date=issue_date,
            lines=lines,
            irpf_bp=original.irpf_bp,
            description=description or f"Rectificación de la factura {original.number}",
            actor=actor,
            rectified_invoice=original,
            rectification_type=rectification_type,
            invoice_type=invoice_type,
        )
        _log(original, actor, "rectified", draft=str(draft.pk))
    return draft


__all__ = [
    "Actor",
    "DraftLine",
    "InvalidTransition",
    "RecordRefused",
    "cancel_invoice",
    "create_draft",
    "issue_invoice",
    "mark_overdue",
    "mark_paid",
    "preview_totals",
    "rectify_invoice",
    "update_draft",
]
