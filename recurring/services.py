"""What people and the beat do with recurring plans: the service functions the pages, the
account API and the Celery task all call (``create_plan``, ``update_plan``, ``pause_plan``,
``resume_plan``, ``end_plan``, ``generate_due``).

Generation is idempotent: each period of a plan is invoiced in one transaction that locks
the plan's row, creates the invoice through :func:`invoicing.services.create_draft` (and
issues it through :func:`invoicing.services.issue_invoice` when the plan says so) and writes
the period's :class:`~recurring.models.GeneratedPeriod` row, unique per plan and period. A
second worker waits for the lock and then finds the period done; a missed beat leaves the
periods due, caught up in order by the next run. An invoice is dated the day it is generated,
never the day its period fell on.

A plan never invoices a period whose day had passed when it was created, or when its calendar
last changed (:func:`_reschedule`): a monthly plan from 2024 created in 2026 starts at the first
period on or after the day it was created (that very day included), not with the 2024 months.
The periods that fall due after that and that a beat missed are caught up as above.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients.models import Client
from factu.models import Taxpayer, User
from invoicing import taxes
from invoicing.draft_lines import line_fields
from invoicing.models import Invoice, Series
from invoicing.services import (
    Actor,
    DraftLine,
    InvalidTransition,
    RecordRefused,
    create_draft,
    issue_invoice,
    preview_totals,
)
from recurring import schedule
from recurring.models import Frequency, GeneratedPeriod, Plan, PlanLine, PlanStatus
from recurring.sending import send_generated

logger = logging.getLogger(__name__)

# The plan's own fields a create or an update may set (the lines go apart).
EDITABLE = (
    "name",
    "client",
    "series",
    "description",
    "notes",
    "payment_details",
    "payment_days",
    "irpf_bp",
    "frequency",
    "day_of_month",
    "start_date",
    "end_date",
    "max_invoices",
    "auto_issue",
    "auto_send",
)
CALENDAR = ("frequency", "day_of_month", "start_date")
LIMITS = ("end_date", "max_invoices")
MAX_PAYMENT_DAYS = 365
SYSTEM = Actor()


class PlanStateError(Exception):
    """The plan's status does not allow this action (a 409 for the API)."""


@dataclass
class Generation:
    """What one run of :func:`generate_due` did."""

    invoices: list[Invoice] = field(default_factory=list)
    left_as_draft: list[Invoice] = field(default_factory=list)
    blocked: list[Plan] = field(default_factory=list)
    failed: list = field(default_factory=list)  # ids of plans whose generation failed


# ---------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------


PERIOD = "{periodo}"


def with_period(text: str, label: str | None) -> str:
    """``text`` with ``{periodo}`` replaced by the period's months (kept as typed in the
    template itself, ``label`` None)."""
    return text if label is None else text.replace(PERIOD, label)


def plan_lines(plan: Plan, period_label: str | None = None) -> list[DraftLine]:
    """The plan's template lines, as the invoice's draft takes them (``{periodo}`` in a
    concept replaced by ``period_label`` when given)."""
    return [
        replace(line.as_draft_line(), description=with_period(line.description, period_label))
        for line in plan.lines.all()
    ]


def template_totals(plan: Plan) -> taxes.InvoiceTotals | None:
    """The totals each invoice of the plan would have today (None if its lines no longer
    add up, which the next generation reports)."""
    try:
        return preview_totals(plan_lines(plan), irpf_bp=plan.irpf_bp, client=plan.client)
    except (ValidationError, ValueError):
        return None


