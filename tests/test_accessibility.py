"""Screens that work for everyone: what the crawl (tests/test_csp.py, at 390 px with axe-core)
cannot see because it only loads pages: forms after a failed submit, keyboard use of the
header, the folding menu, live regions across htmx swaps, and names of repeated controls."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from api.services import create_token
from factu.models import Taxpayer
from tests.accessibility import AXE_RUN, AXE_TAGS, DESKTOP, PHONE, load_axe
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.test_invoicing_views import form_data

browser = [pytest.mark.browser, pytest.mark.slow]


class Ids(HTMLParser):
    """Every id of a document and every aria-describedby (element, ids) in it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.described: list[tuple[str, list[str]]] = []
        self.invalid: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("id"):
            self.ids.add(named["id"])
        if named.get("aria-describedby"):
            self.described.append((named.get("name") or tag, named["aria-describedby"].split()))
        if named.get("aria-invalid") == "true":
            self.invalid.append((named.get("name") or tag, named.get("aria-describedby") or ""))


def failed_submits(client, account):
    """(url, response) of forms posted with errors in fields, lines and help texts."""
    slug = account.slug
    bad_line = {"description": "Diseño", "quantity": "mucho", "unit_price": "10"}
    yield (
        "invoice_create",
        client.post(
            reverse("invoice_create", args=[slug]), form_data([bad_line], issue_date="ayer")
        ),
    )
    yield "client_create", client.post(reverse("client_create", args=[slug]), {"name": ""})
    yield "expense_create", client.post(reverse("expense_create", args=[slug]), {"amount": "x"})
    yield "series_create", client.post(reverse("series_create", args=[slug]), {"code": "??"})
    yield "api_token_list", client.post(reverse("api_token_list", args=[slug]), {"name": ""})
    yield "password_change", client.post(reverse("password_change"), {"old_password": "no"})


def test_every_aria_describedby_of_a_form_with_errors_names_an_id_of_the_page(
    client, owner, account, series
):
    client.force_login(owner)
    errors_linked = 0
    for name, response in failed_submits(client, account):
        assert response.status_code in (200, 400), (name, response.status_code)
        doc = Ids(response.content.decode())
        assert doc.invalid, (name, "the failed submit should mark a field invalid")
        for field, ids in doc.described:
            missing = [i for i in ids if i not in doc.ids]
            assert not missing, (name, field, missing)
        for field, described in doc.invalid:
            assert any(i.endswith("_error") for i in described.split()), (name, field, described)
            errors_linked += 1
        assert 'id="error-summary-title"' in response.content.decode(), name
    assert errors_linked >= 6, errors_linked


def test_confirmation_messages_are_a_list_inside_a_status_region(client, owner, account):
    other = Taxpayer.objects.create(account=account, nif="A28045631", name="Norte SA")
    client.force_login(owner)
    response = client.post(
        reverse("switch_taxpayer", args=[account.slug]), {"taxpayer": other.pk}, follow=True
    )
    html = response.content.decode()
    assert '<div role="status" class="messages-region"><ul class="messages"><li' in html
    assert "Ahora trabaja con Norte SA." in html


def test_repeated_controls_name_what_they_act_on(client, owner, account):
    for name in ("Integración contable", "Copias nocturnas"):
        create_token(account, owner, name)
    client.force_login(owner)
    html = client.get(reverse("api_token_list", args=[account.slug])).content.decode()
    for name in ("Integración contable", "Copias nocturnas"):
        assert f'Revocar<span class="visually-hidden"> el token «{name}»</span>' in html, name


def test_live_regions_sit_outside_the_fragments_htmx_replaces(client, owner, account, issued):
    """The AEAT status, a job's progress and the live totals are swapped whole by htmx; the
    region that speaks for each stays in the page, outside what is swapped."""
    from factu.models import Job

    job = Job.objects.create(
        account=account, taxpayer=issued.taxpayer, user=owner, kind=Job.Kind.IMPORT_CLIENTS
    )
    client.force_login(owner)
    pages = {  # the region's key is also the id of the element htmx replaces
        "aeat-status": reverse("invoice_detail", args=[account.slug, issued.pk]),
        "job-progress": reverse("transfers_job", args=[account.slug, job.pk]),
        "totals": reverse("invoice_create", args=[account.slug]),
    }
    for key, url in pages.items():
        html = client.get(url).content.decode()
        region = f'<p class="visually-hidden" role="status" data-live="{key}"></p>'
        assert html.count(region) == 1, (key, url)
        start = html.index(f'id="{key}"')
        inner = html[start : html.index("</section>" if key != "totals" else "</div>", start)]
        assert region not in inner, key
        assert "aria-live" not in html, key
    fragment = client.get(reverse("invoice_status", args=[account.slug, issued.pk]))
    assert 'data-announce="aeat-status"' in fragment.content.decode()
    progress = client.get(reverse("transfers_job_progress", args=[account.slug, job.pk]))
    assert 'data-announce="job-progress"' in progress.content.decode()


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_field_borders_contrast_three_to_one_with_white_and_the_page():
    """WCAG 1.4.11: a field's border is what shows it is a field (axe checks text only)."""
    css = (Path(__file__).parent.parent / "static" / "css" / "factu.css").read_text()
    colours = dict(re.findall(r"--([a-z]+):(#[0-9a-f]{6})", css))
    rule = re.search(r"^input, select, textarea \{[^}]*\}", css, re.M).group(0)
    assert "border:1px solid var(--field)" in rule, rule
    for background in ("#ffffff", colours["bg"]):
        assert contrast(colours["field"], background) >= 3, background


