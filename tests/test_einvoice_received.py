"""Received e-invoices (issue 21, inbound): stored per file, deduplicated, answered, and booked
as the right expense, which the 303 (and the 111) then declare.

The files are the official examples (tests/fixtures/einvoice) and what Factu's own generators
write for an invoice issued to the receiving taxpayer: ``taxpayer`` (B87654323) issues to Acme
(A28045631), the taxpayer of ``other_account``, which imports the file.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from einvoice.facturae import build_facturae
from einvoice.models import ReceivedInvoice, SupplierRule
from einvoice.received import (
    CREATED,
    DUPLICATE,
    INVALID,
    answer,
    awaiting_answer,
    convert_to_expense,
    import_upload,
    save_rule,
)
from einvoice.status import B2BStatus
from einvoice.ubl import build_ubl
from expenses.modelo111 import modelo_111
from expenses.models import Expense, ExpenseCategory
from expenses.summaries import deductible_expense_cents, modelo_303, third_parties_347
from factu.models import Taxpayer
from invoicing.services import DraftLine, issue_invoice
from tests.invoices import issued_refund, retailer
from tests.test_einvoice_facturae import addresses  # noqa: F401 - the parties' addresses
from tests.test_einvoice_inbound import CII_INVOICE, FACTURAE, INVOICE, changed

XML = "application/xml"
ZIP = "application/zip"


@pytest.fixture
def buyer(other_account) -> Taxpayer:
    return other_account.taxpayers.get()


def imported(account, data: bytes, name: str = "factura.xml") -> ReceivedInvoice:
    (outcome,) = import_upload(account, data, XML, name)
    assert outcome.status == CREATED, outcome.problems
    return outcome.invoice


def booked(account, data: bytes) -> Expense:
    return convert_to_expense(imported(account, data))


def figures(expense: Expense) -> dict[str, int | None]:
    fields = [
        "amount_cents",
        "base_cents",
        "iva_cents",
        "iva_rate_bp",
        "surcharge_cents",
        "other_tax_cents",
        "reverse_charge_base_cents",
        "reverse_charge_cents",
        "irpf_withheld_cents",
    ]
    return {name: getattr(expense, name) for name in fields}


def q1_303(taxpayer: Taxpayer) -> dict[str, int]:
    return modelo_303(taxpayer, 2026, 1).values


def zipped(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# ---- importing ----


def test_a_received_file_is_stored_for_the_taxpayer_it_names_as_buyer(account, taxpayer):
    invoice = imported(account, FACTURAE, "minima.xml")

    assert invoice.taxpayer == taxpayer
    assert (invoice.format, invoice.supplier_nif, invoice.number) == (
        "facturae",
        "B12345674",
        "20260001",
    )
    assert (invoice.net_cents, invoice.tax_cents, invoice.total_cents) == (10000, 2100, 12100)
    assert bytes(invoice.original) == FACTURAE
    assert len(invoice.file_sha256) == 64 and invoice.file_name == "minima.xml"
    assert invoice.status == B2BStatus.RECEIVED
    assert invoice.received_on == timezone.localdate()
    assert invoice.taxes == [
        {
            "category": "S",
            "rate_bp": 2100,
            "base_cents": 10000,
            "tax_cents": 2100,
            "exemption_reason_code": None,
        }
    ]
    assert invoice.lines[0]["net_cents"] == 10000
    assert invoice.signature_present is False and invoice.signature_valid is None


def test_the_same_invoice_twice_is_reported_as_a_duplicate_with_when_it_came(account, taxpayer):
    first = imported(account, FACTURAE)

    (again,) = import_upload(account, FACTURAE, XML, "otra-vez.xml")

    assert again.status == DUPLICATE
    assert again.invoice == first
    assert again.received_before == first.received_at
    assert ReceivedInvoice.objects.count() == 1


def test_an_invoice_to_no_taxpayer_of_the_account_is_refused_naming_the_buyer(other_account):
    (outcome,) = import_upload(other_account, FACTURAE, XML, "ajena.xml")

    assert outcome.status == INVALID
    assert "B87654323" in outcome.problems[0].text
    assert "no es ningún contribuyente de esta cuenta" in outcome.problems[0].text
    assert not ReceivedInvoice.objects.exists()


def test_a_zip_stores_the_good_files_and_reports_each_bad_one(account, taxpayer):
    wrong_total = changed(FACTURAE, (b"<InvoiceTotal>121.00<", b"<InvoiceTotal>121.01<"))
    upload = zipped(
        **{"buena.xml": FACTURAE, "mal.xml": wrong_total, "texto.xml": b"<nota>hola</nota>"}
    )

    outcomes = {o.name: o for o in import_upload(account, upload, ZIP, "lote.zip")}

    assert outcomes["buena.xml"].status == CREATED
    assert outcomes["mal.xml"].status == INVALID
    assert outcomes["texto.xml"].status == INVALID
    assert "UBL 2.1" in outcomes["texto.xml"].problems[0].text
    assert ReceivedInvoice.objects.count() == 1


def test_an_official_rule_broken_is_reported_in_spanish_with_the_rule(other_account, buyer):
    broken = changed(
        INVOICE,
        (
            b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
            b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
        ),
    )

    (outcome,) = import_upload(other_account, broken, XML)

    assert outcome.status == INVALID
    texts = [p.text for p in outcome.problems]
    assert any(t.startswith("No cumple las reglas EN 16931, regla BR-CO-15") for t in texts)


def test_a_facturae_batch_with_one_invoice_already_received_stores_only_the_new_one(
    account, taxpayer
):
    imported(account, FACTURAE)
    start, end = FACTURAE.index(b"<Invoice>"), FACTURAE.index(b"</Invoice>") + len(b"</Invoice>")
    second = FACTURAE[start:end].replace(b"<InvoiceNumber>0001<", b"<InvoiceNumber>0002<")
    batch = FACTURAE[:end] + second + FACTURAE[end:]

    outcomes = import_upload(account, batch, XML)

    assert [o.status for o in outcomes] == [DUPLICATE, CREATED]
    assert ReceivedInvoice.objects.count() == 2


def test_a_failure_storing_a_file_leaves_nothing_of_it_and_the_others_are_stored(
    account, taxpayer, monkeypatch
):
    from einvoice import received

    calls = []
    real = received._apply_rule

    def fail_second(invoice):
        calls.append(invoice)
        if len(calls) == 2:
            raise received._Refused(received.Problem("TEST", "falla"))
        real(invoice)

    monkeypatch.setattr(received, "_apply_rule", fail_second)
    start, end = FACTURAE.index(b"<Invoice>"), FACTURAE.index(b"</Invoice>") + len(b"</Invoice>")
    second = FACTURAE[start:end].replace(b"<InvoiceNumber>0001<", b"<InvoiceNumber>0002<")
    batch = FACTURAE[:end] + second + FACTURAE[end:]
    other = FACTURAE.replace(b"<InvoiceNumber>0001<", b"<InvoiceNumber>0003<")

    outcomes = import_upload(account, zipped(**{"lote.xml": batch, "otra.xml": other}), ZIP)

    assert [(o.name, o.status) for o in outcomes] == [("lote.xml", INVALID), ("otra.xml", CREATED)]
    assert list(ReceivedInvoice.objects.values_list("number", flat=True)) == ["20260003"]


# ---- the expense and the 303, per format ----


def test_a_ubl_invoice_becomes_an_expense_with_its_base_and_iva_in_the_303(
    draft, actor, other_account, buyer
):
    invoice = issue_invoice(draft(), actor=actor)

    expense = booked(other_account, build_ubl(invoice))

    assert expense.taxpayer == buyer and expense.date == dt.date(2026, 3, 13)
    assert expense.supplier_nif == "B87654323"
    assert figures(expense) == {
        "amount_cents": 121000,
        "base_cents": 100000,
        "iva_cents": 21000,
        "iva_rate_bp": 2100,
        "surcharge_cents": 0,
        "other_tax_cents": 0,
        "reverse_charge_base_cents": 0,
        "reverse_charge_cents": 0,
        "irpf_withheld_cents": 0,
    }
    values = q1_303(buyer)
    assert (values["soportado_base"], values["soportado_cuota"]) == (100000, 21000)
    assert values["resultado"] == -21000


@pytest.mark.parametrize("build", [build_ubl, build_facturae], ids=["UBL", "Facturae"])
def test_an_invoice_with_irpf_books_the_withholding_for_the_111_not_the_303(
    issued, other_account, buyer, build
):
    expense = booked(other_account, build(issued))

    assert (expense.amount_cents, expense.base_cents, expense.iva_cents) == (121000, 100000, 21000)
    assert (expense.irpf_base_cents, expense.irpf_withheld_cents) == (100000, 15000)
    values = q1_303(buyer)
    assert (values["soportado_base"], values["soportado_cuota"]) == (100000, 21000)
    m111 = modelo_111(buyer, 2026, 1)
    assert m111.perceptores == 1
    assert m111.values == {"base": 100000, "retenciones": 15000, "resultado": 15000}


def test_a_ubl_prepaid_amount_without_factus_irpf_note_stays_a_prepayment(issued, other_account):
    without_note = re.sub(rb"<cbc:Note>[^<]*</cbc:Note>", b"", build_ubl(issued))

    invoice = imported(other_account, without_note)

    assert invoice.withholdings == [] and invoice.irpf_withheld_cents == 0
    assert invoice.payable_cents == invoice.total_cents - 15000


def cii_to_us(supplier_vat: bytes | None = None) -> bytes:
    """The CEN CII example dated 2026, to our taxpayer B87654323 (and from ``supplier_vat``)."""
    document = CII_INVOICE.replace(
        b'<udt:DateTimeString format="102">20150109<', b'<udt:DateTimeString format="102">20260109<'
    )
    replacements = [
        (
            b"</ram:PostalTradeAddress>\n            </ram:BuyerTradeParty>",
            b"</ram:PostalTradeAddress>\n<ram:SpecifiedTaxRegistration>"
            b'<ram:ID schemeID="VA">ESB87654323</ram:ID></ram:SpecifiedTaxRegistration>\n'
            b"            </ram:BuyerTradeParty>",
        )
    ]
    if supplier_vat:
        replacements.append(
            (b'schemeID="VA">NL8200.98.395.B.01<', b'schemeID="VA">' + supplier_vat + b"<")
        )
    return changed(document, *replacements)


def test_an_expense_with_irpf_withheld_is_left_out_of_the_347(issued, draft, actor, other_account):
    withheld = booked(other_account, build_facturae(issued))
    plain = booked(other_account, build_facturae(issue_invoice(draft(), actor=actor)))

    parties = third_parties_347([], [withheld, plain], 0)

    assert [(p.nif, p.total_cents) for p in parties] == [("B87654323", 121000)]


def test_a_cii_invoice_with_two_rates_adds_both_cuotas_to_the_303(account, taxpayer):
    spanish = cii_to_us(b"ESB12345674")

    expense = booked(account, spanish)

    assert (expense.amount_cents, expense.base_cents, expense.iva_cents) == (25033, 22960, 2073)
    assert expense.iva_rate_bp is None  # 6 % and 21 %
    values = q1_303(taxpayer)
    assert (values["soportado_base"], values["soportado_cuota"]) == (22960, 2073)


def test_vat_charged_by_a_foreign_supplier_is_cost_not_iva_soportado(account, taxpayer):
    to_us = cii_to_us()

    expense = booked(account, to_us)

    assert expense.supplier_nif == "NL8200.98.395.B.01"
    assert (expense.iva_cents, expense.other_tax_cents) == (0, 2073)
    assert q1_303(taxpayer)["soportado_cuota"] == 0
    assert deductible_expense_cents(expense) == 25033


@pytest.mark.parametrize("build", [build_ubl, build_facturae], ids=["UBL", "Facturae"])
def test_reverse_charge_is_accrued_and_deducted_in_the_303(
    draft, actor, other_account, buyer, build
):
    works = DraftLine("Obra", 100, 50000, "inversion_sujeto_pasivo")
    invoice = issue_invoice(draft([works]), actor=actor)

    expense = booked(other_account, build(invoice))

    assert (expense.amount_cents, expense.iva_cents) == (50000, 0)
    assert (expense.reverse_charge_base_cents, expense.reverse_charge_cents) == (50000, 10500)
    values = q1_303(buyer)
    assert (values["isp_base"], values["isp_cuota"]) == (50000, 10500)
    assert values["total_devengado"] == 10500
    assert (values["soportado_base"], values["soportado_cuota"]) == (50000, 10500)
    assert values["resultado"] == 0


def test_reverse_charge_is_accrued_even_when_the_expense_is_not_deductible(
    draft, actor, other_account, buyer
):
    works = DraftLine("Obra", 100, 50000, "inversion_sujeto_pasivo")
    expense = booked(other_account, build_ubl(issue_invoice(draft([works]), actor=actor)))
    Expense.objects.filter(pk=expense.pk).update(is_deductible=False)

    values = q1_303(buyer)

    assert (values["isp_cuota"], values["soportado_cuota"], values["resultado"]) == (
        10500,
        0,
        10500,
    )


@pytest.mark.parametrize("build", [build_ubl, build_facturae], ids=["UBL", "Facturae"])
def test_recargo_paid_is_cost_and_not_deductible(taxpayer, draft, actor, other_account, build):
    shop = Taxpayer.objects.create(account=other_account, nif="B12345674", name="Tienda Paz SL")
    line = DraftLine("Género", quantity=100, unit_price=100000, iva_type="general")
    invoice = issue_invoice(draft([line], client=retailer(taxpayer)), actor=actor)

    expense = booked(other_account, build(invoice))

    assert expense.taxpayer == shop
    assert (expense.amount_cents, expense.base_cents) == (126200, 100000)
    assert (expense.iva_cents, expense.iva_rate_bp, expense.surcharge_cents) == (21000, 2100, 5200)
    assert q1_303(shop)["soportado_cuota"] == 21000
    assert deductible_expense_cents(expense) == 105200


@pytest.mark.parametrize("build", [build_ubl, build_facturae], ids=["UBL", "Facturae"])
@pytest.mark.parametrize(
    ("iva_type", "tax"), [("igic_general", 3500), ("ipsi_4", 2000)], ids=["IGIC", "IPSI"]
)
def test_igic_and_ipsi_paid_stay_outside_the_303(
    draft, actor, other_account, buyer, build, iva_type, tax
):
    line = DraftLine("Servicio", 100, 50000, iva_type)
    expense = booked(other_account, build(issue_invoice(draft([line]), actor=actor)))

    assert (expense.amount_cents, expense.iva_cents, expense.other_tax_cents) == (
        50000 + tax,
        0,
        tax,
    )
    values = q1_303(buyer)
    assert (values["soportado_base"], values["soportado_cuota"], values["resultado"]) == (0, 0, 0)


def test_a_ubl_credit_note_becomes_a_negative_expense(
    draft, actor, rect_series, other_account, buyer
):
    _, refund = issued_refund(draft, actor, rect_series)

    expense = booked(other_account, build_ubl(refund))

    assert (expense.amount_cents, expense.base_cents, expense.iva_cents) == (-12100, -10000, -2100)
    assert expense.description.startswith("Abono ")
    assert q1_303(buyer)["soportado_cuota"] == -2100


def test_an_invoice_is_converted_once(account, taxpayer):
    invoice = imported(account, FACTURAE)
    convert_to_expense(invoice)

    with pytest.raises(ValidationError) as refused:
        convert_to_expense(invoice)
    assert "expense" in refused.value.message_dict
    assert Expense.objects.count() == 1


def test_a_supplier_rule_books_its_invoices_with_the_category_on_import(account, taxpayer):
    software = ExpenseCategory.objects.get(name="Software y tecnología")
    save_rule(account, "ES B12345674", software)

    invoice = imported(account, FACTURAE)

    assert invoice.expense is not None
    assert invoice.expense.category == software
    assert SupplierRule.objects.get().supplier_nif == "B12345674"


def test_a_rule_cannot_take_another_accounts_category(account, other_account):
    theirs = ExpenseCategory.objects.create(account=other_account, name="Suya")

    with pytest.raises(ValidationError) as refused:
        save_rule(account, "B12345674", theirs)
    assert "categoryId" in refused.value.message_dict


# ---- answers to the supplier ----


def test_a_rejection_needs_a_reason_and_is_final(account, taxpayer):
    invoice = imported(account, FACTURAE)

    with pytest.raises(ValidationError) as refused:
        answer(invoice, B2BStatus.REJECTED)
    assert "reason" in refused.value.message_dict

    answer(invoice, B2BStatus.REJECTED, reason="Precio distinto del pedido")
    with pytest.raises(ValidationError) as again:
        answer(invoice, B2BStatus.ACCEPTED)
    assert "status" in again.value.message_dict
    assert list(invoice.events.values_list("status", "reason")) == [
        ("rejected", "Precio distinto del pedido")
    ]


def test_paying_records_date_and_amount_and_marks_the_expense_paid(account, taxpayer):
    invoice = imported(account, FACTURAE)
    expense = convert_to_expense(invoice)
    Expense.objects.filter(pk=expense.pk).update(paid=False)
    answer(invoice, B2BStatus.ACCEPTED)

    with pytest.raises(ValidationError) as refused:
        answer(invoice, B2BStatus.PAID, paid_on=None, paid_cents=0)
    assert set(refused.value.message_dict) == {"paidOn", "paidAmount"}
    answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 20), paid_cents=12100)

    invoice.refresh_from_db()
    assert invoice.status == B2BStatus.PAID
    assert [e.status for e in invoice.events.all()] == ["accepted", "paid"]
    assert invoice.events.last().paid_cents == 12100
    assert Expense.objects.get(pk=expense.pk).paid is True


def test_the_reminder_lists_the_unanswered_within_their_four_days(account, taxpayer):
    invoice = imported(account, FACTURAE)
    today = timezone.localdate()

    assert list(awaiting_answer(account, today)) == [invoice]
    assert invoice.days_left(today) == 4
    assert list(awaiting_answer(account, today + dt.timedelta(days=5))) == []
    answer(invoice, B2BStatus.ACCEPTED)
    assert list(awaiting_answer(account, today)) == []


def test_the_answers_to_suppliers_go_into_the_provisional_status_report(account, taxpayer):
    from einvoice import reporting

    invoice = imported(account, FACTURAE)
    answer(invoice, B2BStatus.REJECTED, reason="Precio distinto del pedido")
    today = timezone.localdate()

    records = reporting.status_records(taxpayer, today, today)

    assert [(r.direction, r.invoice_number, r.status, r.reason) for r in records] == [
        ("recibida", invoice.number, "rejected", "Precio distinto del pedido")
    ]
    assert records[0].counterpart_nif == invoice.supplier_nif


def test_payments_to_a_supplier_may_be_partial_but_never_above_what_is_due(account, taxpayer):
    invoice = imported(account, FACTURAE)  # 121,00 € due, issued on 15/01/2026

    with pytest.raises(ValidationError) as early:
        answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 14), paid_cents=100)
    assert "anterior" in early.value.message_dict["paidOn"][0]
    with pytest.raises(ValidationError) as too_much:
        answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 20), paid_cents=12101)
    assert "supera" in too_much.value.message_dict["paidAmount"][0]

    answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 20), paid_cents=6000)
    with pytest.raises(ValidationError):
        answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 21), paid_cents=6101)
    answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 21), paid_cents=6100)

    with pytest.raises(ValidationError) as settled:
        answer(invoice, B2BStatus.PAID, paid_on=dt.date(2026, 1, 22), paid_cents=1)
    assert "status" in settled.value.message_dict
    assert list(invoice.events.values_list("paid_cents", flat=True)) == [6000, 6100]


def test_a_received_invoice_booked_meanwhile_is_not_booked_twice(account, taxpayer):
    invoice = imported(account, FACTURAE)
    stale = ReceivedInvoice.objects.get(pk=invoice.pk)  # as a second click loaded it
    convert_to_expense(invoice)

    with pytest.raises(ValidationError) as refused:
        convert_to_expense(stale)

    assert "expense" in refused.value.message_dict
    assert Expense.objects.filter(taxpayer=taxpayer).count() == 1


def test_tobacco_under_recargo_in_a_ubl_is_split_into_iva_and_its_recargo(
    taxpayer, draft, actor, other_account
):
    shop = Taxpayer.objects.create(account=other_account, nif="B12345674", name="Tienda Paz SL")
    line = DraftLine("Tabaco", 100, 10000, "general", tobacco=True)
    invoice = issue_invoice(draft([line], client=retailer(taxpayer)), actor=actor)

    expense = booked(other_account, build_ubl(invoice))

    assert expense.taxpayer == shop
    assert (expense.iva_cents, expense.iva_rate_bp, expense.surcharge_cents) == (2100, 2100, 175)
    assert q1_303(shop)["soportado_cuota"] == 2100


def test_editing_a_booked_expenses_base_drops_the_files_iva_base_for_box_28(account, taxpayer):
    from expenses.services import update_expense

    expense = booked(account, FACTURAE)
    Expense.objects.filter(pk=expense.pk).update(iva_base_cents=10000)
    expense.refresh_from_db()
    data = {
        "date": expense.date,
        "description": expense.description,
        "amount_cents": 24200,
        "base_cents": 20000,
        "iva_rate_bp": 2100,
    }

    update_expense(expense, data)

    expense.refresh_from_db()
    assert expense.iva_base_cents is None and expense.iva_cents == 4200


def test_the_expense_lists_deductible_total_counts_the_recargo_paid_as_the_130_does(
    taxpayer, draft, actor, other_account
):
    from expenses.services import expense_totals

    shop = Taxpayer.objects.create(account=other_account, nif="B12345674", name="Tienda Paz SL")
    line = DraftLine("Género", quantity=100, unit_price=100000, iva_type="general")
    expense = booked(
        other_account,
        build_ubl(issue_invoice(draft([line], client=retailer(taxpayer)), actor=actor)),
    )

    totals = expense_totals(Expense.objects.filter(taxpayer=shop))

    assert totals["deductible"] == deductible_expense_cents(expense) == 105200


def test_a_facturae_reverse_charge_line_beside_a_zero_rated_one_keeps_each_its_category(
    draft, actor
):
    from einvoice.inbound import read_received

    works = DraftLine("Obra", 100, 50000, "inversion_sujeto_pasivo")
    bread = DraftLine("Pan", 100, 1000, "cero")
    invoice = issue_invoice(draft([works, bread]), actor=actor)

    (document,) = read_received(build_facturae(invoice)).documents

    assert [(line.description, line.category) for line in document.lines] == [
        ("Obra", "AE"),
        ("Pan", "Z"),
    ]
