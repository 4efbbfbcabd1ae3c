"""The taxpayer's branding page and its logo (served only after the account check)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from factu.access import account_view, taxpayer_or_404
from factu.branding import LOGO_MAX_BYTES, branding_of, logo_response, save_branding
from factu.forms import BrandingForm
from factu.uploads import accepts_upload

LOGO_ERRORS = {"too_big", "type", "broken", "pixels"}


@accepts_upload(LOGO_MAX_BYTES)
@account_view(write=True)
def taxpayer_branding(request: HttpRequest, taxpayer_id) -> HttpResponse:
    """The taxpayer's logo, contact, footer and accent colour (what its PDFs and emails show)."""
    taxpayer = taxpayer_or_404(request, taxpayer_id)
    branding = branding_of(taxpayer)
    initial = {
        "contact_email": branding.contact_email,
        "contact_phone": branding.contact_phone,
        "footer_text": branding.footer_text,
        "accent_color": branding.accent_color,
    }
    has_logo = bool(branding.logo)
    form = BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        has_logo=has_logo,
        may_manage=request.membership.can_manage,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            save_branding(
                taxpayer,
                contact_email=data["contact_email"],
                contact_phone=data["contact_phone"],
                footer_text=data["footer_text"],
                accent_color=data["accent_color"],
                logo=data.get("logo") or None,
                remove_logo=bool(data.get("remove_logo")),
            )
        except ValidationError as error:
            form.add_error("logo" if error.code in LOGO_ERRORS else None, error)
        else:
            messages.success(request, f"Marca de {taxpayer.name} guardada.")
            return redirect("taxpayer_branding", request.account.slug, taxpayer.pk)
    return render(
        request,
        "factu/taxpayer_branding.html",
        {"form": form, "object": taxpayer, "has_logo": has_logo},
        status=400 if form.is_bound and form.errors else 200,
    )


@account_view()
def taxpayer_logo(request: HttpRequest, taxpayer_id) -> HttpResponse:
    return logo_response(taxpayer_or_404(request, taxpayer_id))
