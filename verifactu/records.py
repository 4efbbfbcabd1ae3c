"""Registering billing records: validate, chain, build, store — in the caller's transaction.

This is the one door through which every record enters the chain, whether the invoice was
issued in the browser, through the account API or posted to ``/api/v1``. The chain head is
locked, the new record is hashed over the previous record's huella, its XML is built and
validated against AEAT's XSD, and it is stored immutably as ``queued``. The submission task
is enqueued only once the transaction commits.

Lock order (``verifactu.modes`` documents the whole of it): a registration locks its chain
and nothing after it — not the taxpayer, whose mode it derives; a transaction that opens a
chain shares its taxpayer's row and locks its installation before any chain row
(:func:`verifactu.chains.lock_chain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from factu.models import Account, Taxpayer
from factu.rows import db_id, values
from verifactu import pacing, signatures
from verifactu import xml as vxml
from verifactu.chains import generation_time, lock_chain, previous_record
from verifactu.envelopes import validate_record
from verifactu.facts import (
    BreakdownFacts,
    InvoiceFacts,
    InvoiceRef,
    from_cents,
    to_cents,
)
from verifactu.huella import format_amount, format_date
from verifactu.models import BillingRecord, Chain, ComputerSystem, FiscalInvoice, RecordStatus
from verifactu.modes import mode_for_new_record
from verifactu.rules import Problem, check_invoice
from verifactu.sistema import sistema_informatico


class RecordRefused(Exception):
    """The record would be refused by the AEAT (or conflicts with the chain): not chained."""

    def __init__(self, problems: list[Problem], message: str = "The record was not registered."):
        super().__init__(message)
        self.problems = problems
        self.message = message


class DuplicateInvoice(RecordRefused):
    """The taxpayer already registered an invoice with this number (a 409 for the APIs)."""


class SigningRefused(RecordRefused):
    """A NO VERI*FACTU record (or the event 01 opening its chain's log) could not be signed
    at birth: no certificate may sign for the obligado. Nothing was stored; the problem is
    under ``certificate``, in Spanish."""

    def __init__(self, exc: signatures.SigningUnavailable, *, scheduled: bool = False) -> None:
        message = exc.message + (SCHEDULED_SWITCH if scheduled else "")
        super().__init__([Problem("certificate", message, "")], message)


# A year-end switch that is due but not applied can still be cancelled; a taxpayer already in
# NO VERI*FACTU cannot leave it without a signed 02 (verifactu.modes), so is not told to.
SCHEDULED_SWITCH = (
    " O pida volver a VERI*FACTU: se cancela el cambio a NO VERI*FACTU programado para el "
    "1 de enero."
)


def _amount(value) -> str | None:
    return None if value is None else format_amount(value)


def _breakdown_xml(line: BreakdownFacts) -> vxml.BreakdownLine:
    exempt = line.operation_type.startswith("E")
    return vxml.BreakdownLine(
        impuesto=line.tax_type,
        clave_regimen=line.regime_type or None,
        calificacion=None if exempt else line.operation_type,
        exenta=line.operation_type if exempt else None,
        tipo_impositivo=_amount(line.tax_rate),
        base=format_amount(line.base_amount),
        cuota=_amount(line.tax_amount),
        tipo_recargo=_amount(line.surcharge_rate),
        cuota_recargo=_amount(line.surcharge_amount),
        base_a_coste=_amount(line.base_cost_amount),
    )


def _recipient(facts: InvoiceFacts) -> vxml.Recipient | None:
    """The IDDestinatario; its name is the one given, never made up from the ID (the rules
    refuse a recipient without one)."""
    if facts.recipient_nif:
        return vxml.Recipient(nombre_razon=facts.recipient_name, nif=facts.recipient_nif)
    if facts.recipient_id:
        return vxml.Recipient(
            nombre_razon=facts.recipient_name,
            id_otro=vxml.IDOtro(
                id_type=facts.recipient_id_type,
                id=facts.recipient_id,
                country=facts.recipient_country or None,
            ),
        )
    return None


def _refs(nif: str, refs: tuple[InvoiceRef, ...]) -> tuple[vxml.InvoiceId, ...]:
    return tuple(
        vxml.InvoiceId(nif=nif, numserie=r.invoice_number, fecha=format_date(r.invoice_date))
        for r in refs
    )


def alta_data(
    facts: InvoiceFacts,
    *,
    system: ComputerSystem,
    previous: vxml.PreviousRecord | None,
    generated_at: str,
    multiple_taxpayers: bool,
    ref_externa: str = "",
    subsanacion: str | None = None,
    rechazo_previo: str | None = None,
) -> vxml.AltaData:
    recipient = _recipient(facts)
    rectification = None
    if facts.rectification_type == "S":
        rectification = vxml.ImporteRectificacion(
            base=format_amount(facts.rectification_base),
            cuota=format_amount(facts.rectification_tax),
            cuota_recargo=_amount(facts.rectification_surcharge),
        )
    third_party = None
    emitted_by = None
    if facts.issued_by == "third_party":
        emitted_by = "T"
        third_party = vxml.Recipient(
            nombre_razon=facts.third_party_name,
            nif=facts.third_party_nif,
        )
    elif facts.issued_by == "recipient":
        emitted_by = "D"
    return vxml.AltaData(
        nif=facts.issuer_nif,
        numserie=facts.invoice_number,
        fecha_expedicion=format_date(facts.invoice_date),
        nombre_razon_emisor=facts.issuer_name,
        tipo_factura=facts.invoice_type,
        descripcion=facts.description,
        lines=tuple(_breakdown_xml(line) for line in facts.breakdown),
        cuota_total=format_amount(facts.total_tax_amount),
        importe_total=format_amount(facts.total_amount),
        sistema=sistema_informatico(system, multiple_taxpayers=multiple_taxpayers),
        fecha_hora_huso=generated_at,
        previous=previous,
        ref_externa=ref_externa or None,
        subsanacion=subsanacion,
        rechazo_previo=rechazo_previo,
        tipo_rectificativa=facts.rectification_type or None,
        facturas_rectificadas=_refs(facts.issuer_nif, facts.rectified_invoices),
        facturas_sustituidas=_refs(facts.issuer_nif, facts.replaced_invoices),
        importe_rectificacion=rectification,
        fecha_operacion=format_date(facts.operation_date) if facts.operation_date else None,
        emitida_por_tercero_o_destinatario=emitted_by,
        tercero=third_party,
        recipients=(recipient,) if recipient else (),
        macrodato="S" if abs(facts.total_amount) >= 100_000_000 else None,
    )


# The facts a fiscal invoice stores in a column of the same name, as they are.
_SAME_COLUMNS = (
    "issuer_nif",
    "issuer_name",
    "invoice_number",
    "invoice_date",
    "invoice_type",
    "description",
    "operation_date",
    "issued_by",
    "third_party_nif",
    "third_party_name",
    "reverse_charge",
    "recipient_nif",
    "recipient_name",
    "recipient_country",
    "recipient_id_type",
    "recipient_id",
    "not_subject_cause",
    "rectification_type",
)
# An optional amount of the facts and the column holding it in cents.
_CENTS_COLUMNS = (
    ("not_subject_amount", "not_subject_amount_cents"),
    ("rectification_base", "rectification_base_cents"),
    ("rectification_tax", "rectification_tax_cents"),
    ("rectification_surcharge", "rectification_surcharge_cents"),
)


def _refs_of(stored: list[dict]) -> tuple[InvoiceRef, ...]:
    return tuple(
        InvoiceRef(r["invoice_number"], datetime.fromisoformat(r["invoice_date"]).date())
        for r in stored
    )


def _stored_refs(refs: Sequence[InvoiceRef]) -> list[dict]:
    return [
        {"invoice_number": r.invoice_number, "invoice_date": r.invoice_date.isoformat()}
        for r in refs
    ]


def facts_of(invoice: FiscalInvoice) -> InvoiceFacts:
    """The facts stored on a fiscal invoice, for corrections that re-register them."""
    optional = {}
    for name, column in _CENTS_COLUMNS:
        cents = getattr(invoice, column)
        optional[name] = None if cents is None else from_cents(cents)
    return InvoiceFacts(
        **{name: getattr(invoice, name) for name in _SAME_COLUMNS},
        **optional,
        breakdown=tuple(BreakdownFacts.from_json(line) for line in invoice.breakdown),
        total_amount=from_cents(invoice.total_amount_cents),
        total_tax_amount=from_cents(invoice.total_tax_amount_cents),
        regime_types=tuple(invoice.regime_types),
        rectified_invoices=_refs_of(invoice.rectified_invoices),
        replaced_invoices=_refs_of(invoice.replaced_invoices),
    )


def _store(
    chain: Chain,
    invoice: FiscalInvoice,
    built: vxml.BuiltRecord,
    *,
    now: datetime,
    kind: str,
    record_type: str,
    generated_at: str,
    hashed: dict,
    flags: dict,
    ref_externa: str,
    mode_read_under_lock: bool = False,
) -> BillingRecord:
    problems = validate_record(built)
    if problems:
        raise RecordRefused(
            [Problem("xml", message, "4102") for message in problems],
            "The record does not validate against AEAT's schema.",
        )
    try:
        no_verifactu = mode_for_new_record(
            invoice.taxpayer,
            chain,
            invoice.computer_system,
            timezone.localdate(now),
            reread=not mode_read_under_lock,
        )
        signer = signatures.signer_for(chain) if no_verifactu else None
    except signatures.SigningUnavailable as exc:
        scheduled = invoice.taxpayer.verifactu_mode != Taxpayer.VerifactuMode.NO_VERIFACTU
        raise SigningRefused(exc, scheduled=scheduled) from None
    record = BillingRecord.objects.create(
        fiscal_invoice=invoice,
        chain=chain,
        position=chain.length + 1,
        previous_id=chain.head_id,
        kind=kind,
        record_type=record_type,
        previous_huella=chain.last_huella,
        generated_at_text=generated_at,
        huella=built.huella,
        ref_externa=ref_externa,
        xml=built.xml,
        status=RecordStatus.QUEUED,
        no_verifactu=no_verifactu,
        **hashed,
        **flags,
    )
    # The insert moved the chain row's head (the trigger of migration 0008): no UPDATE round
    # trip under the lock. The locked row in memory follows, for a next append.
    chain.length = record.position
    chain.head = record
    chain.last_huella = record.huella
    chain.head_invoice_number = record.invoice_number
    chain.head_invoice_date_text = record.invoice_date_text
    chain.head_generated_at_text = record.generated_at_text
    chain_id = chain.pk
    if signer is not None:  # NO VERI*FACTU: signed at birth, kept, not sent
        signatures.sign_new(record, signer)
    else:
        # robust: if the broker is down the record is safe and queued; the beat task
        # reclaim_and_kick flushes it later, so the caller still gets its 201.
        pacing.flush_after_commit(chain_id)
    return record


def append_alta(
    invoice: FiscalInvoice,
    chain: Chain,
    *,
    now: datetime,
    record_type: str = BillingRecord.RecordType.REGISTRATION,
    subsanacion: str | None = None,
    rechazo_previo: str | None = None,
    mode_read_under_lock: bool = False,
) -> BillingRecord:
    """Append a RegistroAlta for ``invoice`` to the locked ``chain``.

    ``mode_read_under_lock``: the caller already reread ``invoice.taxpayer``'s mode after
    taking the lock, so it is not read again.
    """
    facts = facts_of(invoice)
    previous = previous_record(chain)
    generated_at = generation_time(chain.head_generated_at_text, now)
    ref = f"{invoice.pk.hex[:24]}-{chain.length + 1}"
    data = alta_data(
        facts,
        system=invoice.computer_system,
        previous=previous,
        generated_at=generated_at,
        multiple_taxpayers=chain.multiple_taxpayers,
        ref_externa=ref,
        subsanacion=subsanacion,
        rechazo_previo=rechazo_previo,
    )
    built = vxml.build_alta(data)
    hashed = {
        "issuer_nif": data.nif,
        "invoice_number": data.numserie,
        "invoice_date_text": data.fecha_expedicion,
        "invoice_type": data.tipo_factura,
        "cuota_total_text": data.cuota_total,
        "importe_total_text": data.importe_total,
    }
    flags = {"subsanacion": subsanacion or "", "rechazo_previo": rechazo_previo or ""}
    return _store(
        chain,
        invoice,
        built,
        now=now,
        kind=BillingRecord.Kind.ALTA,
        record_type=record_type,
        generated_at=generated_at,
        hashed=hashed,
        flags=flags,
        ref_externa=ref,
        mode_read_under_lock=mode_read_under_lock,
    )


def append_anulacion(
    invoice: FiscalInvoice,
    chain: Chain,
    *,
    now: datetime,
    sin_registro_previo: bool = False,
    rechazo_previo: bool = False,
) -> BillingRecord:
    previous = previous_record(chain)
    generated_at = generation_time(chain.head_generated_at_text, now)
    ref = f"{invoice.pk.hex[:24]}-{chain.length + 1}"
    data = vxml.AnulacionData(
        nif=invoice.issuer_nif,
        numserie=invoice.invoice_number,
        fecha_expedicion=format_date(invoice.invoice_date),
        sistema=sistema_informatico(
            invoice.computer_system, multiple_taxpayers=chain.multiple_taxpayers
        ),
        fecha_hora_huso=generated_at,
        previous=previous,
        ref_externa=ref,
        sin_registro_previo="S" if sin_registro_previo else None,
        rechazo_previo="S" if rechazo_previo else None,
    )
    built = vxml.build_anulacion(data)
    hashed = {
        "issuer_nif": data.nif,
        "invoice_number": data.numserie,
        "invoice_date_text": data.fecha_expedicion,
    }
    flags = {
        "sin_registro_previo": "S" if sin_registro_previo else "",
        "rechazo_previo": "S" if rechazo_previo else "",
    }
    return _store(
        chain,
        invoice,
        built,
        now=now,
        kind=BillingRecord.Kind.ANULACION,
        record_type=BillingRecord.RecordType.CANCELLATION,
        generated_at=generated_at,
        hashed=hashed,
        flags=flags,
        ref_externa=ref,
    )


@dataclass(frozen=True)
class LatestRegistration:
    invoice_date: date
    invoice_number: str


def _latest(registered: QuerySet) -> QuerySet:
    return registered.order_by("-invoice_date", "-id")  # the index's order: one entry read


def latest_registration(taxpayer: Taxpayer) -> LatestRegistration | None:
    """The taxpayer's latest registered invoice (the invoicing form explains the rule)."""
    row = (
        _latest(FiscalInvoice.objects.filter(taxpayer=taxpayer))
        .values_list("invoice_date", "invoice_number")
        .first()
    )
    return LatestRegistration(*row) if row else None


# Hand-written because it runs under the chain lock on every registration: the ORM's
# version (two correlated subqueries) cost more Python than the rest of the locked section.
_MODE_AND_LATEST_OTHER = """
SELECT t.verifactu_mode, t.verifactu_until, f.invoice_date, f.invoice_number
FROM {taxpayer} t
LEFT JOIN {invoice} f ON f.id = (
    SELECT i.id FROM {invoice} i
    WHERE i.taxpayer_id = t.id AND i.id <> %s
    ORDER BY i.invoice_date DESC, i.id DESC
    LIMIT 1
)
WHERE t.id = %s
"""


def _refresh_mode_and_refuse_an_earlier_date(
    taxpayer: Taxpayer, invoice: FiscalInvoice, facts: InvoiceFacts
) -> None:
    """Under the chain lock, in one query: reread the taxpayer's VERI*FACTU mode (a switch
    may have committed while this request waited for the lock) and refuse a date before
    the taxpayer's latest other invoice (the index on taxpayer and date finds it)."""
    sql = _MODE_AND_LATEST_OTHER.format(
        taxpayer=Taxpayer._meta.db_table, invoice=FiscalInvoice._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_id(FiscalInvoice, invoice.pk), db_id(Taxpayer, taxpayer.pk)])
        row = cursor.fetchone()
    field = Taxpayer._meta.get_field
    invoice_field = FiscalInvoice._meta.get_field
    mode, until, last_date, last_number = values(
        row,
        field("verifactu_mode"),
        field("verifactu_until"),
        invoice_field("invoice_date"),
        invoice_field("invoice_number"),
    )
    taxpayer.verifactu_mode, taxpayer.verifactu_until = mode, until
    if last_date is not None and facts.invoice_date < last_date:
        raise RecordRefused(
            [
                Problem(
                    "invoice_date",
                    f"Must not be earlier than the last registered invoice, "
                    f"{last_number} of {last_date.isoformat()}.",
                    "chronology",
                )
            ],
            "The invoice date breaks the chronological order.",
        )


