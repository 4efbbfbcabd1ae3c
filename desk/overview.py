"""The taxpayer overview: the figures a freelancer or an accountant looks at first.

* invoiced vs expenses per month over the last 12 months (bases, without IVA), drawn as a
  server-rendered SVG bar chart (no JavaScript, no CDN);
* pending collection: :func:`invoicing.totals.pending_collection`, the rule the invoice
  list and the 303/130 net rectificativas by;
* the overdue invoices: count, amount and the five oldest;
* the IVA of the current quarter, devengado − soportado, from :func:`expenses.summaries.
  modelo_303` (so that the overview and the 303 can never disagree).

Plain functions over the ORM, in integer cents; the view only renders them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Sum, Value
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from expenses.models import Expense
from expenses.summaries import modelo_303, quarter_of
from factu.models import Taxpayer
from invoicing import totals
from invoicing.models import Invoice
from invoicing.taxes import format_euros

MONTHS = 12
OLDEST_OVERDUE = 5
MONTH_NAMES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    invoiced: int  # cents: the bases of the invoices issued that month
    expenses: int  # cents: the bases of the expenses dated that month

    @property
    def label(self) -> str:
        return f"{MONTH_NAMES[self.month - 1]} {self.year % 100:02d}"

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def invoiced_shown(self) -> str:
        return format_euros(self.invoiced)

    @property
    def expenses_shown(self) -> str:
        return format_euros(self.expenses)


@dataclass(frozen=True)
class Overview:
    taxpayer: Taxpayer
    today: date
    months: list[Month]
    pending_count: int
    pending_cents: int
    overdue_count: int
    overdue_cents: int
    oldest_overdue: list[Invoice]
    quarter_year: int
    quarter: int
    iva_devengado: int
    iva_soportado: int
    iva_result: int

    @property
    def invoiced_12m(self) -> int:
        return sum(m.invoiced for m in self.months)

    @property
    def expenses_12m(self) -> int:
        return sum(m.expenses for m in self.months)

    def chart(self) -> SafeString:
        return bar_chart_svg(self.months)

    @property
    def shown(self) -> dict[str, str]:
        """Every amount formatted for people (``1.210,00 €``), by name."""
        names = (
            "pending_cents",
            "overdue_cents",
            "iva_devengado",
            "iva_soportado",
            "iva_result",
            "invoiced_12m",
            "expenses_12m",
        )
        return {name: format_euros(getattr(self, name)) for name in names}

    @property
    def overdue_rows(self) -> list[dict]:
        return [
            {
                "invoice": invoice,
                "client": invoice.recipient_name,
                "total": format_euros(invoice.total_cents),
                "days": (self.today - invoice.due_date).days if invoice.due_date else None,
            }
            for invoice in self.oldest_overdue
        ]


def last_months(today: date, count: int = MONTHS) -> list[tuple[int, int]]:
    """``count`` (year, month) pairs ending with ``today``'s month, oldest first."""
    index = today.year * 12 + today.month - 1
    return [divmod(i, 12) for i in range(index - count + 1, index + 1)]


def _months(taxpayer: Taxpayer, today: date) -> list[Month]:
    keys = [(y, m + 1) for y, m in last_months(today)]
    start = date(keys[0][0], keys[0][1], 1)
    invoiced: dict[tuple[int, int], int] = defaultdict(int)
    issued = totals.declared(
        Invoice.objects.filter(
            account=taxpayer.account,
            taxpayer=taxpayer,
            issue_date__gte=start,
            issue_date__lte=today,
        )
    )
    for row in (
        issued.annotate(y=ExtractYear("issue_date"), m=ExtractMonth("issue_date"))
        .values("y", "m")
        .annotate(base=Sum(totals.netted("subtotal_cents")))
    ):
        invoiced[(row["y"], row["m"])] += row["base"] or 0
    spent: dict[tuple[int, int], int] = defaultdict(int)
    for row in (
        Expense.objects.filter(
            account=taxpayer.account, taxpayer=taxpayer, date__gte=start, date__lte=today
        )
        .annotate(
            y=ExtractYear("date"),
            m=ExtractMonth("date"),
            net=Coalesce(F("base_cents"), F("amount_cents") - Coalesce(F("iva_cents"), Value(0))),
        )
        .values("y", "m")
        .annotate(base=Sum("net"))
    ):
        spent[(row["y"], row["m"])] += row["base"] or 0
    return [Month(y, m, invoiced[(y, m)], spent[(y, m)]) for y, m in keys]


