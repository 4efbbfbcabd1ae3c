"""What an issued invoice is registered with: the installation, the checks of its dates
against its series and its chain, the facts of its billing record, and the parties frozen
on it at issue (:func:`invoicing.services.issue_invoice` calls them in this order)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from factu.addresses import address_line
from factu.models import Taxpayer
from invoicing import taxes
from invoicing import totals as invoice_totals
from invoicing.models import Invoice, InvoiceLine
from verifactu import installations
from verifactu.facts import BreakdownFacts, InvoiceFacts, InvoiceRef, from_cents
from verifactu.models import ComputerSystem
from verifactu.records import latest_registration


def factu_computer_system(taxpayer: Taxpayer) -> ComputerSystem:
    """The installation Factu's own invoices of ``taxpayer`` are registered on: its
    account's default installation (:func:`verifactu.installations.default_installation`)."""
    return installations.default_installation(taxpayer.account_id)


def date_problems(invoice: Invoice) -> dict[str, list[str]]:
    """Why ``invoice`` cannot be issued with its date (its series' order, its chain's last
    record, the future, its original), by field; empty when it can.

    ``invoice`` has just taken the series' next number under the counter's lock
    (:func:`invoicing.services.issue_invoice`): every invoice numbered before it in the
    series and year comes before it, so none of those issued may bear a later date.
    """
    numbered = Invoice.objects.filter(
        series=invoice.series, year=invoice.year, issued_at__isnull=False
    )
    later_dated = (
        numbered.filter(sequence__lt=invoice.sequence, issue_date__gt=invoice.issue_date)
        .order_by("-issue_date", "sequence")
        .first()
    )
    if later_dated:
        return {
            "issueDate": [
                f"La factura {later_dated.number}, anterior en la serie, tiene fecha "
                f"{later_dated.issue_date:%d/%m/%Y}: esta no puede ser de una fecha anterior."
            ]
        }
    last = latest_registration(invoice.taxpayer)
    if last and last.invoice_date > invoice.issue_date:
        return {
            "issueDate": [
                f"El último registro de facturación ({last.invoice_number}) es del "
                f"{last.invoice_date:%d/%m/%Y}: la fecha no puede ser anterior."
            ]
        }
    if invoice.issue_date > timezone.localdate():
        return {"issueDate": ["La fecha de expedición no puede ser futura."]}
    original = invoice.rectified_invoice
    if original and invoice.issue_date < original.issue_date:
        return {
            "issueDate": [
                f"Una rectificativa no puede ser anterior a la factura {original.number}."
            ]
        }
    return {}


def declared_regime(invoice: Invoice, group: taxes.TaxGroup) -> str:
    """The ClaveRegimen a group is declared under: 07 for the taxed (S1) general-regime IVA
    of an invoice issued under the criterio de caja, whose accrual follows collection; the
    group's own key otherwise (exports 02, recargo 18, … stay outside the regime)."""
    if (
        invoice.cash_criterion
        and group.tax_type == taxes.IVA
        and group.regime_type == taxes.REGIME_GENERAL
        and group.operation_type == "S1"
        and group.rate_bp
    ):
        return taxes.REGIME_CASH
    return group.regime_type


def record_facts(
    invoice: Invoice, lines: list[InvoiceLine], replaced: Sequence[Invoice] | None = None
) -> InvoiceFacts:
    """The facts of the record ``invoice`` is registered with. ``replaced``: the F2 invoices
    it replaces when not saved yet (a draft being checked), else those stored."""
    totals = invoice_totals.recomputed(invoice, lines)
    breakdown = tuple(
        BreakdownFacts(
            tax_type=group.tax_type,
            regime_type=declared_regime(invoice, group),
            operation_type=group.operation_type,
            base_amount=from_cents(group.base_cents),
            tax_rate=taxes.percent(group.rate_bp) if group.reports_rate else None,
            tax_amount=from_cents(group.iva_cents) if group.reports_rate else None,
            surcharge_rate=taxes.percent(group.surcharge_rate_bp) if group.has_surcharge else None,
            surcharge_amount=from_cents(group.surcharge_cents) if group.has_surcharge else None,
        )
        for group in totals.groups
    )
    description = invoice.description or "; ".join(line.description for line in lines)
    original = invoice.rectified_invoice
    rectified = ()
    base = tax = surcharge = None
    if original is not None:
        rectified = (InvoiceRef(original.number, original.issue_date),)
        if invoice.rectification_type == "S":
            # The rectified invoice's IVA and recargo go apart: CuotaRectificada and
            # CuotaRecargoRectificado (SuministroInformacion.xsd ImporteRectificacion).
            base = from_cents(original.subtotal_cents)
            tax = from_cents(original.iva_cents)
            if original.surcharge_cents:
                surcharge = from_cents(original.surcharge_cents)
    spanish = invoice.client_nif != ""
    return InvoiceFacts(
        issuer_nif=invoice.issuer_nif,
        issuer_name=invoice.issuer_name,
        invoice_number=invoice.number,
        invoice_date=invoice.issue_date,
        invoice_type=invoice.invoice_type,
        description=description[:500],
        breakdown=breakdown,
        total_amount=from_cents(totals.fiscal_total_cents),
        total_tax_amount=from_cents(totals.tax_total_cents),
        operation_date=invoice.operation_date,
        issued_by=invoice.issued_by,
        third_party_nif=invoice.third_party_nif,
        third_party_name=invoice.third_party_name,
        recipient_nif=invoice.client_nif,
        recipient_name=invoice.client_name if (spanish or invoice.client_foreign_id) else "",
        recipient_country="" if spanish else invoice.client_country,
        recipient_id_type="" if spanish else invoice.client_id_type,
        recipient_id="" if spanish else invoice.client_foreign_id,
        rectification_type=invoice.rectification_type,
        rectified_invoices=rectified,
        replaced_invoices=tuple(
            InvoiceRef(i.number, i.issue_date)
            for i in (replaced if replaced is not None else stored_replaced(invoice))
        ),
        rectification_base=base,
        rectification_tax=tax,
        rectification_surcharge=surcharge,
    )


def stored_replaced(invoice: Invoice) -> list[Invoice]:
    """The simplified invoices a stored F3 replaces."""
    if invoice.pk is None or invoice.invoice_type != "F3":
        return []
    return list(invoice.replaced_invoices.order_by("issue_date", "number"))


def freeze_parties(invoice: Invoice) -> None:
    """Copy the issuer (with its criterio de caja) and the client as they are now onto the
    invoice (not saved)."""
    taxpayer = invoice.taxpayer
    invoice.cash_criterion = taxpayer.cash_criterion
    invoice.issuer_name = taxpayer.name
    invoice.issuer_nif = taxpayer.nif
    invoice.issuer_address = address_line(taxpayer)
    client = invoice.client
    if client is None:
        return
    invoice.client_name = client.name
    invoice.client_nif = client.nif
    invoice.client_country = client.country
    invoice.client_id_type = client.id_type
    invoice.client_foreign_id = client.foreign_id
    invoice.client_email = client.email
    invoice.client_address = address_line(client)


FROZEN_AT_ISSUE = [
    "cash_criterion",
    "year",
    "sequence",
    "number",
    "status",
    "issued_at",
    "fiscal_invoice",
    "issuer_name",
    "issuer_nif",
    "issuer_address",
    "client_name",
    "client_nif",
    "client_country",
    "client_id_type",
    "client_foreign_id",
    "client_address",
    "client_email",
    "search_text",
    "updated_at",
]
