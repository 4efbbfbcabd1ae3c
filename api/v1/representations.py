"""What the VERI*FACTU API answers about a fiscal invoice and its records."""

from __future__ import annotations

from verifactu import corrections
from verifactu.facts import from_cents, rate_from_bp
from verifactu.models import BillingRecord, FiscalInvoice, FiscalInvoiceVersion, RecordStatus

AEAT_RECORD_STATUS = {
    RecordStatus.ACCEPTED: "Correcto",
    RecordStatus.ACCEPTED_WITH_ERRORS: "AceptadoConErrores",
    RecordStatus.REJECTED: "Incorrecto",
}


def _cents(value: int | None):
    return None if value is None else from_cents(value)


def record_summary(record: BillingRecord) -> dict:
    return {
        "id": record.pk,
        "record_type": record.record_type,
        "hash": record.huella,
        "previous_hash": record.previous_huella or None,
        "generated_at": record.generated_at_text,
        "aeat_status": record.status,
        "aeat_error_code": record.aeat_error_code or None,
    }


def breakdown_line(line: dict) -> dict:
    data = {
        "tax_type": line["tax_type"],
        "regime_type": line.get("regime_type"),
        "operation_type": line["operation_type"],
        "base_amount": from_cents(line["base_cents"]),
        "tax_rate": rate_from_bp(line.get("rate_bp")),
        "tax_amount": _cents(line.get("tax_cents")),
        "surcharge_rate": rate_from_bp(line.get("surcharge_rate_bp")),
        "surcharge_amount": _cents(line.get("surcharge_cents")),
    }
    if "base_cost_cents" in line:  # only where given: seed 003's lines keep their shape
        data["base_cost_amount"] = from_cents(line["base_cost_cents"])
    return data


def latest(invoice: FiscalInvoice) -> BillingRecord:
    records = getattr(invoice, "prefetched_records", None)
    if records is not None:
        return records[-1]
    return invoice.records.order_by("-position").first()


def registered(invoice: FiscalInvoice, alta: BillingRecord) -> dict:
    """What a POST that chains a RegistroAlta answers (the new alta is the one the QR shows)."""
    return {
        "id": invoice.pk,
        "invoice_number": invoice.invoice_number,
        "hash": alta.huella,
        "qr_url": alta.qr_url,
        "aeat_status": alta.status,
        "record_type": alta.record_type,
    }


def invoice_summary(invoice: FiscalInvoice, record: BillingRecord | None = None) -> dict:
    record = record or latest(invoice)
    return {
        "id": invoice.pk,
        "taxpayer_id": invoice.taxpayer_id,
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "invoice_type": invoice.invoice_type,
        "total_amount": from_cents(invoice.total_amount_cents),
        "total_tax_amount": from_cents(invoice.total_tax_amount_cents),
        "hash": record.huella,
        "aeat_status": record.status,
        "record_type": record.record_type,
        "created_at": invoice.created_at,
    }


def as_input(invoice: FiscalInvoice) -> dict:
    """The invoice's current facts in the shape of a create body (what a subsanación's
    body is merged over); empty values are left out, as a caller would leave them."""
    body = {
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "invoice_type": invoice.invoice_type,
        "description": invoice.description,
        "operation_date": invoice.operation_date,
        "issued_by": invoice.issued_by,
        "third_party_nif": invoice.third_party_nif,
        "third_party_name": invoice.third_party_name,
        "regime_types": invoice.regime_types,
        "reverse_charge": invoice.reverse_charge,
        "recipient_nif": invoice.recipient_nif,
        "recipient_name": invoice.recipient_name,
        "recipient_country": invoice.recipient_country,
        "recipient_id_type": invoice.recipient_id_type,
        "recipient_id": invoice.recipient_id,
        "not_subject_amount": _cents(invoice.not_subject_amount_cents),
        "not_subject_cause": invoice.not_subject_cause,
        "breakdown": [
            {k: v for k, v in breakdown_line(line).items() if v is not None}
            for line in invoice.breakdown
        ],
        "total_amount": from_cents(invoice.total_amount_cents),
        "total_tax_amount": from_cents(invoice.total_tax_amount_cents),
        "rectification_type": invoice.rectification_type,
        "rectified_invoices": invoice.rectified_invoices,
        "replaced_invoices": invoice.replaced_invoices,
        "rectification_base": _cents(invoice.rectification_base_cents),
        "rectification_tax": _cents(invoice.rectification_tax_cents),
        "rectification_surcharge": _cents(invoice.rectification_surcharge_cents),
    }
    return {k: v for k, v in body.items() if v not in (None, "", [])}


