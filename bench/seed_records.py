"""Fast set-up for the benches: real, chained RegistroAlta records, stored in bulk.

Each record is built and hashed exactly as ``verifactu.records.append_alta`` does (same
``alta_data``, same ``build_alta``, chained to the previous one) but the invoices and records
are written with ``bulk_create`` in batches instead of one transaction per invoice, so
10,000 records take seconds, not minutes. The chain row follows each inserted record (the
trigger of verifactu migration 0008), so the chain tail is a real record the write path
appends to.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

BATCH = 2000


def alta_record(data, built, **fields):
    """The ``BillingRecord`` row of a built RegistroAlta, its literals from ``data`` (an
    ``AltaData``) as ``verifactu.records`` stores them; ``fields`` give the rest (chain,
    position, previous, status...)."""
    from verifactu.models import BillingRecord

    return BillingRecord(
        kind=BillingRecord.Kind.ALTA,
        record_type=BillingRecord.RecordType.REGISTRATION,
        issuer_nif=data.nif,
        invoice_number=data.numserie,
        invoice_date_text=data.fecha_expedicion,
        invoice_type=data.tipo_factura,
        cuota_total_text=data.cuota_total,
        importe_total_text=data.importe_total,
        huella=built.huella,
        ref_externa=data.ref_externa,
        xml=built.xml,
        **fields,
    )


def seed_chain(
    tenant,
    count: int,
    *,
    status: str,
    prefix: str,
    invoice_date: date,
    progress: bool = False,
) -> int:
    """Append ``count`` records to the chain of ``tenant``'s taxpayer; returns its length."""
    from django.db import transaction
    from django.utils import timezone

    from verifactu import xml as vxml
    from verifactu.chains import lock_chain, previous_record
    from verifactu.facts import BreakdownFacts, InvoiceFacts
    from verifactu.huella import format_timestamp
    from verifactu.models import BillingRecord, FiscalInvoice
    from verifactu.records import alta_data

    taxpayer, system = tenant.taxpayer, tenant.system
    breakdown = (
        BreakdownFacts(
            base_amount=Decimal("500.00"), tax_rate=Decimal("21.00"), tax_amount=Decimal("105.00")
        ),
        BreakdownFacts(
            base_amount=Decimal("200.00"), tax_rate=Decimal("10.00"), tax_amount=Decimal("20.00")
        ),
    )
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        with transaction.atomic():
            chain = lock_chain(tenant.account, taxpayer.nif, taxpayer.name, system)
            head_id, head_huella = chain.head_id, chain.last_huella
            previous = previous_record(chain)
            generated_at = format_timestamp(timezone.now())
            invoices, records = [], []
            for i in range(size):
                position = chain.length + 1 + i
                facts = InvoiceFacts(
                    issuer_nif=taxpayer.nif,
                    issuer_name=taxpayer.name,
                    invoice_number=f"{prefix}{position:07d}",
                    invoice_date=invoice_date,
                    invoice_type="F1",
                    description="Mantenimiento mensual",
                    breakdown=breakdown,
                    total_amount=Decimal("825.00"),
                    total_tax_amount=Decimal("125.00"),
                    regime_types=("01",),
                    recipient_nif="A28045631",
                    recipient_name="Cliente SA",
                )
                invoice = FiscalInvoice(
                    account=tenant.account,
                    taxpayer=taxpayer,
                    computer_system=system,
                    source=FiscalInvoice.Source.API_V1,
                    issuer_nif=facts.issuer_nif,
                    issuer_name=facts.issuer_name,
                    invoice_number=facts.invoice_number,
                    invoice_date=facts.invoice_date,
                    invoice_type=facts.invoice_type,
                    description=facts.description,
                    regime_types=list(facts.regime_types),
                    recipient_nif=facts.recipient_nif,
                    recipient_name=facts.recipient_name,
                    breakdown=[line.to_json() for line in breakdown],
                    total_amount_cents=82500,
                    total_tax_amount_cents=12500,
                )
                ref = f"{invoice.pk.hex[:24]}-{position}"
                data = alta_data(
                    facts,
                    system=system,
                    previous=previous,
                    generated_at=generated_at,
                    multiple_taxpayers=chain.multiple_taxpayers,
                    ref_externa=ref,
                )
                built = vxml.build_alta(data)
                record = alta_record(
                    data,
                    built,
                    fiscal_invoice=invoice,
                    chain=chain,
                    position=position,
                    previous_id=head_id,
                    previous_huella=head_huella,
                    generated_at_text=generated_at,
                    status=status,
                )
                invoices.append(invoice)
                records.append(record)
                head_id, head_huella = record.pk, record.huella
                previous = vxml.PreviousRecord(
                    data.nif, data.numserie, data.fecha_expedicion, built.huella
                )
            FiscalInvoice.objects.bulk_create(invoices)
            BillingRecord.objects.bulk_create(records)  # the chain row follows (trigger)
            length = record.position
        done += size
        if progress:
            print(f"  seeded {done:,} / {count:,}", flush=True)
    return length
