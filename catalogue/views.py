"""Catalogue pages and the invoice form's search: thin, every write through
``catalogue.services``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from catalogue.forms import ItemForm
from catalogue.models import Item
from catalogue.services import (
    SEARCH_LIMIT,
    archive_item,
    as_suggestion,
    create_item,
    restore_item,
    search_items,
    update_item,
)
from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.redirects import back_to_list, section_next

PAGE_SIZE = 50


def item_or_404(request: HttpRequest, item_id) -> Item:
    """An item of the request's account; another account's item does not exist."""
    return account_object_or_404(
        request, Item.objects.all(), item_id, "No existe ese producto o servicio en esta cuenta."
    )


def _list_url(request: HttpRequest) -> str:
    return back_to_list(request, "catalogo", "catalogue_list")


@account_view()
def item_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    archived = request.GET.get("archivados") == "1"
    items = search_items(request.account, q, include_archived=archived)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {"q": q} if q else {}
    if archived:
        query["archivados"] = "1"
    return render(
        request,
        "catalogue/item_list.html",
        {
            "page": page,
            "q": q,
            "archived": archived,
            "query": urlencode(query),
            "any_item": Item.objects.filter(account=request.account).exists(),
        },
    )


@account_view(write=True)
def item_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    form = ItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = create_item(request.account, form.data_for_service)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"«{item.name}» añadido al catálogo.")
            return redirect("catalogue_list", account_slug=request.account.slug)
    return render(
        request,
        "catalogue/item_form.html",
        {"form": form, "creating": True},
        status=400 if form.is_bound else 200,
    )


@account_view(write=True)
def item_edit(request: HttpRequest, item_id) -> HttpResponse:
    item = item_or_404(request, item_id)
    read_only = not request.membership.can_write
    form = ItemForm(request.POST or None, initial=ItemForm.initial_of(item), read_only=read_only)
    return views.edit_page(
        request,
        form,
        save=lambda: update_item(item, form.data_for_service),
        refused=lambda error: form.add_error(None, error),
        template="catalogue/item_form.html",
        obj=item,
        read_only=read_only,
        next_url=section_next(request, "catalogo"),
        back=_list_url(request),
    )


@account_view(write=True)
def item_archive(request: HttpRequest, item_id) -> HttpResponse:
    """GET asks for confirmation; POST archives."""
    require_write(request)
    item = item_or_404(request, item_id)
    if request.method == "POST":
        archive_item(item)
        messages.success(request, f"«{item.name}» archivado: ya no se ofrece al facturar.")
        return redirect(_list_url(request))
    return render(
        request, "catalogue/item_confirm_archive.html", {"object": item, "next": _list_url(request)}
    )


@account_view(write=True)
@require_POST
def item_restore(request: HttpRequest, item_id) -> HttpResponse:
    item = item_or_404(request, item_id)
    restore_item(item)
    messages.success(request, f"«{item.name}» restaurado.")
    return redirect(_list_url(request))


@account_view()
@require_GET
def item_search(request: HttpRequest) -> JsonResponse:
    """The invoice line's type-ahead: ``{"results": [...]}`` of :func:`as_suggestion`, the
    account's items only, archived ones never."""
    q = request.GET.get("q", "").strip()[:100]
    items = search_items(request.account, q)[:SEARCH_LIMIT] if q else []
    return JsonResponse({"results": [as_suggestion(item) for item in items]})
