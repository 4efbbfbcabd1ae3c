"""Client pages: thin, every write goes through ``clients.services``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from clients.forms import ClientForm
from clients.models import Client
from clients.services import (
    archive_client,
    create_client,
    restore_client,
    search_clients,
    update_client,
)
from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.redirects import back_to_list, section_next

PAGE_SIZE = 50


def client_or_404(request: HttpRequest, client_id) -> Client:
    """A client of the request's account; another account's client does not exist."""
    return account_object_or_404(
        request,
        Client.objects.select_related("taxpayer"),
        client_id,
        "No existe ese cliente en esta cuenta.",
    )


def no_taxpayer(request: HttpRequest) -> HttpResponse:
    return views.no_taxpayer(request, "Clientes", "Los clientes pertenecen a un contribuyente")


def _list_url(request: HttpRequest) -> str:
    return back_to_list(request, "clientes", "client_list")


@account_view()
def client_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    q = request.GET.get("q", "").strip()
    archived = request.GET.get("archivados") == "1"
    clients = search_clients(request.account, q, request.taxpayer, include_archived=archived)
    page = Paginator(clients, PAGE_SIZE).get_page(request.GET.get("page"))
    hidden_archived = 0
    if not archived and not page.object_list:
        hidden_archived = (
            search_clients(request.account, q, request.taxpayer, include_archived=True)
            .exclude(archived_at__isnull=True)
            .count()
        )
    query = {"q": q} if q else {}
    if archived:
        query["archivados"] = "1"
    return render(
        request,
        "clients/client_list.html",
        {
            "page": page,
            "q": q,
            "archived": archived,
            "hidden_archived": hidden_archived,
            "query": urlencode(query),
            "any_client": request.taxpayer.clients.exists(),
        },
    )


@account_view(write=True)
def client_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    if request.taxpayer is None:
        return no_taxpayer(request)
    form = ClientForm(request.POST or None, taxpayer=request.taxpayer)
    if request.method == "POST" and form.is_valid():
        try:
            client = create_client(request.taxpayer, form.data_for_service)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Cliente {client.name} creado.")
            return redirect("client_list", account_slug=request.account.slug)
    return render(request, "clients/client_form.html", {"form": form, "creating": True})


@account_view(write=True)
def client_edit(request: HttpRequest, client_id) -> HttpResponse:
    client = client_or_404(request, client_id)
    read_only = not request.membership.can_write
    form = ClientForm(
        request.POST or None, instance=client, taxpayer=client.taxpayer, read_only=read_only
    )
    return views.edit_page(
        request,
        form,
        save=lambda: update_client(client, form.data_for_service),
        refused=lambda error: form.add_error(None, error),
        template="clients/client_form.html",
        obj=client,
        read_only=read_only,
        next_url=section_next(request, "clientes"),
        back=_list_url(request),
    )


@account_view(write=True)
def client_archive(request: HttpRequest, client_id) -> HttpResponse:
    """GET asks for confirmation; POST archives."""
    require_write(request)
    client = client_or_404(request, client_id)
    if request.method == "POST":
        archive_client(client)
        messages.success(
            request, f"Cliente {client.name} archivado: ya no aparece en la lista ni al facturar."
        )
        return redirect(_list_url(request))
    return render(
        request,
        "clients/client_confirm_archive.html",
        {"object": client, "next": _list_url(request)},
    )


@account_view(write=True)
@require_POST
def client_restore(request: HttpRequest, client_id) -> HttpResponse:
    client = client_or_404(request, client_id)
    restore_client(client)
    messages.success(request, f"Cliente {client.name} restaurado.")
    return redirect(_list_url(request))
