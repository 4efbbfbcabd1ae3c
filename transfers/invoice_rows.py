"""A CSV row of the historical invoices import, read and checked into an
:class:`~invoicing.imported.ImportedInvoice`.

Every field is checked, saving nothing: dates, amounts, the tax type, the withholding, the
status, the type (F1/F2) and the client, found among the taxpayer's or built from the row.
The amounts are then checked against the totals :func:`invoicing.taxes.compute_totals` gives
for the base at that type, to the cent. Storing is :mod:`invoicing.imported`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from clients.models import Client
from factu.models import Taxpayer
from factu.money import round_half_up, share_cents
from factu.nif import normalize_nif
from factu.text import normalize_search
from invoicing import taxes
from invoicing.forms import parse_decimal
from invoicing.imported import ImportedInvoice, issued_at
from invoicing.models import InvoiceStatus
from transfers.client_rows import client_from_row, validation_messages

INVOICE_ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "numero",
        "number",
        "num",
        "n",
        "no",
        "numero_factura",
        "numero_de_factura",
        "n_factura",
        "factura",
        "invoice_number",
    ),
    "date": (
        "fecha",
        "date",
        "fecha_expedicion",
        "fecha_de_expedicion",
        "fecha_factura",
        "issue_date",
    ),
    "client_nif": ("nif_cliente", "client_nif", "nif", "cif_cliente", "cif", "customer_nif"),
    "client_name": (
        "cliente",
        "client",
        "client_name",
        "nombre_cliente",
        "nombre",
        "name",
        "customer",
    ),
    "base": ("base", "base_imponible", "subtotal", "net", "base_amount"),
    "iva_rate": ("tipo_iva", "iva_rate", "porcentaje_iva", "iva_porcentaje", "vat_rate"),
    "iva_amount": ("cuota_iva", "iva_amount", "importe_iva", "cuota", "iva", "vat", "vat_amount"),
    "surcharge_amount": ("recargo", "cuota_recargo", "recargo_equivalencia", "surcharge"),
    "irpf_amount": ("irpf", "retencion", "irpf_amount", "importe_irpf", "cuota_irpf"),
    "irpf_rate": ("tipo_irpf", "irpf_rate", "porcentaje_irpf", "retencion_porcentaje"),
    "total": ("total", "importe_total", "total_factura", "amount", "total_amount"),
    "status": ("estado", "status"),
    "paid_date": ("fecha_cobro", "fecha_de_cobro", "paid_at", "paid_date", "cobrada_el"),
    "due_date": ("vencimiento", "fecha_vencimiento", "due_date"),
    "description": ("concepto", "descripcion", "description"),
    "invoice_type": ("tipo_factura", "tipo", "type", "invoice_type"),
    "cause": ("causa", "causa_exencion", "cause", "exencion"),
}
INVOICE_REQUIRED = ("number", "date", "base", "iva_rate", "total")
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%Y")
RATE_TYPES = {
    2100: taxes.GENERAL,
    1000: taxes.REDUCIDO,
    400: taxes.SUPERREDUCIDO,
    0: taxes.CERO,
}
PAID_WORDS = {"pagada", "pagado", "cobrada", "cobrado", "paid", "pago", "cobro"}
SENT_WORDS = {"", "emitida", "enviada", "pendiente", "sent", "issued", "unpaid", "no_cobrada"}
F1_WORDS = {"f1", "completa", "ordinaria", "normal", "factura"}
F2_WORDS = {"f2", "simplificada", "ticket", "simplified"}
COMMON_IRPF_BP = (1500, 700, 1900, 100, 200, 2000, 1800, 2400)


def parse_date(text: str) -> dt.date:
    text = (text or "").strip()
    if not text:
        raise ValueError("Indique la fecha (dd/mm/aaaa).")
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"«{text}» no es una fecha: use dd/mm/aaaa o aaaa-mm-dd.")


def parse_cents(text: str) -> int:
    try:
        return parse_decimal(text, 2)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from None


@dataclass
class InvoiceRow(ImportedInvoice):
    """The invoice of a CSV row, and the row's number (for the report)."""

    row: int = 0


