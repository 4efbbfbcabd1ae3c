"""CSV imports: clients, and historical invoices that keep their original numbers.

Both work in two phases:

1. **Validate** every row, saving nothing, with the owning app's rules (``Client.full_clean``
   exactly as :func:`clients.services.create_client` calls it; the tax arithmetic of
   :func:`invoicing.taxes.compute_totals`), and collect every problem as
   ``{"row", "field", "message"}``. Progress is reported during this phase, outside any
   transaction, so that other connections see it.
2. **Write**, in one transaction that also marks the job done: nothing when the mode is
   "todo o nada" and any row failed; otherwise the valid rows, in bulk. Should the database
   refuse a row that passed validation (someone created the same NIF or number meanwhile),
   "todo o nada" writes nothing and "solo las filas válidas" skips that row and reports it.

Historical invoices
-------------------
They were issued (and, if the law asked, registered) by another program, so Factu must not
create VERI*FACTU records for them. They become ordinary :class:`invoicing.models.Invoice`
rows, *issued* (``issued_at`` set) with ``fiscal_invoice`` null, in an archived series of
their kind (``IMPORTADA-F1`` / ``IMPORTADA-F2``) that ``create_draft`` refuses to number
new invoices from. Their ``number`` is the original one (unique per taxpayer, as for any
invoice); ``sequence`` comes from that series' locked counter, in date order. Each has one
line (the base at its IVA type) whose recomputed totals must equal the CSV's amounts to the
cent, so every invariant of an issued invoice holds (stored totals = lines' totals) and the
quarterly summaries, the 347 and the PDF treat them like any other issued invoice. An
``InvoiceEvent`` ``imported`` names the job, the file and the row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import SPAIN, Client
from factu import jobs
from factu.models import Job, Taxpayer
from factu.money import round_half_up, share_cents
from factu.nif import normalize_nif
from factu.text import normalize_search
from invoicing import taxes
from invoicing.forms import parse_decimal
from invoicing.models import (
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceStatus,
    Series,
    SeriesCounter,
)
from transfers.csvfile import CsvError, CsvTable, iter_chunks, parse_bool, read_table

IMPORT_DIR = "imports"  # under MEDIA_ROOT: the uploaded CSV of each import job

BATCH = 500
IMPORTED_SERIES_PREFIX = "IMPORTADA-"
IMPORTED_EVENT = "imported"

# --- shared -------------------------------------------------------------------------------


@dataclass
class Outcome:
    table: CsvTable
    errors: list[dict] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    imported: int = 0

    def reject(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "field": column, "message": message})
        self.rejected_rows.add(row)

    def report(self, job: Job, message: str) -> dict:
        table = self.table
        return {
            "file": job.params.get("filename", ""),
            "encoding": table.encoding,
            "delimiter": table.delimiter_label,
            "columns": list(table.columns.values()),
            "ignored_columns": table.ignored,
            "rows": len(table.rows) + len(table.problems),
            "rejected": len(self.rejected_rows),
            "imported": self.imported,
            "errors": sorted(self.errors, key=lambda e: (e["row"], e["field"])),
            "message": message,
        }


def read_source(job: Job) -> bytes:
    return (Path(settings.MEDIA_ROOT) / job.source_path).read_bytes()


def _unreadable(job: Job, exc: CsvError) -> None:
    report = {"file": job.params.get("filename", ""), "errors": [], "message": str(exc)}
    jobs.finish(job, report, status=Job.Status.FAILED)


def _messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


def _conclude(job: Job, outcome: Outcome, write, noun: str) -> None:
    """Phase 2: write (or not) according to the mode, and finish the job atomically."""
    valid_only = job.mode == Job.Mode.VALID_ONLY
    rejected = len(outcome.rejected_rows)
    if rejected and not valid_only:
        message = (
            f"No se ha importado nada: {rejected} fila(s) con errores. Corríjalas y vuelva a "
            "subir el archivo, o elija «solo las filas válidas»."
        )
        jobs.finish(job, outcome.report(job, message), status=Job.Status.FAILED)
        return
    try:
        with transaction.atomic():
            outcome.imported = write(valid_only)
            message = f"{outcome.imported} {noun} importado(s)."
            if rejected or len(outcome.rejected_rows) > rejected:
                message += f" {len(outcome.rejected_rows)} fila(s) rechazada(s)."
            jobs.finish(job, outcome.report(job, message))
    except _Clash as clash:
        outcome.imported = 0
        outcome.reject(clash.row, clash.column, clash.message)
        message = (
            f"No se ha importado nada: la fila {clash.row} chocó con datos creados mientras tanto."
        )
        jobs.finish(job, outcome.report(job, message), status=Job.Status.FAILED)


class _Clash(Exception):
    def __init__(self, row: int, column: str, message: str):
        super().__init__(message)
        self.row, self.column, self.message = row, column, message


def _bulk(model, items: list[tuple[int, object]], valid_only: bool, outcome: Outcome, column, msg):
    """``bulk_create`` in chunks; when the database refuses a chunk, row by row."""
    created = []
    for chunk in iter_chunks(items, BATCH):
        try:
            with transaction.atomic():
                model.objects.bulk_create([obj for _, obj in chunk])
            created.extend(chunk)
            continue
        except IntegrityError:
            if not valid_only:
                pass  # find which row, below, to name it in the report
        for row, obj in chunk:
            try:
                with transaction.atomic():
                    model.objects.bulk_create([obj])
                created.append((row, obj))
            except IntegrityError:
                if not valid_only:
                    raise _Clash(row, column, msg) from None
                outcome.reject(row, column, msg)
    return created


# --- clients ------------------------------------------------------------------------------

CLIENT_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("nombre", "name", "razon_social", "nombre_o_razon_social", "cliente"),
    "nif": ("nif", "cif", "dni", "nif_cif", "vat_number", "tax_id"),
    "email": ("email", "correo", "correo_electronico", "e_mail", "mail"),
    "address": ("direccion", "address", "domicilio"),
    "city": ("ciudad", "city", "municipio", "localidad", "poblacion"),
    "postal_code": ("cp", "postal_code", "codigo_postal", "zip", "postcode"),
    "province": ("provincia", "province", "state", "region"),
    "country": ("pais", "country", "codigo_pais", "country_code"),
    "id_type": ("tipo_id", "id_type", "tipo_documento", "tipo_de_documento"),
    "foreign_id": (
        "id_extranjero",
        "foreign_id",
        "numero_identificacion",
        "numero_de_identificacion",
    ),
    "recargo_equivalencia": (
        "recargo",
        "recargo_equivalencia",
        "recargo_de_equivalencia",
        "surcharge",
    ),
}


class ExistingNifs:
    """The taxpayer's clients by NIF, read once, for the NIF-clash rule of ``Client.clean``.

    ``Client.clean`` asks ``self._nif_clash()`` for the client already holding the NIF (one
    query per row); an import gives each new client this in-memory answer instead, so 10,000
    rows cost one query. Same preference as the model: an active client over an archived
    one, then by name. Should the model rename the hook, the shadow is simply not used and
    the query runs: slower, never wrong.
    """

    def __init__(self, taxpayer: Taxpayer):
        self.by_nif: dict[str, Client] = {}
        clients = Client.objects.filter(taxpayer=taxpayer).exclude(nif="")
        for client in clients.only("id", "nif", "name", "archived_at"):
            known = self.by_nif.get(client.nif)
            if known is None or (client.archived_at is None, known.name) > (
                known.archived_at is None,
                client.name,
            ):
                self.by_nif[client.nif] = client

    def attach(self, client: Client) -> None:
        client._nif_clash = lambda: self.by_nif.get(client.nif)


def client_from_row(
    taxpayer: Taxpayer, values: dict[str, str], existing: ExistingNifs | None = None
) -> Client:
    """An unsaved client with the row's values, normalised and validated like
    :func:`clients.services.create_client` does; raises its ``ValidationError``."""
    data: dict[str, object] = {k: v for k, v in values.items() if k != "recargo_equivalencia"}
    data["country"] = (values.get("country") or "").strip() or SPAIN
    id_type = (values.get("id_type") or "").strip()
    data["id_type"] = id_type.zfill(2) if id_type.isdigit() else id_type
    try:
        data["recargo_equivalencia"] = parse_bool(values.get("recargo_equivalencia", ""))
    except ValueError as exc:
        raise ValidationError({"recargo_equivalencia": [str(exc)]}) from None
    client = Client(taxpayer=taxpayer, account_id=taxpayer.account_id)
    for name, value in data.items():
        setattr(client, name, value)
    if existing is not None:
        existing.attach(client)
    # Left out, as they would cost queries per row and cannot fail here: the foreign keys
    # (the job's own account and taxpayer), the unique primary key (a fresh UUID) and the
    # partial unique constraint on the NIF (Client.clean checks the same clash, and the
    # database still enforces it on write).
    client.full_clean(
        exclude=["account", "taxpayer"], validate_unique=False, validate_constraints=False
    )
    client.search_text = client.build_search_text()
    return client


def import_clients(job: Job) -> None:
    try:
        table = read_table(read_source(job), CLIENT_ALIASES, required=("name",))
    except CsvError as exc:
        _unreadable(job, exc)
        return
    outcome = Outcome(table)
    progress = jobs.Progress(job, len(table.rows))
    for row, message in table.problems:
        outcome.reject(row, "", message)
    valid: list[tuple[int, Client]] = []
    seen_nifs: dict[str, int] = {}
    existing = ExistingNifs(job.taxpayer)
    for row, values in table.rows:
        try:
            client = client_from_row(job.taxpayer, values, existing)
        except ValidationError as error:
            for name, messages in _messages(error).items():
                column = table.label(name, CLIENT_ALIASES.get(name, ("",))[0])
                for message in messages:
                    outcome.reject(row, column, message)
        else:
            if client.nif and client.nif in seen_nifs:
                outcome.reject(
                    row,
                    table.label("nif", "nif"),
                    f"El NIF {client.nif} ya aparece en la fila {seen_nifs[client.nif]}.",
                )
            else:
                if client.nif:
                    seen_nifs[client.nif] = row
                valid.append((row, client))
        progress.advance()
    progress.flush()

    def write(valid_only: bool) -> int:
        created = _bulk(
            Client,
            valid,
            valid_only,
            outcome,
            table.label("nif", "nif"),
            "Ya hay un cliente de este contribuyente con este NIF (creado durante la importación).",
        )
        return len(created)

    _conclude(job, outcome, write, "cliente(s)")


# --- historical invoices ------------------------------------------------------------------

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


def _noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


@dataclass
class InvoiceRow:
    row: int
    number: str
    date: dt.date
    invoice_type: str
    line: taxes.LineInput
    totals: taxes.InvoiceTotals
    irpf_bp: int
    surcharge: bool
    status: str
    paid_at: dt.datetime | None
    due_date: dt.date | None
    description: str
    client: Client | None
    client_name: str
    client_nif: str


class _ClientBook:
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
    row: int, values: dict[str, str], book: _ClientBook, errors
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
            paid_at = _noon(paid_day) if paid_day else None
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
                for name, messages in _messages(error).items():
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


def imported_series(taxpayer: Taxpayer, kind: str) -> Series:
    """The archived series that holds the taxpayer's imported invoices of ``kind``."""
    series, _ = Series.objects.get_or_create(
        taxpayer=taxpayer,
        code=f"{IMPORTED_SERIES_PREFIX}{kind}",
        defaults={
            "account": taxpayer.account,
            "kind": kind,
            "number_format": "{code}-{year}-{number}",
            "archived": True,
        },
    )
    return series