def _check(plan: Plan, lines: Sequence[DraftLine]) -> None:
    """Every problem of the plan and its lines at once, keyed as the API names the fields."""
    errors: dict[str, list[str]] = {}

    def refuse(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not (plan.name or "").strip():
        refuse("name", "Dé un nombre al plan.")
    client: Client | None = plan.client if plan.client_id else None
    if client is None:
        refuse("clientId", "Elija el cliente.")
    elif client.taxpayer_id != plan.taxpayer_id:
        refuse("clientId", "Ese cliente es de otro contribuyente.")
    elif client.archived_at is not None:
        refuse("clientId", "Ese cliente está archivado.")
    series: Series | None = plan.series if plan.series_id else None
    if series is None:
        refuse("seriesId", "Elija la serie.")
    elif series.taxpayer_id != plan.taxpayer_id:
        refuse("seriesId", "Esa serie es de otro contribuyente.")
    elif series.archived:
        refuse("seriesId", "Esa serie está archivada.")
    elif series.kind == Series.Kind.RECTIFYING:
        refuse("seriesId", "Una serie rectificativa no sirve para facturas periódicas.")
    if plan.frequency not in Frequency.values:
        refuse("frequency", "Elija mensual, trimestral o anual.")
    if not 1 <= (plan.day_of_month or 0) <= 31:
        refuse("dayOfMonth", "Un día del 1 al 31 (31: el último día de cada mes).")
    if plan.payment_days is not None and not 0 <= plan.payment_days <= MAX_PAYMENT_DAYS:
        refuse("paymentDays", f"Entre 0 y {MAX_PAYMENT_DAYS} días.")
    if not 0 <= plan.irpf_bp <= taxes.BP_DENOMINATOR:
        refuse("irpfRate", "Entre 0 y 100 %.")
    if plan.start_date is None:
        refuse("startDate", "Indique desde qué fecha se factura.")
    elif plan.end_date is not None and plan.end_date < plan.start_date:
        refuse("endDate", "La fecha final no puede ser anterior a la inicial.")
    if plan.max_invoices is not None and plan.max_invoices < 1:
        refuse("count", "Al menos una factura.")
    try:
        preview_totals(
            lines, irpf_bp=plan.irpf_bp if not errors.get("irpfRate") else 0, client=client
        )
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            for message in messages:
                refuse(key, message)
    if errors:
        raise ValidationError(errors)


def _reschedule(plan: Plan, calendar_changed: bool, today: date) -> None:
    """Set the plan's next period, or refuse on the field that leaves it without one.

    A new plan starts at the first day of its calendar on or after both its start date and
    ``today``, the day it is created: a period whose day has passed is never invoiced (a start
    date in the past only anchors the calendar), one falling on ``today`` is. A plan whose
    calendar changes resumes at the first day of the new calendar on or after ``today`` and
    one step of the new frequency after the last period it invoiced (so no period is invoiced
    twice under two calendars); its next period stays otherwise (an end date or a count only
    decide whether one is left).
    """
    last = None
    if plan.pk is not None:
        last = plan.periods.order_by("-period").values_list("period", flat=True).first()
    nxt = plan.next_date
    if plan.pk is None or calendar_changed:
        bound = max(plan.start_date, today)
        if last is not None:
            bound = max(bound, schedule.one_step_after(last, plan.frequency))
        nxt = schedule.first_on_or_after(plan.start_date, plan.frequency, plan.day_of_month, bound)
    if plan.max_invoices is not None and plan.generated_count >= plan.max_invoices:
        raise ValidationError(
            {"count": [f"El plan ya ha generado {plan.generated_count}: indique más."]}
        )
    if nxt is None or (plan.end_date is not None and nxt > plan.end_date):
        raise ValidationError(
            {"endDate": ["Con estas fechas no queda ningún periodo que facturar."]}
        )
    plan.next_date = nxt


def _store_lines(plan: Plan, lines: Sequence[DraftLine]) -> None:
    plan.lines.all().delete()
    PlanLine.objects.bulk_create(
        PlanLine(plan=plan, position=i + 1, **line_fields(line)) for i, line in enumerate(lines)
    )


def _clean_text(plan: Plan) -> None:
    plan.name = (plan.name or "").strip()
    plan.description = (plan.description or "").strip()


def create_plan(
    taxpayer: Taxpayer,
    *,
    lines: Sequence[DraftLine],
    created_by: User | None = None,
    today: date | None = None,
    **fields,
) -> Plan:
    """A new active plan; its first period is the first day of its calendar on or after both
    the start date and ``today`` (the local date by default): no period whose day has passed
    is invoiced. That first period is invoiced by the first run on or after its day."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"Not a plan field: {sorted(unknown)}")
    plan = Plan(account=taxpayer.account, taxpayer=taxpayer, created_by=created_by, **fields)
    _clean_text(plan)
    _check(plan, lines)
    _reschedule(plan, calendar_changed=True, today=today or timezone.localdate())
    with transaction.atomic():
        plan.save()
        _store_lines(plan, lines)
    return plan


def update_plan(
    plan: Plan,
    *,
    lines: Sequence[DraftLine] | None = None,
    today: date | None = None,
    **changes,
) -> Plan:
    """Change a plan that has not ended: only the ``changes`` given (and the lines, when
    given). A change of its calendar moves its next period, never to a day before ``today``
    (the local date by default); what was generated stays."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"Not a plan field: {sorted(unknown)}")
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status == PlanStatus.ENDED:
            raise PlanStateError("Un plan terminado ya no se modifica.")
        changed = {name for name, value in changes.items() if getattr(plan, name) != value}
        for name, value in changes.items():
            setattr(plan, name, value)
        _clean_text(plan)
        new_lines = list(lines) if lines is not None else plan_lines(plan)
        _check(plan, new_lines)
        if plan.status == PlanStatus.ACTIVE and changed & {*CALENDAR, *LIMITS}:
            _reschedule(
                plan,
                calendar_changed=bool(changed & set(CALENDAR)),
                today=today or timezone.localdate(),
            )
        plan.save()
        if lines is not None:
            _store_lines(plan, new_lines)
    return plan


def pause_plan(plan: Plan) -> Plan:
    """No invoice while paused; the periods that fall due meanwhile are skipped."""
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != PlanStatus.ACTIVE:
            raise PlanStateError("Solo se pausa un plan activo.")
        plan.status = PlanStatus.PAUSED
        plan.save(update_fields=["status", "updated_at"])
    return plan


def resume_plan(plan: Plan, today: date | None = None) -> Plan:
    """Active again from its next period on or after ``today`` (those missed while paused are
    not invoiced); ended if none is left."""
    today = today or timezone.localdate()
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != PlanStatus.PAUSED:
            raise PlanStateError("Solo se reanuda un plan en pausa.")
        bound = max(today, plan.next_date or today)
        nxt = schedule.first_on_or_after(plan.start_date, plan.frequency, plan.day_of_month, bound)
        plan.status = PlanStatus.ACTIVE
        plan.next_date = nxt
        if _finished(plan, nxt):
            plan.status, plan.next_date = PlanStatus.ENDED, None
        plan.save(update_fields=["status", "next_date", "updated_at"])
    return plan


def end_plan(plan: Plan) -> Plan:
    """No more invoices, for good; those generated stay."""
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status == PlanStatus.ENDED:
            raise PlanStateError("El plan ya ha terminado.")
        plan.status, plan.next_date = PlanStatus.ENDED, None
        plan.save(update_fields=["status", "next_date", "updated_at"])
    return plan


def _finished(plan: Plan, nxt: date | None) -> bool:
    if plan.max_invoices is not None and plan.generated_count >= plan.max_invoices:
        return True
    return nxt is None or (plan.end_date is not None and nxt > plan.end_date)


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


def _moment(today: date) -> datetime:
    """When an invoice generated on ``today`` is issued: now, or noon of an injected day."""
    now = timezone.now()
    if timezone.localdate(now) == today:
        return now
    return timezone.make_aware(datetime.combine(today, time(12, 0)))


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecordRefused):
        found = [f"{p.message} (AEAT {p.code})" if p.code else p.message for p in exc.problems]
        return " ".join(found) or exc.message
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _generate_next(plan_id, today: date, run: Generation) -> bool:
    """Invoice the plan's next period if it is due on ``today``; whether one was done (so
    the caller looks for another)."""
    now = _moment(today)
    with transaction.atomic():
        plan = (
            Plan.objects.select_for_update()
            .select_related("taxpayer", "client", "series")
            .filter(pk=plan_id)
            .first()
        )
        if plan is None or plan.status != PlanStatus.ACTIVE or plan.next_date is None:
            return False
        period = plan.next_date
        if period > today:
            return False
        if GeneratedPeriod.objects.filter(plan=plan, period=period).exists():
            plan.next_date = schedule.first_after(
                plan.start_date, plan.frequency, plan.day_of_month, period
            )
            plan.save(update_fields=["next_date", "updated_at"])
            return True
        label = schedule.period_label(period, plan.frequency)
        try:
            with transaction.atomic():
                invoice = create_draft(
                    plan.taxpayer,
                    series=plan.series,
                    client=plan.client,
                    issue_date=today,
                    due_date=(
                        today + timedelta(days=plan.payment_days)
                        if plan.payment_days is not None
                        else None
                    ),
                    lines=plan_lines(plan, label),
                    irpf_bp=plan.irpf_bp,
                    description=with_period(plan.description, label),
                    notes=plan.notes,
                    payment_details=plan.payment_details,
                    actor=SYSTEM,
                )
        except ValidationError as exc:
            plan.problem = f"No se pudo preparar la factura: {_reason(exc)}"
            plan.problem_at = now
            plan.save(update_fields=["problem", "problem_at", "updated_at"])
            run.blocked.append(plan)
            return False
        problem = ""
        if plan.auto_issue:
            try:
                with transaction.atomic():
                    invoice = issue_invoice(invoice, actor=SYSTEM, now=now)
            except (ValidationError, RecordRefused, InvalidTransition) as exc:
                problem = f"Quedó en borrador: {_reason(exc)}"
        row = GeneratedPeriod.objects.create(
            plan=plan, period=period, invoice=invoice, generated_at=now, problem=problem
        )
        if plan.auto_send and invoice.is_issued:
            row.send_problem = send_generated(row)
            row.send_requested = not row.send_problem
            row.save(update_fields=["send_requested", "send_problem"])
        plan.generated_count += 1
        shown = problem or row.send_problem
        plan.problem, plan.problem_at = shown, (now if shown else None)
        nxt = schedule.first_after(plan.start_date, plan.frequency, plan.day_of_month, period)
        if _finished(plan, nxt):
            plan.status, plan.next_date = PlanStatus.ENDED, None
        else:
            plan.next_date = nxt
        plan.save()
    run.invoices.append(invoice)
    if problem:
        run.left_as_draft.append(invoice)
    return True


def generate_due(today: date | None = None) -> Generation:
    """Invoice every period due on ``today`` (the local date by default) of every active plan,
    in order: each in its own transaction, one plan's failure never stopping the others."""
    today = today or timezone.localdate()
    run = Generation()
    due = Plan.objects.filter(status=PlanStatus.ACTIVE, next_date__lte=today).order_by(
        "next_date", "id"
    )
    for plan_id in list(due.values_list("pk", flat=True)):
        try:
            while _generate_next(plan_id, today, run):
                pass
        except Exception:
            logger.exception("Recurring plan %s: generation failed", plan_id)
            run.failed.append(plan_id)
    return run
