"""Re-sending many records to the AEAT from the desk: one background job with progress.

The job calls the desk's own fixes (reintentar after a failed submission, subsanar after a
rejection), only ever for the account's records, and reports what it did with each one.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients.services import create_client
from desk import resubmission, services, tasks, worklist
from factu.models import Job, Taxpayer
from invoicing.models import Series
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice
from tests.browser import page, screenshot  # noqa: F401 - the fixture
from tests.conftest import make_facts
from tests.processes import wait_until
from tests.test_desk import register_for, second_taxpayer, set_status  # noqa: F401 - fixtures
from tests.test_journeys import log_in
from tests.test_journeys_more import gestoria_ribera, latest_status, simulator, worker  # noqa: F401
from tests.test_verifactu_e2e import SETTLED
from verifactu.models import BillingRecord, ComputerSystem, RecordStatus
from verifactu.records import register_invoice

ERROR = RecordStatus.ERROR
REJECTED = RecordStatus.REJECTED


def latest(fiscal_invoice) -> BillingRecord:
    return fiscal_invoice.records.order_by("-position").first()


@pytest.fixture
def in_trouble(taxpayer, second_taxpayer, register_for):  # noqa: F811
    """Records needing the AEAT again across two taxpayers, and two that do not."""
    made = {
        "A-1": (taxpayer, ERROR, "20009", "Error interno en el servidor"),
        "A-2": (taxpayer, REJECTED, "1100", "Valor o tipo incorrecto del campo"),
        "A-3": (taxpayer, RecordStatus.ACCEPTED_WITH_ERRORS, "2005", "Aviso"),
        "B-1": (second_taxpayer, ERROR, "20009", "Error interno en el servidor"),
        "B-2": (second_taxpayer, RecordStatus.ACCEPTED, "", ""),
    }
    invoices = {}
    for number, (owner_taxpayer, status, code, description) in made.items():
        invoices[number] = register_for(owner_taxpayer, number)
        set_status(invoices[number], status, code, description)
    return invoices


@pytest.fixture
def sent(monkeypatch):
    """The job ids the desk would hand to Celery (the task itself is run in-process)."""
    ids: list[str] = []
    monkeypatch.setattr(tasks.resubmit, "apply_async", lambda args, **kw: ids.extend(args))
    return ids


@pytest.fixture
def foreign_error(other_account):
    """A record in error of another account."""
    foreign_taxpayer = Taxpayer.objects.get(account=other_account)
    system = ComputerSystem.objects.create(
        account=other_account,
        producer_name="Otro Software SL",
        producer_nif="A28045631",
        name="Otro",
        system_id="OT",
        version="1.0",
        installation_number="OTRO-1",
    )
    facts = make_facts(
        issuer_nif=foreign_taxpayer.nif,
        issuer_name=foreign_taxpayer.name,
        invoice_number="AJENA-1",
        recipient_nif="B87654323",
    )
    fiscal_invoice = register_invoice(
        account=other_account,
        taxpayer=foreign_taxpayer,
        system=system,
        facts=facts,
        source="api_v1",
    ).invoice
    set_status(fiscal_invoice, ERROR, "20009", "Error interno en el servidor")
    return fiscal_invoice


def resubmit_url(account, **query) -> str:
    url = reverse("desk_resubmit", args=[account.slug])
    return url + ("?" + urlencode(query) if query else "")


def ids_of(*fiscal_invoices) -> list[str]:
    return [str(fi.pk) for fi in fiscal_invoices]


# ---------------------------------------------------------------------------------------
# The job, in-process
# ---------------------------------------------------------------------------------------


def test_one_job_resends_records_of_two_taxpayers_with_progress_and_a_report(
    account, owner, in_trouble, sent, django_capture_on_commit_callbacks
):
    picked = [in_trouble[n] for n in ("A-1", "A-2", "B-1", "A-3", "B-2")]
    selection = resubmission.select(account, fiscal_invoice_ids=ids_of(*picked))
    assert selection.count == 3 and selection.left_out == 2
    assert {s.taxpayer.name: (s.errors, s.rejected) for s in selection.shares} == {
        "Estudio Sol SL": (1, 1),
        "Bar Pepe SL": (1, 0),
    }
    before = {n: fi.records.count() for n, fi in in_trouble.items()}

    with django_capture_on_commit_callbacks(execute=True):
        job = resubmission.start(account, owner, selection)
    assert sent == [str(job.pk)]  # queued for the worker once the job row is committed
    assert Job.objects.get() == job
    assert (job.kind, job.status, job.taxpayer, job.user) == ("resubmit", "queued", None, owner)
    assert sorted(job.params["fiscal_invoices"]) == sorted(
        ids_of(in_trouble["A-1"], in_trouble["A-2"], in_trouble["B-1"])
    )

    with CaptureQueriesContext(connection) as queries:
        assert tasks.resubmit(str(job.pk)) == "done"
    progress = [
        int(m.group(1))
        for q in queries.captured_queries
        if q["sql"].startswith(f'UPDATE "{Job._meta.db_table}"')
        and (m := re.search(r'SET "done" = (\d+)', q["sql"]))
    ]
    assert progress == [1, 2, 3], "done is written as the records go, not only at the end"

    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.percent) == ("done", 3, 3, 100)
    for number in ("A-1", "B-1"):  # resent as they were: the same record, queued again
        record = latest(in_trouble[number])
        assert record.status == RecordStatus.QUEUED
        assert in_trouble[number].records.count() == before[number]
    fix = latest(in_trouble["A-2"])  # rejected: a subsanación chained after it
    assert in_trouble["A-2"].records.count() == before["A-2"] + 1
    assert (fix.status, fix.subsanacion, fix.rechazo_previo) == ("queued", "S", "X")
    for number in ("A-3", "B-2"):  # never selected: untouched
        assert in_trouble[number].records.count() == before[number]
    assert latest(in_trouble["A-3"]).status == RecordStatus.ACCEPTED_WITH_ERRORS

    report = job.report
    assert (report["resubmitted"], report["retried"], report["corrected"]) == (3, 2, 1)
    assert report["refused"] == 0
    assert report["message"] == "Se han reenviado 3 de 3 registros a la AEAT."
    by_number = {r["number"]: r for r in report["records"]}
    assert by_number["A-1"]["message"].startswith("El registro n.º ")
    assert by_number["A-2"]["message"].startswith("Subsanación encadenada")
    assert by_number["B-1"]["taxpayer"] == "Bar Pepe SL"
    assert all(r["ok"] for r in report["records"])
    assert [i.fiscal_invoice.invoice_number for i in worklist.inbox(account)] == ["A-3"]


def test_a_record_fixed_meanwhile_by_another_click_is_reported_not_queued_twice(
    account, owner, in_trouble, sent
):
    trio = [in_trouble[n] for n in ("A-1", "A-2", "B-1")]
    job = resubmission.start(
        account, owner, resubmission.select(account, fiscal_invoice_ids=ids_of(*trio))
    )
    services.reintentar(in_trouble["A-1"])  # the single-record buttons, clicked meanwhile
    services.subsanar(in_trouble["A-2"])
    counts = {n: in_trouble[n].records.count() for n in ("A-1", "A-2")}
    # And a record whose state the job does not resend, slipped into the params.
    Job.objects.filter(pk=job.pk).update(
        params={
            **job.params,
            "fiscal_invoices": [*job.params["fiscal_invoices"], str(in_trouble["A-3"].pk)],
        }
    )

    assert tasks.resubmit(str(job.pk)) == "done"
    assert tasks.resubmit(str(job.pk)) == "skipped"  # a message delivered twice runs once

    job.refresh_from_db()
    assert {n: in_trouble[n].records.count() for n in ("A-1", "A-2")} == counts
    assert latest(in_trouble["B-1"]).status == RecordStatus.QUEUED
    by_number = {r["number"]: r for r in job.report["records"]}
    assert [by_number[n]["ok"] for n in ("A-1", "A-2", "B-1", "A-3")] == [False, False, True, False]
    assert by_number["A-1"]["message"].startswith("Ya estaba en cola")
    assert by_number["A-2"]["message"].startswith("Ya estaba en cola")
    assert "aceptó con errores" in by_number["A-3"]["message"]
    assert (job.report["resubmitted"], job.report["refused"]) == (1, 3)
    assert job.report["message"] == (
        "Se han reenviado 1 de 4 registros a la AEAT. No reenviados: 3; el informe dice por qué."
    )
    assert (job.total, job.done) == (4, 4)


def test_the_job_never_touches_another_accounts_record_even_if_its_id_is_in_params(
    account, owner, in_trouble, foreign_error, sent
):
    job = resubmission.start(
        account, owner, resubmission.select(account, fiscal_invoice_ids=ids_of(in_trouble["A-1"]))
    )
    Job.objects.filter(pk=job.pk).update(
        params={**job.params, "fiscal_invoices": ids_of(in_trouble["A-1"], foreign_error)}
    )
    tasks.resubmit(str(job.pk))
    job.refresh_from_db()
    assert latest(foreign_error).status == ERROR
    refused = job.report["records"][1]
    assert (refused["ok"], refused["message"]) == (
        False,
        "No existe en esta cuenta: no se ha tocado.",
    )
    assert "AJENA" not in str(job.report)


def test_nothing_to_resubmit_starts_no_job(account, owner, in_trouble):
    selection = resubmission.select(account, fiscal_invoice_ids=ids_of(in_trouble["B-2"]))
    with pytest.raises(resubmission.NothingToResubmit):
        resubmission.start(account, owner, selection)
    assert not Job.objects.exists()
    assert resubmission.parse_ids(["x", "", str(in_trouble["B-2"].pk)] * 2) == ids_of(
        in_trouble["B-2"]
    )


# ---------------------------------------------------------------------------------------
# The pages
# ---------------------------------------------------------------------------------------


def test_the_desk_offers_checkboxes_only_where_resending_applies(
    login, owner, viewer, account, in_trouble
):
    html = login(owner).get(reverse("desk", args=[account.slug])).content.decode()
    boxes = re.findall(r'name="registro" value="([^"]+)" form="resubmit-form"', html)
    assert sorted(boxes) == sorted(ids_of(in_trouble["A-1"], in_trouble["A-2"], in_trouble["B-1"]))
    assert 'data-select-all="resubmit-form"' in html
    assert "Reintentar todos los registros con error (2)" in html
    assert resubmit_url(account) in html

    html = login(viewer).get(reverse("desk", args=[account.slug])).content.decode()
    assert 'name="registro"' not in html and "resubmit-form" not in html
    assert "Reintentar todos" not in html


def test_the_confirmation_says_how_many_records_and_of_which_taxpayers(
    login, owner, account, in_trouble, foreign_error, sent
):
    picked = ids_of(*(in_trouble[n] for n in ("A-1", "A-2", "B-1", "B-2")), foreign_error)
    response = login(owner).post(resubmit_url(account), {"registro": picked})
    html = response.content.decode()
    assert response.status_code == 200
    assert "¿Reenviar 3 registros a la AEAT?" in html
    assert re.search(
        r"Estudio Sol SL</strong> \(B87654323\): 2 registros — 1 con error de envío y 1 rechazado",
        html,
    )
    assert re.search(r"Bar Pepe SL</strong> \(B12345674\): 1 registro con error de envío", html)
    assert "2 de los registros elegidos no se reenviarán" in html
    assert str(foreign_error.pk) not in html and "AJENA" not in html
    assert not Job.objects.exists() and sent == []  # asking is not doing


def test_confirming_starts_one_job_and_shows_its_progress(
    login, owner, account, in_trouble, foreign_error, sent, django_capture_on_commit_callbacks
):
    client = login(owner)
    picked = ids_of(in_trouble["A-1"], in_trouble["B-1"], foreign_error)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resubmit_url(account), {"registro": picked, "confirmar": "1"})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("transfers_job", args=[account.slug, job.pk])
    assert sorted(job.params["fiscal_invoices"]) == sorted(
        ids_of(in_trouble["A-1"], in_trouble["B-1"])
    )
    assert job.params["taxpayers"] == ["Bar Pepe SL · B12345674", "Estudio Sol SL · B87654323"]
    assert sent == [str(job.pk)]

    html = client.get(response["Location"]).content.decode()
    assert "Reenviar registros a la AEAT" in html and "every 2s" in html and "En cola" in html
    assert "Volver a la mesa AEAT" in html

    tasks.resubmit(sent[0])
    assert latest(foreign_error).status == ERROR  # the foreign id in the POST: ignored
    fragment = client.get(
        reverse("transfers_job_progress", args=[account.slug, job.pk]), HTTP_HX_REQUEST="true"
    )
    body = fragment.content.decode()
    assert fragment["HX-Refresh"] == "true" and "hx-get" not in body
    assert 'value="100"' in body and "Se han reenviado 2 de 2 registros" in body
    html = client.get(response["Location"]).content.decode()
    assert html.count('data-outcome="ok"') == 2 and "Reintentado" in html
    listing = client.get(reverse("transfers_home", args=[account.slug])).content.decode()
    assert "Reenviar registros a la AEAT" in listing and "2 contribuyentes" in listing


def test_the_progress_fragment_renders_while_the_job_runs(login, owner, account, in_trouble, sent):
    job = resubmission.start(
        account, owner, resubmission.select(account, fiscal_invoice_ids=ids_of(in_trouble["A-1"]))
    )
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, total=4, done=1)
    fragment = login(owner).get(reverse("transfers_job_progress", args=[account.slug, job.pk]))
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment
    assert 'data-status="running"' in body and "hx-get" in body
    assert 'class="progress-bar" value="25"' in body and "1 de 4 (25 %)" in body
    assert "style=" not in body


def test_every_record_in_error_of_the_chosen_taxpayer(
    login, owner, account, taxpayer, in_trouble, sent
):
    client = login(owner)
    html = client.get(resubmit_url(account, todos="1", contribuyente=taxpayer.pk)).content.decode()
    assert "¿Reenviar 1 registro a la AEAT?" in html  # A-1; the rejected A-2 is not "in error"
    assert "Todos los registros con error de envío de Estudio Sol SL" in html
    client.post(
        resubmit_url(account), {"todos": "1", "contribuyente": taxpayer.pk, "confirmar": "1"}
    )
    job = Job.objects.get()
    assert job.params["fiscal_invoices"] == ids_of(in_trouble["A-1"])
    assert (job.taxpayer, job.params["scope"]) == (taxpayer, "errors")
    everyone = client.get(resubmit_url(account, todos="1")).content.decode()
    assert "¿Reenviar 2 registros a la AEAT?" in everyone


def test_empty_selections_say_what_to_do(login, owner, account, in_trouble, sent):
    client = login(owner)
    html = client.get(resubmit_url(account)).content.decode()
    assert "No ha seleccionado ningún registro." in html and "Volver a la mesa" in html
    stale = client.post(resubmit_url(account), {"registro": ids_of(in_trouble["B-2"])})
    assert "Ninguno de los registros elegidos sigue con error o rechazado" in stale.content.decode()
    response = client.post(
        resubmit_url(account),
        {"registro": ids_of(in_trouble["B-2"]), "confirmar": "1"},
        follow=True,
    )
    assert "No se ha reenviado nada" in response.content.decode()
    assert not Job.objects.exists()


def test_viewers_are_refused_and_outsiders_get_404(
    login, viewer, outsider, account, in_trouble, sent
):
    everything = {"registro": ids_of(in_trouble["A-1"]), "confirmar": "1"}
    client = login(viewer)
    assert client.get(resubmit_url(account, todos="1")).status_code == 403
    assert client.post(resubmit_url(account), everything).status_code == 403
    client = login(outsider)
    assert client.post(resubmit_url(account), everything).status_code == 404
    assert not Job.objects.exists()
    assert latest(in_trouble["A-1"]).status == ERROR


# ---------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_journey_accountant_resends_failed_records_of_two_taxpayers_with_a_progress_bar(
    live_server,
    page,  # noqa: F811 - the fixture
    worker,  # noqa: F811 - the fixture
    simulator,  # noqa: F811 - the fixture
    transactional_db,
):
    gestoria, first, second, accountant = gestoria_ribera()
    actor = Actor(user=accountant)

    def draft(taxpayer, code, what):
        series = Series.objects.get_or_create(account=gestoria, taxpayer=taxpayer, code=code)[0]
        client = taxpayer.clients.first() or create_client(
            taxpayer, {"name": f"Cliente de {code}", "nif": "B12345674"}
        )
        return create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=timezone.localdate(),
            lines=[DraftLine(what, quantity=1, unit_price=10000, iva_type="general")],
            actor=actor,
        )

    def settled(*invoices):
        return all(latest_status(i) in SETTLED for i in invoices)

    # One record the AEAT rejects, then two whose submission fails (a permanent SOAP fault).
    rejected = draft(first, "AA", "Chapa")
    simulator.reject(rejected.series.format_number(rejected.issue_date.year, 1), 1100)
    rejected = issue_invoice(rejected, actor=actor)
    wait_until(lambda: settled(rejected), timeout=60, what="the rejection")
    simulator.configure(mode="fault4102")
    failed = [
        issue_invoice(draft(t, c, "Trabajo"), actor=actor)
        for t, c in ((first, "AA"), (second, "BD"))
    ]
    wait_until(lambda: settled(*failed), timeout=60, what="the failed submissions")
    assert [latest_status(i) for i in (rejected, *failed)] == [REJECTED, ERROR, ERROR]
    simulator.configure(mode="normal", reject={})
    everyone = (rejected, *failed)

    base = live_server.url
    log_in(page, base, accountant.email)
    page.goto(f"{base}/c/{gestoria.slug}/mesa/")
    inbox = page.locator("table.desk-inbox")
    for invoice in everyone:
        inbox.locator(f'tr[data-fiscal-invoice="{invoice.fiscal_invoice_id}"]').wait_for()
    # "Select all" with the keyboard: focus it and press the space bar.
    select_all = page.get_by_label("Seleccionar todos los que se pueden reenviar")
    select_all.focus()
    page.keyboard.press("Space")
    boxes = inbox.locator('input[name="registro"]')
    assert boxes.count() == 3 and all(boxes.nth(n).is_checked() for n in range(3))
    screenshot(page, "bulk-resubmit-desk-selected")
    page.get_by_role("button", name="Reenviar los seleccionados").first.click()

    page.get_by_role("heading", name="¿Reenviar 3 registros a la AEAT?").wait_for()
    shares = page.locator("ul.shares")
    shares.get_by_text("Aceros Alba SL").wait_for()
    assert "2 registros — 1 con error de envío y 1 rechazado" in shares.inner_text()
    assert "Bodegas Duero SA (A28045631): 1 registro con error de envío" in shares.inner_text()
    screenshot(page, "bulk-resubmit-confirm")
    page.get_by_role("button", name="Reenviar 3 registros").click()

    page.wait_for_url(re.compile(r"/trabajos/[0-9a-f-]+/$"))
    page.get_by_role("heading", name="Reenviar registros a la AEAT").first.wait_for()
    page.locator('#job-progress[data-status="done"] progress[value="100"]').wait_for(timeout=60000)
    assert (
        "Se han reenviado 3 de 3 registros a la AEAT." in page.locator("#job-progress").inner_text()
    )
    report = page.locator("#resubmit-report")
    assert report.locator('tr[data-outcome="ok"]').count() == 3
    badges = sorted(report.locator("tbody .badge").all_inner_texts())
    assert badges == ["Reintentado", "Reintentado", "Subsanado"]
    job = Job.objects.get(account=gestoria)
    assert (job.kind, job.status, job.total, job.done) == ("resubmit", "done", 3, 3)
    screenshot(page, "bulk-resubmit-progress-done")

    # Back on the desk the records have left the inbox; the AEAT accepts them.
    page.get_by_role("link", name="Volver a la mesa AEAT").first.click()
    page.wait_for_url(re.compile(r"/mesa/$"))
    for invoice in everyone:
        assert page.locator(f'tr[data-fiscal-invoice="{invoice.fiscal_invoice_id}"]').count() == 0

    def all_accepted():
        page.reload()
        return page.locator("[data-pending='0']").count() == 1 and all(
            latest_status(i) == RecordStatus.ACCEPTED for i in everyone
        )

    wait_until(all_accepted, timeout=60, interval=1, what="accepted after the re-submission")
    page.get_by_text("Todo en orden: no hay registros que requieran acción").wait_for()
    screenshot(page, "bulk-resubmit-desk-accepted")


@pytest.mark.browser
@pytest.mark.slow
def test_desk_keyboard_skip_link_focus_outlines_and_no_overflow_on_a_laptop(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    taxpayer,
    second_taxpayer,  # noqa: F811 - the fixture
    register_for,  # noqa: F811 - the fixture
):
    long_text = "Descripción muy larga de la AEAT " * 12 + "sf:RegistroAlta/" * 12  # no break
    for n in range(6):
        fiscal_invoice = register_for(taxpayer if n % 2 else second_taxpayer, f"LARGA-2026-{n:04d}")
        status = (ERROR, REJECTED, RecordStatus.ACCEPTED_WITH_ERRORS)[n % 3]
        set_status(fiscal_invoice, status, "1100", long_text)
    page.set_viewport_size({"width": 1280, "height": 720})
    base = live_server.url
    log_in(page, base, owner.email)
    desk = f"{base}/c/{account.slug}/mesa/"
    page.goto(desk)
    page.locator("table.desk-inbox").wait_for()

    page.keyboard.press("Tab")
    first_stop = page.evaluate(
        "() => [document.activeElement.className, document.activeElement.textContent.trim()]"
    )
    assert first_stop == ["skip", "Saltar al contenido"]
    box = page.locator("a.skip").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0  # shown on screen while focused
    screenshot(page, "desk-skip-link-focused")

    stops = []
    for _ in range(120):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {
                    tag: el.tagName,
                    what: el.getAttribute("aria-label") || el.labels?.[0]?.textContent.trim()
                        || el.textContent.trim().slice(0, 40) || el.name || el.id,
                    visible: el.matches(":focus-visible"),
                    outline: style.outlineStyle,
                    width: parseFloat(style.outlineWidth),
                };
            }"""
        )
        if stop["tag"] == "BODY" or stop["what"] == "Saltar al contenido":
            break
        stops.append(stop)
    assert len(stops) > 20, stops
    invisible = [
        s for s in stops if not (s["visible"] and s["outline"] != "none" and s["width"] >= 2)
    ]
    assert invisible == [], invisible
    assert {"Seleccionar todos los que se pueden reenviar", "Reenviar los seleccionados"} <= {
        s["what"] for s in stops
    }

    # The skip link takes the keyboard past the navigation, into the page's content.
    page.goto(desk)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
    assert page.evaluate("() => document.activeElement.closest('header') === null")

    # On a 1280x720 laptop AEAT's long texts wrap: neither the page nor the inbox scrolls
    # sideways and every fix button is on screen (a narrower window scrolls the inbox alone).
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    scroller = page.locator("table.desk-inbox").locator("xpath=..")
    assert scroller.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
    buttons = page.locator("table.desk-inbox .actions button, table.desk-inbox .actions a")
    assert buttons.count() > 0
    one_line = """el => {
        const cs = getComputedStyle(el);
        const line = parseFloat(cs.lineHeight) || 1.3 * parseFloat(cs.fontSize);
        const text = el.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
        return text < 1.5 * line;
    }"""
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
        assert buttons.nth(i).evaluate(one_line), buttons.nth(i).inner_text()  # not «S u b…»
    screenshot(page, "desk-laptop-1280x720")