def _take_sequences(series: Series, year: int, count: int) -> int:
    """Reserve ``count`` consecutive sequence numbers from the locked counter; the first."""
    SeriesCounter.objects.get_or_create(series=series, year=year)
    counter = SeriesCounter.objects.select_for_update().get(series=series, year=year)
    first = counter.next_number
    counter.next_number = first + count
    counter.save(update_fields=["next_number"])
    return first


def _issuer_address(taxpayer: Taxpayer) -> str:
    parts = (
        taxpayer.address,
        f"{taxpayer.postal_code} {taxpayer.city}".strip(),
        taxpayer.province,
    )
    return ", ".join(p for p in parts if p)


def _client_address(client: Client | None) -> str:
    if client is None:
        return ""
    parts = (client.address, f"{client.postal_code} {client.city}".strip(), client.province)
    return ", ".join(p for p in parts if p)


def _build_invoice(job: Job, item: InvoiceRow, series: Series, sequence: int) -> Invoice:
    taxpayer = job.taxpayer
    client = item.client
    totals = item.totals
    return Invoice(
        account=job.account,
        taxpayer=taxpayer,
        series=series,
        year=item.date.year,
        sequence=sequence,
        number=item.number,
        invoice_type=item.invoice_type,
        status=item.status,
        issue_date=item.date,
        due_date=item.due_date,
        client=client,
        description=item.description,
        irpf_bp=item.irpf_bp,
        surcharge=item.surcharge,
        issuer_name=taxpayer.name,
        issuer_nif=taxpayer.nif,
        issuer_address=_issuer_address(taxpayer),
        client_name=item.client_name[:120],
        client_nif=item.client_nif,
        client_country=client.country if client else "",
        client_id_type=client.id_type if client else "",
        client_foreign_id=client.foreign_id if client else "",
        client_address=_client_address(client)[:300],
        client_email=client.email if client else "",
        subtotal_cents=totals.subtotal_cents,
        iva_cents=totals.iva_cents,
        surcharge_cents=totals.surcharge_cents,
        irpf_cents=totals.irpf_cents,
        total_cents=totals.total_cents,
        issued_at=_noon(item.date),
        paid_at=item.paid_at,
        search_text=normalize_search(
            " ".join(
                p for p in (item.number, item.description, item.client_name, item.client_nif) if p
            )
        ),
        created_by=job.user,
    )


