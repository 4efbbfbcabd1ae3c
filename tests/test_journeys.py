"""User journeys in a real browser (Debian's chromium via Playwright), each asserting what
the user sees, each leaving a screenshot under test-output/ for a reviewer."""

from __future__ import annotations

import pytest
import requests

from api.models import ApiToken
from tests.browser import page, screenshot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def log_in(tab, base: str, email: str) -> None:
    tab.goto(f"{base}/entrar/")
    tab.get_by_label("Correo electrónico").fill(email)
    tab.get_by_label("Contraseña").fill("correct horse battery")
    tab.get_by_role("button", name="Entrar").click()
    tab.wait_for_url(lambda url: "/entrar/" not in url)


def test_journey_1_token_created_seen_once_used_and_revoked(live_server, page, owner, account):  # noqa: F811
    base = live_server.url
    log_in(page, base, owner.email)
    page.goto(f"{base}/c/{account.slug}/ajustes/tokens/")
    page.get_by_label("Nombre").fill("ERP de pruebas")
    page.get_by_role("button", name="Crear token").click()
    page.get_by_text("no se volverá a mostrar").wait_for()
    raw = page.get_by_label("Token").input_value()
    assert raw.startswith("kf_") and len(raw) == 35
    page.get_by_role("button", name="Copiar").click()
    page.get_by_text("Copiado al portapapeles.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    screenshot(page, "journey-1-token-shown-once")

    api = f"{base}/api/invoices"
    assert (
        requests.get(api, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 200
    )

    page.get_by_role("link", name="Hecho, ya lo he copiado").click()
    assert raw not in page.content()
    assert page.get_by_text(raw[:7] + "…").count() == 1
    page.get_by_role("link", name="Revocar").click()
    page.get_by_role("button", name="Revocar").click()
    page.get_by_text("Revocado").first.wait_for()
    assert raw not in page.content()
    screenshot(page, "journey-1-token-revoked")
    after = requests.get(api, headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert after.status_code == 401 and after.headers["WWW-Authenticate"].startswith("Bearer")
    assert ApiToken.objects.get().revoked_at is not None


def test_journey_4_viewer_sees_no_create_buttons_and_is_refused(live_server, page, viewer, account):  # noqa: F811
    base = live_server.url
    log_in(page, base, viewer.email)
    for path, button in [
        ("facturas/", "Nueva factura"),
        ("clientes/", "Nuevo cliente"),
        ("contribuyentes/", "Nuevo contribuyente"),
        ("gastos/", "Nuevo gasto"),
    ]:
        page.goto(f"{base}/c/{account.slug}/{path}")
        assert page.get_by_role("link", name=button).count() == 0, path
        assert page.get_by_role("button", name=button).count() == 0, path
    screenshot(page, "journey-4-viewer-invoices")
    # Posting anyway, with a valid session and CSRF token, is refused.
    status = page.evaluate(
        """async (url) => {
            const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='))
                .split('=')[1];
            const body = new URLSearchParams({name: 'Intruso', nif: '12345678Z', country: 'ES'});
            const response = await fetch(url, {method: 'POST', body,
                headers: {'X-CSRFToken': token}});
            return response.status;
        }""",
        f"{base}/c/{account.slug}/clientes/nuevo/",
    )
    assert status == 403
