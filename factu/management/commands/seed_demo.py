"""A living demo: run it as often as you like, it converges on the same data.

It seeds only the demo's own taxpayers (the NIFs listed below, in their demo accounts), and
each app seeds a taxpayer once: a taxpayer someone added to a demo account, through the web
or ``/api/v1``, is never given demo invoices, whose back dates the chronology of its own
records would refuse (and ``make run``, which runs this command, would die).
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q, QuerySet

from factu.models import Account, Membership, Role, Taxpayer, User

DEMO_EMAIL = "demo@factu.test"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo login

ACCOUNTS = [
    {
        "slug": "demo-autonomo",
        "name": "Lucía Martín (autónoma)",
        "kind": Account.Kind.AUTONOMO,
        "role": Role.OWNER,
        "taxpayers": [
            {
                "nif": "12345678Z",
                "name": "Lucía Martín Sanz",
                "address": "Calle Mayor 12, 2º B",
                "postal_code": "28013",
                "city": "Madrid",
                "province": "Madrid",
            },
        ],
    },
    {
        "slug": "demo-gestoria",
        "name": "Gestoría Ebro",
        "kind": Account.Kind.GESTORIA,
        "role": Role.ACCOUNTANT,
        "taxpayers": [
            {
                "nif": "B87654323",
                "name": "Talleres Ebro SL",
                "address": "Avenida de Cataluña 40",
                "postal_code": "50014",
                "city": "Zaragoza",
                "province": "Zaragoza",
            },
            {
                "nif": "A28045631",
                "name": "Distribuciones Norte SA",
                "address": "Gran Vía 7",
                "postal_code": "48001",
                "city": "Bilbao",
                "province": "Bizkaia",
            },
            {
                "nif": "X1234567L",
                "name": "Marco Rossi",
                "address": "Calle San Vicente 3",
                "postal_code": "46002",
                "city": "Valencia",
                "province": "Valencia",
            },
        ],
    },
]


class Command(BaseCommand):
    help = "Create or refresh the demo user and accounts (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Demo Factu")
        elif not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])

        for spec in ACCOUNTS:
            account, _ = Account.objects.update_or_create(
                slug=spec["slug"], defaults={"name": spec["name"], "kind": spec["kind"]}
            )
            Membership.objects.update_or_create(
                user=user, account=account, defaults={"role": spec["role"]}
            )
            for data in spec["taxpayers"]:
                fields = {k: v for k, v in data.items() if k != "nif"}
                Taxpayer.objects.update_or_create(account=account, nif=data["nif"], defaults=fields)

        self.seed_apps(user)
        self.stdout.write(f"Login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        for spec in ACCOUNTS:
            self.stdout.write(f"Account: {spec['slug']} ({spec['role']})")

    def seed_apps(self, user: User) -> None:
        """Each app that has a ``demo`` module seeds its own data for every demo taxpayer,
        so this command (in ``factu``) never imports the apps that depend on it."""
        taxpayers = demo_taxpayers()
        for config in apps.get_app_configs():
            own = config.path.startswith(str(settings.BASE_DIR))
            if config.name == "factu" or not own or find_spec(f"{config.name}.demo") is None:
                continue
            demo = import_module(f"{config.name}.demo")
            for taxpayer in taxpayers.order_by("name"):
                demo.seed(taxpayer, user)


def demo_taxpayers() -> QuerySet[Taxpayer]:
    """The taxpayers this command created: those of ``ACCOUNTS``, not every taxpayer of the
    demo accounts."""
    own = Q(pk__in=[])
    for spec in ACCOUNTS:
        own |= Q(account__slug=spec["slug"], nif__in=[t["nif"] for t in spec["taxpayers"]])
    return Taxpayer.objects.filter(own)
