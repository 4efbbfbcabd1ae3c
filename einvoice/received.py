"""Received e-invoices: importing an upload, the answers to the supplier, the expense.

One place for the browser, the account API and any task: :func:`import_upload` reads an
upload (``einvoice.inbound.read_upload``) and stores each file in its own transaction, so a
bad file is refused whole and never stops the others; :func:`answer` records the user's
answer (accepted, rejected, paid); :func:`convert_to_expense` books it, by hand or by a
:class:`SupplierRule` at import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from einvoice.findings import Finding
from einvoice.inbound import ReadResult, ReceivedDocument, read_upload
from einvoice.models import ReceivedInvoice, ReceivedInvoiceEvent, SupplierRule
from einvoice.received_expense import expense_data
from einvoice.signing import verify_signature
from einvoice.status import ANSWER_DAYS, B2BStatus, answer_deadline
from expenses.models import Expense, ExpenseCategory
from expenses.services import categories_for, create_expense
from factu.models import Account, Taxpayer
from invoicing import taxes

CREATED = "created"
DUPLICATE = "duplicate"
INVALID = "invalid"

SOURCES = {
    "xml": "el XML",
    "xsd": "el esquema XSD oficial",
    "en16931": "las reglas EN 16931",
    "peppol": "las reglas Peppol BIS 3.0",
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One reason a file was refused; ``text`` says it in Spanish (the official rules'
    own wording, in English, quoted inside)."""

    rule: str
    text: str
    location: str = ""


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file (one document of a Facturae batch): ``created`` with the new
    ``invoice``, ``duplicate`` with the one already there, or ``invalid`` with ``problems``."""

    name: str
    status: str
    invoice: ReceivedInvoice | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def received_before(self) -> dt.datetime | None:
        return self.invoice.received_at if self.status == DUPLICATE and self.invoice else None


def problem_of(finding: Finding) -> Problem:
    """A validation finding in Spanish: the inbound reader's own messages already are; an
    official rule's is introduced by which check it is and where it fired."""
    if finding.source not in SOURCES:
        return Problem(finding.rule, finding.message, finding.location)
    where = f" ({finding.location})" if finding.location else ""
    text = f"No cumple {SOURCES[finding.source]}, regla {finding.rule}{where}: {finding.message}"
    return Problem(finding.rule, text, finding.location)


def received_invoices(account: Account) -> QuerySet[ReceivedInvoice]:
    """The account's received invoices, newest first, without the file's bytes."""
    return (
        ReceivedInvoice.objects.filter(account=account)
        .defer("original")
        .select_related("taxpayer", "expense")
        .order_by("-received_at", "-id")
    )


def import_upload(
    account: Account, data: bytes, content_type: str, name: str = ""
) -> list[FileOutcome]:
    """Each file of the upload (an XML, or a ZIP's members) read and stored on its own."""
    outcomes: list[FileOutcome] = []
    for result in read_upload(data, content_type):
        file_name = result.name or name
        if not result.ok:
            problems = tuple(problem_of(f) for f in result.errors)
            outcomes.append(FileOutcome(file_name, INVALID, problems=problems))
            continue
        outcomes.extend(_import_file(account, result, file_name))
    return outcomes


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _import_file(account: Account, result: ReadResult, name: str) -> list[FileOutcome]:
    """All the file's documents, or none: one refused rolls the file back."""
    digest = hashlib.sha256(result.content).hexdigest()
    try:
        with transaction.atomic():
            return [
                _import_document(account, document, result.content, name, digest)
                for document in result.documents
            ]
    except _Refused as refused:
        return [FileOutcome(name, INVALID, problems=(refused.problem,))]


def _buyer(account: Account, document: ReceivedDocument) -> Taxpayer:
    buyer = document.buyer
    if not buyer.nif:
        raise _Refused(
            Problem(
                "RECEIVED-BUYER",
                f"La factura no identifica al comprador con un NIF español "
                f"(«{buyer.tax_id or 'ninguno'}»): no se sabe a qué contribuyente pertenece.",
            )
        )
    taxpayer = Taxpayer.objects.filter(account=account, nif=buyer.nif).first()
    if taxpayer is None:
        raise _Refused(
            Problem(
                "RECEIVED-BUYER",
                f"El comprador de la factura ({buyer.name or 'sin nombre'}, NIF {buyer.nif}) "
                "no es ningún contribuyente de esta cuenta.",
            )
        )
    return taxpayer


def supplier_id(document: ReceivedDocument) -> str:
    """The supplier's NIF (normalised) or, for a foreign one, its identifier as written."""
    return document.supplier.nif or "".join(document.supplier.tax_id.split()).upper()


