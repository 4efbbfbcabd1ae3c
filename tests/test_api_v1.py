"""The VERI*FACTU API (/api/v1), to the letter of seed 003."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.v1.json import DecimalJSONRenderer
from api.v1.serializers import InvoiceInputSerializer
from tests.payloads import SEED_003_INVOICE, acme_erp_system
from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus

D = Decimal


def body(example: dict | None = None, **overrides) -> str:
    """JSON text as an integrator sends it: amounts as JSON numbers like ``825.00``."""
    data = {**(example or SEED_003_INVOICE), **overrides}
    return DecimalJSONRenderer().render(data).decode()


def loads(text: str) -> dict:
    return json.loads(text, parse_float=Decimal)


@pytest.fixture
def v1(api_client, taxpayer, computer_system):
    def post(path: str, payload: str | dict, **headers):
        data = payload if isinstance(payload, str) else body(payload)
        return api_client.post(
            f"/api/v1/{path}", data=data, content_type="application/json", **headers
        )

    api_client.post_json = post
    api_client.ids = {
        "taxpayer_id": str(taxpayer.pk),
        "computer_system_id": str(computer_system.pk),
    }
    return api_client


def register(v1, **overrides):
    payload = {**loads(body()), **v1.ids, **overrides}
    return v1.post_json("invoices", body(payload))


def test_seed_example_registers_and_answers_201(v1):
    response = register(v1)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["message"] == "Invoice registered successfully."
    data = answer["data"]
    assert set(data) == {"id", "invoice_number", "hash", "qr_url", "aeat_status", "record_type"}
    assert data["invoice_number"] == "F-2026-042"
    assert len(data["hash"]) == 64 and data["hash"] == data["hash"].upper()
    assert data["qr_url"].startswith("https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR?nif=")
    assert data["qr_url"].endswith("&importe=825.00")
    assert (data["aeat_status"], data["record_type"]) == ("queued", "registration")
    record = BillingRecord.objects.get()
    assert record.huella == data["hash"]


def test_amounts_are_written_as_json_numbers_with_two_decimals(v1):
    invoice_id = register(v1).json()["data"]["id"]
    raw = v1.get(f"/api/v1/invoices/{invoice_id}").content.decode()
    assert '"total_amount": 825.00' in raw or '"total_amount":825.00' in raw
    assert '"base_amount":500.00' in raw.replace(" ", "")
    detail = json.loads(raw, parse_float=Decimal)["data"]
    assert detail["total_amount"] == Decimal("825.00")


def test_detail_has_every_posted_field_and_the_records(v1):
    invoice_id = register(v1).json()["data"]["id"]
    detail = v1.get(f"/api/v1/invoices/{invoice_id}").json()["data"]
    for field in (
        "invoice_number",
        "invoice_date",
        "invoice_type",
        "description",
        "regime_types",
        "recipient_nif",
        "recipient_name",
        "breakdown",
        "total_amount",
        "total_tax_amount",
        "taxpayer_id",
        "computer_system_id",
    ):
        assert field in detail
    assert detail["invoice_date"] == "2026-03-13"
    assert detail["breakdown"][0] == {
        "tax_type": "01",
        "regime_type": "01",
        "operation_type": "S1",
        "base_amount": 500.0,
        "tax_rate": 21.0,
        "tax_amount": 105.0,
        "surcharge_rate": None,
        "surcharge_amount": None,
    }
    assert detail["previous_hash"] is None
    assert [r["record_type"] for r in detail["records"]] == ["registration"]
    assert detail["records"][0]["hash"] == detail["hash"]
    assert detail["aeat_status"] == "queued" and detail["csv"] is None


def test_amounts_as_numeric_strings_are_accepted(v1):
    payload = loads(body())
    payload.update(v1.ids, total_amount="825.00", total_tax_amount="125")
    assert v1.post_json("invoices", payload).status_code == 201


def test_three_decimals_are_refused_with_the_field(v1):
    payload = body(**v1.ids).replace("825.00", "825.001")
    response = v1.post_json("invoices", payload)
    assert response.status_code == 400
    assert "total_amount" in response.json()["errors"]
    assert not FiscalInvoice.objects.exists()


def test_aeat_rules_are_reported_per_field_with_the_code(v1):
    payload = loads(body())
    payload["breakdown"][0]["tax_rate"] = 17
    response = register(v1, breakdown=payload["breakdown"])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["breakdown.0.tax_rate"][-1] == "AEAT 1124"
    assert not BillingRecord.objects.exists()


def test_every_problem_is_reported_at_once(v1):
    response = register(
        v1, invoice_date="2999-01-01", recipient_nif="12345678A", total_amount="1.00"
    )
    errors = response.json()["errors"]
    assert {"invoice_date", "recipient_nif", "total_amount"} <= set(errors)


def test_a_number_is_unique_per_nif(v1):
    assert register(v1).status_code == 201
    response = register(v1)
    assert response.status_code == 409
    assert "invoice_number" in response.json()["errors"]
    assert FiscalInvoice.objects.count() == 1


def test_dates_must_not_go_back(v1):
    register(v1)
    response = register(v1, invoice_number="F-2026-001", invoice_date="2026-03-01")
    assert response.status_code == 409
    assert "invoice_date" in response.json()["errors"]


def test_a_reused_number_dated_earlier_is_reported_as_the_reused_number(v1):
    register(v1)
    response = register(v1, invoice_date="2026-03-01")
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["invoice_number"]


def statements_of_a_second_registration(v1) -> list[str]:
    register(v1)
    with CaptureQueriesContext(connection) as queries:
        assert register(v1, invoice_number="F-2026-777").status_code == 201
    return [q["sql"] for q in queries.captured_queries]


def test_the_number_and_date_checks_read_the_taxpayers_invoices_once(v1):
    reads = [
        sql
        for sql in statements_of_a_second_registration(v1)
        if sql.lstrip().startswith("SELECT") and re.search(r'FROM "?verifactu_fiscalinvoice\b', sql)
    ]
    assert len(reads) == 1, reads


def test_regime_contradiction_is_a_400(v1):
    payload = loads(body())
    payload["breakdown"][0]["regime_type"] = "18"
    response = register(v1, breakdown=payload["breakdown"], regime_types=["01"])
    assert response.status_code == 400
    assert "breakdown.0.regime_type" in response.json()["errors"]


def test_regime_types_fill_lines_that_omit_it(v1):
    payload = loads(body())
    for line in payload["breakdown"]:
        del line["regime_type"]
    assert register(v1, breakdown=payload["breakdown"]).status_code == 201
    assert FiscalInvoice.objects.get().breakdown[0]["regime_type"] == "01"


def test_status_endpoint(v1):
    invoice_id = register(v1).json()["data"]["id"]
    data = v1.get(f"/api/v1/invoices/{invoice_id}/status").json()["data"]
    assert data["aeat_status"] == "queued"
    assert set(data["aeat_response"]) == {
        "submission_status",
        "record_status",
        "error_code",
        "error_description",
        "csv",
        "submitted_at",
    }


def test_xml_is_the_latest_record_as_stored(v1):
    invoice_id = register(v1).json()["data"]["id"]
    response = v1.get(f"/api/v1/invoices/{invoice_id}/xml")
    assert response["Content-Type"].startswith("application/xml")
    assert BillingRecord.objects.get().xml in response.content.decode()


def test_qr_url_and_images(v1):
    invoice_id = register(v1).json()["data"]["id"]
    url = v1.get(f"/api/v1/invoices/{invoice_id}/qr").json()["data"]["qr_url"]
    assert url == FiscalInvoice.objects.get().qr_url
    png = v1.get(f"/api/v1/invoices/{invoice_id}/qr?format=png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = v1.get(f"/api/v1/invoices/{invoice_id}/qr?format=svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert v1.get(f"/api/v1/invoices/{invoice_id}/qr?format=gif").status_code == 400


def test_pdf_has_the_qr_legend(v1):
    invoice_id = register(v1).json()["data"]["id"]
    response = v1.get(f"/api/v1/invoices/{invoice_id}/pdf")
    assert response["Content-Type"] == "application/pdf"
    from io import BytesIO

    from pypdf import PdfReader

    text = PdfReader(BytesIO(response.content)).pages[0].extract_text()
    assert "QR tributario:" in text and "VERI*FACTU" in text and "825,00" in text


def test_list_by_nif_with_status_filter_and_paging(v1, taxpayer):
    for i in range(3):
        register(v1, invoice_number=f"L-{i}")
    BillingRecord.objects.filter(invoice_number="L-1").update(status=RecordStatus.ACCEPTED)
    everything = v1.get(f"/api/v1/taxpayers/{taxpayer.nif}/invoices").json()
    assert everything["meta"] == {"total": 3, "page": 1, "limit": 50}
    accepted = v1.get(f"/api/v1/taxpayers/{taxpayer.nif}/invoices?status=accepted").json()
    assert [i["invoice_number"] for i in accepted["data"]] == ["L-1"]
    past = v1.get(f"/api/v1/taxpayers/{taxpayer.nif}/invoices?page=2").json()
    assert past["data"] == [] and past["meta"]["total"] == 3
    assert v1.get(f"/api/v1/taxpayers/{taxpayer.nif}/invoices?page=0").status_code == 400
    assert v1.get(f"/api/v1/taxpayers/{taxpayer.nif}/invoices?page=x").status_code == 400
    assert v1.get("/api/v1/taxpayers/12345678Z/invoices").status_code == 404


def test_retry_only_for_rejected_or_error(v1):
    invoice_id = register(v1).json()["data"]["id"]
    response = v1.post_json(f"invoices/{invoice_id}/retry", {})
    assert response.status_code == 409
    BillingRecord.objects.update(status=RecordStatus.REJECTED, aeat_error_code="1100")
    response = v1.post_json(f"invoices/{invoice_id}/retry", {})
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["aeat_status"], data["record_type"]) == ("queued", "correction")
    new = BillingRecord.objects.order_by("-position").first()
    assert (new.subsanacion, new.rechazo_previo) == ("S", "X")


def test_retry_of_an_error_resends_the_same_record(v1):
    invoice_id = register(v1).json()["data"]["id"]
    BillingRecord.objects.update(status=RecordStatus.ERROR)
    assert v1.post_json(f"invoices/{invoice_id}/retry", {}).status_code == 200
    assert BillingRecord.objects.count() == 1
    assert BillingRecord.objects.get().status == RecordStatus.QUEUED


def test_cancel_chains_an_anulacion(v1):
    invoice_id = register(v1).json()["data"]["id"]
    response = v1.post_json(f"invoices/{invoice_id}/cancel", {})
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["record_type"] == "cancellation" and len(data["hash"]) == 64
    assert v1.post_json(f"invoices/{invoice_id}/cancel", {}).status_code == 409


def test_changes_are_refused(v1):
    invoice_id = register(v1).json()["data"]["id"]
    url = f"/api/v1/invoices/{invoice_id}"
    for method in (v1.put, v1.patch, v1.delete):
        assert method(url, data="{}", content_type="application/json").status_code == 405
    BillingRecord.objects.update(status=RecordStatus.ACCEPTED)
    response = v1.patch(url, data="{}", content_type="application/json")
    assert response.status_code == 409
    assert response.json()["message"].startswith("accepted invoices are immutable")


def test_taxpayers_and_computer_systems(v1):
    response = v1.post_json("taxpayers", {"nif": "ES 12345678-Z", "name": "Ana Ruiz"})
    assert response.status_code == 201
    assert response.json()["data"]["nif"] == "12345678Z"
    assert response.json()["data"]["verifactu_mode"] == "verifactu"
    assert v1.post_json("taxpayers", {"nif": "12345678Z", "name": "Again"}).status_code == 409
    bad = v1.post_json("taxpayers", {"nif": "00000000T", "name": "Zeros"})
    assert bad.status_code == 400 and "nif" in bad.json()["errors"]
    names = [t["name"] for t in v1.get("/api/v1/taxpayers").json()["data"]]
    assert "Ana Ruiz" in names
    system = v1.post_json(
        "computer-systems",
        acme_erp_system(),
    )
    assert system.status_code == 201
    assert system.json()["data"]["only_verifactu"] is False


def test_taxpayer_id_may_be_omitted_only_with_one_taxpayer(v1, account):
    from factu.models import Taxpayer

    payload = {**loads(body()), "computer_system_id": v1.ids["computer_system_id"]}
    assert v1.post_json("invoices", payload).status_code == 201
    Taxpayer.objects.create(account=account, nif="12345678Z", name="Second")
    payload["invoice_number"] = "F-2026-043"
    response = v1.post_json("invoices", payload)
    assert response.status_code == 400 and "taxpayer_id" in response.json()["errors"]


def test_another_accounts_ids_are_404(v1, other_account):
    from verifactu.models import ComputerSystem

    foreign_taxpayer = other_account.taxpayers.get()
    assert register(v1, taxpayer_id=str(foreign_taxpayer.pk)).status_code == 404
    foreign_system = ComputerSystem.objects.create(
        account=other_account,
        producer_name="X",
        producer_nif="B12345674",
        name="X",
        system_id="XX",
        version="1",
        installation_number="1",
    )
    assert register(v1, computer_system_id=str(foreign_system.pk)).status_code == 404
    invoice_id = register(v1).json()["data"]["id"]
    FiscalInvoice.objects.filter(pk=invoice_id).update(account=other_account)
    for suffix in ("", "/status", "/xml", "/qr", "/pdf"):
        assert v1.get(f"/api/v1/invoices/{invoice_id}{suffix}").status_code == 404
    assert v1.post_json(f"invoices/{invoice_id}/retry", {}).status_code == 404
    assert v1.post_json(f"invoices/{invoice_id}/cancel", {}).status_code == 404
    assert v1.get(f"/api/v1/taxpayers/{foreign_taxpayer.nif}/invoices").status_code == 404


def test_a_registration_reads_the_taxpayer_and_the_computer_system_in_one_query(v1):
    statements = statements_of_a_second_registration(v1)
    lookups = [
        sql
        for sql in statements
        if re.search(r'FROM "?(factu_taxpayer|verifactu_computersystem)\b', sql)
        and "verifactu_fiscalinvoice" not in sql  # the chronology check under the lock
    ]
    assert len(lookups) == 1, lookups
    assert len(statements) <= 9, [sql[:60] for sql in statements]


def test_the_one_query_lookup_builds_the_same_objects_as_the_orm(
    account, taxpayer, computer_system
):
    from api.tenancy import account_taxpayer_and_system
    from factu.models import Taxpayer
    from verifactu.models import ComputerSystem

    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_until=date(2026, 12, 31))
    found = account_taxpayer_and_system(
        account, taxpayer.pk, str(computer_system.pk), taxpayer_field="t", system_field="s"
    )
    expected = (Taxpayer.objects.get(pk=taxpayer.pk), ComputerSystem.objects.get())
    for got, orm in zip(found, expected, strict=True):
        fields = type(orm)._meta.concrete_fields
        values = {f.attname: getattr(got, f.attname) for f in fields}
        assert values == {f.attname: getattr(orm, f.attname) for f in fields}
        assert {name: type(value) for name, value in values.items()} == {
            f.attname: type(getattr(orm, f.attname)) for f in fields
        }
        assert got._state.adding is False and got.get_deferred_fields() == set()
    assert found[0].verifactu_until == date(2026, 12, 31)
    assert found[0].created_at.tzinfo is not None


def test_invoice_date_today_is_fine_and_tomorrow_is_not(v1):
    today = timezone.localdate()
    assert register(v1, invoice_date=today.isoformat()).status_code == 201
    tomorrow = date.fromordinal(today.toordinal() + 1).isoformat()
    response = register(v1, invoice_number="F-next", invoice_date=tomorrow)
    assert response.status_code == 400
    assert response.json()["errors"]["invoice_date"][-1] == "AEAT 1112"


def test_idempotency_key_replays_the_first_response(v1):
    payload = body(**v1.ids)
    first = v1.post_json("invoices", payload, HTTP_IDEMPOTENCY_KEY="abc-1")
    again = v1.post_json("invoices", payload, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert FiscalInvoice.objects.count() == 1
    other = v1.post_json(
        "invoices", body(**v1.ids, invoice_number="F-2026-099"), HTTP_IDEMPOTENCY_KEY="abc-1"
    )
    assert other.status_code == 409
    assert FiscalInvoice.objects.count() == 1


class _RebuiltFieldsInput(InvoiceInputSerializer):
    """DRF's own way: every field rebuilt by a deep copy for each instance."""

    def get_fields(self):
        return copy.deepcopy(self._declared_fields)


