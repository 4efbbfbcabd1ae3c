"""Comparing what Factu believes the AEAT holds with what the AEAT says it holds.

For each chain and each month with registered invoices, ``ConsultaFactuSistemaFacturacion``
lists AEAT's records; each invoice is then in one of the states below. Used by
``manage.py verifactu_reconcile`` after an outage, or routinely.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from verifactu import aeat
from verifactu.models import BillingRecord, Chain, FiscalInvoice, RecordStatus
from verifactu.submission import connect

HELD = (RecordStatus.ACCEPTED, RecordStatus.ACCEPTED_WITH_ERRORS)


@dataclass(frozen=True)
class Difference:
    nif: str
    invoice_number: str
    invoice_date: str
    problem: str  # missing_at_aeat | unknown_locally | cancelled_mismatch | huella_mismatch
    detail: str


def expected_state(invoice: FiscalInvoice) -> tuple[str, str] | None:
    """(estado, huella) AEAT should hold for the invoice, or None if it should hold nothing."""
    held = [r for r in invoice.records.order_by("position") if r.status in HELD]
    altas = [r for r in held if r.kind == BillingRecord.Kind.ALTA]
    if not altas:
        return None
    cancelled = any(r.kind == BillingRecord.Kind.ANULACION for r in held)
    return ("Anulado" if cancelled else "Correcto", altas[-1].huella)


def reconcile_chain(chain: Chain, client: aeat.AeatClient) -> list[Difference]:
    invoices = FiscalInvoice.objects.filter(
        issuer_nif=chain.issuer_nif, records__chain=chain
    ).distinct()
    by_period: dict[tuple[int, int], list[FiscalInvoice]] = defaultdict(list)
    for invoice in invoices:
        by_period[(invoice.invoice_date.year, invoice.invoice_date.month)].append(invoice)
    differences: list[Difference] = []
    for (year, month), local in sorted(by_period.items()):
        remote = client.consulta(
            nif=chain.issuer_nif,
            name=chain.issuer_name,
            ejercicio=f"{year:04d}",
            periodo=f"{month:02d}",
        )
        remote_by_number = {row["numserie"]: row for row in remote}
        for invoice in local:
            expected = expected_state(invoice)
            row = remote_by_number.pop(invoice.invoice_number, None)
            date_text = invoice.invoice_date.strftime("%d-%m-%Y")
            if expected is None:
                if row is not None:
                    differences.append(
                        Difference(
                            chain.issuer_nif,
                            invoice.invoice_number,
                            date_text,
                            "unknown_locally",
                            f"AEAT holds it ({row['estado']}) but no record of ours was accepted.",
                        )
                    )
                continue
            if row is None:
                differences.append(
                    Difference(
                        chain.issuer_nif,
                        invoice.invoice_number,
                        date_text,
                        "missing_at_aeat",
                        "Accepted here but AEAT does not hold it.",
                    )
                )
                continue
            estado, huella = expected
            aeat_cancelled = row["estado"] == "Anulado"
            if (estado == "Anulado") != aeat_cancelled:
                differences.append(
                    Difference(
                        chain.issuer_nif,
                        invoice.invoice_number,
                        date_text,
                        "cancelled_mismatch",
                        f"Here {estado}, at AEAT {row['estado']}.",
                    )
                )
            elif row.get("huella") and row["huella"] != huella:
                differences.append(
                    Difference(
                        chain.issuer_nif,
                        invoice.invoice_number,
                        date_text,
                        "huella_mismatch",
                        f"Here {huella}, at AEAT {row['huella']}.",
                    )
                )
        for number, row in remote_by_number.items():
            differences.append(
                Difference(
                    chain.issuer_nif,
                    number,
                    row.get("fecha", ""),
                    "unknown_locally",
                    f"AEAT holds it ({row['estado']}); Factu has no such invoice.",
                )
            )
    return differences


def reconcile(nif: str | None = None, connector=connect) -> list[Difference]:
    chains = Chain.objects.all().order_by("issuer_nif", "pk")
    if nif:
        chains = chains.filter(issuer_nif=nif)
    differences: list[Difference] = []
    for chain in chains:
        connection = connector(chain)
        try:
            differences += reconcile_chain(chain, connection.client)
        finally:
            connection.close()
    return differences
