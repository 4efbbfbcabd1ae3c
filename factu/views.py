from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from factu import services, throttle
from factu.access import account_object_or_404, account_view, taxpayer_or_404
from factu.forms import (
    AcceptInvitationForm,
    AccountSettingsForm,
    EmailLoginForm,
    InvitationForm,
    PasswordChangeWithTokensForm,
    PasswordResetSetForm,
    RoleForm,
    SignUpEmailForm,
    SignUpForm,
    TaxpayerForm,
)
from factu.models import Invitation, Membership, Role, WorkerHeartbeat
from factu.redirects import safe_next
from factu.services import accounts_of, choose_taxpayer
from factu.text import count_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the account last worked in; the chooser only when there is a choice."""
    memberships = Membership.objects.filter(user=request.user).select_related("account")
    last = memberships.order_by("-last_used_at", "account__name").first()
    if last is not None and (memberships.count() == 1 or last.last_used_at):
        return redirect("dashboard", account_slug=last.account.slug)
    return redirect("account_list")


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on pages without a ``<link rel=icon>`` (the
    PDF, the API's JSON): the static icon."""
    return redirect(static("img/favicon.ico"), permanent=True)


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "factu/account_list.html", {"accounts": accounts_of(request.user)})


def worker_status() -> dict:
    beat = WorkerHeartbeat.objects.filter(name="worker").first()
    stale_after = timedelta(seconds=settings.WORKER_STALE_AFTER_SECONDS)
    return {
        "seen_at": beat.seen_at if beat else None,
        "alive": bool(beat and timezone.now() - beat.seen_at < stale_after),
    }


def no_taxpayer(request: HttpRequest, section: str, belongs: str) -> HttpResponse:
    """The empty state of a section whose data belongs to a taxpayer, in an account that has
    none yet: ``belongs`` says whose the data is ("Los clientes pertenecen a un
    contribuyente"), and a writer is offered to add the first one."""
    return render(request, "no_taxpayer.html", {"section": section, "belongs": belongs})


def list_context(request: HttpRequest, filters, page, rows: list) -> dict:
    """What a filtered, paginated list page shows: the filters, the page and its rows, and
    the query string of the filters in use (the page number left out) for the page links."""
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return {
        "filters": filters,
        "page": page,
        "rows": rows,
        "filtered": bool(query),
        "query": urlencode(query),
    }


def edit_page(
    request: HttpRequest,
    form,
    *,
    save: Callable[[], object],
    refused: Callable[[ValidationError], None],
    template: str,
    obj: object,
    read_only: bool,
    next_url: str,
    back: str,
) -> HttpResponse:
    """An account object's edit page: a valid POST saves and goes to ``back`` (the list the
    person came from); a refusal of the service lands on the form through ``refused``."""
    if request.method == "POST" and form.is_valid():
        try:
            save()
        except ValidationError as error:
            refused(error)
        else:
            messages.success(request, "Cambios guardados.")
            return redirect(back)
    return render(
        request,
        template,
        {
            "form": form,
            "object": obj,
            "creating": False,
            "read_only": read_only,
            "next": next_url,
        },
    )


@account_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "factu/dashboard.html", {"worker": worker_status()})


@require_POST
@account_view()
def switch_taxpayer(request: HttpRequest) -> HttpResponse:
    taxpayer = taxpayer_or_404(request, request.POST.get("taxpayer", ""))
    choose_taxpayer(request.membership, taxpayer)
    messages.success(request, f"Ahora trabaja con {taxpayer.name}.")
    target = safe_next(request)
    if target:
        return redirect(target)
    return redirect("dashboard", account_slug=request.account.slug)


@account_view()
def taxpayer_list(request: HttpRequest) -> HttpResponse:
    taxpayers = request.account.taxpayers.order_by("name", "id")
    return render(request, "factu/taxpayer_list.html", {"object_list": taxpayers})