INPUT_CASES = [
    SEED_003_INVOICE,
    {**SEED_003_INVOICE, "description": "a\x00b", "invoice_date": "2026-02-30"},
    {**SEED_003_INVOICE, "total_amount": "1.234", "invoice_type": "X9", "regime_types": ["1"]},
    {**SEED_003_INVOICE, "breakdown": [{"operation_type": "S9", "base_amount": "x"}]},
    {**SEED_003_INVOICE, "breakdown": [], "recipient_country": "FRA", "reverse_charge": True},
    {**SEED_003_INVOICE, "rectified_invoices": [{"invoice_number": "", "invoice_date": "x"}]},
    {"invoice_number": "x" * 61},
]


@pytest.mark.parametrize("case", range(len(INPUT_CASES)))
def test_copied_input_fields_validate_exactly_like_rebuilt_ones(case):
    data = loads(body(INPUT_CASES[case]))
    copied, rebuilt = InvoiceInputSerializer(data=data), _RebuiltFieldsInput(data=data)
    assert copied.is_valid() == rebuilt.is_valid()
    assert copied.errors == rebuilt.errors
    assert copied.validated_data == rebuilt.validated_data


def test_each_input_serializer_binds_its_own_fields_and_leaves_the_declared_ones_alone():
    first = InvoiceInputSerializer(data=loads(body(description="a\x00b")))
    second = InvoiceInputSerializer(data=loads(body()))
    assert not first.is_valid() and second.is_valid()
    for name, field in first.fields.items():
        assert field is not second.fields[name]
        assert field.parent is first and second.fields[name].parent is second
        assert InvoiceInputSerializer._declared_fields[name].parent is None
    line = first.fields["breakdown"].child
    assert line is not second.fields["breakdown"].child
    assert line.fields["base_amount"].parent is line
    assert first.fields["regime_types"].child.parent is first.fields["regime_types"]


