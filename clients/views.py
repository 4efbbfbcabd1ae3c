"""Client pages: thin, every write goes through ``clients.services``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from clients.forms import ClientForm, quick_client_form
from clients.models import Client
from clients.services import (
    archive_client,
    create_client,
    restore_client,
    search_clients,
    update_client,
)
from factu import views
from factu.access import account_object_or_404, account_view, require_write, taxpayer_or_404
from factu.redirects import back_to_list, section_next

PAGE_SIZE = 50
SEARCH_LIMIT = 10


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


def _taxpayer_asked(request: HttpRequest, params):
    """The taxpayer the invoice form is for (its draft's, which may not be the one chosen
    now), of the request's account; the current one when none is named."""
    if params.get("taxpayer"):
        return taxpayer_or_404(request, params["taxpayer"])
    return request.taxpayer


def client_choice(client: Client) -> dict:
    """A client as the invoice form's type-ahead shows and picks it."""
    return {"id": str(client.pk), "name": client.name, "label": str(client)}


@account_view()
@require_GET
def client_search(request: HttpRequest) -> JsonResponse:
    """The invoice form's client type-ahead: ``{"results": [...]}`` of the current taxpayer's
    clients (never another account's, never archived ones) matching ``q``."""
    q = request.GET.get("q", "").strip()[:100]
    taxpayer = _taxpayer_asked(request, request.GET)
    if taxpayer is None or not q:
        return JsonResponse({"results": []})
    found = search_clients(request.account, q, taxpayer)[:SEARCH_LIMIT]
    return JsonResponse({"results": [client_choice(c) for c in found]})


@account_view(write=True)
@require_POST
def client_quick_create(request: HttpRequest) -> JsonResponse:
    """Create a client from the invoice form's dialog: 201 with the client to select, or 400
    with the Spanish messages by field (the dialog's own field names)."""
    taxpayer = _taxpayer_asked(request, request.POST)
    if taxpayer is None:
        return JsonResponse({"errors": {"__all__": ["Elija antes un contribuyente."]}}, status=400)
    form = quick_client_form(taxpayer, request.POST)
    if form.is_valid():
        try:
            client = create_client(taxpayer, form.data_for_service)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return JsonResponse(client_choice(client), status=201)
    errors = {
        (form.add_prefix(name) if name != "__all__" else name): messages_
        for name, messages_ in form.errors.items()
    }
    return JsonResponse({"errors": errors}, status=400)
