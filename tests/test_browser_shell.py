"""The browser shell in a real chromium: log in, switch taxpayer with the switcher (choose,
then "Cambiar"), log out."""

import pytest
from django.core.management import call_command

from tests.browser import page, screenshot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_demo_user_logs_in_and_switches_between_gestoria_taxpayers(live_server, page):  # noqa: F811
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    page.goto(f"{live_server.url}/entrar/")
    page.get_by_label("Correo electrónico").fill("demo@factu.test")
    page.get_by_label("Contraseña").fill("demo")
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("link", name="Gestoría Ebro").click()
    page.wait_for_url("**/c/demo-gestoria/")

    switcher = page.get_by_label("Contribuyente")
    for name in ("Marco Rossi", "Talleres Ebro SL", "Distribuciones Norte SA"):
        switcher.select_option(
            label=next(
                o for o in switcher.locator("option").all_inner_texts() if o.startswith(name)
            )
        )
        page.get_by_role("button", name="Cambiar", exact=True).click()
        page.wait_for_selector(f"text=Ahora trabaja con {name}.")
        assert page.locator("main h2").first.inner_text() == name
    screenshot(page, "shell-gestoria-switcher")

    page.get_by_role("button", name="Salir").click()
    page.wait_for_url("**/entrar/")
