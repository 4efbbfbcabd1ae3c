"""Expense pages and the quarterly tax summaries. Thin: they parse forms and call
:mod:`expenses.services`, :mod:`expenses.receipts` and :mod:`expenses.summaries`.

Every expense is looked up within ``request.account`` (another account's expense, and its
receipt, is a 404); lists and new expenses belong to the current taxpayer. Viewers see no
actions and every POST of theirs is refused (403) by ``account_view(write=True)``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from expenses import exports, modelo111, receipts, summaries
from expenses.forms import (
    CategoryForm,
    ExpenseFilterForm,
    ExpenseForm,
    QuarterForm,
    default_quarter,
    new_expense_initial,
)
from expenses.models import Expense, ExpenseCategory
from expenses.services import (
    categories_for,
    create_category,
    create_expense,
    delete_category,
    delete_expense,
    expense_totals,
    filter_expenses,
    update_expense,
)
from factu import views
from factu.access import account_object_or_404, account_view, require_write
from factu.redirects import back_to_list, section_next
from factu.uploads import accepts_upload
from invoicing.taxes import format_euros, format_percent

PAGE_SIZE = 50


def expense_or_404(request: HttpRequest, expense_id) -> Expense:
    return account_object_or_404(
        request,
        Expense.objects.select_related("category", "taxpayer"),
        expense_id,
        "No existe ese gasto en esta cuenta.",
    )


def no_taxpayer(request: HttpRequest) -> HttpResponse:
    return views.no_taxpayer(request, "Gastos", "Los gastos pertenecen a un contribuyente")


def _list_url(request: HttpRequest) -> str:
    return back_to_list(request, "gastos", "expense_list")


def _filtered(request: HttpRequest):
    filters = ExpenseFilterForm(request.GET or None, account=request.account)
    return filters, filter_expenses(request.taxpayer, filters.filters())


@account_view()
def expense_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    filters, expenses = _filtered(request)
    sums = expense_totals(expenses)
    page = Paginator(expenses, PAGE_SIZE).get_page(request.GET.get("page"))
    listing = views.list_context(request, filters, page, [_row(e) for e in page.object_list])
    return render(
        request,
        "expenses/expense_list.html",
        {
            **listing,
            "export_query": listing["query"],
            "any_expense": Expense.objects.filter(taxpayer=request.taxpayer).exists(),
            "sums_count": sums["count"],
            "sums": {k: format_euros(v) for k, v in sums.items() if k != "count"},
        },
    )


def _row(expense: Expense) -> dict:
    return {
        "expense": expense,
        "amount": format_euros(expense.amount_cents),
        "base": format_euros(expense.base_cents) if expense.base_cents is not None else "—",
        "iva": format_euros(expense.iva_cents) if expense.iva_cents is not None else "—",
        "rate": format_percent(expense.iva_rate_bp) if expense.iva_rate_bp is not None else "",
        "deductible": (
            format_percent(expense.deductible_bp) if expense.is_deductible else "No deducible"
        ),
    }


@account_view()
def expense_export(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        raise Http404("Esta cuenta aún no tiene contribuyentes.")
    _, expenses = _filtered(request)
    return exports.csv_response(
        exports.expenses_csv(expenses.iterator()), f"gastos-{request.taxpayer.nif}.csv"
    )


def _save_expense(request: HttpRequest, form: ExpenseForm, expense: Expense | None) -> Expense:
    with transaction.atomic():
        if expense is None:
            expense = create_expense(request.taxpayer, form.data_for_service)
        else:
            expense = update_expense(expense, form.data_for_service)
        upload = form.cleaned_data.get("receipt")
        if upload:
            receipts.attach_receipt(expense, upload)
        elif form.cleaned_data.get("remove_receipt"):
            receipts.remove_receipt(expense)
    return expense


@accepts_upload(receipts.max_bytes)
@account_view(write=True)
def expense_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    if request.taxpayer is None:
        return no_taxpayer(request)
    form = ExpenseForm(
        request.POST or None,
        request.FILES or None,
        account=request.account,
        initial=new_expense_initial(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            expense = _save_expense(request, form, None)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Gasto «{expense.description}» guardado.")
            if "otro" in request.POST:
                return redirect("expense_create", account_slug=request.account.slug)
            return redirect("expense_list", account_slug=request.account.slug)
    return render(request, "expenses/expense_form.html", {"form": form, "creating": True})


@accepts_upload(receipts.max_bytes)
@account_view(write=True)
def expense_edit(request: HttpRequest, expense_id) -> HttpResponse:
    expense = expense_or_404(request, expense_id)
    read_only = not request.membership.can_write
    form = ExpenseForm(
        request.POST or None, request.FILES or None, account=request.account, expense=expense
    )
    if read_only:
        for field in form.fields.values():
            field.disabled = True
    return views.edit_page(
        request,
        form,
        save=lambda: _save_expense(request, form, expense),
        refused=form.add_service_errors,
        template="expenses/expense_form.html",
        obj=expense,
        read_only=read_only,
        next_url=section_next(request, "gastos"),
        back=_list_url(request),
    )


@account_view(write=True)
def expense_delete(request: HttpRequest, expense_id) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    require_write(request)
    expense = expense_or_404(request, expense_id)
    if request.method == "POST":
        delete_expense(expense)
        messages.success(request, f"Gasto «{expense.description}» eliminado.")
        return redirect(_list_url(request))
    return render(
        request,
        "expenses/expense_confirm_delete.html",
        {
            "object": expense,
            "amount": format_euros(expense.amount_cents),
            "next": _list_url(request),
        },
    )


@account_view()
def expense_receipt(request: HttpRequest, expense_id) -> HttpResponse:
    """The receipt, to members of the expense's account only (others get a 404)."""
    expense = expense_or_404(request, expense_id)
    return receipts.receipt_response(expense, download=request.GET.get("descargar") == "1")


