"""The account API of recurring plans, ``/api/recurring`` (issue 19, point 3): camelCase,
pages of 50, tenancy 404s, field-level 400s, 409s, and its OpenAPI description."""

from __future__ import annotations

from datetime import date

import time_machine

from clients.services import create_client
from invoicing.models import Series
from invoicing.services import DraftLine
from recurring.models import Plan, PlanStatus
from recurring.services import create_plan, generate_due

HOSTING = DraftLine("Mantenimiento web", quantity=100, unit_price=50000, iva_type="general")
# Plans are created on the local date: the clock set before 2026-01-01, their startDate.
BEFORE_START = "2025-12-20 10:00:00+01:00"


def plan_payload(series, client, **overrides) -> dict:
    payload = {
        "name": "Hosting Acme",
        "clientId": str(client.pk),
        "seriesId": str(series.pk),
        "description": "Hosting mensual",
        "paymentDays": 15,
        "irpfRate": 0,
        "frequency": "monthly",
        "dayOfMonth": 1,
        "startDate": "2026-01-01",
        "count": 12,
        "autoIssue": True,
        "autoSend": True,
        "lines": [
            {"description": "Hosting", "quantity": 100, "unitPrice": 2500, "ivaType": "general"}
        ],
    }
    payload.update(overrides)
    return payload


def post(api_client, path, payload=None):
    return api_client.post(path, payload or {}, content_type="application/json")


def test_the_api_creates_lists_and_reads_a_plan_in_camel_case(api_client, series, acme):
    with time_machine.travel(BEFORE_START):
        created = post(api_client, "/api/recurring", plan_payload(series, acme))
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "active"
    assert body["nextDate"] == "2026-01-01"
    assert body["clientName"] == "Acme SL"
    assert body["total"] == 3025
    assert body["autoSend"] is True and body["count"] == 12
    assert body["lines"] == [
        {
            "description": "Hosting",
            "quantity": 100,
            "unitPrice": 2500,
            "ivaType": "general",
            "discount": 0,
        }
    ]
    generate_due(date(2026, 1, 1))

    listed = api_client.get("/api/recurring").json()
    assert listed["total"] == 1 and listed["page"] == 1 and listed["limit"] == 50
    [item] = listed["items"]
    assert item["generatedCount"] == 1 and item["nextDate"] == "2026-02-01"
    [invoice] = item["invoices"]
    assert invoice["invoiceNumber"] == "2026-A-001"
    assert invoice["issueDate"] == "2026-01-01" and invoice["status"] == "sent"
    assert api_client.get(f"/api/recurring/{body['id']}").json() == item


def test_the_api_refuses_bad_input_field_by_field(api_client, series, acme):
    response = post(
        api_client,
        "/api/recurring",
        plan_payload(
            series,
            acme,
            dayOfMonth=0,
            frequency="weekly",
            lines=[{"description": "", "quantity": 100, "unitPrice": 10.5}],
        ),
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"dayOfMonth", "frequency", "lines.0.unitPrice"} <= set(fields)

    response = post(api_client, "/api/recurring", plan_payload(series, acme, endDate="2025-01-01"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["endDate"] == [
        "La fecha final no puede ser anterior a la inicial."
    ]
    assert Plan.objects.count() == 0


@time_machine.travel(BEFORE_START)
def test_the_api_changes_pauses_resumes_and_ends_a_plan(api_client, series, acme):
    plan_id = post(api_client, "/api/recurring", plan_payload(series, acme)).json()["id"]
    url = f"/api/recurring/{plan_id}"

    changed = api_client.patch(
        url, {"dayOfMonth": 15, "autoIssue": False}, content_type="application/json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["nextDate"] == "2026-01-15" and changed.json()["autoIssue"] is False
    assert changed.json()["name"] == "Hosting Acme"
    bad = api_client.patch(url, {"paymentDays": -1}, content_type="application/json")
    assert bad.status_code == 400 and "paymentDays" in bad.json()["error"]["fields"]

    assert post(api_client, f"{url}/pause").json()["status"] == "paused"
    assert post(api_client, f"{url}/pause").status_code == 409
    assert post(api_client, f"{url}/resume").json()["status"] == "active"
    assert post(api_client, f"{url}/end").json()["status"] == "ended"
    assert post(api_client, f"{url}/resume").status_code == 409
    ended = api_client.patch(url, {"name": "Otro"}, content_type="application/json")
    assert ended.status_code == 409


def test_patching_the_lines_validates_each_line_whole(api_client, series, acme):
    plan_id = post(api_client, "/api/recurring", plan_payload(series, acme)).json()["id"]
    url = f"/api/recurring/{plan_id}"
    line = {"description": "Soporte", "quantity": 200, "unitPrice": 1000}  # ivaType defaulted
    changed = api_client.patch(url, {"lines": [line]}, content_type="application/json")
    assert changed.status_code == 200, changed.content
    [stored] = changed.json()["lines"]
    assert (stored["description"], stored["ivaType"]) == ("Soporte", "general")
    missing = api_client.patch(
        url, {"lines": [{"quantity": 100, "unitPrice": 1}]}, content_type="application/json"
    )
    assert missing.status_code == 400, missing.content
    assert any(key.startswith("lines") for key in missing.json()["error"]["fields"])


def test_another_accounts_plan_client_and_series_are_404(api_client, series, acme, other_account):
    other = other_account.taxpayers.get()
    foreign_client = create_client(other, {"name": "Ajeno", "nif": "A28045631", "country": "ES"})
    foreign_series = Series.objects.create(account=other_account, taxpayer=other, code="Z")
    foreign_plan = create_plan(
        other,
        name="Ajeno",
        client=foreign_client,
        series=foreign_series,
        start_date=date(2026, 1, 1),
        lines=[HOSTING],
    )

    assert api_client.get(f"/api/recurring/{foreign_plan.pk}").status_code == 404
    assert post(api_client, f"/api/recurring/{foreign_plan.pk}/pause").status_code == 404
    patched = api_client.patch(
        f"/api/recurring/{foreign_plan.pk}", {"name": "x"}, content_type="application/json"
    )
    assert patched.status_code == 404
    assert post(api_client, "/api/recurring", plan_payload(foreign_series, acme)).status_code == 404
    wrong_client = post(api_client, "/api/recurring", plan_payload(series, foreign_client))
    assert wrong_client.status_code == 404
    assert api_client.get("/api/recurring").json()["total"] == 0
    foreign_plan.refresh_from_db()
    assert foreign_plan.status == PlanStatus.ACTIVE and foreign_plan.name == "Ajeno"


def test_the_schema_documents_every_recurring_operation_with_a_faithful_example(client):
    from api.account.recurring import PLAN_EXAMPLE
    from api.account.recurring_serializers import PlanSerializer

    schema = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    paths = schema.json()["paths"]
    assert set(paths["/api/recurring"]) == {"get", "post"}
    assert set(paths["/api/recurring/{plan_id}"]) == {"get", "patch"}
    for action in ("pause", "resume", "end"):
        assert set(paths[f"/api/recurring/{{plan_id}}/{action}"]) == {"post"}
    assert list(PLAN_EXAMPLE) == PlanSerializer.Meta.fields
