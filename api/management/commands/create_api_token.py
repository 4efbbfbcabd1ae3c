"""``create_api_token --email E [--name N] [--account SLUG]``: prints the raw token, only."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api.services import create_token
from factu.models import Membership, Role, User


class Command(BaseCommand):
    help = (
        "Create an API token acting as a user in one of their accounts and print it "
        "(the raw token, and nothing else, on stdout; it is not stored)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True, help="The user the token acts as.")
        parser.add_argument("--name", default="Línea de comandos", help="A label for the token.")
        parser.add_argument(
            "--account",
            help="The account's slug; default: the account the user owns, or their only one.",
        )

    def handle(self, *args, **options) -> None:
        email = options["email"].strip().lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        membership = self.membership(user, options.get("account"))
        try:
            _, raw = create_token(membership.account, user, options["name"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(raw)

    @staticmethod
    def membership(user: User, slug: str | None) -> Membership:
        memberships = list(
            Membership.objects.filter(user=user).select_related("account").order_by("account__slug")
        )
        slugs = ", ".join(m.account.slug for m in memberships) or "none"
        if slug:
            for m in memberships:
                if m.account.slug == slug:
                    return m
            raise CommandError(
                f"{user.email} is not a member of account {slug!r} (their accounts: {slugs})."
            )
        if not memberships:
            raise CommandError(f"{user.email} is not a member of any account.")
        owned = [m for m in memberships if m.role == Role.OWNER]
        if len(owned) == 1:
            return owned[0]
        if len(memberships) == 1:
            return memberships[0]
        raise CommandError(
            f"{user.email} belongs to several accounts ({slugs}); choose one with --account."
        )
