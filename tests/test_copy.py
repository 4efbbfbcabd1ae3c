"""Copy and polish: plurals that agree, Spanish spelt with its accents, "hace menos de un
minuto", no status said twice, badges that differ by state, the favicon, the desk and
taxpayer pages only for whoever manages several, the 130 only for whoever files it, and a
"token creado" page that a reload never repeats."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.services import create_token
from clients.services import create_client
from desk.resubmission import report
from expenses.models import ExpenseCategory
from expenses.summaries import obligation_130
from factu.models import Account, Membership, Role, Taxpayer
from factu.templatetags.factu_copy import ago
from factu.text import count_of
from invoicing.models import InvoiceStatus
from invoicing.services import DraftLine, cancel_invoice, create_draft, issue_invoice, mark_paid
from invoicing.views import AEAT_TONES, KEPT, STATUS_TONES, UNSIGNED
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parent.parent
TOKEN_RE = re.compile(r"kf_[A-Za-z0-9]{32}")


class VisibleText(HTMLParser):
    """The text a person reads: no <script>/<style>, no <option> lists, no <title>."""

    SKIP = {"script", "style", "title", "select"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def nav_links(html: str) -> str:
    """The main navigation's markup."""
    start = html.index('aria-label="Navegación principal"')
    return html[start : html.index("</nav>", start)]


# ---------------------------------------------------------------------------------------
# Plurals
# ---------------------------------------------------------------------------------------


def test_count_of_agrees_with_one_and_with_five():
    assert count_of(1, "factura", "facturas") == "1 factura"
    assert count_of(5, "factura", "facturas") == "5 facturas"
    assert count_of(0, "registro", "registros") == "0 registros"


def test_the_resubmission_report_agrees_at_one_and_at_five():
    one = [{"ok": True, "action": "reintentar"}]
    assert report(one)["message"] == "Se han reenviado 1 de 1 registro a la AEAT."
    five = report(one * 5)["message"]
    assert five == "Se han reenviado 5 de 5 registros a la AEAT."


@pytest.mark.parametrize(("cap", "words"), [(1, "1 token activo,"), (5, "5 tokens activos,")])
def test_the_token_cap_message_agrees(account, owner, settings, cap, words):
    settings.API_MAX_ACTIVE_TOKENS = cap
    for i in range(cap):
        create_token(account, owner, f"t{i}")
    with pytest.raises(Exception) as refused:
        create_token(account, owner, "uno más")
    assert words in str(refused.value)


@pytest.mark.parametrize(
    ("minutes", "words"), [(1, "durante 1 minuto."), (5, "durante 5 minutos.")]
)
def test_the_lockout_message_agrees(settings, minutes, words):
    from factu.views import login_locked_out

    settings.AXES_COOLOFF_TIME = timedelta(minutes=minutes)
    request = RequestFactory().post("/entrar/")
    request.session = {}
    html = login_locked_out(request).content.decode()
    assert words in html


def test_no_template_or_message_writes_a_plural_in_brackets():
    """``factura(s)``, ``error(es)``, ``importado(s)``: never; counts take pluralize/ngettext."""
    bracket = re.compile(r"[a-záéíóúñ]\((s|es|as|os|n)\)", re.IGNORECASE)
    found = []
    for folder in ("templates", "factu", "clients", "invoicing", "expenses", "desk", "api"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".html", ".txt", ".py", ".js") or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if bracket.search(line) and "certificate(s)" not in line:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    for path in (ROOT / "transfers").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if bracket.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, found


# ---------------------------------------------------------------------------------------
# Accents
# ---------------------------------------------------------------------------------------

# Words that Spanish always writes with an accent (none is a valid word without it).
UNACCENTED = re.compile(
    r"\b(tecnologia|informacion|configuracion|categoria|categorias|electronico|electronica|"
    r"razon|codigo|direccion|pagina|paginas|telefono|descripcion|operacion|facturacion|"
    r"sesion|automatico|automatica|tambien|aqui|despues|todavia|segun|ademas|ningun|valido|"
    r"invalido|region|anomalia|anomalias|rectificacion|anulacion|identificacion|formacion|"
    r"vehiculo|numero|numeros|ultimo|ultima|dias|contrasena|proximo|proxima)\b",
    re.IGNORECASE,
)


def template_text(source: str) -> str:
    """A template's words: without tags, variables, comments and HTML markup."""
    source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    return re.sub(r"<[^>]*>", " ", source)


