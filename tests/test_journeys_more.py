"""More user journeys in a real browser (Debian's chromium via Playwright).

Journeys 2 and 3 run against a REAL Celery worker process sharing the test database, which
submits to the AEAT simulator running in this process: nothing is eager, nothing is faked
between the click and the AEAT's answer. Each journey leaves a screenshot under test-output/.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from clients.services import create_client
from factu.models import Account, Membership, Role, Taxpayer, User
from invoicing.models import Invoice, Series
from invoicing.services import Actor, DraftLine, create_draft, issue_invoice
from tests.browser import choose_client, page, screenshot  # noqa: F401 - the fixture
from tests.conftest import make_user
from tests.processes import start_worker, stop, wait_until
from tests.test_journeys import log_in
from tests.test_verifactu_e2e import SETTLED
from verifactu.models import BillingRecord, RecordStatus
from verifactu.simulator.server import start_simulator

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def simulator():
    sim = start_simulator(wait_seconds=0)
    yield sim
    sim.stop()


@pytest.fixture
def worker(transactional_db, tmp_path, simulator):
    """A real Celery worker on the test database, sending to the in-process simulator."""
    cache.clear()
    log = tmp_path / "worker.log"
    proc = start_worker(
        log,
        AEAT_ENDPOINT=simulator.url,
        AEAT_TIMEOUT="5",
        VERIFACTU_DEFAULT_WAIT="0",
        VERIFACTU_MAX_BACKOFF="1",
        VERIFACTU_SENDING_LEASE="5",
    )
    yield proc
    stop(proc, cold=True)
    print(f"== worker.log\n{log.read_text(errors='replace')[-4000:]}")


def latest_status(invoice: Invoice) -> str | None:
    invoice.refresh_from_db()
    if invoice.fiscal_invoice_id is None:
        return None
    record = (
        BillingRecord.objects.filter(fiscal_invoice_id=invoice.fiscal_invoice_id)
        .order_by("-position")
        .first()
    )
    return record.status if record else None


# ---------------------------------------------------------------------------------------
# Journey 2: a client, a three-line draft with live totals, issued, accepted live, the PDF
# ---------------------------------------------------------------------------------------


def test_journey_2_client_invoice_issued_accepted_live_and_pdf(
    live_server,
    page,  # noqa: F811 - the fixture
    worker,
    simulator,
    owner,
    account,
    taxpayer,
):
    Series.objects.create(account=account, taxpayer=taxpayer, code="A")
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, base, owner.email)

    # A client, through the clients page.
    page.goto(f"{base}/c/{account.slug}/clientes/")
    page.get_by_role("link", name="Nuevo cliente").first.click()
    page.locator("#id_name").fill("Talleres Navarro SL")
    page.locator("#id_nif").fill("B12345674")
    page.locator("#id_email").fill("admin@navarro.es")
    page.get_by_role("button", name=re.compile("Guardar|Crear")).click()
    page.wait_for_url(lambda url: "/nuevo/" not in url)
    page.get_by_text("Talleres Navarro SL").first.wait_for()

    # A draft with three lines, the totals following each change.
    page.goto(f"{base}/c/{account.slug}/facturas/")
    page.get_by_role("link", name="Nueva factura").first.click()
    choose_client(page, "Talleres Navarro SL")
    total = page.locator('#totals [data-total="total"]')
    page.locator("#id_lines-0-description").fill("Revisión anual")
    page.locator("#id_lines-0-unit_price").fill("1000,00")
    total.filter(has_text="1.210,00 €").wait_for()
    page.get_by_role("button", name="Añadir línea").click()
    page.locator("#id_lines-1-description").fill("Horas de taller")
    page.locator("#id_lines-1-quantity").fill("2")
    page.locator("#id_lines-1-unit_price").fill("100")
    total.filter(has_text="1.452,00 €").wait_for()
    page.locator("#lines-1-amount").filter(has_text="200,00 €").wait_for()
    page.get_by_role("button", name="Añadir línea").click()
    page.locator("#id_lines-2-description").fill("Piezas")
    page.locator("#id_lines-2-unit_price").fill("50")
    total.filter(has_text="1.512,50 €").wait_for()
    screenshot(page, "journey-2-three-lines-live-totals")
    page.get_by_role("button", name="Guardar borrador").click()
    page.wait_for_selector("text=guardado")
    invoice = Invoice.objects.get()
    assert invoice.lines.count() == 3 and invoice.total_cents == 151250

    # Issued: queued first, then accepted by the AEAT without reloading the page.
    page.get_by_role("button", name="Emitir").click()
    status = page.locator("#aeat-status")
    page.wait_for_selector("#aeat-status[data-polling], #aeat-status [data-aeat-status]")
    first_seen = status.locator("[data-aeat-status]").first.get_attribute("data-aeat-status")
    assert first_seen in (RecordStatus.QUEUED, RecordStatus.SENDING, RecordStatus.ACCEPTED)
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    status.locator('[data-aeat-status="accepted"]').wait_for(timeout=60000)
    assert navigations == [], "the status changed by polling, not by a reload"
    assert page.locator("#aeat-status[data-polling]").count() == 0
    assert latest_status(invoice) == RecordStatus.ACCEPTED
    record = BillingRecord.objects.get(fiscal_invoice_id=invoice.fiscal_invoice_id)
    assert record.csv and record.csv in status.inner_text()
    held = [r["num_serie"] for r in simulator.snapshot()["records"]]
    assert held == [invoice.number]

    # The PDF.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Descargar PDF").click()
    download = download_info.value
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.suggested_filename.endswith(".pdf")
    screenshot(page, "journey-2-issued-accepted")

    # The dashboard embeds the taxpayer's overview (htmx) and links to the full page.
    page.goto(f"{base}/c/{account.slug}/")
    embedded = page.locator("#dashboard-overview")
    embedded.locator("svg.chart rect.bar.invoiced").first.wait_for(state="attached")
    assert embedded.locator("svg.chart rect.bar").count() == 24
    pending = embedded.locator('[data-figure="pending"]')
    pending.get_by_text("1.512,50 €").wait_for()
    page.get_by_role("link", name=re.compile("Ver el resumen")).click()
    page.get_by_role("heading", name=re.compile("Resumen de")).wait_for()
    screenshot(page, "overview-page")


def test_journey_2_status_starts_queued_before_the_worker_answers(
    live_server,
    page,  # noqa: F811 - the fixture
    simulator,
    transactional_db,
    tmp_path,
    owner,
    account,
    taxpayer,
):
    """With the worker started only after the page shows "En cola", the queued state is
    seen for certain, and the change to accepted happens in the open page."""
    Series.objects.create(account=account, taxpayer=taxpayer, code="A")
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    cache.clear()
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, base, owner.email)
    page.goto(f"{base}/c/{account.slug}/facturas/nueva/")
    choose_client(page, acme.name)
    page.locator("#id_lines-0-description").fill("Consultoría")
    page.locator("#id_lines-0-unit_price").fill("500")
    page.locator('#totals [data-total="total"]').filter(has_text="605,00 €").wait_for()
    page.get_by_role("button", name="Guardar borrador").click()
    page.wait_for_selector("text=guardado")
    page.get_by_role("button", name="Emitir").click()
    status = page.locator("#aeat-status")
    page.wait_for_selector("#aeat-status[data-polling]")
    status.get_by_text("En cola").first.wait_for()
    screenshot(page, "journey-2-queued")
    proc = start_worker(
        tmp_path / "worker.log",
        AEAT_ENDPOINT=simulator.url,
        VERIFACTU_DEFAULT_WAIT="0",
        VERIFACTU_MAX_BACKOFF="1",
    )
    try:
        status.locator('[data-aeat-status="accepted"]').wait_for(timeout=60000)
        status.get_by_text("Aceptada").first.wait_for()
    finally:
        stop(proc, cold=True)
    assert latest_status(Invoice.objects.get()) == RecordStatus.ACCEPTED


# ---------------------------------------------------------------------------------------
# Journey 3: an accountant switches taxpayer, finds a rejection on the desk, fixes it
# ---------------------------------------------------------------------------------------


def gestoria_ribera() -> tuple[Account, Taxpayer, Taxpayer, User]:
    """Gestoría Ribera, its two taxpayers (Aceros Alba SL, Bodegas Duero SA) and its accountant."""
    gestoria = Account.objects.create(
        name="Gestoría Ribera", slug="gestoria-ribera", kind=Account.Kind.GESTORIA
    )
    first = Taxpayer.objects.create(account=gestoria, nif="B87654323", name="Aceros Alba SL")
    second = Taxpayer.objects.create(account=gestoria, nif="A28045631", name="Bodegas Duero SA")
    accountant = make_user("contable@ribera.example")
    Membership.objects.create(user=accountant, account=gestoria, role=Role.ACCOUNTANT)
    return gestoria, first, second, accountant


def test_journey_3_accountant_fixes_a_rejection_from_the_desk(
    live_server,
    page,  # noqa: F811 - the fixture
    worker,
    simulator,
    transactional_db,
):
    gestoria, first, second, accountant = gestoria_ribera()
    actor = Actor(user=accountant)
    series = Series.objects.create(account=gestoria, taxpayer=second, code="BD")
    client = create_client(second, {"name": "Vinos del Sur SL", "nif": "B12345674"})
    draft = create_draft(
        second,
        series=series,
        client=client,
        issue_date=timezone.localdate(),
        lines=[DraftLine("Barricas", quantity=300, unit_price=25000, iva_type="general")],
        actor=actor,
    )
    # The AEAT will refuse this one, by the number it takes when issued.
    simulator.reject(series.format_number(draft.issue_date.year, 1), 1100)
    invoice = issue_invoice(draft, actor=actor)
    wait_until(
        lambda: latest_status(invoice) in SETTLED, timeout=60, what="the worker's submission"
    )
    assert latest_status(invoice) == RecordStatus.REJECTED

    base = live_server.url
    log_in(page, base, accountant.email)
    page.goto(f"{base}/c/{gestoria.slug}/")
    page.locator("h2", has_text=first.name).first.wait_for()  # the first taxpayer by name
    # Switch taxpayer with the switcher of the top bar.
    page.locator("#taxpayer-switch").select_option(str(second.pk))
    page.get_by_role("button", name="Cambiar", exact=True).click()
    page.get_by_text(f"Ahora trabaja con {second.name}").wait_for()
    page.locator("h2", has_text=second.name).first.wait_for()

    page.get_by_role("link", name="Mesa AEAT").first.click()
    page.wait_for_url(re.compile(r"/mesa/"))
    row = page.locator("table.desk-inbox tr", has_text=invoice.number)
    row.locator('[data-status="rejected"]').wait_for()
    assert "1100" in row.inner_text()
    screenshot(page, "journey-3-desk-rejected")

    simulator.configure(reject={})
    row.get_by_role("button", name="Subsanar").click()
    page.get_by_text(re.compile(f"{re.escape(invoice.number)}: subsanación encadenada")).wait_for()

    # The fix is queued: no longer a rejection to act on. Reload until the AEAT accepted it.
    assert page.locator(f'tr[data-fiscal-invoice="{invoice.fiscal_invoice_id}"]').count() == 0
    summary = page.locator(f'tr[data-taxpayer="{second.pk}"]')

    def accepted_on_the_desk():
        page.reload()
        return (
            summary.locator('[data-status="accepted"]').count() == 1
            and summary.locator('[data-status="queued"], [data-status="sending"]').count() == 0
        )

    wait_until(accepted_on_the_desk, timeout=60, interval=1, what="accepted on the desk")
    page.locator("[data-pending='0']").wait_for()
    assert latest_status(invoice) == RecordStatus.ACCEPTED
    records = BillingRecord.objects.filter(fiscal_invoice_id=invoice.fiscal_invoice_id)
    fix = records.order_by("-position").first()
    assert (fix.subsanacion, fix.rechazo_previo, records.count()) == ("S", "X", 2)

    page.goto(f"{base}/c/{gestoria.slug}/facturas/{invoice.pk}/")
    page.locator('#aeat-status [data-aeat-status="accepted"]').wait_for()
    page.locator("#aeat-status").get_by_text("Rechazada").first.wait_for()  # history kept
    screenshot(page, "journey-3-fixed-accepted")


# ---------------------------------------------------------------------------------------
# Journey 5: a newcomer signs up, adds a taxpayer, invites a colleague who joins
# ---------------------------------------------------------------------------------------


def test_journey_5_sign_up_second_taxpayer_invite_and_join(
    live_server,
    page,  # noqa: F811 - the fixture
    mailoutbox,
    transactional_db,
):
    base = live_server.url
    page.goto(f"{base}/registro/")
    page.locator("#id_email").fill("elena@vidal.example")
    page.get_by_role("button", name="Continuar").click()
    page.get_by_role("heading", name="Le hemos enviado un correo").wait_for()
    [confirm] = [m for m in mailoutbox if "elena@vidal.example" in m.to]
    page.goto(re.search(r"https?://\S+/registro/\S+", confirm.body).group(0))
    page.get_by_text("elena@vidal.example").first.wait_for()
    page.locator("#id_full_name").fill("Elena Vidal")
    page.locator("#id_password").fill("una clave bastante larga 2026")
    page.locator("#id_account_name").fill("Vidal Asesores")
    page.locator("#id_taxpayer_nif").fill("B87654323")
    page.locator("#id_taxpayer_name").fill("Vidal Asesores SL")
    page.get_by_role("button", name="Crear la cuenta").click()
    page.wait_for_url(re.compile(r"/c/[^/]+/$"))
    slug = page.url.rstrip("/").rsplit("/", 1)[1]
    account = Account.objects.get(slug=slug)
    assert Membership.objects.get(account=account).role == Role.OWNER
    page.get_by_role("heading", name="Vidal Asesores SL").wait_for()

    # One taxpayer: no desk nor taxpayers in the menu until the owner says there are several.
    navigation = page.get_by_role("navigation", name="Navegación principal")
    assert navigation.get_by_role("link", name="Contribuyentes").count() == 0
    page.get_by_role("link", name="Ajustes").first.click()
    page.get_by_role("link", name="Cuenta", exact=True).click()
    page.get_by_label("Gestiono varios contribuyentes").check()
    page.get_by_role("button", name="Guardar").click()
    page.get_by_text("Ajustes de la cuenta guardados.").wait_for()

    # A second taxpayer on the taxpayers page.
    navigation.get_by_role("link", name="Contribuyentes").click()
    page.get_by_role("link", name="Nuevo contribuyente").first.click()
    page.locator("#id_nif").fill("12345678Z")
    page.locator("#id_name").fill("Elena Vidal Ruiz")
    page.get_by_role("button", name=re.compile("Guardar|Crear")).click()
    page.get_by_text("Contribuyente Elena Vidal Ruiz creado.").wait_for()
    assert account.taxpayers.count() == 2

    # The invitation, by email.
    page.goto(f"{base}/c/{slug}/ajustes/miembros/")
    page.locator("#id_email").fill("pablo@vidal.example")
    page.locator("#id_role").select_option(Role.ACCOUNTANT)
    page.get_by_role("button", name="Enviar invitación").click()
    page.get_by_text("pablo@vidal.example").first.wait_for()
    [email] = [m for m in mailoutbox if "pablo@vidal.example" in m.to]
    body = email.body + "".join(str(alt[0]) for alt in getattr(email, "alternatives", []))
    link = re.search(r"https?://\S+/invitacion/[^\s\"'<>]+", body).group(0)
    assert link.startswith(base), link

    # The colleague, in a browser of their own.
    context = page.context.browser.new_context(
        locale="es-ES", viewport={"width": 1366, "height": 800}
    )
    try:
        colleague = context.new_page()
        colleague.set_default_timeout(15000)
        colleague.goto(link)
        colleague.get_by_role("heading", name="Únase a Vidal Asesores").wait_for()
        colleague.locator("#id_full_name").fill("Pablo Serrano")
        colleague.locator("#id_password").fill("otra clave muy larga 2026")
        colleague.get_by_role("button", name="Crear mi usuario y unirme").click()
        colleague.wait_for_url(f"{base}/c/{slug}/")
        colleague.get_by_role("heading", name="Vidal Asesores", exact=True).wait_for()
        colleague.get_by_text("su rol: Contable").wait_for()
        screenshot(colleague, "journey-5-colleague-joined")
    finally:
        context.close()
    pablo = User.objects.get(email="pablo@vidal.example")
    assert pablo.check_password("otra clave muy larga 2026")
    assert Membership.objects.get(user=pablo, account=account).role == Role.ACCOUNTANT
    page.reload()
    page.get_by_text("Pablo Serrano").first.wait_for()
    screenshot(page, "journey-5-members")
