"""The recurring plans' pages (Facturas → Recurrentes). Thin: they parse the form, call
:mod:`recurring.services` and show the result. A plan is looked up within the request's
account (another account's is a 404); the list shows the current taxpayer's plans."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from factu.access import account_object_or_404, account_view, require_write
from invoicing import taxes
from invoicing.forms import LineFormSet, line_initial
from invoicing.views import STATUS_TONES as INVOICE_TONES
from invoicing.views import apply_service_errors, no_taxpayer, posted_data, status_label
from recurring import services
from recurring.forms import PlanForm, plan_initial
from recurring.models import GeneratedPeriod, Plan, PlanStatus

STATUS_TONES = {PlanStatus.ACTIVE: "ok", PlanStatus.PAUSED: "warn", PlanStatus.ENDED: "pending"}
EVERY = {"monthly": "Cada mes", "quarterly": "Cada tres meses", "yearly": "Cada año"}


def plan_or_404(request: HttpRequest, plan_id) -> Plan:
    return account_object_or_404(
        request,
        Plan.objects.select_related("taxpayer", "client", "series"),
        plan_id,
        "No existe ese plan en esta cuenta.",
    )


def _calendar(plan: Plan) -> str:
    day = "el último día" if plan.day_of_month == 31 else f"el día {plan.day_of_month}"
    text = f"{EVERY[plan.frequency]}, {day}"
    if plan.max_invoices:
        text += f", {plan.max_invoices} factura{'s' if plan.max_invoices != 1 else ''} en total"
    if plan.end_date:
        text += f", hasta el {plan.end_date:%d/%m/%Y}"
    return text


def _row(plan: Plan) -> dict:
    totals = services.template_totals(plan)
    return {
        "plan": plan,
        "calendar": _calendar(plan),
        "tone": STATUS_TONES[plan.status],
        "total": taxes.format_euros(totals.total_cents) if totals else None,
        "generated": [
            {
                "period": period,
                "invoice": period.invoice,
                "status": status_label(period.invoice),
                "tone": INVOICE_TONES.get(period.invoice.status, ""),
                "problem": period.problem if period.invoice.is_draft else "",
                "send_problem": period.send_problem,
            }
            for period in plan.periods.all()
        ],
    }


@account_view()
def plan_list(request: HttpRequest) -> HttpResponse:
    if request.taxpayer is None:
        return no_taxpayer(request)
    periods = GeneratedPeriod.objects.select_related("invoice").order_by("-period")
    plans = (
        Plan.objects.filter(account=request.account, taxpayer=request.taxpayer)
        .select_related("client")
        .prefetch_related("lines", Prefetch("periods", queryset=periods))
        .order_by("status", "name", "id")
    )
    return render(request, "recurring/plan_list.html", {"rows": [_row(p) for p in plans]})


def _render_form(request, form, formset, plan=None, status=200) -> HttpResponse:
    return render(
        request,
        "recurring/plan_form.html",
        {"form": form, "formset": formset, "object": plan},
        status=status,
    )


@account_view(write=True)
def plan_create(request: HttpRequest) -> HttpResponse:
    require_write(request)
    taxpayer = request.taxpayer
    if taxpayer is None:
        return no_taxpayer(request)
    initial = {"start_date": timezone.localdate(), "irpf_rate": taxpayer.default_irpf_bp}
    form = PlanForm(posted_data(request), taxpayer=taxpayer, initial=initial)
    formset = LineFormSet(posted_data(request), prefix="lines")
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                plan = services.create_plan(
                    taxpayer,
                    lines=formset.draft_lines(),
                    created_by=request.user,
                    **form.plan_fields(),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            else:
                messages.success(
                    request,
                    f"Plan «{plan.name}» creado: primera factura el {plan.next_date:%d/%m/%Y}.",
                )
                return redirect("recurring_list", request.account.slug)
        return _render_form(request, form, formset, status=400)
    return _render_form(request, form, formset)


@account_view(write=True)
def plan_edit(request: HttpRequest, plan_id) -> HttpResponse:
    require_write(request)
    plan = plan_or_404(request, plan_id)
    if plan.status == PlanStatus.ENDED:
        messages.error(request, "Un plan terminado ya no se modifica.")
        return redirect("recurring_list", request.account.slug)
    form = PlanForm(
        posted_data(request), taxpayer=plan.taxpayer, plan=plan, initial=plan_initial(plan)
    )
    formset = LineFormSet(
        posted_data(request), prefix="lines", initial=line_initial(plan.lines.all())
    )
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            try:
                services.update_plan(plan, lines=formset.draft_lines(), **form.plan_fields())
            except ValidationError as exc:
                apply_service_errors(exc, form, formset)
            except services.PlanStateError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Plan «{form.cleaned_data['name']}» guardado.")
                return redirect("recurring_list", request.account.slug)
        return _render_form(request, form, formset, plan=plan, status=400)
    return _render_form(request, form, formset, plan=plan)


ACTIONS = {
    "pausar": (services.pause_plan, "Plan «{}» en pausa: no generará facturas."),
    "reanudar": (services.resume_plan, "Plan «{}» reanudado."),
    "terminar": (services.end_plan, "Plan «{}» terminado: no generará más facturas."),
}


@account_view(write=True)
@require_POST
def plan_action(request: HttpRequest, plan_id, action: str) -> HttpResponse:
    """Pause, resume or end a plan (the list's buttons)."""
    require_write(request)
    plan = plan_or_404(request, plan_id)
    change, done = ACTIONS[action]
    try:
        plan = change(plan)
    except services.PlanStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(plan.name))
    return redirect("recurring_list", request.account.slug)