def test_templates_write_spanish_with_its_accents():
    found = []
    for path in (ROOT / "templates").rglob("*"):
        if path.suffix in (".html", ".txt") and "drf_spectacular" not in path.parts:
            for match in UNACCENTED.finditer(template_text(path.read_text())):
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not found, found


OUR_APPS = ["factu", "clients", "invoicing", "expenses", "verifactu", "desk", "api", "transfers"]


def test_choice_labels_and_field_names_write_spanish_with_its_accents():
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        for field in model._meta.get_fields():
            texts = [str(getattr(field, "verbose_name", "")), str(getattr(field, "help_text", ""))]
            texts += [str(label) for _, label in (getattr(field, "flatchoices", None) or [])]
            for text in texts:
                if UNACCENTED.search(text):
                    found.append(f"{model._meta.label}.{field.name}: {text}")
    assert not found, found


def test_the_seeded_category_is_software_y_tecnologia_with_its_accent(db):
    names = set(ExpenseCategory.objects.filter(account=None).values_list("name", flat=True))
    assert "Software y tecnología" in names
    assert "Software y tecnologia" not in names


# ---------------------------------------------------------------------------------------
# Relative times
# ---------------------------------------------------------------------------------------


def test_ago_says_less_than_a_minute_never_zero_minutes():
    now = timezone.now()
    assert ago(now - timedelta(seconds=0), now) == "hace menos de un minuto"
    assert ago(now - timedelta(seconds=59), now) == "hace menos de un minuto"
    assert ago(now + timedelta(seconds=5), now) == "hace menos de un minuto"
    # Django's timesince keeps the number and its unit together with a no-break space.
    assert ago(now - timedelta(minutes=1), now) == "hace 1\xa0minuto"
    assert ago(now - timedelta(minutes=5), now) == "hace 5\xa0minutos"
    assert ago(None) == ""


def test_the_desk_says_a_record_just_queued_is_less_than_a_minute_old(
    login, owner, account, taxpayer, register
):
    register()
    html = login(owner).get(reverse("desk", args=[account.slug])).content.decode()
    assert "hace menos de un minuto" in html
    assert "hace 0" not in html


# ---------------------------------------------------------------------------------------
# Statuses: said once, each with its own badge
# ---------------------------------------------------------------------------------------


def repeated_words(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"\b(\w{4,})\s+\1\b", text, re.IGNORECASE)]


def test_no_invoice_page_says_its_status_twice_in_a_row(login, owner, account, draft, actor):
    client = login(owner)
    sent = issue_invoice(draft(), actor=actor)
    paid = mark_paid(issue_invoice(draft(), actor=actor), paid_at=timezone.now(), actor=actor)
    cancelled = issue_invoice(draft(), actor=actor)
    cancel_invoice(cancelled, actor=actor, reason="Emitida por error")
    for invoice in (draft(), sent, paid, cancelled):
        url = reverse("invoice_detail", args=[account.slug, invoice.pk])
        text = visible_text(client.get(url).content.decode())
        assert not repeated_words(text), (invoice.status, repeated_words(text))
    listing = visible_text(
        client.get(reverse("invoice_list", args=[account.slug])).content.decode()
    )
    assert not repeated_words(listing), repeated_words(listing)
    detail = client.get(reverse("invoice_detail", args=[account.slug, sent.pk])).content.decode()
    assert "Emitida el" in detail and "<dt>Estado</dt>" not in detail


def badge_classes(tone: str) -> frozenset[str]:
    return frozenset(tone.split())


def test_every_invoice_status_and_aeat_status_has_a_badge_of_its_own():
    invoice_looks = {badge_classes(STATUS_TONES[s]) for s in InvoiceStatus}
    assert len(invoice_looks) == len(InvoiceStatus)
    aeat = [*AEAT_TONES.values(), KEPT["tone"], UNSIGNED["tone"]]
    assert len({badge_classes(t) for t in aeat}) == len(aeat)
    css = (ROOT / "static" / "css" / "factu.css").read_text()
    for tone in [*STATUS_TONES.values(), *aeat]:
        own = [c for c in tone.split() if c.startswith(("status-", "aeat-"))]
        assert len(own) == 1, tone
        assert re.search(rf"\.badge\.{own[0]}\s*\{{", css), f"no look for {own[0]}"