def _signature_fields(document: ReceivedDocument, content: bytes) -> dict:
    """What the file's signature says, for a signed Facturae (XAdES, checked by
    :func:`einvoice.signing.verify_signature`); a signed UBL or CII is kept unchecked."""
    if not document.signed:
        return {}
    if document.format.value != "facturae":
        return {"signature_detail": "Solo se verifican las firmas de los ficheros Facturae."}
    try:
        check = verify_signature(content)
    except Exception:  # a hostile file must cost its signature check, never the upload
        logger.exception("The signature of a received file could not be checked")
        return {"signature_detail": "La firma no se ha podido comprobar."}
    signer = f"{check.signer_name} ({check.signer_nif})" if check.signer_nif else check.signer_name
    return {
        "signature_valid": check.valid,
        "signature_signer": signer[:300],
        "signature_detail": check.problem,
        "signature_checked_at": timezone.now(),
    }


def _import_document(
    account: Account, document: ReceivedDocument, content: bytes, name: str, digest: str
) -> FileOutcome:
    taxpayer = _buyer(account, document)
    supplier = supplier_id(document)
    if not supplier:
        raise _Refused(Problem("RECEIVED-SUPPLIER", "La factura no identifica al proveedor."))
    key = {
        "taxpayer": taxpayer,
        "supplier_nif": supplier,
        "number": document.number,
        "issue_date": document.issue_date,
    }
    existing = ReceivedInvoice.objects.filter(**key).defer("original").first()
    if existing is not None:
        return FileOutcome(name, DUPLICATE, invoice=existing)
    invoice = ReceivedInvoice(
        account=account,
        **key,
        format=document.format.value,
        is_credit_note=document.kind.value == "credit_note",
        file_name=name[:255],
        file_sha256=digest,
        original=content,
        supplier_name=document.supplier.name[:200],
        supplier_country=document.supplier.country[:2],
        corrects=(document.corrects or "")[:100],
        currency=document.currency,
        net_cents=document.totals.net_cents,
        tax_cents=document.totals.tax_cents,
        total_cents=document.totals.total_cents,
        payable_cents=document.totals.payable_cents,
        irpf_withheld_cents=sum(w.amount_cents for w in document.withholdings),
        surcharge_cents=sum(s.amount_cents for s in document.surcharges),
        lines=[_line(line) for line in document.lines],
        taxes=[dataclasses.asdict(tax) for tax in document.taxes],
        withholdings=[dataclasses.asdict(w) for w in document.withholdings],
        surcharges=[dataclasses.asdict(s) for s in document.surcharges],
        signature_present=document.signed,
        received_on=timezone.localdate(),
        **_signature_fields(document, content),
    )
    try:
        with transaction.atomic():
            invoice.save()
    except IntegrityError:
        existing = ReceivedInvoice.objects.filter(**key).defer("original").first()
        if existing is None:
            raise
        return FileOutcome(name, DUPLICATE, invoice=existing)
    _apply_rule(invoice)
    return FileOutcome(name, CREATED, invoice=invoice)


def _line(line) -> dict:
    """A line as JSON: quantities and prices as the exact decimal text, amounts in cents."""
    return {
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "price_base_quantity": str(line.price_base_quantity),
        "net_cents": line.net_cents,
        "category": line.category,
        "rate_bp": line.rate_bp,
    }


def _apply_rule(invoice: ReceivedInvoice) -> None:
    rule = SupplierRule.objects.filter(
        account=invoice.account, supplier_nif=invoice.supplier_nif
    ).first()
    if rule is None:
        return
    try:
        with transaction.atomic():
            convert_to_expense(invoice, rule.category)
    except ValidationError:
        pass  # stays to be converted by hand, where the reason is shown


# --- the expense ----------------------------------------------------------------------------


def convert_to_expense(
    invoice: ReceivedInvoice, category: ExpenseCategory | None = None
) -> Expense:
    """Book ``invoice`` as an expense of its taxpayer (once: a second call is refused)."""
    if invoice.expense_id is not None:
        raise ValidationError({"expense": ["Esta factura ya es un gasto."]})
    if invoice.currency != "EUR":
        raise ValidationError(
            {
                "currency": [
                    f"La factura está en {invoice.currency}: solo se convierten en gasto "
                    "las facturas en euros."
                ]
            }
        )
    if category is not None and not categories_for(invoice.account).filter(pk=category.pk):
        raise ValidationError({"categoryId": ["Esa categoría no existe en la cuenta."]})
    with transaction.atomic():
        locked = ReceivedInvoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.expense_id is not None:  # booked meanwhile, by a rule or another click
            raise ValidationError({"expense": ["Esta factura ya es un gasto."]})
        expense = create_expense(locked.taxpayer, expense_data(locked, category))
        locked.expense = invoice.expense = expense
        locked.save(update_fields=["expense"])
    return expense


def save_rule(account: Account, supplier_nif: str, category: ExpenseCategory) -> SupplierRule:
    """The rule for ``supplier_nif`` (created, or its category changed)."""
    nif = "".join((supplier_nif or "").split()).upper().removeprefix("ES")
    if not nif:
        raise ValidationError({"supplierNif": ["Indique el NIF del proveedor."]})
    if len(nif) > 40:
        raise ValidationError({"supplierNif": ["Como mucho 40 caracteres."]})
    if not categories_for(account).filter(pk=category.pk).exists():
        raise ValidationError({"categoryId": ["Esa categoría no existe en la cuenta."]})
    rule, _ = SupplierRule.objects.update_or_create(
        account=account, supplier_nif=nif, defaults={"category": category}
    )
    return rule