# -- in chromium --------------------------------------------------------------------------


def open_new_invoice(tab, base_url: str, account) -> None:
    """Sign in as ``owner`` and open the new invoice form, its first line typed into."""
    sign_in(tab, base_url)
    tab.goto(f"{base_url}{reverse('invoice_create', args=[account.slug])}")
    tab.locator("#id_lines-0-description").fill("Diseño")


@pytest.mark.browser
@pytest.mark.slow
def test_a_failed_submit_moves_the_focus_to_the_error_summary_linked_to_the_fields(
    live_server,
    page,  # noqa: F811
    owner,
    series,
):
    load_axe(page.context)
    open_new_invoice(page, live_server.url, series.account)
    page.locator("#id_lines-0-quantity").fill("mucho")
    page.locator("#id_issue_date").fill("")
    page.get_by_role("button", name="Guardar borrador").click()
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert page.evaluate("document.activeElement.dataset.errorSummary !== undefined")
    links = summary.get_by_role("link")
    assert links.count() >= 2
    for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert page.locator(href).count() == 1, href
    described = page.locator("#id_lines-0-quantity").get_attribute("aria-describedby")
    assert "id_lines-0-quantity_error" in described.split()
    assert page.locator("#id_lines-0-quantity_error").is_visible()
    assert page.evaluate(AXE_RUN, AXE_TAGS) == []
    screenshot(page, "a11y-error-summary")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert page.evaluate(AXE_RUN, AXE_TAGS) == []
    screenshot(page, "a11y-error-summary-390")


@pytest.mark.browser
@pytest.mark.slow
def test_arrow_down_on_the_taxpayer_switcher_changes_the_choice_without_submitting(
    live_server,
    page,  # noqa: F811
    owner,
    account,
):
    Taxpayer.objects.create(account=account, nif="A28045631", name="Norte SA")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('dashboard', args=[account.slug])}")
    switcher = page.locator("#taxpayer-switch")
    before = switcher.input_value()
    switcher.focus()
    switcher.press("ArrowDown")
    page.wait_for_timeout(1000)  # a submit on change would have left the page by now
    assert switcher.input_value() != before, "ArrowDown should move to the next taxpayer"
    assert page.get_by_text("Ahora trabaja con").count() == 0
    page.get_by_role("button", name="Cambiar", exact=True).click()
    page.get_by_text("Ahora trabaja con").wait_for()


@pytest.mark.browser
@pytest.mark.slow
def test_the_header_is_tabbed_in_the_order_it_is_drawn(live_server, page, owner, account):  # noqa: F811
    Taxpayer.objects.create(account=account, nif="A28045631", name="Norte SA")
    sign_in(page, live_server.url)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}{reverse('dashboard', args=[account.slug])}")
    # Focusable header controls in Tab order (source order: none has a positive tabindex),
    # each drawn right of the one before it or on a row below it, never back up or left.
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('header a[href], header button, header select')]
          .filter((el) => el.offsetParent !== null)
          .map((el) => { const r = el.getBoundingClientRect();
            return [el.textContent.trim().slice(0, 20), r.top, r.bottom, r.left, r.right]; })"""
    )
    assert len(boxes) >= 12, boxes
    for (a, _top_a, bottom_a, _left_a, right_a), (b, top_b, _bottom_b, left_b, _right_b) in zip(
        boxes, boxes[1:], strict=False
    ):
        assert left_b >= right_a - 1 or top_b >= bottom_a - 1, f"{b!r} is drawn before {a!r}"


@pytest.mark.browser
@pytest.mark.slow
def test_on_a_phone_the_menu_folds_behind_a_button_and_opens_without_barriers(
    live_server,
    page,  # noqa: F811
    owner,
    account,
):
    load_axe(page.context)
    sign_in(page, live_server.url)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{reverse('dashboard', args=[account.slug])}")
    toggle = page.get_by_role("button", name="Menú")
    nav = page.get_by_role("navigation", name="Navegación principal")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    nav.get_by_role("link", name="Facturas").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert page.evaluate(AXE_RUN, AXE_TAGS) == []
    screenshot(page, "a11y-menu-open-390")
    nav.get_by_role("link", name="Clientes").focus()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.dataset.menuToggle !== undefined")
    page.set_viewport_size(DESKTOP)
    nav.wait_for()
    assert not toggle.is_visible()


@pytest.mark.browser
@pytest.mark.slow
def test_the_totals_live_region_stays_in_place_and_speaks_the_new_total(
    live_server,
    page,  # noqa: F811
    owner,
    series,
):
    open_new_invoice(page, live_server.url, series.account)
    region = page.locator('[data-live="totals"]')
    assert region.get_attribute("role") == "status"
    region.evaluate("el => { el.dataset.marked = '1'; }")
    page.locator("#id_lines-0-unit_price").fill("100")
    page.locator('[data-total="total"]').wait_for()
    page.wait_for_function(
        "document.querySelector('[data-live=totals]').textContent.includes('121,00')"
    )
    assert page.locator('[data-live="totals"][data-marked="1"]').count() == 1
    assert page.locator("[aria-live]").count() == 0, "no live region inside a swapped fragment"
