"""Invoices: numbering, issue (and its billing record), statuses, immutability, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from clients.services import create_client
from invoicing.models import Invoice, InvoiceLine, InvoiceLocked, InvoiceStatus, Series
from invoicing.services import (
    DraftLine,
    InvalidTransition,
    cancel_invoice,
    create_draft,
    issue_invoice,
    mark_overdue,
    mark_paid,
    rectify_invoice,
    update_draft,
)
from tests.invoices import CONSULTING, ISSUE
from verifactu.models import BillingRecord, RecordStatus


def test_the_seed_example_totals_106000(draft):
    invoice = draft(irpf_bp=1500)
    assert (invoice.subtotal_cents, invoice.iva_cents, invoice.irpf_cents, invoice.total_cents) == (
        100000,
        21000,
        15000,
        106000,
    )
    assert invoice.number.startswith("Borrador ") and invoice.status == InvoiceStatus.DRAFT


def test_issued_invoices_take_consecutive_numbers_per_series_and_year(draft, actor):
    assert issue_invoice(draft(issue_date=date(2025, 1, 2)), actor=actor).number == "2025-A-001"
    numbers = [issue_invoice(draft(), actor=actor).number for _ in range(3)]
    assert numbers == ["2026-A-001", "2026-A-002", "2026-A-003"]


def test_a_cancelled_draft_leaves_no_gap(draft, actor):
    first = draft()
    cancel_invoice(first, actor=actor)
    first.refresh_from_db()
    assert first.is_discarded_draft and not first.cancelled_before_issue
    assert issue_invoice(draft(), actor=actor).number == "2026-A-001"


def test_issuing_registers_the_verifactu_record(draft, actor):
    invoice = issue_invoice(draft(irpf_bp=1500), actor=actor)
    assert invoice.status == InvoiceStatus.SENT and invoice.issued_at
    record = invoice.fiscal_invoice.records.get()
    assert record.status == RecordStatus.QUEUED
    # The VERI*FACTU total leaves IRPF out: 1,210.00, not 1,060.00.
    assert (record.importe_total_text, record.cuota_total_text) == ("1210.00", "210.00")
    assert invoice.client_name == "Acme SL" and invoice.issuer_nif == "B87654323"
    assert [e.action for e in invoice.events.all()] == ["created", "issued"]


def test_issued_parties_are_frozen(draft, actor, acme):
    invoice = issue_invoice(draft(), actor=actor)
    acme.name = "Acme Renamed SL"
    acme.save()
    invoice.refresh_from_db()
    assert invoice.client_name == "Acme SL"


def test_an_issued_invoice_is_immutable(draft, actor):
    invoice = issue_invoice(draft(), actor=actor)
    invoice.total_cents = 1
    with pytest.raises(InvoiceLocked):
        invoice.save()
    with pytest.raises(InvoiceLocked):
        invoice.delete()
    line = invoice.lines.get()
    line.unit_price_cents = 1
    with pytest.raises(InvoiceLocked):
        line.save()
    with pytest.raises(InvoiceLocked):
        line.delete()
    with pytest.raises(InvalidTransition):
        update_draft(
            invoice, client=invoice.client, issue_date=ISSUE, lines=[CONSULTING], actor=actor
        )


def test_a_draft_can_be_edited(draft, actor, acme):
    invoice = draft()
    update_draft(
        invoice,
        client=acme,
        issue_date=ISSUE,
        actor=actor,
        lines=[CONSULTING, DraftLine("Extra", 200, 5000, "reducido")],
    )
    assert invoice.lines.count() == 2
    assert invoice.total_cents == 121000 + 11000


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["sent"], True),
        (["cancelled"], True),
        (["paid"], False),
        (["sent", "paid"], True),
        (["sent", "paid", "cancelled"], True),
        (["sent", "sent"], False),
        (["cancelled", "sent"], False),
        (["sent", "cancelled", "paid"], False),
    ],
)
def test_status_transitions(draft, actor, path, allowed):
    invoice = draft()
    paid_at = datetime(2026, 3, 20, tzinfo=UTC)
    actions = {
        "sent": lambda inv: issue_invoice(inv, actor=actor),
        "paid": lambda inv: mark_paid(inv, paid_at=paid_at, actor=actor),
        "cancelled": lambda inv: cancel_invoice(inv, actor=actor),
    }

    def run():
        current = invoice
        for step in path:
            current = actions[step](current)
        return current

    if allowed:
        assert run().status == path[-1]
    else:
        with pytest.raises(InvalidTransition):
            run()


def test_cancelling_an_issued_invoice_chains_an_anulacion(draft, actor):
    invoice = issue_invoice(draft(), actor=actor)
    cancel_invoice(invoice, actor=actor)
    kinds = list(invoice.fiscal_invoice.records.order_by("position").values_list("kind", flat=True))
    assert kinds == [BillingRecord.Kind.ALTA, BillingRecord.Kind.ANULACION]


def test_overdue_task_marks_sent_invoices_past_due(draft, actor):
    invoice = issue_invoice(draft(due_date=ISSUE + timedelta(days=30)), actor=actor)
    assert mark_overdue(today=ISSUE + timedelta(days=30)) == 0
    assert mark_overdue(today=ISSUE + timedelta(days=31)) == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OVERDUE
    paid = mark_paid(invoice, paid_at=datetime(2026, 5, 1, tzinfo=UTC), actor=actor)
    assert paid.status == InvoiceStatus.PAID
    assert mark_overdue(today=ISSUE + timedelta(days=90)) == 0


def test_issue_dates_follow_the_series_order(draft, actor):
    first = draft(issue_date=date(2026, 3, 10))
    second = draft(issue_date=date(2026, 3, 5))
    issue_invoice(first, actor=actor)
    with pytest.raises(ValidationError) as exc:
        issue_invoice(second, actor=actor)
    assert "2026-A-001" in exc.value.message_dict["issueDate"][0]
    second.refresh_from_db()
    assert second.status == InvoiceStatus.DRAFT and second.sequence is None
    assert not BillingRecord.objects.filter(invoice_number="2026-A-002").exists()


def test_a_draft_made_first_and_issued_later_takes_the_later_number(draft, actor):
    first = draft(issue_date=date(2026, 3, 1))
    second = draft(issue_date=date(2026, 3, 5))
    assert issue_invoice(second, actor=actor).number == "2026-A-001"
    first.issue_date = date(2026, 3, 6)
    first.save()
    assert issue_invoice(first, actor=actor).number == "2026-A-002"


def test_no_series_may_go_back_before_the_taxpayers_last_registered_invoice(
    draft, actor, taxpayer, acme
):
    issue_invoice(draft(issue_date=date(2026, 3, 10)), actor=actor)
    other = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="B")
    earlier = create_draft(
        taxpayer,
        series=other,
        client=acme,
        issue_date=date(2026, 3, 5),
        lines=[CONSULTING],
        actor=actor,
    )
    with pytest.raises(ValidationError) as exc:
        issue_invoice(earlier, actor=actor)
    assert exc.value.message_dict["issueDate"] == [
        "El último registro de facturación (2026-A-001) es del 10/03/2026: "
        "la fecha no puede ser anterior."
    ]
    earlier.refresh_from_db()
    assert earlier.status == InvoiceStatus.DRAFT


def test_rectificativa_by_differences(draft, actor, rect_series):
    original = issue_invoice(draft(), actor=actor)
    rect = rectify_invoice(
        original,
        series=rect_series,
        rectification_type="I",
        lines=[DraftLine("Descuento", 100, -10000, "general")],
        issue_date=ISSUE,
        actor=actor,
    )
    assert rect.total_cents == -12100 and rect.invoice_type == "R1"
    issued = issue_invoice(rect, actor=actor)
    record = issued.fiscal_invoice.records.get()
    assert "<TipoRectificativa>I</TipoRectificativa>" in record.xml
    assert f"<NumSerieFactura>{original.number}</NumSerieFactura>" in record.xml
    assert record.importe_total_text == "-121.00"


def _substitute(original, rect_series, actor):
    """Issue a rectificativa by substitution of ``original``; its billing record."""
    rect = rectify_invoice(
        original,
        series=rect_series,
        rectification_type="S",
        lines=[DraftLine("Consultoría corregida", 100, 90000, "general")],
        issue_date=ISSUE,
        actor=actor,
    )
    return issue_invoice(rect, actor=actor).fiscal_invoice.records.get()


def test_rectificativa_by_substitution_carries_the_rectified_amounts(draft, actor, rect_series):
    original = issue_invoice(draft(), actor=actor)
    record = _substitute(original, rect_series, actor)
    assert "<BaseRectificada>1000.00</BaseRectificada>" in record.xml
    assert "<CuotaRectificada>210.00</CuotaRectificada>" in record.xml
    assert "CuotaRecargoRectificado" not in record.xml  # no recargo to rectify


def test_a_draft_cannot_be_rectified(draft, actor, rect_series):
    with pytest.raises(InvalidTransition):
        rectify_invoice(
            draft(),
            series=rect_series,
            rectification_type="I",
            lines=[CONSULTING],
            issue_date=ISSUE,
            actor=actor,
        )


def test_simplified_invoices_need_no_client_and_stay_under_3000(taxpayer, actor):
    f2 = Series.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, code="T", kind=Series.Kind.SIMPLIFIED
    )
    ticket = create_draft(
        taxpayer,
        series=f2,
        client=None,
        issue_date=ISSUE,
        actor=actor,
        lines=[DraftLine("Café", 200, 150, "reducido")],
    )
    issued = issue_invoice(ticket, actor=actor)
    assert "<Destinatarios>" not in issued.fiscal_invoice.records.get().xml
    too_big = create_draft(
        taxpayer,
        series=f2,
        client=None,
        issue_date=ISSUE,
        actor=actor,
        lines=[DraftLine("Equipo", 100, 300000, "general")],
    )
    from verifactu.records import RecordRefused

    with pytest.raises(RecordRefused) as exc:
        issue_invoice(too_big, actor=actor)
    assert ("total_amount", "1150") in {(p.field, p.code) for p in exc.value.problems}


def test_a_full_invoice_needs_a_client_to_be_issued(taxpayer, series, actor):
    invoice = create_draft(
        taxpayer, series=series, client=None, issue_date=ISSUE, actor=actor, lines=[CONSULTING]
    )
    with pytest.raises(ValidationError) as exc:
        issue_invoice(invoice, actor=actor)
    assert "clientId" in exc.value.message_dict


def test_bad_lines_are_refused_with_the_field(taxpayer, series, acme, actor):
    with pytest.raises(ValidationError) as exc:
        create_draft(
            taxpayer,
            series=series,
            client=acme,
            issue_date=ISSUE,
            actor=actor,
            lines=[DraftLine("", 100, 100, "general"), DraftLine("X", -1, 100, "bogus")],
        )
    fields = exc.value.message_dict
    assert "lines.0.description" in fields and "lines.1" in fields
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


def test_exempt_line_with_irpf(draft):
    invoice = draft(lines=[DraftLine("Formación", 100, 100000, "exento", cause="E1")], irpf_bp=1500)
    assert (invoice.iva_cents, invoice.total_cents) == (0, 85000)


@pytest.fixture
def shop(taxpayer):
    """A client under recargo de equivalencia."""
    return create_client(
        taxpayer,
        {"name": "Tienda", "nif": "12345678Z", "country": "ES", "recargo_equivalencia": True},
    )


def test_recargo_de_equivalencia_for_a_client_that_has_it(taxpayer, series, actor, shop):
    invoice = create_draft(
        taxpayer, series=series, client=shop, issue_date=ISSUE, actor=actor, lines=[CONSULTING]
    )
    assert (invoice.surcharge_cents, invoice.total_cents) == (5200, 126200)
    record = issue_invoice(invoice, actor=actor).fiscal_invoice.records.get()
    assert "<ClaveRegimen>18</ClaveRegimen>" in record.xml
    assert "<TipoRecargoEquivalencia>5.20</TipoRecargoEquivalencia>" in record.xml


def _lint_errors(record, tmp_path) -> set[str]:
    from verifactu_lint.registros import lee
    from verifactu_lint.reglas import audita

    path = tmp_path / "record.xml"
    path.write_text(record.xml, encoding="utf-8")
    return {h.regla for h in audita(lee(path)).errores}


def test_an_invoice_with_irpf_recargo_and_per_group_rounding_registers_its_exact_total(
    taxpayer, series, actor, shop, tmp_path
):
    lines = [
        DraftLine("Tornillos", 333, 1999, "general"),  # 66.57: IVA and recargo round
        DraftLine("Libros", 150, 1234, "superreducido"),
        DraftLine("Fruta", 700, 333, "reducido", discount_bp=750),
    ]
    invoice = create_draft(
        taxpayer,
        series=series,
        client=shop,
        issue_date=ISSUE,
        actor=actor,
        lines=lines,
        irpf_bp=1500,
    )
    assert invoice.irpf_cents > 0 and invoice.surcharge_cents > 0
    record = issue_invoice(invoice, actor=actor).fiscal_invoice.records.get()
    # ImporteTotal: bases + IVA + recargo, IRPF left out (the client pays total_cents)
    fiscal = invoice.subtotal_cents + invoice.iva_cents + invoice.surcharge_cents
    assert record.importe_total_text == f"{fiscal / 100:.2f}"
    assert fiscal == invoice.total_cents + invoice.irpf_cents
    assert _lint_errors(record, tmp_path) == set()


def test_a_substitutive_rectificativa_declares_the_recargo_apart(
    taxpayer, series, rect_series, actor, shop
):
    original = issue_invoice(
        create_draft(
            taxpayer, series=series, client=shop, issue_date=ISSUE, actor=actor, lines=[CONSULTING]
        ),
        actor=actor,
    )
    record = _substitute(original, rect_series, actor)
    assert "<BaseRectificada>1000.00</BaseRectificada>" in record.xml
    assert "<CuotaRectificada>210.00</CuotaRectificada>" in record.xml
    assert "<CuotaRecargoRectificado>52.00</CuotaRecargoRectificado>" in record.xml


def test_an_export_is_declared_under_regime_02(taxpayer, series, actor):
    buyer = create_client(
        taxpayer,
        {"name": "Buyer Inc", "country": "US", "id_type": "04", "foreign_id": "123456789"},
    )
    invoice = create_draft(
        taxpayer,
        series=series,
        client=buyer,
        issue_date=ISSUE,
        actor=actor,
        lines=[DraftLine("Maquinaria", 100, 500000, "exento", cause="E2")],
    )
    record = issue_invoice(invoice, actor=actor).fiscal_invoice.records.get()
    assert "<ClaveRegimen>02</ClaveRegimen><OperacionExenta>E2</OperacionExenta>" in record.xml