@account_view(write=True)
def taxpayer_create(request: HttpRequest) -> HttpResponse:
    form = TaxpayerForm(
        request.POST or None, account=request.account, may_manage=request.membership.can_manage
    )
    if request.method == "POST" and form.is_valid() and (taxpayer := form.save()):
        if request.taxpayer is None:
            choose_taxpayer(request.membership, taxpayer)
        messages.success(request, f"Contribuyente {taxpayer.name} creado.")
        return redirect("taxpayer_list", account_slug=request.account.slug)
    return render(
        request,
        "factu/taxpayer_form.html",
        {"form": form, "creating": True},
        status=400 if form.is_bound else 200,
    )


@account_view(write=True)
def taxpayer_edit(request: HttpRequest, taxpayer_id) -> HttpResponse:
    taxpayer = taxpayer_or_404(request, taxpayer_id)
    form = TaxpayerForm(
        request.POST or None,
        instance=taxpayer,
        account=request.account,
        may_manage=request.membership.can_manage,
    )
    if request.method == "POST" and form.is_valid() and form.save():
        messages.success(request, "Cambios guardados.")
        return redirect("taxpayer_list", account_slug=request.account.slug)
    return render(
        request,
        "factu/taxpayer_form.html",
        {"form": form, "object": taxpayer, "creating": False},
        status=400 if form.is_bound else 200,
    )