def build(taxpayer: Taxpayer, today: date) -> Overview:
    invoices = Invoice.objects.filter(account=taxpayer.account, taxpayer=taxpayer)
    pending = totals.pending_collection(invoices)
    overdue = totals.overdue(invoices, today)
    overdue_sums = overdue.aggregate(count=Count("id"), total=Coalesce(Sum("total_cents"), 0))
    oldest = list(
        overdue.select_related("client").order_by(
            F("due_date").asc(nulls_last=True), "issue_date", "sequence"
        )[:OLDEST_OVERDUE]
    )
    quarter = quarter_of(today)
    m303 = modelo_303(taxpayer, today.year, quarter)
    return Overview(
        taxpayer=taxpayer,
        today=today,
        months=_months(taxpayer, today),
        pending_count=pending.count,
        pending_cents=pending.cents,
        overdue_count=overdue_sums["count"],
        overdue_cents=overdue_sums["total"],
        oldest_overdue=oldest,
        quarter_year=today.year,
        quarter=quarter,
        iva_devengado=m303.values["total_devengado"],
        iva_soportado=m303.values["total_deducir"],
        iva_result=m303.result,
    )


# --- the chart ------------------------------------------------------------------------------

WIDTH, HEIGHT = 760, 260
TOP, BOTTOM, LEFT, RIGHT = 16, 40, 8, 8
SERIES = (("invoiced", "Facturado", "#1f5fbf"), ("expenses", "Gastos", "#c2410c"))


def bar_chart_svg(months: list[Month]) -> SafeString:
    """Two bars per month (invoiced, expenses), scaled to the largest value; each bar has a
    ``<title>`` with its exact amount. Negative months (rectificativas) draw no bar."""
    peak = max([m.invoiced for m in months] + [m.expenses for m in months] + [1])
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    bar_w = slot * 0.36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="chart-title">',
        '<title id="chart-title">Facturado y gastos por mes, últimos 12 meses '
        "(bases imponibles)</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#d9dee7" stroke-width="1"/>',
    ]
    for i, month in enumerate(months):
        x0 = LEFT + i * slot + slot * 0.12
        for j, (key, label, colour) in enumerate(SERIES):
            cents = getattr(month, key)
            height = round(plot_h * max(cents, 0) / peak, 1)
            x = round(x0 + j * bar_w, 1)
            y = round(TOP + plot_h - height, 1)
            text = escape(f"{label} {month.label}: {format_euros(cents)}")
            parts.append(
                f'<rect class="bar {key}" data-series="{key}" data-month="{month.key}" '
                f'data-cents="{cents}" x="{x}" y="{y}" width="{round(bar_w - 2, 1)}" '
                f'height="{height}" fill="{colour}"><title>{text}</title></rect>'
            )
        parts.append(
            f'<text x="{round(LEFT + i * slot + slot / 2, 1)}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle" font-size="12" fill="#5d6677">{escape(month.label)}</text>'
        )
    legend_y = HEIGHT - 6
    for j, (key, label, colour) in enumerate(SERIES):
        x = LEFT + j * 110
        parts.append(
            f'<rect class="legend {key}" x="{x}" y="{legend_y - 10}" width="10" height="10" '
            f'fill="{colour}"/><text x="{x + 14}" y="{legend_y}" font-size="12" '
            f'fill="#1d2330">{label}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
