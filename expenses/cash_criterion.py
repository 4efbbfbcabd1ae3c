"""The régimen especial del criterio de caja (RECC, LIVA arts. 163 decies to 163
sexiesdecies; ClaveRegimen 07): when the output IVA of a taxpayer in it counts in the 303.

An invoice issued while its taxpayer was in the regime (``Invoice.cash_criterion``: the
taxpayer's option frozen at issue, so that opting in or out never rewrites a quarter already
declared) owes its IVA not when it is invoiced but **when it is collected, in full or in
part, and in proportion to what is collected** (art. 163 terdecies.Uno LIVA); whatever is still
uncollected on **31 December of the year after the operation** accrues on that day. So an
invoice's IVA under the regime counts, by a given day, in the share

    (what its payments dated up to that day add up to) / (its total),

or in full from that 31 December on (the operation's date: ``operation_date``, else the
issue date). A quarter's 303 counts, per invoice, the share by its last day less the share
by the day before it starts; each box amount is rounded on those cumulative shares (halves
away from zero), so the quarters of one invoice always add up to exactly its IVA.

Which IVA: the groups the invoice declares in the general key (01, what an ordinary line
derives) or in 07, taxed (S1) at a rate. Every other part accrues on issue as for anyone:
the other keys (exports 02, REBU 03, travel agencies 05, OSS 17, recargo de equivalencia
18, …), exempt and not-subject bases, and reverse charge, which art. 163 nonies.Cuatro
keeps out of the regime or which carry no output IVA.

Rectificativas accrue like any invoice, by what is collected (or, for a negative one,
refunded) on them. A rectificativa by substitution is not netted against its original here
(the accrual 303 nets it): under the regime each accrues by its own collections, and an
original that a substitute replaced has nothing more to collect, so the 31 December rule
no longer applies to it.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from factu.models import Taxpayer
from invoicing import taxes, totals
from invoicing.models import Invoice, Payment, has_substitute

CASH_REGIMES = frozenset({taxes.REGIME_GENERAL, taxes.REGIME_CASH})


def under_cash_criterion(group: taxes.TaxGroup) -> bool:
    """Whether a tax group's output IVA accrues on collection for a taxpayer in the RECC."""
    return (
        group.tax_type == taxes.IVA
        and group.operation_type == "S1"
        and bool(group.rate_bp)
        and group.regime_type in CASH_REGIMES
    )


def accrual_deadline(invoice: Invoice) -> date:
    """31 December of the year after the operation: the IVA still uncollected accrues then."""
    operation = invoice.operation_date or invoice.issue_date
    return date(operation.year + 1, 12, 31)


def collected_share(invoice: Invoice, day: date) -> tuple[int, int]:
    """The share of the invoice's IVA under the regime that has accrued by ``day``, as a
    fraction (numerator, denominator). Reads ``invoice.payments`` (prefetched by
    :func:`cash_invoices`) and ``invoice.is_substituted`` (annotated there)."""
    owed = abs(invoice.total_cents)
    if owed == 0 or (day >= accrual_deadline(invoice) and not invoice.is_substituted):
        return (1, 1)
    collected = sum(p.amount_cents for p in invoice.payments.all() if p.date <= day)
    return (min(collected, owed), owed)


def cash_invoices(taxpayer: Taxpayer, start: date, end: date) -> QuerySet[Invoice]:
    """The taxpayer's declared invoices whose IVA under the regime may accrue in
    ``start``–``end``: issued by then, and collected in it or reaching their deadline in it."""
    operation_year = end.year - 1 if start <= date(end.year, 12, 31) <= end else None
    reached = (
        Q(operation_date__year=operation_year)
        | Q(operation_date__isnull=True, issue_date__year=operation_year)
        if operation_year
        else Q(pk__in=[])
    )
    collected = Exists(Payment.objects.filter(invoice=OuterRef("pk"), date__range=(start, end)))
    return (
        totals.declared(
            Invoice.objects.filter(
                account=taxpayer.account,
                taxpayer=taxpayer,
                issue_date__lte=end,
                cash_criterion=True,
            )
        )
        .filter(collected | reached)
        .annotate(has_substitute=has_substitute())
        .select_related("series")
        .prefetch_related("lines", Prefetch("payments", queryset=Payment.objects.order_by()))
        .order_by("issue_date", "sequence")
    )


def day_before(day: date) -> date:
    return day - timedelta(days=1)