# --- answers --------------------------------------------------------------------------------

# What may follow each status: paying implies accepting; a rejection is final; a partial
# payment may be followed by another until the amount due is paid.
NEXT = {
    B2BStatus.RECEIVED: {B2BStatus.ACCEPTED, B2BStatus.REJECTED, B2BStatus.PAID},
    B2BStatus.ACCEPTED: {B2BStatus.PAID},
    B2BStatus.REJECTED: set(),
    B2BStatus.PAID: {B2BStatus.PAID},
}


def paid_so_far(invoice: ReceivedInvoice) -> int:
    """The cents the user's "paid" answers add up to."""
    return sum(
        invoice.events.filter(status=B2BStatus.PAID).values_list("paid_cents", flat=True),
        0,
    )


def allowed_answers(invoice: ReceivedInvoice) -> set[str]:
    allowed = {str(s) for s in NEXT[B2BStatus(invoice.status)]}
    if invoice.status == B2BStatus.PAID and paid_so_far(invoice) >= invoice.payable_cents:
        allowed.discard(B2BStatus.PAID)
    return allowed


def answer(
    invoice: ReceivedInvoice,
    status: str,
    *,
    reason: str = "",
    paid_on: dt.date | None = None,
    paid_cents: int | None = None,
    by: str = "",
) -> ReceivedInvoiceEvent:
    """Record the user's answer to the supplier; ``ValidationError`` per field when it cannot
    be given (a rejection without a reason, a payment without date or amount, dated before
    the invoice or above what is left to pay, an answer that cannot follow the current one).
    The invoice's row is locked, so two answers at once are checked one after the other."""
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = ReceivedInvoice.objects.select_for_update().defer("original").get(pk=invoice.pk)
        errors = _answer_errors(locked, status, reason, paid_on, paid_cents)
        if errors:
            raise ValidationError(errors)
        event = ReceivedInvoiceEvent.objects.create(
            invoice=locked,
            status=status,
            reason=reason[:2000],
            paid_on=paid_on if status == B2BStatus.PAID else None,
            paid_cents=paid_cents if status == B2BStatus.PAID else None,
            by=by[:200],
        )
        locked.status = invoice.status = status
        locked.save(update_fields=["status"])
        if status == B2BStatus.PAID and locked.expense_id:
            Expense.objects.filter(pk=locked.expense_id).update(paid=True)
    return event


def _answer_errors(
    invoice: ReceivedInvoice,
    status: str,
    reason: str,
    paid_on: dt.date | None,
    paid_cents: int | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if status not in allowed_answers(invoice):
        errors["status"] = [
            f"Una factura {invoice.get_status_display().lower()} no puede pasar a "
            f"«{B2BStatus(status).label if status in B2BStatus.values else status}»."
        ]
    if status == B2BStatus.REJECTED and not reason:
        errors["reason"] = ["Indique el motivo del rechazo."]
    if status != B2BStatus.PAID:
        return errors
    if paid_on is None:
        errors["paidOn"] = ["Indique la fecha del pago."]
    elif paid_on > timezone.localdate():
        errors["paidOn"] = ["La fecha del pago no puede ser futura."]
    elif paid_on < invoice.issue_date:
        errors["paidOn"] = ["La fecha del pago no puede ser anterior a la de la factura."]
    if not isinstance(paid_cents, int) or isinstance(paid_cents, bool) or paid_cents <= 0:
        errors["paidAmount"] = ["Indique el importe pagado, en céntimos, mayor que cero."]
    elif invoice.payable_cents <= 0:
        errors["paidAmount"] = ["Un abono no se paga al proveedor."]
    else:
        left = invoice.payable_cents - paid_so_far(invoice)
        if paid_cents > left:
            errors["paidAmount"] = [
                f"El importe pagado ({taxes.format_euros(paid_cents)}) supera lo que queda "
                f"por pagar ({taxes.format_euros(left)} de "
                f"{taxes.format_euros(invoice.payable_cents)})."
            ]
    return errors


def awaiting_answer(
    account: Account, today: dt.date, taxpayer: Taxpayer | None = None
) -> QuerySet[ReceivedInvoice]:
    """The account's (or ``taxpayer``'s) received invoices still unanswered whose four days
    have not run out, the most urgent first: what the desk reminds of."""
    oldest = today - dt.timedelta(days=ANSWER_DAYS)
    invoices = ReceivedInvoice.objects.filter(
        account=account, status=B2BStatus.RECEIVED, received_on__gte=oldest
    )
    if taxpayer is not None:
        invoices = invoices.filter(taxpayer=taxpayer)
    return invoices.defer("original").select_related("taxpayer").order_by("received_on", "id")


def deadline(invoice: ReceivedInvoice) -> dt.date:
    return answer_deadline(invoice.received_on)
