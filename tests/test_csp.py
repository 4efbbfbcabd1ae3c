"""Content-Security-Policy: every page is served with a strict policy (django-csp), scripts
run only from our origin and carry the response's nonce, no template has inline script,
inline handlers or inline styles, and text from users never escapes into markup (the invoice
page's ``<title>``).

The last test crawls every page a demo user can reach, and the public ones, in Debian's
chromium with the policy enforced, and fails on any violation or uncaught page error; it also
audits every whole page at a phone's width (tests/accessibility.py: no sideways scroll, axe-core
with no WCAG 2.1 A/AA violation) and photographs the main pages at 1280 and 390 px.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from clients.services import create_client
from invoicing.models import Invoice
from invoicing.services import Actor, DraftLine, create_draft
from tests.accessibility import DESKTOP, PHONE, audit, axe_violations, is_document, load_axe
from tests.browser import page, page_violations, screenshot  # noqa: F401 - the fixture
from tests.test_crawl import urls_of, world  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '</title><script>alert("xss")</script>'
# Attributes that run script when the browser meets them (onclick=, onload=, ...).
HANDLER = re.compile(r"""<[^>]*\s(on[a-z]+)\s*=""", re.IGNORECASE)


class Page(HTMLParser):
    """The facts of an HTML document the policy cares about."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[dict[str, str | None]] = []
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.title = ""
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if self._in_title:
            self.title += f"<{tag}>"  # never happens: <title> holds only text
        if tag == "script":
            self.scripts.append(named)
        elif tag == "style":
            self.styles.append(named)
        elif tag == "title":
            self._in_title = True
        if "style" in named:
            self.style_attributes.append(tag)
        self.handlers += [f"{tag} {name}" for name in named if name.startswith("on")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def nonce_of(policy: dict[str, list[str]]) -> str:
    [nonce] = [v[len("'nonce-") : -1] for v in policy["script-src"] if v.startswith("'nonce-")]
    return nonce


def assert_strict(response) -> dict[str, list[str]]:
    policy = policy_of(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive], directive
        assert "'unsafe-eval'" not in policy[directive], directive
        assert "*" not in policy[directive] and "https:" not in policy[directive], directive
    assert "'self'" in policy["script-src"]
    return policy


def assert_scripts_carry_the_nonce(url: str, response) -> None:
    """Every script of the page is a file of ours with this response's nonce."""
    html = response.content.decode()
    doc = Page(html)
    policy = assert_strict(response)
    if doc.scripts or doc.styles:
        nonce = nonce_of(policy)
        for script in doc.scripts:
            assert script.get("src"), (url, "inline <script>", script)
            assert script["src"].startswith("/"), (url, script)
            assert script.get("nonce") == nonce, (url, script, nonce)
        for style in doc.styles:
            assert style.get("nonce") == nonce, (url, "<style> without the nonce")
    assert not doc.handlers, (url, doc.handlers)
    assert not doc.style_attributes, (url, "style= attributes", doc.style_attributes)


# -- the header, the nonce, the templates --------------------------------------------------


def test_every_page_of_every_route_has_a_strict_policy_and_nonced_scripts(client, world):  # noqa: F811
    """All GET routes of the resolver (the crawl's list), as the owner and anonymously."""
    from factu.models import Role

    pages = 0
    for who in (world["members"][Role.OWNER], None):
        client.logout()
        if who is not None:
            client.force_login(who)
        for _name, url in urls_of(world, account_only=False):
            response = client.get(url)
            assert "Content-Security-Policy" in response, url
            if response.get("Content-Type", "").startswith("text/html") and response.content:
                assert_scripts_carry_the_nonce(url, response)
                pages += 1
    assert pages > 50, pages


def test_the_nonce_is_new_on_every_response(client, owner):
    client.force_login(owner)
    url = reverse("account_list")
    first, second = client.get(url), client.get(url)
    assert nonce_of(policy_of(first)) != nonce_of(policy_of(second))
    for response in (first, second):
        assert f'nonce="{nonce_of(policy_of(response))}"' in response.content.decode()


def test_no_template_has_inline_script_handlers_or_styles():
    """A source check beside the rendered one: branches the crawl's data never shows."""
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", template.read_text())
        text = re.sub(r"\{% comment %\}.*?\{% endcomment %\}", "", text, flags=re.S)
        name = template.relative_to(ROOT)
        found += [f"{name}: {m.group(1)}=" for m in HANDLER.finditer(text)]
        found += [f"{name}: style=" for _ in re.finditer(r"\sstyle\s*=", text)]
        found += [f"{name}: javascript: URL" for _ in re.finditer(r"javascript:", text, re.I)]
        for tag in re.finditer(r"<(script|style)\b([^>]*)>", text):
            attrs = tag.group(2)
            if "csp_nonce" not in attrs:
                found.append(f"{name}: <{tag.group(1)}> without the nonce")
            if tag.group(1) == "script" and "src=" not in attrs:
                found.append(f"{name}: inline <script>")
    assert not found, found


def test_the_api_docs_keep_the_policy_and_load_their_script_from_a_url(client):
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    assert_scripts_carry_the_nonce("/api/docs/", response)
    doc = Page(response.content.decode())
    init = [s["src"] for s in doc.scripts if "script" in urlparse(s["src"]).query]
    assert init, doc.scripts
    script = client.get(init[0])
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


# -- user text in the page's <title> --------------------------------------------------------


def test_hostile_invoice_and_client_names_render_as_text_in_the_invoice_page(
    client, owner, taxpayer, series
):
    hostile_client = create_client(taxpayer, {"name": HOSTILE, "nif": "A28045631"})
    draft = create_draft(
        taxpayer,
        series=series,
        client=hostile_client,
        issue_date=timezone.localdate(),
        lines=[DraftLine(HOSTILE, quantity=100, unit_price=1000)],
        description=HOSTILE,
        actor=Actor(user=owner),
    )
    # A number is built by the series format; once taken it is stored text like any other.
    Invoice.objects.filter(pk=draft.pk).update(number=HOSTILE, sequence=1, status="sent")
    client.force_login(owner)
    url = reverse("invoice_detail", args=[taxpayer.account.slug, draft.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    doc = Page(html)
    assert doc.title.strip() == f"Factura {HOSTILE} · Factu", doc.title
    assert "<script" not in html.split("</head>")[0].split("<title>")[1].split("</title>")[0]
    assert '<script>alert("xss")' not in html
    assert "&lt;/title&gt;&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in html
    assert_scripts_carry_the_nonce(url, response)


# -- the crawl in chromium --------------------------------------------------------------------

# Downloads and machine answers, not pages (their content types are checked before a visit).
HTML = "text/html"
PER_ROUTE = 3
# Photographed at 1280 and 390 px the first time the crawl meets them (test-output/a11y-*).
MAIN_PAGES = {
    "login",
    "dashboard",
    "invoice_list",
    "invoice_detail",
    "invoice_create",
    "client_list",
    "client_create",
    "desk",
    "expense_list",
    "tax_summary",
    "transfers_home",
    "api_token_list",
}


def route_name(url: str) -> str:
    try:
        return resolve(urlparse(url).path).url_name or urlparse(url).path
    except Resolver404:
        return urlparse(url).path


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_crawl_of_every_page_meets_the_policy(live_server, page, world):  # noqa: F811
    """Public pages, then every page the demo user reaches by following links (up to three
    per route) and every GET route of the resolver with seeded objects, each loaded in
    chromium with the CSP enforced and left to settle (htmx fragments load): no violation
    (console report or ``securitypolicyviolation`` event), no uncaught error. Every whole
    page (not an htmx fragment) is then audited at 390 px (tests/accessibility.py): no
    sideways scroll, no dangling id reference, no axe-core violation of WCAG 2.1 A/AA; the
    main pages, photographed at 1280 and 390 px, also go through axe-core at 1280 px."""
    base = live_server.url
    visited: dict[str, int] = {}
    per_route: dict[str, int] = {}
    violations: list[str] = []
    barriers: list[str] = []
    photographed: set[str] = set()
    audit_seconds = 0.0
    api = page.context.request
    load_axe(page.context)
    page.set_viewport_size(DESKTOP)

    def visit(url: str) -> list[str]:
        """Load ``url`` if it is an HTML page; its same-origin links."""
        nonlocal audit_seconds
        response = api.get(url, max_redirects=0)
        if response.status >= 500:
            violations.append(f"{url}: {response.status}")
        if response.status in (301, 302):
            return [urljoin(url, response.headers["location"])]
        if response.status == 405 or not response.headers.get("content-type", "").startswith(HTML):
            return []
        assert "content-security-policy" in response.headers, url
        page.goto(url)
        # A polling page may never go idle for long; it has loaded all the same.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_load_state("networkidle", timeout=5000)
        visited[url] = response.status
        violations.extend(f"{url}: {v}" for v in page_violations(page))
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        if is_document(response.text()):
            name = route_name(url)
            if name in MAIN_PAGES and name not in photographed:
                photographed.add(name)
                screenshot(page, f"a11y-{name}-1280")
                barriers.extend(axe_violations(page, url))  # the desktop's layout too
                page.set_viewport_size(PHONE)
                screenshot(page, f"a11y-{name}-390")
            started = time.perf_counter()
            barriers.extend(audit(page, url))
            audit_seconds += time.perf_counter() - started
        return links

    def crawl(start: list[str]) -> None:
        queue = deque(start)
        while queue:
            url = queue.popleft().split("#")[0]
            parsed = urlparse(url)
            if not url.startswith(base) or url in visited:
                continue
            admin = parsed.path.startswith("/admin/") and parsed.path != "/admin/login/"
            if (
                admin
                or parsed.path.startswith(("/static/", "/media/"))
                or parsed.path
                in (
                    "/api/schema",
                    "/api/schema/",
                )
            ):
                continue
            name = route_name(url)
            if name == "logout" or per_route.get(name, 0) >= PER_ROUTE:
                continue
            per_route[name] = per_route.get(name, 0) + 1
            visited[url] = 0
            queue.extend(visit(url))

    public = [reverse(n) for n in ("login", "sign_up", "password_reset")]
    public += ["/api/docs/", "/admin/login/"]
    crawl([base + p for p in public])
    page.goto(base + "/api/docs/")
    page.get_by_text("Factu API").first.wait_for()
    screenshot(page, "csp-crawl-api-docs")

    page.goto(f"{base}/entrar/")
    page.get_by_label("Correo electrónico").fill("demo@factu.test")
    page.get_by_label("Contraseña").fill("demo")
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(lambda u: "/entrar/" not in u)
    visited.clear()
    per_route.clear()
    crawl([base + "/"])
    linked = len(visited)
    # Every GET route of the resolver, with the seeded objects of the demo gestoría.
    from factu.models import Membership, Role, User

    demo = User.objects.get(email="demo@factu.test")
    Membership.objects.filter(user=demo, account=world["account"]).update(role=Role.OWNER)
    per_route.clear()
    crawl([base + url for _name, url in urls_of(world, account_only=False)])
    screenshot(page, "csp-crawl-last-page")

    routes = {route_name(u) for u in visited}
    print(f"crawled {linked} linked pages, then {len(visited)} pages of {len(routes)} routes")
    print(f"audited at 390 px in {audit_seconds:.0f} s")
    assert linked > 30, (linked, sorted(visited))
    for must in ("dashboard", "invoice_detail", "invoice_create", "desk", "api_token_list"):
        assert must in routes, must
    assert not violations, violations
    assert photographed == MAIN_PAGES, MAIN_PAGES - photographed
    assert not barriers, "\n".join(barriers)
    assert not page.csp_violations, page.csp_violations
    assert not page.page_errors, page.page_errors
