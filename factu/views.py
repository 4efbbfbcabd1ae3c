from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from factu.access import account_view, taxpayer_or_404
from factu.forms import TaxpayerForm
from factu.models import Membership, WorkerHeartbeat
from factu.services import accounts_of, choose_taxpayer


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the account last worked in; the chooser only when there is a choice."""
    memberships = Membership.objects.filter(user=request.user).select_related("account")
    last = memberships.order_by("-last_used_at", "account__name").first()
    if last is not None and (memberships.count() == 1 or last.last_used_at):
        return redirect("dashboard", account_slug=last.account.slug)
    return redirect("account_list")


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


@account_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "factu/dashboard.html", {"worker": worker_status()})


@require_POST
@account_view()
def switch_taxpayer(request: HttpRequest) -> HttpResponse:
    taxpayer = taxpayer_or_404(request, request.POST.get("taxpayer", ""))
    choose_taxpayer(request.membership, taxpayer)
    messages.success(request, f"Ahora trabaja con {taxpayer.name}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("dashboard", account_slug=request.account.slug)


@account_view()
def taxpayer_list(request: HttpRequest) -> HttpResponse:
    taxpayers = request.account.taxpayers.order_by("name", "id")
    return render(request, "factu/taxpayer_list.html", {"object_list": taxpayers})


@account_view(write=True)
def taxpayer_create(request: HttpRequest) -> HttpResponse:
    form = TaxpayerForm(request.POST or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        taxpayer = form.save()
        if request.taxpayer is None:
            choose_taxpayer(request.membership, taxpayer)
        messages.success(request, f"Contribuyente {taxpayer.name} creado.")
        return redirect("taxpayer_list", account_slug=request.account.slug)
    return render(request, "factu/taxpayer_form.html", {"form": form, "creating": True})


@account_view(write=True)
def taxpayer_edit(request: HttpRequest, taxpayer_id) -> HttpResponse:
    taxpayer = taxpayer_or_404(request, taxpayer_id)
    form = TaxpayerForm(request.POST or None, instance=taxpayer, account=request.account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Cambios guardados.")
        return redirect("taxpayer_list", account_slug=request.account.slug)
    return render(
        request, "factu/taxpayer_form.html", {"form": form, "object": taxpayer, "creating": False}
    )
