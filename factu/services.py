"""Business rules of tenancy, shared by the views, the API and the commands."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from factu.models import (
    INVITATION_VALID_DAYS,
    Account,
    Invitation,
    Membership,
    Role,
    Taxpayer,
    User,
)
from factu.nif import validate_nif
from factu.signals import signed_up, tokens_revocation_requested


def choose_taxpayer(membership: Membership, taxpayer: Taxpayer) -> None:
    """Remember the taxpayer a member works on, across sessions and devices."""
    if taxpayer.account_id != membership.account_id:
        raise ValueError("That taxpayer belongs to another account.")
    Membership.objects.filter(pk=membership.pk).update(current_taxpayer=taxpayer)
    membership.current_taxpayer = taxpayer


def unique_account_slug(name: str) -> str:
    base = slugify(name)[:50] or "cuenta"
    slug, n = base, 2
    while Account.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


@transaction.atomic
def create_account(
    owner: User, name: str, kind: str = Account.Kind.AUTONOMO, slug: str | None = None
) -> Account:
    account = Account.objects.create(name=name, kind=kind, slug=slug or unique_account_slug(name))
    Membership.objects.create(user=owner, account=account, role=Role.OWNER)
    return account


def accounts_of(user: User):
    return Account.objects.filter(memberships__user=user).order_by("name")


# -- sign-up ------------------------------------------------------------------------------


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


SIGN_UP_SALT = "factu.sign-up"


def sign_up_token(email: str) -> str:
    """A signed, timestamped token naming ``email`` (Django's signing, keyed by SECRET_KEY):
    whoever holds it has read that mailbox, and may create a user for it."""
    return signing.dumps(normalize_email(email), salt=SIGN_UP_SALT)


class SignUpLinkRefused(Exception):
    """A sign-up confirmation link that was tampered with or is too old."""

    message = "Este enlace para crear la cuenta no es válido o ha caducado. Pida otro."


def email_of_sign_up_token(token: str) -> str:
    """The email a :func:`sign_up_token` names, while ``SIGN_UP_LINK_MAX_AGE`` lasts."""
    try:
        email = signing.loads(token or "", salt=SIGN_UP_SALT, max_age=settings.SIGN_UP_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        raise SignUpLinkRefused() from None
    if not isinstance(email, str) or "@" not in email:
        raise SignUpLinkRefused()
    return email


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def request_sign_up(
    email: str, *, link_for: Callable[[str], str], login_link: str, reset_link: str
) -> None:
    """The first step of signing up: email ``email`` a link to create the account, or, when it
    already has a user, a note saying so with the links to enter and to recover the password.

    The caller answers the same in both cases ("le hemos enviado un correo"), so the page never
    tells anyone which addresses have a user; only the mailbox's owner learns it. Nothing is
    stored: the link carries the signed address (:func:`sign_up_token`).
    """
    email = normalize_email(email)
    context = {"email": email, "login_link": login_link, "reset_link": reset_link}
    if email_taken(email):
        template = "factu/email/sign_up_existing"
    else:
        template = "factu/email/sign_up_confirm"
        context["link"] = link_for(sign_up_token(email))
        context["valid_hours"] = max(1, settings.SIGN_UP_LINK_MAX_AGE // 3600)
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    body = render_to_string(f"{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])


@transaction.atomic
def sign_up(
    *,
    email: str,
    password: str,
    full_name: str,
    account_kind: str,
    account_name: str,
    taxpayer_nif: str,
    taxpayer_name: str,
) -> tuple[User, Account, Taxpayer]:
    """Create the user, their account (as its owner) and its first taxpayer, or nothing.

    ``email`` comes from a confirmation link (:func:`email_of_sign_up_token`), never from
    the form. Raises ``ValidationError`` keyed by the sign-up form's field names.
    """
    email = normalize_email(email)
    if email_taken(email):
        raise ValidationError("Ya hay un usuario con este correo electrónico: entre con él.")
    if account_kind not in Account.Kind.values:
        raise ValidationError({"account_kind": "Elija autónomo, empresa o gestoría."})
    try:
        nif = validate_nif(taxpayer_nif)
    except ValidationError as error:
        raise ValidationError({"taxpayer_nif": error.messages}) from None
    candidate = User(email=email, full_name=full_name.strip())
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user = User.objects.create_user(email, password, full_name=full_name.strip())
    account = create_account(user, account_name.strip(), kind=account_kind)
    taxpayer = Taxpayer.objects.create(account=account, nif=nif, name=taxpayer_name.strip())
    membership = Membership.objects.get(user=user, account=account)
    choose_taxpayer(membership, taxpayer)
    signed_up.send(sender=Account, user=user, account=account, taxpayer=taxpayer)
    return user, account, taxpayer


# -- passwords ----------------------------------------------------------------------------


def set_password(user: User, password: str, *, revoke_tokens: bool) -> None:
    """Give ``user`` a new password (change or reset), and revoke their API tokens in every
    account if asked.

    Every session of the user ends with it: Django checks a session's copy of the password
    hash at each request. A view that wants to keep its own session calls
    ``update_session_auth_hash`` after this.
    """
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        if revoke_tokens:
            tokens_revocation_requested.send(sender=User, user=user, account=None)


# -- members and invitations ---------------------------------------------------------------


def hash_invitation_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _may_grant(actor: Membership, role: str) -> None:
    if not actor.can_manage:
        raise PermissionDenied("Solo el propietario o un administrador pueden gestionar miembros.")
    if role not in Role.values:
        raise ValidationError({"role": "Ese rol no existe."})
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Solo un propietario puede nombrar a otro propietario.")


def _may_touch(actor: Membership, member: Membership) -> None:
    if member.account_id != actor.account_id:
        raise ValueError("That member belongs to another account.")
    if member.role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Solo un propietario puede cambiar o quitar a otro propietario.")


def _owners_left_without(account: Account, member: Membership) -> int:
    """Lock the account (serialising membership changes) and count the other owners."""
    Account.objects.select_for_update().filter(pk=account.pk).first()
    return Membership.objects.filter(account=account, role=Role.OWNER).exclude(pk=member.pk).count()


def invite(
    actor: Membership,
    email: str,
    role: str,
    *,
    link_for: Callable[[str], str],
    now: datetime | None = None,
) -> tuple[Invitation, str]:
    """Invite ``email`` to the actor's account with ``role`` and email them the link.

    ``link_for(raw_token)`` returns the absolute acceptance URL. A newer invitation to the
    same address replaces a pending one. Returns the invitation and the raw token.
    """
    _may_grant(actor, role)
    email = normalize_email(email)
    account = actor.account
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise ValidationError({"email": "Esa persona ya es miembro de la cuenta."})
    now = now or timezone.now()
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(account=account, email=email, accepted_at__isnull=True).delete()
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            token_hash=hash_invitation_token(raw),
            invited_by=actor.user,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_VALID_DAYS),
        )
    context = {
        "invitation": invitation,
        "inviter": actor.user,
        "account": account,
        "link": link_for(raw),
        "new_user": not email_taken(email),
    }
    subject = render_to_string("factu/email/invitation_subject.txt", context).strip()
    body = render_to_string("factu/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    return invitation, raw


class InvitationRefused(Exception):
    """An unknown, expired or already used invitation token. ``code`` says which."""

    MESSAGES = {
        "unknown": "Este enlace de invitación no es válido.",
        "expired": "Esta invitación ha caducado. Pida a quien le invitó que le envíe otra.",
        "used": "Esta invitación ya se ha usado.",
        "sender": "Esta invitación ya no es válida: quien la envió ya no puede invitar a esta "
        "cuenta. Pida una invitación nueva a un administrador.",
    }

    def __init__(self, code: str):
        super().__init__(self.MESSAGES[code])
        self.code = code
        self.message = self.MESSAGES[code]


def find_invitation(raw_token: str, *, now: datetime | None = None, lock: bool = False):
    """The usable invitation for ``raw_token``; raises :class:`InvitationRefused`."""
    invitations = Invitation.objects.select_related("account", "invited_by")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(token_hash=hash_invitation_token(raw_token or "")).first()
    if invitation is None:
        raise InvitationRefused("unknown")
    if invitation.accepted_at is not None:
        raise InvitationRefused("used")
    if invitation.is_expired(now):
        raise InvitationRefused("expired")
    if not sender_may_still_invite(invitation):
        raise InvitationRefused("sender")
    return invitation


def sender_may_still_invite(invitation: Invitation) -> bool:
    """Whether whoever sent ``invitation`` could send it now: still a member of the account,
    with a role that manages members and may grant the invitation's role."""
    if invitation.invited_by_id is None:
        return False
    sender = Membership.objects.filter(
        user_id=invitation.invited_by_id, account_id=invitation.account_id
    ).first()
    if sender is None or not sender.can_manage:
        return False
    return invitation.role != Role.OWNER or sender.role == Role.OWNER


def _cancel_invitations_sent_by(member: Membership, *, gone: bool = False) -> int:
    """Delete the pending invitations ``member`` sent that their role no longer allows (all of
    them once they are ``gone`` from the account)."""
    pending = Invitation.objects.filter(
        account_id=member.account_id, invited_by_id=member.user_id, accepted_at__isnull=True
    )
    if member.can_manage and not gone:
        pending = pending.filter(role=Role.OWNER) if member.role != Role.OWNER else pending.none()
    deleted, _ = pending.delete()
    return deleted


@transaction.atomic
def accept_invitation(
    raw_token: str,
    *,
    user: User | None = None,
    full_name: str = "",
    password: str = "",
    now: datetime | None = None,
) -> Membership:
    """Join the invitation's account.

    With ``user`` (signed in), they must be the invited address. Without, a new user is
    created for the invited address with ``full_name`` and ``password``; if that address
    already has a user, they must sign in first.
    """
    now = now or timezone.now()
    invitation = find_invitation(raw_token, now=now, lock=True)
    if user is None:
        if email_taken(invitation.email):
            raise ValidationError("Ya tiene usuario en Factu: entre con él para aceptar.")
        candidate = User(email=invitation.email, full_name=full_name.strip())
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        user = User.objects.create_user(invitation.email, password, full_name=full_name.strip())
    elif user.email.lower() != invitation.email.lower():
        raise PermissionDenied(
            f"Esta invitación es para {invitation.email}; ha entrado como {user.email}."
        )
    membership, _ = Membership.objects.get_or_create(
        user=user, account=invitation.account, defaults={"role": invitation.role}
    )
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def cancel_invitation(actor: Membership, invitation: Invitation) -> None:
    if not actor.can_manage:
        raise PermissionDenied("Solo el propietario o un administrador pueden gestionar miembros.")
    if invitation.account_id != actor.account_id:
        raise ValueError("That invitation belongs to another account.")
    if invitation.accepted_at is None:
        invitation.delete()


@transaction.atomic
def change_role(actor: Membership, member: Membership, role: str) -> Membership:
    """Give ``member`` a new role; the account's last owner keeps theirs. Pending invitations
    they sent that the new role could not send are cancelled."""
    _may_grant(actor, role)
    _may_touch(actor, member)
    member.refresh_from_db(fields=["role"])
    if member.role == role:
        return member
    if member.role == Role.OWNER and _owners_left_without(member.account, member) == 0:
        raise ValidationError(
            "Es el último propietario de la cuenta: nombre antes a otro propietario."
        )
    member.role = role
    member.save(update_fields=["role"])
    _cancel_invitations_sent_by(member)
    return member


@transaction.atomic
def remove_member(actor: Membership, member: Membership) -> None:
    """Take ``member`` out of the account (anyone may leave); never its last owner.

    Their pending invitations to the account are cancelled and their API tokens of it
    revoked, for good: joining again later brings neither back.
    """
    if actor.pk != member.pk:
        if not actor.can_manage:
            raise PermissionDenied(
                "Solo el propietario o un administrador pueden gestionar miembros."
            )
        _may_touch(actor, member)
    member.refresh_from_db(fields=["role"])
    if member.role == Role.OWNER and _owners_left_without(member.account, member) == 0:
        raise ValidationError(
            "Es el último propietario de la cuenta: nombre antes a otro propietario."
        )
    member.delete()
    _cancel_invitations_sent_by(member, gone=True)
    tokens_revocation_requested.send(sender=Membership, user=member.user, account=member.account)