def _duplicate(facts: InvoiceFacts) -> DuplicateInvoice:
    return DuplicateInvoice(
        [Problem("invoice_number", "This number is already registered.", "3000")],
        f"Invoice {facts.invoice_number} is already registered for {facts.issuer_nif}.",
    )


@dataclass(frozen=True)
class Registration:
    invoice: FiscalInvoice
    record: BillingRecord


def register_invoice(
    *,
    account: Account,
    taxpayer: Taxpayer,
    system: ComputerSystem,
    facts: InvoiceFacts,
    source: str,
    now: datetime | None = None,
) -> Registration:
    """Register a new invoice: its FiscalInvoice and its first RegistroAlta, chained.

    Raises :class:`RecordRefused` (with every problem) before anything is stored.

    The invoice row is inserted before the chain is locked: its unique number is the
    database's to guard (a concurrent twin waits on the index, then fails), and every
    statement taken out of the locked section shortens the queue of a busy chain.
    """
    now = now or timezone.now()
    problems = check_invoice(facts, today=timezone.localdate(now))
    if problems:
        raise RecordRefused(problems, "The invoice breaks AEAT's rules.")
    try:
        with transaction.atomic():
            invoice = _create_fiscal_invoice(account, taxpayer, system, facts, source)
            chain = lock_chain(account, facts.issuer_nif, facts.issuer_name, system)
            _refresh_mode_and_refuse_an_earlier_date(taxpayer, invoice, facts)
            record = append_alta(invoice, chain, now=now, mode_read_under_lock=True)
    except IntegrityError:
        taken = FiscalInvoice.objects.filter(taxpayer=taxpayer, invoice_number=facts.invoice_number)
        if taken.exists():
            raise _duplicate(facts) from None
        raise
    return Registration(invoice, record)


def _create_fiscal_invoice(
    account: Account, taxpayer: Taxpayer, system: ComputerSystem, facts: InvoiceFacts, source: str
) -> FiscalInvoice:
    return FiscalInvoice.objects.create(
        account=account,
        taxpayer=taxpayer,
        computer_system=system,
        source=source,
        **fiscal_columns(facts),
    )


def fiscal_columns(facts: InvoiceFacts) -> dict:
    """The fiscal invoice's columns holding ``facts`` (:func:`facts_of` reads them back)."""
    columns = {name: getattr(facts, name) for name in _SAME_COLUMNS}
    for name, column in _CENTS_COLUMNS:
        amount = getattr(facts, name)
        columns[column] = None if amount is None else to_cents(amount)
    return {
        **columns,
        "regime_types": list(facts.regime_types),
        "breakdown": [line.to_json() for line in facts.breakdown],
        "total_amount_cents": to_cents(facts.total_amount),
        "total_tax_amount_cents": to_cents(facts.total_tax_amount),
        "rectified_invoices": _stored_refs(facts.rectified_invoices),
        "replaced_invoices": _stored_refs(facts.replaced_invoices),
    }