@account_view(manage=True)
def account_settings(request: HttpRequest) -> HttpResponse:
    """Settings → Account: whether the menu offers the desk and the taxpayers' pages."""
    data = request.POST if request.method == "POST" else None  # unticked: an empty POST
    form = AccountSettingsForm(data, instance=request.account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Ajustes de la cuenta guardados.")
        return redirect("account_settings", account_slug=request.account.slug)
    return render(
        request,
        "factu/account_settings.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


# -- login, passwords -----------------------------------------------------------------------

LOCKED_OUT_MESSAGE = (
    "Demasiados intentos fallidos. Por seguridad, el acceso desde su conexión está bloqueado "
    "durante {minutes}. Si no recuerda la contraseña, puede recuperarla."
)


def login_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (``AXES_LOCKOUT_CALLABLE``): the login page,
    with the Spanish message, as a 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "form": EmailLoginForm(request),
        "next": request.POST.get("next", ""),
        "locked_out": LOCKED_OUT_MESSAGE.format(minutes=count_of(minutes, "minuto", "minutos")),
    }
    return render(request, "registration/login.html", context, status=429)


def _throttled(request: HttpRequest, form, template: str, context: dict | None = None):
    form.add_error(None, throttle.THROTTLED_MESSAGE)
    return render(request, template, {**(context or {}), "form": form}, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, throttled per client address and per email (:mod:`factu.throttle`)."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        if throttle.throttled(self.request, "password_reset", form.cleaned_data["email"]):
            context = self.get_context_data(form=form)
            return _throttled(self.request, form, self.template_name, context)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's, with the box to revoke the user's API tokens (:class:`PasswordResetSetForm`)."""

    form_class = PasswordResetSetForm


class PasswordChangeView(auth_views.PasswordChangeView):
    """Settings → Contraseña. Django's view keeps this session (``update_session_auth_hash``);
    the user's other sessions end with the old password's hash."""

    form_class = PasswordChangeWithTokensForm
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("password_change")

    def form_valid(self, form):
        response = super().form_valid(form)
        revoked = form.cleaned_data.get("revoke_tokens")
        messages.success(
            self.request,
            "Contraseña cambiada. Se han cerrado sus otras sesiones"
            + (" y se han revocado sus tokens de la API." if revoked else "."),
        )
        return response


# -- sign-up --------------------------------------------------------------------------------


@never_cache
def sign_up(request: HttpRequest) -> HttpResponse:
    """Step one: an email address, always answered with "le hemos enviado un correo".

    A new address gets the link to :func:`sign_up_confirm`; one that has a user, a note
    saying so (:func:`factu.services.request_sign_up`): the page never reveals which.
    """
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpEmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if throttle.throttled(request, "sign_up", email):
            return _throttled(request, form, "registration/sign_up.html")
        services.request_sign_up(
            email,
            link_for=lambda token: request.build_absolute_uri(
                reverse("sign_up_confirm", args=[token])
            ),
            login_link=request.build_absolute_uri(reverse("login")),
            reset_link=request.build_absolute_uri(reverse("password_reset")),
        )
        request.session[SIGN_UP_SENT_SESSION_KEY] = email
        return redirect("sign_up_sent")
    return render(request, "registration/sign_up.html", {"form": form})


SIGN_UP_SENT_SESSION_KEY = "_sign_up_sent_to"
SIGN_UP_SESSION_KEY = "_sign_up_token"


@never_cache
def sign_up_sent(request: HttpRequest) -> HttpResponse:
    email = request.session.get(SIGN_UP_SENT_SESSION_KEY, "")
    return render(request, "registration/sign_up_sent.html", {"email": email})


@never_cache
def sign_up_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation email. As with invitations, the token moves into the
    session and the browser goes on to a URL without it (:func:`sign_up_continue`)."""
    request.session[SIGN_UP_SESSION_KEY] = token
    return redirect("sign_up_continue")


@sensitive_variables()
@sensitive_post_parameters("password")
@never_cache
def sign_up_continue(request: HttpRequest) -> HttpResponse:
    """Step two: the person, the account and its first taxpayer; sign in; the dashboard."""
    try:
        email = services.email_of_sign_up_token(request.session.get(SIGN_UP_SESSION_KEY, ""))
    except services.SignUpLinkRefused as refused:
        context = {"reason": refused.message}
        return render(request, "registration/sign_up_refused.html", context, status=410)
    if services.email_taken(email):
        request.session.pop(SIGN_UP_SESSION_KEY, None)
        context = {"reason": f"Ya hay un usuario de Factu con {email}: entre con él."}
        return render(request, "registration/sign_up_refused.html", context, status=410)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, account, _ = services.sign_up(email=email, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session.pop(SIGN_UP_SESSION_KEY, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Bienvenido a Factu. La cuenta {account.name} está lista: "
                "ya puede dar de alta clientes y emitir su primera factura.",
            )
            return redirect("dashboard", account_slug=account.slug)
    return render(request, "registration/sign_up_form.html", {"form": form, "email": email})


# -- members and invitations ----------------------------------------------------------------


def _member_or_404(request: HttpRequest, membership_id) -> Membership:
    return account_object_or_404(
        request,
        Membership.objects.select_related("user"),
        membership_id,
        "No existe ese miembro en esta cuenta.",
    )


def _may_touch(actor: Membership, member: Membership) -> bool:
    return actor.can_manage and (member.role != Role.OWNER or actor.role == Role.OWNER)


@never_cache
@account_view(manage=True)
def member_list(request: HttpRequest) -> HttpResponse:
    """Members with their roles; owners and admins invite, change roles and remove."""
    actor = request.membership
    form = InvitationForm(request.POST or None, actor_role=actor.role)
    if request.method == "POST" and form.is_valid():

        def link_for(raw: str) -> str:
            return request.build_absolute_uri(reverse("invitation_accept", args=[raw]))

        try:
            invitation, _ = services.invite(
                actor, form.cleaned_data["email"], form.cleaned_data["role"], link_for=link_for
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Invitación enviada a {invitation.email}. El enlace caduca el "
                f"{timezone.localtime(invitation.expires_at):%d/%m/%Y}.",
            )
            return redirect("member_list", account_slug=request.account.slug)
    members = list(request.account.memberships.select_related("user").order_by("user__email", "id"))
    owners = sum(1 for m in members if m.role == Role.OWNER)
    for member in members:
        member.is_me = member.pk == actor.pk
        member.last_owner = member.role == Role.OWNER and owners == 1
        member.editable = _may_touch(actor, member) and not member.last_owner
        member.removable = (member.is_me or _may_touch(actor, member)) and not member.last_owner
    now = timezone.now()
    invitations = [
        i
        for i in request.account.invitations.filter(accepted_at__isnull=True).select_related(
            "invited_by"
        )
        if not i.is_expired(now)
    ]
    role_choices = (
        Role.choices
        if actor.role == Role.OWNER
        else [c for c in Role.choices if c[0] != Role.OWNER]
    )
    return render(
        request,
        "factu/member_list.html",
        {
            "members": members,
            "invitations": invitations,
            "form": form,
            "can_manage": actor.can_manage,
            "role_choices": role_choices,
        },
    )


@require_POST
@account_view(manage=True)
def member_role(request: HttpRequest, membership_id) -> HttpResponse:
    member = _member_or_404(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Elija un rol válido.")
    else:
        try:
            services.change_role(request.membership, member, form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{member.user.email} ahora es {member.get_role_display().lower()}."
            )
    return redirect("member_list", account_slug=request.account.slug)


@never_cache
@account_view()
def member_remove(request: HttpRequest, membership_id) -> HttpResponse:
    """GET asks for confirmation; POST removes (a member may also leave on their own)."""
    member = _member_or_404(request, membership_id)
    leaving = member.pk == request.membership.pk
    if request.method == "POST":
        try:
            services.remove_member(request.membership, member)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("member_list", account_slug=request.account.slug)
        if leaving:
            messages.success(request, f"Ha salido de la cuenta {request.account.name}.")
            return redirect("account_list")
        messages.success(request, f"{member.user.email} ya no es miembro de la cuenta.")
        return redirect("member_list", account_slug=request.account.slug)
    if not leaving and not _may_touch(request.membership, member):
        raise PermissionDenied("Solo el propietario o un administrador pueden quitar miembros.")
    return render(
        request, "factu/member_confirm_remove.html", {"member": member, "leaving": leaving}
    )


@require_POST
@account_view(manage=True)
def invitation_cancel(request: HttpRequest, invitation_id) -> HttpResponse:
    invitation = account_object_or_404(
        request,
        Invitation.objects.all(),
        invitation_id,
        "No existe esa invitación en esta cuenta.",
    )
    services.cancel_invitation(request.membership, invitation)
    messages.success(request, f"Invitación a {invitation.email} anulada.")
    return redirect("member_list", account_slug=request.account.slug)


def _invitation_refused(request: HttpRequest, refused) -> HttpResponse:
    status = 404 if refused.code == "unknown" else 410
    return render(
        request, "factu/invitation_refused.html", {"reason": refused.message}, status=status
    )


INVITATION_SESSION_KEY = "_invitation_token"


@sensitive_variables()
@sensitive_post_parameters("password")
@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation email: join, signing in or creating a user as needed.

    Like Django's password reset, a GET moves the link's token into the session and sends the
    browser on to a URL without it (:func:`invitation_continue`), so the credential never
    reaches the Referer header, the browser history or the access log of a later request.
    """
    request.session[INVITATION_SESSION_KEY] = token
    if request.method == "GET":
        return redirect("invitation_continue")
    return _accept_invitation(request, token)


@sensitive_variables()
@sensitive_post_parameters("password")
@never_cache
def invitation_continue(request: HttpRequest) -> HttpResponse:
    return _accept_invitation(request, request.session.get(INVITATION_SESSION_KEY, ""))


@sensitive_variables()
def _accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.find_invitation(token)
    except services.InvitationRefused as refused:
        return _invitation_refused(request, refused)
    user = request.user if request.user.is_authenticated else None
    mismatch = user is not None and user.email.lower() != invitation.email.lower()
    existing = user is None and services.email_taken(invitation.email)
    form = AcceptInvitationForm(request.POST or None) if user is None and not existing else None
    if request.method == "POST" and not mismatch and not existing:
        membership = None
        try:
            if user is not None:
                membership = services.accept_invitation(token, user=user)
            elif form.is_valid():
                membership = services.accept_invitation(token, **form.cleaned_data)
        except ValidationError as error:
            if form is None:
                raise
            form.add_error(None, error)
        except services.InvitationRefused as refused:  # used or expired meanwhile
            return _invitation_refused(request, refused)
        if membership is not None:
            request.session.pop(INVITATION_SESSION_KEY, None)
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Ya forma parte de {membership.account.name}.")
            return redirect("dashboard", account_slug=membership.account.slug)
    login_url = f"{reverse('login')}?{urlencode({'next': request.path})}"
    return render(
        request,
        "factu/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "mismatch": mismatch,
            "existing": existing,
            "login_url": login_url,
        },
    )