def import_invoices(job: Job) -> None:
    try:
        table = read_table(read_source(job), INVOICE_ALIASES, required=INVOICE_REQUIRED)
    except CsvError as exc:
        _unreadable(job, exc)
        return
    outcome = Outcome(table)
    progress = jobs.Progress(job, len(table.rows))
    for row, message in table.problems:
        outcome.reject(row, "", message)
    taken = set(Invoice.objects.filter(taxpayer=job.taxpayer).values_list("number", flat=True))
    book = _ClientBook(job.taxpayer)
    seen: dict[str, int] = {}
    valid: list[InvoiceRow] = []
    problems: list[tuple[str, str]] = []

    def collect(name: str, message: str) -> None:
        problems.append((name, message))

    for row, values in table.rows:
        problems.clear()
        item = invoice_from_row(row, values, book, collect)
        if item is not None and item.number in taken:
            problems.append(("number", f"Ya existe una factura {item.number} en Factu."))
        elif item is not None and item.number in seen:
            problems.append(
                ("number", f"El número {item.number} ya aparece en la fila {seen[item.number]}.")
            )
        for name, message in problems:
            outcome.reject(row, table.label(name, INVOICE_ALIASES[name][0]), message)
        if not problems and item is not None:
            seen[item.number] = row
            valid.append(item)
        progress.advance()
    progress.flush()

    def write(valid_only: bool) -> int:
        # New clients first: only those some valid row uses, once each.
        new_clients = {}
        for item in valid:
            if item.client is not None and item.client._state.adding:
                new_clients.setdefault(item.client.pk, (item.row, item.client))
        created_clients = _bulk(
            Client,
            list(new_clients.values()),
            valid_only,
            outcome,
            table.label("client_nif", "nif_cliente"),
            "Ya hay un cliente con este NIF (creado durante la importación).",
        )
        created_ids = {c.pk for _, c in created_clients}
        items = []
        for item in valid:
            client = item.client
            if client is None or client.pk in created_ids or client.pk not in new_clients:
                items.append(item)
            elif item.row != new_clients[client.pk][0]:
                outcome.reject(
                    item.row,
                    table.label("client_nif", "nif_cliente"),
                    f"No se ha podido crear su cliente: vea la fila {new_clients[client.pk][0]}.",
                )
        # Sequences in date order within each imported series and year.
        items.sort(key=lambda i: (i.invoice_type, i.date, i.row))
        invoices: list[tuple[int, Invoice]] = []
        by_row: dict[int, InvoiceRow] = {}
        groups: dict[tuple[str, int], list[InvoiceRow]] = {}
        for item in items:
            groups.setdefault((item.invoice_type, item.date.year), []).append(item)
        for (kind, year), group in groups.items():
            series = imported_series(job.taxpayer, kind)
            first = _take_sequences(series, year, len(group))
            for offset, item in enumerate(group):
                invoices.append((item.row, _build_invoice(job, item, series, first + offset)))
                by_row[item.row] = item
        created = _bulk(
            Invoice,
            invoices,
            valid_only,
            outcome,
            table.label("number", "numero"),
            "Ya existe una factura con este número (creada durante la importación).",
        )
        # Lines and the audit event; the lines go in bulk, so the issued-invoice guard of
        # InvoiceLine.save (meant for edits after issue) does not apply to this first write.
        lines, events = [], []
        for row, invoice in created:
            item = by_row[row]
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    position=1,
                    description=item.description or f"Factura {item.number}",
                    quantity=item.line.quantity,
                    unit_price_cents=item.line.unit_price,
                    iva_type=item.line.iva_type,
                    cause=item.line.cause,
                    amount_cents=item.totals.lines[0],
                )
            )
            events.append(
                InvoiceEvent(
                    invoice=invoice,
                    user=job.user,
                    action=IMPORTED_EVENT,
                    detail={
                        "job": str(job.pk),
                        "file": job.params.get("filename", ""),
                        "row": row,
                        "original_number": item.number,
                    },
                )
            )
        InvoiceLine.objects.bulk_create(lines, batch_size=BATCH)
        InvoiceEvent.objects.bulk_create(events, batch_size=BATCH)
        return len(created)

    _conclude(job, outcome, write, "factura(s)")


def imported_invoices(taxpayer: Taxpayer, start: dt.date | None = None, end: dt.date | None = None):
    """The taxpayer's imported invoices (optionally dated ``start``–``end``)."""
    invoices = Invoice.objects.filter(
        account=taxpayer.account,
        taxpayer=taxpayer,
        series__code__startswith=IMPORTED_SERIES_PREFIX,
        fiscal_invoice__isnull=True,
        issued_at__isnull=False,
    )
    if start:
        invoices = invoices.filter(issue_date__gte=start)
    if end:
        invoices = invoices.filter(issue_date__lte=end)
    return invoices
