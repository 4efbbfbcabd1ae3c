from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from factu.models import Account, Membership, Role, Taxpayer, User


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_demo_accounts_and_prints_the_login(db):
    output = seed()
    assert "Login: demo@factu.test / demo" in output
    assert "Account: demo-autonomo" in output and "Account: demo-gestoria" in output
    user = User.objects.get(email="demo@factu.test")
    autonomo = Membership.objects.get(user=user, account__slug="demo-autonomo")
    gestoria = Membership.objects.get(user=user, account__slug="demo-gestoria")
    assert autonomo.role == Role.OWNER
    assert gestoria.role == Role.ACCOUNTANT
    assert autonomo.account.taxpayers.count() == 1
    assert gestoria.account.taxpayers.count() == 3


def counts() -> tuple[int, ...]:
    from clients.models import Client
    from invoicing.models import Invoice
    from verifactu.models import BillingRecord

    models = (User, Account, Taxpayer, Client, Invoice, BillingRecord)
    return tuple(model.objects.count() for model in models)


def test_seed_demo_is_idempotent(db):
    seed()
    before = counts()
    seed()
    assert counts() == before


def test_demo_taxpayers_have_invoices_in_every_status(db):
    from invoicing.models import Invoice, InvoiceStatus

    seed()
    autonomo = Taxpayer.objects.get(account__slug="demo-autonomo")
    statuses = set(Invoice.objects.filter(taxpayer=autonomo).values_list("status", flat=True))
    assert statuses == set(InvoiceStatus.values)
    assert Invoice.objects.filter(
        taxpayer=autonomo, issued_at__isnull=True, status=InvoiceStatus.CANCELLED
    ).exists()
    for taxpayer in Taxpayer.objects.filter(account__slug="demo-gestoria"):
        assert taxpayer.fiscal_invoices.exists()


def test_demo_drafts_are_provisional_and_the_series_has_no_gap(db):
    from invoicing.models import Invoice

    seed()
    invoices = Invoice.objects.filter(taxpayer__account__slug="demo-autonomo")
    unissued = invoices.filter(issued_at__isnull=True)
    assert unissued.count() == 2  # a draft and a deleted draft
    assert all(i.number.startswith("Borrador ") and i.sequence is None for i in unissued)
    issued = invoices.filter(issued_at__isnull=False).order_by("sequence")
    assert [i.sequence for i in issued] == list(range(1, issued.count() + 1))


def test_demo_user_logs_in_and_switches_gestoria_taxpayers(client, db):
    seed()
    response = client.post(reverse("login"), {"username": "demo@factu.test", "password": "demo"})
    assert response.status_code == 302
    gestoria = Account.objects.get(slug="demo-gestoria")
    for taxpayer in gestoria.taxpayers.all():
        client.post(reverse("switch_taxpayer", args=["demo-gestoria"]), {"taxpayer": taxpayer.id})
        page = client.get(reverse("dashboard", args=["demo-gestoria"]))
        assert page.context["taxpayer"] == taxpayer


def test_wrong_password_shows_a_spanish_message(client, db):
    seed()
    response = client.post(reverse("login"), {"username": "demo@factu.test", "password": "nope"})
    assert "El correo electrónico o la contraseña no son correctos." in response.content.decode()


def _register_today(taxpayer: Taxpayer, number: str) -> None:
    from django.utils import timezone

    from tests.conftest import register_for
    from verifactu.models import ComputerSystem

    system, _ = ComputerSystem.objects.get_or_create(
        account=taxpayer.account,
        producer_nif="B87654323",
        system_id="IN",
        installation_number="integrator-1",
        defaults={"producer_name": "Integrador SL", "name": "Integrador", "version": "1"},
    )
    register_for(taxpayer, system, number, invoice_date=timezone.localdate())


def test_seed_demo_again_leaves_a_taxpayer_added_to_a_demo_account_alone(db):
    """A taxpayer added to a demo account (here with an invoice registered today, as through
    /api/v1) gets no back-dated demo invoices, which its chronology would refuse."""
    from invoicing.models import Invoice

    seed()
    gestoria = Account.objects.get(slug="demo-gestoria")
    foreign = Taxpayer.objects.create(account=gestoria, nif="B12345674", name="Añadida SL")
    _register_today(foreign, "API-1")
    before = counts()

    seed()

    assert counts() == before
    assert not Invoice.objects.filter(taxpayer=foreign).exists()
    assert foreign.fiscal_invoices.count() == 1


def test_seed_demo_seeds_a_demo_taxpayer_only_while_it_has_no_invoice_at_all(db):
    """A demo taxpayer that already registered an invoice (here through /api/v1, before the
    demo ever seeded it) is not seeded: the demo seeds each taxpayer once, from nothing."""
    from invoicing.models import Invoice

    account = Account.objects.create(slug="demo-autonomo", name="Lucía", kind=Account.Kind.AUTONOMO)
    lucia = Taxpayer.objects.create(account=account, nif="12345678Z", name="Lucía Martín Sanz")
    _register_today(lucia, "API-1")

    seed()

    assert not Invoice.objects.filter(taxpayer=lucia).exists()
    assert lucia.fiscal_invoices.count() == 1
    gestoria = Taxpayer.objects.get(account__slug="demo-gestoria", nif="B87654323")
    assert Invoice.objects.filter(taxpayer=gestoria).exists()


def test_seed_demo_gives_each_demo_taxpayer_a_certificate_that_signs_its_facturae(db):
    from einvoice.signing import signed_facturae, verify_signature
    from factu.management.commands.seed_demo import demo_taxpayers
    from invoicing.models import Invoice
    from verifactu.models import Certificate

    seed()
    seed()

    taxpayers = demo_taxpayers()
    assert Certificate.objects.filter(taxpayer__in=taxpayers).count() == taxpayers.count()
    invoice = (
        Invoice.objects.filter(taxpayer__nif="B87654323", client__country="ES")
        .exclude(number="")
        .order_by("issue_date")
        .first()
    )
    facturae = signed_facturae(invoice)
    assert facturae.signed, facturae.reason
    check = verify_signature(facturae.content)
    assert (check.valid, check.signer_nif) == (True, "B87654323")