def test_the_invoice_list_shows_each_status_with_its_class_and_its_word(
    login, owner, account, draft, actor
):
    mark_paid(issue_invoice(draft(), actor=actor), paid_at=timezone.now(), actor=actor)
    issue_invoice(draft(), actor=actor)
    draft()
    html = login(owner).get(reverse("invoice_list", args=[account.slug])).content.decode()
    assert re.search(r'class="badge ok status-paid">Cobrada<', html)
    assert re.search(r'class="badge status-sent">Emitida<', html)
    assert re.search(r'class="badge status-draft">Borrador<', html)
    assert re.search(r'class="badge pending aeat-queued">En cola<', html)


# ---------------------------------------------------------------------------------------
# Favicon
# ---------------------------------------------------------------------------------------


def test_the_favicon_is_linked_in_every_page_and_served(client, login, owner, account):
    html = login(owner).get(reverse("dashboard", args=[account.slug])).content.decode()
    svg = re.search(r'<link rel="icon" href="([^"]+\.svg)" type="image/svg\+xml">', html)
    assert svg, "base.html links no SVG icon"
    served = client.get(svg.group(1))
    assert served.status_code == 200 and served["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(served.streaming_content)
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 301
    ico = client.get(legacy["Location"])
    assert ico.status_code == 200
    assert b"".join(ico.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert finders.find("img/favicon.svg") and finders.find("img/apple-touch-icon.png")


# ---------------------------------------------------------------------------------------
# The desk and the taxpayers' pages: for whoever manages several
# ---------------------------------------------------------------------------------------


@pytest.fixture
def freelancer(db):
    """Lucía, an autónoma: an account of her own with one taxpayer, herself."""
    account = Account.objects.create(name="Lucía Martín", slug="lucia", kind=Account.Kind.AUTONOMO)
    taxpayer = Taxpayer.objects.create(account=account, nif="12345678Z", name="Lucía Martín Sanz")
    user = make_user("lucia@example.com")
    Membership.objects.create(user=user, account=account, role=Role.OWNER)
    return user, account, taxpayer


def test_a_one_taxpayer_freelancer_sees_no_desk_nor_taxpayers_in_the_menu(login, freelancer):
    user, account, taxpayer = freelancer
    client = login(user)
    html = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    nav = nav_links(html)
    assert "Mesa AEAT" not in nav and "Contribuyentes" not in nav
    assert "Facturas" in nav and "Impuestos" in nav
    desk_href = f'href="{reverse("desk", args=[account.slug])}"'
    assert desk_href not in html  # nor the dashboard's button
    assert 'id="taxpayer-switch"' not in html  # nothing to switch to
    # Settings offer her fiscal data instead of a list of one.
    settings_page = client.get(reverse("api_token_list", args=[account.slug])).content.decode()
    assert reverse("taxpayer_edit", args=[account.slug, taxpayer.pk]) in settings_page
    assert "Datos fiscales" in settings_page
    # The URLs still answer.
    for name in ("desk", "taxpayer_list"):
        assert client.get(reverse(name, args=[account.slug])).status_code == 200


def test_opting_in_to_several_taxpayers_shows_the_desk_and_the_list(login, freelancer):
    user, account, _ = freelancer
    client = login(user)
    settings_url = reverse("account_settings", args=[account.slug])
    form = client.get(settings_url).content.decode()
    assert "Gestiono varios contribuyentes" in form
    saved = client.post(settings_url, {"manages_several_taxpayers": "on"}, follow=True)
    assert "Ajustes de la cuenta guardados." in saved.content.decode()
    account.refresh_from_db()
    assert account.manages_several_taxpayers
    nav = nav_links(client.get(reverse("dashboard", args=[account.slug])).content.decode())
    assert "Mesa AEAT" in nav and "Contribuyentes" in nav
    client.post(settings_url, {})  # unticked: back to the short menu
    nav = nav_links(client.get(reverse("dashboard", args=[account.slug])).content.decode())
    assert "Mesa AEAT" not in nav


def test_a_second_taxpayer_or_a_gestoria_shows_the_desk_without_asking(login, freelancer):
    user, account, _ = freelancer
    Taxpayer.objects.create(account=account, nif="B87654323", name="Martín Estudio SL")
    nav = nav_links(login(user).get(reverse("dashboard", args=[account.slug])).content.decode())
    assert "Mesa AEAT" in nav and "Contribuyentes" in nav
    assert Account(kind=Account.Kind.GESTORIA).shows_taxpayer_pages(1)
    assert not Account(kind=Account.Kind.COMPANY).shows_taxpayer_pages(1)


def test_only_an_owner_or_admin_changes_the_account_setting(login, account, owner, viewer):
    url = reverse("account_settings", args=[account.slug])
    assert login(viewer).get(url).status_code == 200
    assert login(viewer).post(url, {"manages_several_taxpayers": "on"}).status_code == 403
    account.refresh_from_db()
    assert not account.manages_several_taxpayers


# ---------------------------------------------------------------------------------------
# Modelo 130: only for whoever files it
# ---------------------------------------------------------------------------------------


def test_the_irpf_regime_defaults_from_the_nif(db, account):
    person = Taxpayer.objects.create(account=account, nif="12345678Z", name="Persona")
    company = Taxpayer.objects.create(account=account, nif="B87654323", name="Empresa SL")
    assert person.irpf_regime == Taxpayer.IrpfRegime.DIRECT_SIMPLIFIED and person.files_modelo_130
    assert company.irpf_regime == Taxpayer.IrpfRegime.NOT_APPLICABLE
    assert not company.files_modelo_130


@pytest.mark.parametrize(
    ("regime", "files"),
    [
        (Taxpayer.IrpfRegime.DIRECT_NORMAL, True),
        (Taxpayer.IrpfRegime.DIRECT_SIMPLIFIED, True),
        (Taxpayer.IrpfRegime.OBJECTIVE, False),
        (Taxpayer.IrpfRegime.NOT_APPLICABLE, False),
    ],
)
def test_the_summary_shows_the_130_only_in_estimacion_directa(login, freelancer, regime, files):
    user, account, taxpayer = freelancer
    taxpayer.irpf_regime = regime
    taxpayer.save()
    client = login(user)
    html = client.get(reverse("tax_summary", args=[account.slug])).content.decode()
    assert ("Modelo 130 · IRPF, pago fraccionado" in html) is files
    assert ("data-130-not-filed" in html) is not files
    assert "Modelo 303" in html
    csv = client.get(reverse("tax_summary_export", args=[account.slug])).content.decode()
    assert any(line.startswith("130;") for line in csv.splitlines()) is files


def test_a_company_nif_cannot_take_estimacion_directa(login, account, owner, taxpayer):
    url = reverse("taxpayer_edit", args=[account.slug, taxpayer.pk])
    data = {"nif": taxpayer.nif, "name": taxpayer.name, "country": "ES", "default_irpf_bp": 0}
    refused = login(owner).post(url, {**data, "irpf_regime": "direct_simplified"})
    assert refused.status_code == 400
    assert "Una sociedad u otra entidad no tributa por IRPF" in refused.content.decode()
    taxpayer.refresh_from_db()
    assert taxpayer.irpf_regime == Taxpayer.IrpfRegime.NOT_APPLICABLE
    person = Taxpayer.objects.create(account=account, nif="12345678Z", name="Persona")
    edit = reverse("taxpayer_edit", args=[account.slug, person.pk])
    data = {"nif": person.nif, "name": person.name, "country": "ES", "default_irpf_bp": 0}
    assert login(owner).post(edit, {**data, "irpf_regime": "objective"}).status_code == 302
    person.refresh_from_db()
    assert person.irpf_regime == Taxpayer.IrpfRegime.OBJECTIVE


def issue_in(taxpayer, series, actor, client, when: date, base: int, irpf_bp: int):
    invoice = create_draft(
        taxpayer,
        series=series,
        client=client,
        issue_date=when,
        lines=[DraftLine("Consultoría", quantity=100, unit_price=base, iva_type="general")],
        irpf_bp=irpf_bp,
        actor=actor,
    )
    return issue_invoice(invoice, actor=actor)


@pytest.mark.parametrize(("withheld", "exempt"), [(70000, True), (69000, False)])
def test_the_130_is_not_due_when_70_percent_of_last_years_income_was_withheld(
    login, owner, account, taxpayer, series, actor, withheld, exempt
):
    taxpayer.irpf_regime = Taxpayer.IrpfRegime.DIRECT_SIMPLIFIED
    taxpayer.save()
    client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    last_year = timezone.localdate().year - 1
    issue_in(taxpayer, series, actor, client, date(last_year, 3, 1), withheld, 1500)
    issue_in(taxpayer, series, actor, client, date(last_year, 6, 1), 100000 - withheld, 0)
    obligation = obligation_130(taxpayer, last_year + 1)
    assert obligation.files and obligation.exempt is exempt
    assert obligation.withheld_bp == withheld * 10000 // 100000
    html = login(owner).get(reverse("tax_summary", args=[account.slug])).content.decode()
    assert ("art. 109.1 del Reglamento del IRPF" in html) is exempt
    assert "Modelo 130 · IRPF, pago fraccionado" in html  # the figures stay, for reference


def test_no_income_last_year_means_the_130_is_due(db, taxpayer):
    taxpayer.irpf_regime = Taxpayer.IrpfRegime.DIRECT_NORMAL
    taxpayer.save()
    obligation = obligation_130(taxpayer, 2026)
    assert obligation.withheld_bp is None and not obligation.exempt


# ---------------------------------------------------------------------------------------
# "Token creado": POST-redirect-GET, the secret shown once
# ---------------------------------------------------------------------------------------


def test_reloading_the_token_created_page_creates_nothing_and_shows_no_secret(
    login, owner, account
):
    client = login(owner)
    url = reverse("api_token_list", args=[account.slug])
    posted = client.post(url, {"name": "ERP"})
    assert posted.status_code == 302
    shown_url = posted["Location"]
    first = client.get(shown_url)
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    [raw] = set(TOKEN_RE.findall(first.content.decode()))
    reloaded = client.get(shown_url, follow=True)
    html = reloaded.content.decode()
    assert reloaded.redirect_chain[-1][0] == url
    assert raw not in html and not TOKEN_RE.search(html)
    assert "ya se mostró una vez" in html
    assert ApiToken.objects.count() == 1


def test_the_session_never_holds_the_raw_token_in_clear(login, owner, account):
    client = login(owner)
    client.post(reverse("api_token_list", args=[account.slug]), {"name": "ERP"})
    token = ApiToken.objects.get()
    session = client.session["api_token_created"]
    assert session["id"] == str(token.pk)
    assert not TOKEN_RE.search(str(session)) and token.prefix not in str(session)


def test_another_users_token_page_shows_nothing(login, owner, account):
    other = make_user("admin2@example.com")
    Membership.objects.create(user=other, account=account, role=Role.ADMIN)
    login(owner).post(reverse("api_token_list", args=[account.slug]), {"name": "ERP"})
    token = ApiToken.objects.get()
    url = reverse("api_token_created", args=[account.slug, token.pk])
    seen = login(other).get(url, follow=True).content.decode()
    assert not TOKEN_RE.search(seen) and "ya se mostró una vez" in seen


# ---------------------------------------------------------------------------------------
# In chromium
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
def test_in_chromium_a_reloaded_token_page_shows_no_secret_and_makes_no_token(
    live_server,
    page,  # noqa: F811 - the fixture
    freelancer,
):
    user, account, _ = freelancer
    sign_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/c/{account.slug}/ajustes/tokens/")
    page.get_by_label("Nombre").fill("ERP")
    page.get_by_role("button", name="Crear token").click()
    page.get_by_text("no se volverá a mostrar").wait_for()
    raw = page.get_by_label("Token").input_value()
    assert TOKEN_RE.fullmatch(raw) and page.url.endswith("/creado/")
    screenshot(page, "copy-token-shown-once")
    page.reload()  # a GET: nothing is posted again
    page.get_by_text("ya se mostró una vez").wait_for()
    assert raw not in page.content()
    assert ApiToken.objects.filter(account=account).count() == 1
    screenshot(page, "copy-token-reloaded")


@pytest.mark.browser
def test_in_chromium_the_freelancer_menu_grows_when_she_opts_in(
    live_server,
    page,  # noqa: F811 - the fixture
    freelancer,
):
    user, account, _ = freelancer
    sign_in(page, live_server.url, user.email)
    menu = page.get_by_role("navigation", name="Navegación principal")
    menu.get_by_role("link", name="Facturas").wait_for()
    assert menu.get_by_role("link", name="Mesa AEAT").count() == 0
    assert menu.get_by_role("link", name="Contribuyentes").count() == 0
    screenshot(page, "copy-freelancer-menu")
    page.goto(f"{live_server.url}/c/{account.slug}/ajustes/cuenta/")
    page.get_by_label("Gestiono varios contribuyentes").check()
    page.get_by_role("button", name="Guardar").click()
    page.get_by_text("Ajustes de la cuenta guardados.").wait_for()
    screenshot(page, "copy-account-settings")
    menu.get_by_role("link", name="Mesa AEAT").click()
    page.get_by_role("heading", name="Mesa AEAT").wait_for()
    assert menu.get_by_role("link", name="Contribuyentes").count() == 1
