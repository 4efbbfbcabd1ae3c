"""Playwright driving Debian's chromium (never a downloaded browser).

Every tab records Content-Security-Policy violations (chromium reports each one on the console
and as a ``securitypolicyviolation`` event) and uncaught page errors; a browser test whose pages
broke the policy fails at teardown, whatever it was asserting.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM

SCREENSHOTS = Path(
    os.environ.get("FACTU_TEST_OUTPUT", Path(__file__).parent.parent / "test-output")
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    """A chromium tab; fails the test at teardown if any page broke the CSP."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="es-ES",
            viewport={"width": 1366, "height": 800},
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.add_init_script(VIOLATION_LISTENER)
        tab = context.new_page()
        tab.set_default_timeout(15000)
        watch_csp(tab)
        yield tab
        context.close()
        browser.close()
        # Django code the test ran inside Playwright's event loop had connections of that
        # loop's own context (asgiref locals), which pytest-django never sees: without this,
        # one stayed open and PostgreSQL refused to drop the test database at the end.
        from django.db import connections

        connections.close_all()
    assert not tab.csp_violations, f"Content-Security-Policy violations: {tab.csp_violations}"


# Runs before any page script (Playwright's init scripts are not subject to the page's CSP).
VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


def watch_csp(tab) -> None:
    """Collect the tab's CSP violations (chromium's console reports) in ``tab.csp_violations``
    and its uncaught errors in ``tab.page_errors``."""
    tab.csp_violations = []
    tab.page_errors = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            tab.csp_violations.append(f"{tab.url}: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: tab.page_errors.append(f"{tab.url}: {error}"))


def page_violations(tab) -> list[str]:
    """The ``securitypolicyviolation`` events the current document has seen so far."""
    return tab.evaluate("window.__cspViolations || []")


def screenshot(tab, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def sign_in(tab, base_url: str, email: str = "owner@example.com") -> None:
    """Sign in through the login page as a user of ``conftest.make_user``."""
    tab.goto(f"{base_url}/entrar/")
    tab.get_by_label("Correo electrónico").fill(email)
    tab.get_by_label("Contraseña").fill("correct horse battery")
    tab.get_by_role("button", name="Entrar").click()
    tab.wait_for_url(lambda u: "/entrar/" not in u)


def choose_client(tab, name: str) -> None:
    """Pick ``name`` in the invoice form's client type-ahead: type it, choose its option."""
    from playwright.sync_api import expect

    box = tab.get_by_role("combobox", name="Cliente", exact=True)
    box.fill(name)
    tab.get_by_role("option", name=name).first.click()
    # expect() polls in the page without eval (which the CSP refuses), unlike wait_for_function
    expect(tab.locator("[data-client-value]")).not_to_have_value("")