# ---- the rules and fields of issue 15 (point 4)

GROUP_LINE = {
    "tax_type": "01",
    "regime_type": "06",
    "operation_type": "S1",
    "base_amount": D("500.00"),
    "base_cost_amount": D("400.00"),
    "tax_rate": D("21.00"),
    "tax_amount": D("84.00"),
}


def test_a_regime_06_line_sends_and_shows_its_cost_base(v1):
    response = register(
        v1,
        regime_types=["06"],
        breakdown=[GROUP_LINE],
        total_amount=D("584.00"),
        total_tax_amount=D("84.00"),
    )
    assert response.status_code == 201, response.content
    invoice = FiscalInvoice.objects.get()
    assert invoice.breakdown[0]["base_cost_cents"] == 40000
    record = BillingRecord.objects.get()
    assert (
        "<BaseImponibleOimporteNoSujeto>500.00</BaseImponibleOimporteNoSujeto>"
        "<BaseImponibleACoste>400.00</BaseImponibleACoste>"
        "<CuotaRepercutida>84.00</CuotaRepercutida>"
    ) in record.xml
    detail = v1.get(f"/api/v1/invoices/{invoice.pk}").json()["data"]
    assert detail["breakdown"][0]["base_cost_amount"] == 400.0


def test_regime_06_without_a_cost_base_is_refused_on_that_field(v1):
    line = {k: v for k, v in GROUP_LINE.items() if k != "base_cost_amount"}
    response = register(
        v1,
        regime_types=["06"],
        breakdown=[line],
        total_amount=D("584.00"),
        total_tax_amount=D("84.00"),
    )
    assert response.status_code == 400
    assert response.json()["errors"]["breakdown.0.base_cost_amount"][-1] == "AEAT 1202"
    assert not FiscalInvoice.objects.exists()


