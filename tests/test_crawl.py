"""Every page, every role: a crawl built from the URL resolver (not a hand-kept list).

Each GET route of the app (``/admin/`` and ``/api/`` aside) is requested with its kwargs
filled from seeded objects of the right type, by each member role, by a logged-in outsider
and anonymously. Nothing may answer 5xx; members get 200/302/403/405; an outsider gets a
404 on every account URL and an anonymous visitor a redirect to the login.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from factu.models import Account, Invitation, Membership, Role
from invoicing.services import Actor, DraftLine
from quotes.services import create_quote
from tests.conftest import make_user

SKIPPED_PREFIXES = ("admin/", "api/")
# Not pages: they act on POST and only redirect (or 405) on GET; visited below, not crawled
# for content. Logging out would end the crawl's session.
SKIPPED_NAMES = {"logout"}
MEMBER_OK = {200, 302, 403, 405}
# Routes whose GET answers 404 to a member for a reason of its object, not of tenancy.
MEMBER_NOT_FOUND = {
    # A job's download exists only for a finished export with a file; the seeded job is not.
    "transfers_job_download",
}
# A draft has no billing record, so no XML, and no e-invoice: 404 for the draft, 200 for the
# issued one.
DRAFT_NOT_FOUND = {"invoice_xml", "invoice_einvoice"}
# Routes outside any account, with the kwargs they need filled by hand.
PUBLIC_KWARGS = {
    "password_reset_confirm": {"uidb64": "MQ", "token": "no-vale"},
    "invitation_accept": {"token": "no-vale"},
    "sign_up_confirm": {"token": "no-vale"},
}
ROLES = (Role.OWNER, Role.ADMIN, Role.ACCOUNTANT, Role.VIEWER)
RAW_TOKEN = re.compile(r"kf_[A-Za-z0-9_\-]{20,}")


def walk(patterns, prefix: str = "", outer: tuple[str, ...] = ()):
    """(route, name, kwarg names) of every leaf pattern, recursively."""
    for pattern in patterns:
        own = tuple(getattr(pattern.pattern, "converters", {}))
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), outer + own)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, outer + own


def routes() -> list[tuple[str, str, tuple[str, ...]]]:
    found = [
        r
        for r in walk(get_resolver().url_patterns)
        if not r[0].startswith(SKIPPED_PREFIXES) and r[1] not in SKIPPED_NAMES
    ]
    assert len(found) > 50, "the resolver walk found too few routes"
    return found


@pytest.fixture
def world(db, tmp_path, settings):
    """The demo data, a member of each role in the demo gestoría, and one object of every
    type a URL takes."""
    from api.models import ApiToken
    from api.services import create_token
    from clients.models import Client
    from expenses.models import Expense, ExpenseCategory
    from expenses.services import create_category
    from factu.models import Job
    from invoicing.models import Invoice, InvoiceStatus, Payment, Series
    from recurring.models import Plan
    from verifactu.models import Chain, FiscalInvoice

    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Development's mail (files), so the outbox page exists and is crawled too.
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    account = Account.objects.get(slug="demo-gestoria")
    members = {}
    for role in ROLES:
        user = make_user(f"{role}@crawl.example")
        members[role] = user
        Membership.objects.create(user=user, account=account, role=role)
    owner = members[Role.OWNER]
    taxpayer = account.taxpayers.order_by("name", "id").first()
    invoices = Invoice.objects.filter(account=account)
    drafts = invoices.filter(status=InvoiceStatus.DRAFT)
    issued = invoices.filter(issued_at__isnull=False)
    assert issued.exists(), "the demo should have issued invoices"
    category = create_category(account, "Crawl")
    expense = Expense.objects.create(
        account=account,
        taxpayer=taxpayer,
        date=timezone.localdate(),
        description="Gasto del rastreo",
        amount_cents=12100,
        base_cents=10000,
        iva_rate_bp=2100,
        iva_cents=2100,
        category=category,
    )
    expense.receipt.save("ticket.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    expense.receipt_content_type, expense.receipt_name = "application/pdf", "ticket.pdf"
    expense.save()
    token, _ = create_token(account, owner, "crawl")
    job = Job.objects.create(
        account=account, taxpayer=taxpayer, user=owner, kind=Job.Kind.IMPORT_CLIENTS
    )
    invitation = Invitation.objects.create(
        account=account,
        email="invitado@crawl.example",
        role=Role.VIEWER,
        token_hash="0" * 64,
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7),
    )
    from catalogue.services import create_item
    from factu.branding import save_branding

    item = create_item(account, {"name": "Rastreo", "unit_price_cents": 100})
    for branded in account.taxpayers.all()[:2]:  # the taxpayers the URLs take: each a logo
        logo = SimpleUploadedFile("logo.png", _png(), content_type="image/png")
        save_branding(branded, logo=logo, footer_text="Pie del rastreo")
    quote = create_quote(
        taxpayer,
        client=Client.objects.filter(taxpayer=taxpayer, archived_at__isnull=True).first(),
        issue_date=timezone.localdate(),
        valid_until=timezone.localdate() + timedelta(days=30),
        lines=[DraftLine("Presupuesto del rastreo", 100, 10000)],
        actor=Actor(user=owner),
    )
    if not Series.objects.filter(account=account).exists():  # pragma: no cover - demo has one
        Series.objects.create(account=account, taxpayer=taxpayer, code="C")
    received = received_invoice_and_rule(account, category)
    payment = Payment.objects.filter(account=account).first()
    assert payment is not None, "the demo should have a paid invoice"
    values = {
        "account_slug": [account.slug],
        "taxpayer_id": [t.pk for t in account.taxpayers.all()[:2]],
        "client_id": [Client.objects.filter(taxpayer__account=account).first().pk],
        "invoice_id": [i.pk for i in (drafts.first(), issued.first()) if i is not None],
        "fiscal_invoice_id": [FiscalInvoice.objects.filter(account=account).first().pk],
        "chain_id": [Chain.objects.filter(account=account).first().pk],
        "expense_id": [expense.pk],
        "category_id": [category.pk],
        "membership_id": [Membership.objects.get(user=members[Role.VIEWER]).pk],
        "invitation_id": [invitation.pk],
        "token_id": [token.pk],
        "job_id": [job.pk],
        "item_id": [item.pk],
        "quote_id": [quote.pk],
        "plan_id": [Plan.objects.filter(account=account).first().pk],
        "payment_id": [payment.pk],
        **received,
        "kind": ["clientes", "facturas"],
        "format": ["ubl", "facturae"],
    }
    for model in (ApiToken, Expense, ExpenseCategory, Job):
        assert model.objects.exists()
    return {"account": account, "members": members, "values": values, "draft": drafts.first()}


def received_invoice_and_rule(account, category) -> dict[str, list]:
    """A received e-invoice (the Facturae example, to the demo's Talleres Ebro) and a
    supplier rule, for the received-invoice URLs of both the pages and the API."""
    from pathlib import Path

    from einvoice.models import SupplierRule
    from einvoice.received import import_upload

    facturae = Path(__file__).parent / "fixtures" / "einvoice" / "facturae-3.2.2-minimal.xml"
    (outcome,) = import_upload(account, facturae.read_bytes(), "application/xml", "f.xml")
    assert outcome.invoice is not None, outcome.problems
    rule = SupplierRule.objects.create(account=account, supplier_nif="B12345674", category=category)
    return {
        "received_id": [outcome.invoice.pk],
        "received_invoice_id": [outcome.invoice.pk],
        "rule_id": [rule.pk],
    }


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "#1A5FB4").save(buffer, "PNG")
    return buffer.getvalue()


def urls_of(world, *, account_only: bool) -> list[tuple[str, str]]:
    """(name, url) for each route, once per combination of seeded objects."""
    found = []
    for route, name, kwargs in routes():
        in_account = "account_slug" in kwargs
        if account_only and not in_account:
            continue
        if not in_account and name in PUBLIC_KWARGS:
            found.append((name, reverse(name, kwargs=PUBLIC_KWARGS[name])))
            continue
        missing = [k for k in kwargs if k not in world["values"]]
        assert not missing, f"{route}: no seeded object for {missing}; add one to the world"
        choices = [world["values"][k] for k in kwargs]
        for combo in itertools.product(*choices):
            found.append((name, reverse(name, kwargs=dict(zip(kwargs, combo, strict=True)))))
    return found


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_member_without_a_server_error(client, world, role):
    client.force_login(world["members"][role])
    seen, failures = [], []
    for name, url in urls_of(world, account_only=False):
        response = client.get(url)
        seen.append((name, url, response.status_code))
        assert response.status_code < 500, (role, url, response.status_code)
        if "/c/" in url:
            expected_404 = name in MEMBER_NOT_FOUND or (
                name in DRAFT_NOT_FOUND and str(world["draft"].pk) in url
            )
            allowed = MEMBER_OK | ({404} if expected_404 else set())
            if response.status_code not in allowed:
                failures.append((name, url, response.status_code))
    assert not failures, (role, failures)
    # The pages a member reads day to day answer 200 to every role.
    for name in ("dashboard", "invoice_list", "client_list", "desk", "taxpayer_overview"):
        codes = {c for n, _, c in seen if n == name}
        assert codes == {200}, (role, name, codes)
    # A read-only role is refused the write pages rather than shown them.
    if role == Role.VIEWER:
        codes = {c for n, _, c in seen if n in ("invoice_create", "client_create")}
        assert codes <= {302, 403}, codes


def test_an_outsider_gets_404_on_every_account_url(client, world, accountant_elsewhere):
    for user in (make_user("nadie@crawl.example"), accountant_elsewhere):
        client.force_login(user)
        for _name, url in urls_of(world, account_only=True):
            status = client.get(url).status_code
            if status == 405:  # POST-only, refused before the account is looked at: act
                status = client.post(url).status_code
            assert status == 404, (user.email, url, status)


def test_an_anonymous_visitor_is_sent_to_log_in_from_every_account_url(client, world):
    login = reverse("login")
    for _name, url in urls_of(world, account_only=True):
        response = client.get(url)
        if response.status_code == 405:  # POST-only: posting is what must send to the login
            response = client.post(url)
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith(login), (url, response["Location"])
    for _name, url in urls_of(world, account_only=False):
        if "/c/" not in url:
            assert client.get(url).status_code < 500, url


def test_post_only_endpoints_refuse_get_without_acting(client, world):
    """The switch and the desk's fixes act on POST only; a GET changes nothing."""
    client.force_login(world["members"][Role.OWNER])
    account = world["account"]
    fiscal_invoice_id = world["values"]["fiscal_invoice_id"][0]
    for name, kwargs in (
        ("switch_taxpayer", {}),
        ("desk_subsanar", {"fiscal_invoice_id": fiscal_invoice_id}),
        ("desk_reintentar", {"fiscal_invoice_id": fiscal_invoice_id}),
        ("desk_retry_chain", {"chain_id": world["values"]["chain_id"][0]}),
    ):
        url = reverse(name, kwargs={"account_slug": account.slug, **kwargs})
        assert client.get(url).status_code == 405, url
    assert client.get(reverse("logout")).status_code == 405


def test_a_raw_api_token_is_never_rendered_after_the_response_that_created_it(client, world):
    account = world["account"]
    client.force_login(world["members"][Role.OWNER])
    posted = client.post(reverse("api_token_list", args=[account.slug]), {"name": "Una vez"})
    assert posted.status_code == 302
    created = client.get(posted["Location"])
    assert created.status_code == 200
    [raw] = set(RAW_TOKEN.findall(created.content.decode()))
    assert (
        created["Cache-Control"].startswith("max-age=0") or "no-store" in created["Cache-Control"]
    )
    for role in ROLES:
        client.force_login(world["members"][role])
        for _name, url in urls_of(world, account_only=False):
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert raw.encode() not in body, (role, url)
            assert raw[8:].encode() not in body, (role, url)  # nor a long piece of it