class ClientBook:
    """The taxpayer's clients by NIF, foreign id and name, plus those the file creates."""

    def __init__(self, taxpayer: Taxpayer):
        self.taxpayer = taxpayer
        self.by_nif: dict[str, Client] = {}
        self.by_foreign: dict[str, Client] = {}
        self.by_name: dict[str, list[Client]] = {}
        for client in Client.objects.filter(taxpayer=taxpayer):
            self._index(client)
        self.new: dict[str, Client] = {}

    def _index(self, client: Client) -> None:
        if client.nif:
            self.by_nif[client.nif] = client
        if client.foreign_id:
            self.by_foreign[client.foreign_id] = client
        self.by_name.setdefault(normalize_search(client.name), []).append(client)

    def find(self, nif: str, name: str) -> Client | None:
        """An existing (or new in this file) client by NIF, else by foreign id, else name."""
        compact = normalize_nif(nif) if nif else ""
        if compact:
            found = self.by_nif.get(compact) or self.by_foreign.get(compact)
            return found or self.new.get(compact)
        matches = self.by_name.get(normalize_search(name), []) if name else []
        return matches[0] if len(matches) == 1 else None

    def build(self, nif: str, name: str) -> Client:
        """A new Spanish client (validated, unsaved), created with the first valid row."""
        client = client_from_row(self.taxpayer, {"name": name, "nif": nif})
        self.new[client.nif] = client
        return client


def _resolve_rate(rate_bp: int, cause: str) -> tuple[str, str]:
    cause = (cause or "").strip().upper()
    if rate_bp not in RATE_TYPES:
        raise ValueError("Tipo de IVA no admitido: 21, 10, 4 o 0 %.")
    if rate_bp:
        if cause:
            raise ValueError("La causa de exención solo se indica con IVA 0 %.")
        return RATE_TYPES[rate_bp], ""
    if not cause:
        return taxes.CERO, ""
    if cause in taxes.CAUSES[taxes.EXENTO]:
        return taxes.EXENTO, cause
    if cause in taxes.CAUSES[taxes.NO_SUJETO]:
        return taxes.NO_SUJETO, cause
    if cause in ("ISP", "S2"):
        return taxes.INVERSION_SUJETO_PASIVO, ""
    raise ValueError("Causa no válida: E1–E6 (exenta), N1/N2 (no sujeta) o ISP.")


def _irpf_bp(values: dict[str, str], base: int, errors) -> int:
    if values.get("irpf_rate"):
        try:
            bp = parse_decimal(values["irpf_rate"], 2)
        except ValidationError as exc:
            errors("irpf_rate", exc.messages[0])
            return 0
        if not 0 <= bp <= 10000:
            errors("irpf_rate", "El tipo de IRPF va de 0 a 100 %.")
            return 0
        return bp
    if not values.get("irpf_amount"):
        return 0
    try:
        amount = parse_cents(values["irpf_amount"])
    except ValueError as exc:
        errors("irpf_amount", str(exc))
        return 0
    amount = abs(amount)  # some programs write the withholding as a negative amount
    if amount == 0:
        return 0
    # Without a rate column, the rate is the whole or half percentage that gives the amount
    # (IRPF rates are 1, 2, 7, 15, 19 %…): a typo in the amount is caught, not turned into
    # some odd rate.
    candidates = [*COMMON_IRPF_BP]
    if base:
        candidates.append(round_half_up(amount * 200, base) * 50)
    for bp in candidates:
        if 0 < bp <= 10000 and share_cents(base, bp) == amount:
            return bp
    errors(
        "irpf_amount",
        "La retención no corresponde a ningún tipo de IRPF sobre la base: revísela o "
        "indique el tipo en la columna tipo_irpf.",
    )
    return 0