def test_a_substitution_sends_the_rectified_recargo_apart(v1):
    response = register(
        v1,
        invoice_type="R1",
        rectification_type="S",
        rectified_invoices=[{"invoice_number": "F-2026-001", "invoice_date": "2026-03-01"}],
        rectification_base=D("700.00"),
        rectification_tax=D("125.00"),
        rectification_surcharge=D("31.20"),
    )
    assert response.status_code == 201, response.content
    record = BillingRecord.objects.get()
    assert (
        "<BaseRectificada>700.00</BaseRectificada><CuotaRectificada>125.00</CuotaRectificada>"
        "<CuotaRecargoRectificado>31.20</CuotaRecargoRectificado>"
    ) in record.xml
    detail = v1.get(f"/api/v1/invoices/{response.json()['data']['id']}").json()["data"]
    assert detail["rectification_surcharge"] == 31.2


def test_a_country_outside_aeat_s_list_is_refused_briefly_on_the_field(v1):
    response = register(
        v1,
        recipient_nif="",
        recipient_id="123456789",
        recipient_id_type="03",
        recipient_country="EL",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["recipient_country"]
    message, code = errors["recipient_country"]
    assert "GR" in message and len(message) < 200 and code == "AEAT 1101"
    assert (
        register(
            v1,
            recipient_nif="",
            recipient_id="123456789",
            recipient_id_type="03",
            recipient_country="gr",
        ).status_code
        == 201
    )


def test_a_total_net_of_irpf_is_refused(v1):
    response = register(v1, total_amount=D("720.00"))  # 825.00 less 15 % IRPF on 700.00
    assert response.status_code == 400
    assert response.json()["errors"]["total_amount"][-1] == "AEAT 2005"
    assert "825.00" in response.json()["errors"]["total_amount"][0]


def test_a_foreign_recipient_without_a_name_is_refused_not_named_after_its_id(v1):
    response = register(
        v1, recipient_nif="", recipient_name="", recipient_id="DE123456789", recipient_id_type="02"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["recipient_name"][-1] == "AEAT 4102"


def test_a_not_subject_amount_becomes_an_n1_line_or_must_match_it(v1):
    added = register(
        v1, total_amount=D("875.00"), not_subject_amount=D("50.00"), not_subject_cause="OT"
    )
    assert added.status_code == 201, added.content
    assert "<CalificacionOperacion>N1</CalificacionOperacion>" in BillingRecord.objects.get().xml
    n1 = {"tax_type": "01", "regime_type": "01", "operation_type": "N1", "base_amount": D("50")}
    breakdown = [*loads(body())["breakdown"], n1]
    clash = register(
        v1,
        invoice_number="F-2026-043",
        breakdown=breakdown,
        total_amount=D("875.00"),
        not_subject_amount=D("80.00"),
        not_subject_cause="OT",
    )
    assert clash.status_code == 400
    assert list(clash.json()["errors"]) == ["not_subject_amount"]
    same = register(
        v1,
        invoice_number="F-2026-044",
        breakdown=breakdown,
        total_amount=D("875.00"),
        not_subject_amount=D("50.00"),
        not_subject_cause="OT",
    )
    assert same.status_code == 201, same.content