@account_view(write=True)
def category_list(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = create_category(request.account, form.cleaned_data["name"])
        except ValidationError as error:
            for messages_ in error.message_dict.values():
                form.add_error("name", messages_)
        else:
            messages.success(request, f"Categoría «{category.name}» añadida.")
            return redirect("expense_categories", account_slug=request.account.slug)
    categories = categories_for(request.account)
    return render(
        request,
        "expenses/category_list.html",
        {
            "form": form,
            "own": [c for c in categories if c.account_id],
            "seeded": [c for c in categories if not c.account_id],
        },
    )


@account_view(write=True)
@require_POST
def category_delete(request: HttpRequest, category_id) -> HttpResponse:
    category = account_object_or_404(
        request,
        ExpenseCategory.objects.all(),
        category_id,
        "No existe esa categoría en esta cuenta.",
    )
    delete_category(category)
    messages.success(
        request, f"Categoría «{category.name}» borrada; sus gastos quedan sin categoría."
    )
    return redirect("expense_categories", account_slug=request.account.slug)


def _period(request: HttpRequest) -> tuple[QuarterForm, int, int]:
    year, quarter = default_quarter()
    form = QuarterForm(request.GET or None, initial={"year": year, "quarter": quarter})
    if request.GET and form.is_valid():
        year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    return form, year, quarter


@account_view()
def tax_summary(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    form, year, quarter = _period(request)
    found = summaries.quarter_summaries(request.taxpayer, year, quarter)
    m303, m130, m347 = found.m303, found.m130, found.m347
    boxes = summaries.boxes_for(year)
    start, end = summaries.quarter_range(year, quarter)
    return render(
        request,
        "expenses/tax_summary.html",
        {
            "form": form,
            "year": year,
            "quarter": quarter,
            "start": start,
            "end": end,
            "m303": m303,
            "m130": m130,
            "obligation_130": summaries.obligation_130(request.taxpayer, year),
            "m347": m347,
            "m111": modelo111.modelo_111(request.taxpayer, year, quarter),
            "result_303": format_euros(m303.result),
            "result_130": format_euros(m130.result) if m130 else "",
            "threshold": format_euros(
                int(boxes.get("347", {}).get("threshold_cents", summaries.DEFAULT_347_THRESHOLD))
            ),
            "boxes_year": boxes["year"],
            "quarters": [1, 2, 3, 4],
            "years": list(range(year - 3, year + 2)),
            "export_query": urlencode({"year": year, "quarter": quarter}),
        },
    )


@account_view()
def tax_summary_export(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        raise Http404("Esta cuenta aún no tiene contribuyentes.")
    _, year, quarter = _period(request)
    found = summaries.quarter_summaries(request.taxpayer, year, quarter)
    content = exports.summary_csv(found.m303, found.m130, found.m347)
    return exports.csv_response(content, f"impuestos-{request.taxpayer.nif}-{year}-{quarter}T.csv")