def invoice_from_row(
    row: int, values: dict[str, str], book: ClientBook, errors
) -> InvoiceRow | None:
    """The row's invoice, checked; ``errors(field, message)`` collects what is wrong.

    The amounts are checked against each other only when every field parsed, so that one
    mistake is reported once, where it is.
    """
    reported: list[str] = []

    def report(name: str, message: str) -> None:
        reported.append(name)
        errors(name, message)

    number = " ".join(values.get("number", "").split())
    if not number:
        report("number", "Indique el número de la factura.")
    elif len(number) > 60:
        report("number", "Como mucho 60 caracteres.")
    day = None
    try:
        day = parse_date(values.get("date", ""))
        if day > timezone.localdate():
            report("date", "La fecha es futura: solo se importan facturas ya emitidas.")
            day = None
        elif day.year < 2000:
            report("date", "Fecha anterior al año 2000.")
            day = None
    except ValueError as exc:
        report("date", str(exc))
    amounts: dict[str, int] = {}
    for name in ("base", "total", "iva_amount", "surcharge_amount"):
        if name not in values or (name not in ("base", "total") and not values[name]):
            continue
        try:
            amounts[name] = parse_cents(values[name])
        except ValueError as exc:
            report(name, str(exc))
    base = amounts.get("base")
    if base is not None and base < 0:
        report("base", "Importes negativos (rectificativas): no se importan; regístrelas aparte.")
        base = None
    iva_type = cause = None
    try:
        rate_bp = parse_decimal(values.get("iva_rate", ""), 2)
        iva_type, cause = _resolve_rate(rate_bp, values.get("cause", ""))
    except ValidationError as exc:
        report("iva_rate", exc.messages[0])
    except ValueError as exc:
        report("iva_rate", str(exc))
    irpf_bp = _irpf_bp(values, base or 0, report)
    surcharge = bool(amounts.get("surcharge_amount"))

    kind_word = normalize_search(values.get("invoice_type", "")).replace(" ", "_")
    status_word = normalize_search(values.get("status", "")).replace(" ", "_")
    if status_word in PAID_WORDS:
        status = InvoiceStatus.PAID
    elif status_word in SENT_WORDS:
        status = InvoiceStatus.SENT
    else:
        report("status", "Estado no válido: «pagada» o «emitida» (paid / sent).")
        status = InvoiceStatus.SENT
    paid_at = None
    if status == InvoiceStatus.PAID:
        try:
            paid_day = parse_date(values["paid_date"]) if values.get("paid_date") else day
            paid_at = issued_at(paid_day) if paid_day else None
        except ValueError as exc:
            report("paid_date", str(exc))
    due_date = None
    if values.get("due_date"):
        try:
            due_date = parse_date(values["due_date"])
        except ValueError as exc:
            report("due_date", str(exc))

    client_nif = values.get("client_nif", "").strip()
    client_name = " ".join(values.get("client_name", "").split())
    if kind_word in F2_WORDS:
        invoice_type = "F2"
    elif kind_word in F1_WORDS:
        invoice_type = "F1"
    elif not kind_word:
        # No type given: complete (F1) when the client is identified, a ticket (F2) when
        # only a name is written and no client has it.
        known = bool(client_nif) or book.find("", client_name) is not None
        invoice_type = "F1" if known else "F2"
    else:
        report("invoice_type", "Tipo no válido: F1 (completa) o F2 (simplificada).")
        invoice_type = "F1"
    client = None
    if client_nif or client_name:
        client = book.find(client_nif, client_name)
        if client is None and client_nif:
            try:
                client = book.build(client_nif, client_name)
            except ValidationError as error:
                for name, messages in validation_messages(error).items():
                    column = "client_name" if name == "name" else "client_nif"
                    for message in messages:
                        report(column, message)
        elif client is None and invoice_type == "F1":
            report(
                "client_nif",
                "No hay ningún cliente con ese nombre: indique su NIF, o importe antes el "
                "cliente (los extranjeros, con su número de identificación).",
            )
    elif invoice_type == "F1":
        report("client_nif", "Una factura completa (F1) necesita el NIF o el nombre del cliente.")

    if reported or None in (day, base, iva_type) or "total" not in amounts:
        return None
    line = taxes.LineInput(quantity=100, unit_price=base, iva_type=iva_type, cause=cause)
    totals = taxes.compute_totals([line], irpf_bp=irpf_bp, surcharge=surcharge)
    checks = [
        ("iva_amount", totals.iva_cents, "La cuota de IVA"),
        ("surcharge_amount", totals.surcharge_cents, "El recargo de equivalencia"),
        ("total", totals.total_cents, "El total"),
    ]
    ok = True
    for name, expected, label in checks:
        if name in amounts and amounts[name] != expected:
            report(
                name,
                f"{label} ({taxes.format_euros(amounts[name])}) no cuadra: con esta base, "
                f"tipo y retención debería ser {taxes.format_euros(expected)}.",
            )
            ok = False
    if not ok:
        return None
    return InvoiceRow(
        row=row,
        number=number,
        date=day,
        invoice_type=invoice_type,
        line=line,
        totals=totals,
        irpf_bp=irpf_bp,
        surcharge=surcharge,
        status=status,
        paid_at=paid_at,
        due_date=due_date,
        description=" ".join(values.get("description", "").split())[:500],
        client=client,
        client_name=client.name if client else client_name,
        client_nif=client.nif if client else "",
    )
