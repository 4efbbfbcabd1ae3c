"""Settings → API tokens: list, create (the raw token shown once), revoke.

Owners and admins manage tokens; other members see the list read-only. Creating is
POST-redirect-GET, so reloading the page never creates a second token: the POST leaves the
raw token in the session, encrypted (:mod:`verifactu.vault`), for the one GET it redirects to,
which takes it out and shows it on a page marked ``Cache-Control: no-store``; a reload finds
nothing and goes back to the list. The raw token is never in a URL and never stored in clear.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from api.forms import ApiTokenForm
from api.models import ApiToken
from api.services import create_token, revoke_token
from factu.access import account_object_or_404, account_view, require_manage
from factu.models import Membership
from verifactu import vault

# The session key under which a just-created token waits, encrypted, for its one showing.
FLASH_KEY = "api_token_created"


def token_or_404(request: HttpRequest, token_id) -> ApiToken:
    return account_object_or_404(
        request, ApiToken.objects.all(), token_id, "No existe ese token en esta cuenta."
    )


def _list_context(request: HttpRequest, form: ApiTokenForm) -> dict:
    tokens = list(ApiToken.objects.filter(account=request.account).select_related("created_by"))
    members = set(
        Membership.objects.filter(account=request.account).values_list("user_id", flat=True)
    )
    for token in tokens:
        if token.revoked_at is not None:
            token.status_label, token.status_class = "Revocado", "revoked"
        elif token.created_by_id not in members:
            token.status_label, token.status_class = "Inactivo", "inactive"
        else:
            token.status_label, token.status_class = "Activo", "active"
    return {"tokens": tokens, "form": form, "can_manage": request.membership.can_manage}


# Every local of this view and below it (the raw token, the context that renders it) is
# hidden from error reports.
@sensitive_variables()
@never_cache
@account_view(manage=True)
def token_list(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST creates one and redirects to the page that shows it once."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = create_token(request.account, request.user, form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session[FLASH_KEY] = {
                "id": str(token.pk),
                "secret": vault.encrypt(raw.encode()).decode(),
            }
            return redirect(reverse("api_token_created", args=[request.account.slug, token.pk]))
    status = 400 if form.errors else 200
    return render(request, "api/token_list.html", _list_context(request, form), status=status)


# The decrypted raw token is a local here too: hidden from error reports.
@sensitive_variables()
@never_cache
@account_view(manage=True)
def token_created(request: HttpRequest, token_id) -> HttpResponse:
    """The raw token of the token just created, shown this once: the session's copy is taken
    out before the page renders, so a reload (or a second tab) finds nothing to show."""
    created = token_or_404(request, token_id)
    flash = request.session.pop(FLASH_KEY, None)
    if not flash or flash.get("id") != str(created.pk):
        messages.info(
            request,
            f"El token «{created.name}» ya se mostró una vez y no puede volver a verse: si no lo "
            "copió, revóquelo y cree otro.",
        )
        return redirect("api_token_list", account_slug=request.account.slug)
    raw = vault.decrypt(flash["secret"].encode()).decode()
    return render(request, "api/token_created.html", {"token": created, "raw_token": raw})


@never_cache
@account_view(manage=True)
def token_revoke(request: HttpRequest, token_id) -> HttpResponse:
    """GET asks for confirmation; POST revokes at once."""
    require_manage(request)
    token = token_or_404(request, token_id)
    if request.method == "POST":
        if token.revoked_at is None:
            revoke_token(token)
            messages.success(request, f"Token «{token.name}» revocado: ya no da acceso a la API.")
        return redirect("api_token_list", account_slug=request.account.slug)
    return render(request, "api/token_confirm_revoke.html", {"object": token})