def version_summary(version: FiscalInvoiceVersion) -> dict:
    return {
        "version": version.number,
        "replaces": version.number - 1 if version.number > 1 else None,
        "reason": version.reason or None,
        "matches_delivered_invoice": version.matches_delivered_invoice,
        "made_by": version.actor_label or None,
        "created_at": version.created_at,
        "record_id": version.record_id,
    }


def invoice_detail(invoice: FiscalInvoice) -> dict:
    records = list(invoice.records.order_by("position"))
    record = records[-1]
    return {
        "id": invoice.pk,
        "taxpayer_id": invoice.taxpayer_id,
        "computer_system_id": invoice.computer_system_id,
        "source": invoice.source,
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "invoice_type": invoice.invoice_type,
        "description": invoice.description,
        "operation_date": invoice.operation_date,
        "issued_by": invoice.issued_by or None,
        "third_party_nif": invoice.third_party_nif or None,
        "third_party_name": invoice.third_party_name or None,
        "regime_types": invoice.regime_types,
        "reverse_charge": invoice.reverse_charge,
        "recipient_nif": invoice.recipient_nif or None,
        "recipient_name": invoice.recipient_name or None,
        "recipient_country": invoice.recipient_country or None,
        "recipient_id_type": invoice.recipient_id_type or None,
        "recipient_id": invoice.recipient_id or None,
        "not_subject_amount": _cents(invoice.not_subject_amount_cents),
        "not_subject_cause": invoice.not_subject_cause or None,
        "breakdown": [breakdown_line(line) for line in invoice.breakdown],
        "total_amount": from_cents(invoice.total_amount_cents),
        "total_tax_amount": from_cents(invoice.total_tax_amount_cents),
        "rectification_type": invoice.rectification_type or None,
        "rectified_invoices": invoice.rectified_invoices,
        "replaced_invoices": invoice.replaced_invoices,
        "rectification_base": _cents(invoice.rectification_base_cents),
        "rectification_tax": _cents(invoice.rectification_tax_cents),
        "rectification_surcharge": _cents(invoice.rectification_surcharge_cents),
        "irpf_rate": None if invoice.irpf_rate_bp is None else from_cents(invoice.irpf_rate_bp),
        "irpf_amount": _cents(invoice.irpf_amount_cents),
        "hash": record.huella,
        "previous_hash": record.previous_huella or None,
        "qr_url": invoice.qr_url,
        "aeat_status": record.status,
        "aeat_error_code": record.aeat_error_code or None,
        "aeat_error_description": record.aeat_error_description or None,
        "csv": record.csv or None,
        "record_type": record.record_type,
        "records": [record_summary(r) for r in records],
        "version": invoice.version,
        "versions": [version_summary(v) for v in corrections.versions(invoice)],
        "created_at": invoice.created_at,
    }


def status_detail(invoice: FiscalInvoice) -> dict:
    record = latest(invoice)
    submission = record.submission
    return {
        "aeat_status": record.status,
        "aeat_response": {
            "submission_status": submission.estado_envio or None if submission else None,
            "record_status": AEAT_RECORD_STATUS.get(record.status),
            "error_code": record.aeat_error_code or None,
            "error_description": record.aeat_error_description or None,
            "csv": record.csv or None,
            "submitted_at": submission.started_at if submission else None,
        },
    }
