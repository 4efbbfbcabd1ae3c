"""A draft's lines: what the form or an API sends (:class:`DraftLine`), checked and turned
into the line inputs of :func:`invoicing.taxes.compute_totals`, stored as rows, and the
totals they add up to (the stored totals, and the form's live preview)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError

from clients.models import Client
from invoicing import taxes
from invoicing.models import DraftLine, Invoice, InvoiceLine


def line_inputs(
    lines: Sequence[DraftLine], rectificativa: bool, surcharge: bool = False
) -> list[taxes.LineInput]:
    """The lines as checked line inputs; every problem at once, as a ``ValidationError``
    keyed ``lines.N.field``."""
    errors: dict[str, list[str]] = {}
    inputs = []
    if not lines:
        raise ValidationError({"lines": ["Añada al menos una línea."]})
    for i, line in enumerate(lines):
        if not (line.description or "").strip():
            errors.setdefault(f"lines.{i}.description", []).append("Indique el concepto.")
        if not rectificativa:
            for name, value in (("quantity", line.quantity), ("unitPrice", line.unit_price)):
                if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                    errors.setdefault(f"lines.{i}.{name}", []).append(
                        "Solo una rectificativa admite cantidades o precios negativos."
                    )
        if line.tobacco and not surcharge:
            errors.setdefault(f"lines.{i}.tobacco", []).append(
                "El recargo del tabaco (1,75 %) solo se aplica a clientes en recargo de "
                "equivalencia."
            )
        elif line.tobacco and line.iva_type != taxes.GENERAL:
            errors.setdefault(f"lines.{i}.tobacco", []).append(
                "El recargo del tabaco (1,75 %) va con el IVA general (21 %)."
            )
        try:
            inputs.append(
                taxes.LineInput(
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    iva_type=line.iva_type,
                    discount_bp=line.discount_bp,
                    cause=line.cause,
                    tobacco=line.tobacco,
                    regime=line.regime,
                )
            )
        except (TypeError, ValueError) as exc:
            if f"lines.{i}.tobacco" in errors:
                continue
            errors.setdefault(f"lines.{i}", []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    try:
        taxes.compute_totals(inputs, rectificativa=rectificativa)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"lines": [str(exc)]}) from None
    return inputs


def line_fields(line: DraftLine) -> dict:
    """A draft line's stored columns, as an invoice line (or a recurring plan's) keeps them."""
    return {
        "description": line.description.strip(),
        "quantity": line.quantity,
        "unit_price_cents": line.unit_price,
        "discount_bp": line.discount_bp,
        "iva_type": line.iva_type,
        "cause": line.cause,
        "tobacco": line.tobacco,
        "regime": line.regime,
    }


def line_columns(lines: Sequence[DraftLine], totals: taxes.InvoiceTotals) -> list[dict]:
    """The draft lines as the columns of stored lines (:class:`invoicing.models.LineColumns`),
    with their position and amount."""
    return [
        {"position": i + 1, **line_fields(line), "amount_cents": totals.lines[i]}
        for i, line in enumerate(lines)
    ]


def line_rows(
    invoice: Invoice, lines: Sequence[DraftLine], totals: taxes.InvoiceTotals
) -> list[InvoiceLine]:
    """The draft lines as (unsaved) rows of ``invoice``."""
    return [InvoiceLine(invoice=invoice, **columns) for columns in line_columns(lines, totals)]


def store_lines(invoice: Invoice, lines: Sequence[DraftLine], totals: taxes.InvoiceTotals) -> None:
    """Replace the draft's stored lines with ``lines``."""
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(line_rows(invoice, lines, totals))


def apply_totals(invoice: Invoice, totals: taxes.InvoiceTotals) -> None:
    """Set the invoice's stored totals."""
    invoice.subtotal_cents = totals.subtotal_cents
    invoice.iva_cents = totals.iva_cents
    invoice.surcharge_cents = totals.surcharge_cents
    invoice.irpf_cents = totals.irpf_cents
    invoice.total_cents = totals.total_cents


def preview_totals(
    lines: Sequence[DraftLine],
    *,
    irpf_bp: int = 0,
    surcharge: bool = False,
    rectificativa: bool = False,
    client: Client | None = None,
) -> taxes.InvoiceTotals:
    """Totals of lines not yet saved (the draft form's live totals use this). With a
    ``client``, recargo de equivalencia follows the client, as when the draft is saved."""
    surcharge = surcharge or bool(client and client.recargo_equivalencia)
    inputs = line_inputs(lines, rectificativa, surcharge)
    return taxes.compute_totals(
        inputs, irpf_bp=irpf_bp, surcharge=surcharge, rectificativa=rectificativa
    )
