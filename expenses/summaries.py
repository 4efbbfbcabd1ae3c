"""Quarterly tax summaries: IVA (modelo 303), IRPF fractional payment (modelo 130) and the
annual list of third parties (modelo 347), in integer cents.

The arithmetic is in pure functions over invoices and expenses (:func:`vat_303`,
:func:`irpf_130`, :func:`third_parties_347`); the ``modelo_*`` functions only choose the rows
(:func:`declared_invoices`, :func:`deductible_expenses`) and call them. Box numbers and
labels are data per fiscal year (``expenses/boxes/<year>.json``), never constants here:
when AEAT renumbers a form, add the year's file.

What counts:

* Invoices that count and how a rectificativa nets are :mod:`invoicing.totals`' rules (the
  list's footer and the overview read the same): issued and not cancelled; by differences
  (``I``) a rectificativa's amounts are the difference, by substitution (``S``) its effect
  is its amounts less the original's. Invoices fall in the period of their issue date.
* IVA devengado is taken per rate group of each invoice, exactly as the invoice declared it
  (one cuota per group, rounded once, as in :func:`invoicing.taxes.compute_totals`). For a
  taxpayer in the criterio de caja, the IVA under it accrues as it is collected instead
  (:mod:`expenses.cash_criterion`).
* IVA soportado comes from deductible expenses with IVA data (a cuota other than zero): the
  deductible percentage applies to the cuota and, so that box 28 is the base *of the
  deductible cuotas*, to the base too; each rounded per expense, halves away from zero.
  The IVA an expense self-assesses by reverse charge is accrued (boxes 12-13) and, when the
  expense is deductible, deducted the same way; recargo, IGIC and IPSI paid never count.
* Modelo 130 (estimación directa): income is the bases of the invoices; expenses are, per
  deductible expense, its base (its total when no base was given) × its deductible
  percentage. 20 % of a positive net, less the IRPF withheld on the invoices, less the
  earlier quarters' payments (each computed the same way, never negative); never below 0.
* Who files the 130 (:func:`obligation_130`): a taxpayer in estimación directa (the
  taxpayer's IRPF regime); a professional whose previous year's income was at least 70 %
  withheld need not (art. 109.1 RIRPF), which the summary says next to the figures.
* Modelo 347: per NIF, the year's total with IVA and recargo (IRPF is not subtracted) of
  clients (key B) and suppliers (key A) when it exceeds the threshold (3.005,06 €).
  Invoices and expenses with IRPF withheld are left out (those operations go in the modelo
  190, not the 347), and so are third parties without a Spanish NIF.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from expenses import cash_criterion
from expenses.declared import DeclaredInvoice, declared_in, declared_rows
from expenses.models import Expense
from factu.models import Taxpayer
from factu.money import round_half_up, share_cents
from factu.nif import validate_nif
from invoicing import taxes, totals
from invoicing.models import Invoice

BOXES_DIR = Path(__file__).resolve().parent / "boxes"
IVA_RATES = (400, 1000, 2100)
SURCHARGE_RATES = (50, 140, 520)
IRPF_PAYMENT_BP = 2000  # 20 % of the net income, estimación directa
WITHHELD_EXEMPTION_BP = 7000  # art. 109.1 RIRPF: 70 % of last year's income withheld
DEFAULT_347_THRESHOLD = 300506


# --- box data -------------------------------------------------------------------------------


def available_years() -> list[int]:
    return sorted(int(p.stem) for p in BOXES_DIR.glob("*.json") if p.stem.isdigit())


@lru_cache(maxsize=16)
def boxes_for(year: int) -> dict:
    """The box numbers and labels of ``year``: its file, else the latest earlier one (else the
    earliest). ``result["year"]`` says which year's file was used."""
    years = available_years()
    if not years:
        raise FileNotFoundError(f"No box definitions in {BOXES_DIR}")
    earlier = [y for y in years if y <= year]
    chosen = earlier[-1] if earlier else years[0]
    data = json.loads((BOXES_DIR / f"{chosen}.json").read_text(encoding="utf-8"))
    data["year"] = chosen
    return data


@dataclass(frozen=True)
class BoxRow:
    key: str
    box: str
    label: str
    cents: int

    @property
    def display(self) -> str:
        return taxes.format_euros(self.cents)


def box_rows(model: str, values: dict[str, int], boxes: dict) -> list[BoxRow]:
    """``values`` in the order of the year's box data; keys it does not know go last."""
    spec = boxes.get(model, {})
    rows = [
        BoxRow(key, spec[key]["box"], spec[key]["label"], values.get(key, 0))
        for key in spec
        if isinstance(spec[key], dict) and key in values
    ]
    rows += [BoxRow(key, "", key, cents) for key, cents in values.items() if key not in spec]
    return rows


# --- periods --------------------------------------------------------------------------------


def quarter_range(year: int, quarter: int) -> tuple[date, date]:
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    last_month = quarter * 3
    return (
        date(year, last_month - 2, 1),
        date(year, last_month, calendar.monthrange(year, last_month)[1]),
    )


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


# --- what an invoice declares ---------------------------------------------------------------


@dataclass
class InvoiceEffect:
    """What one invoice adds to the summaries, in signed cents."""

    iva_base: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    iva_cuota: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    surcharge_base: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    surcharge_cuota: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    other_base: int = 0
    subtotal: int = 0
    irpf: int = 0
    fiscal_total: int = 0

    def by_rate(self) -> tuple[dict[int, int], ...]:
        """The amounts kept per rate: IVA base and cuota, recargo base and cuota."""
        return (self.iva_base, self.iva_cuota, self.surcharge_base, self.surcharge_cuota)

    def add(self, other: InvoiceEffect, sign: int = 1) -> None:
        for mine, theirs in zip(self.by_rate(), other.by_rate(), strict=True):
            for rate, cents in theirs.items():
                mine[rate] += sign * cents
        self.other_base += sign * other.other_base
        self.subtotal += sign * other.subtotal
        self.irpf += sign * other.irpf
        self.fiscal_total += sign * other.fiscal_total


GroupFilter = Callable[[taxes.TaxGroup], bool]


# Where declared_invoices puts each invoice's lines: a list read as it is, where
# ``invoice.lines.all()`` would build a queryset per invoice (most of a 2,000-invoice 303).
LINES = "declared_lines"
# Columns of an invoice no summary reads: not loaded (tests/test_page_queries.py would see
# a summary that read one, a query per invoice).
UNSUMMED = (
    "search_text",
    "notes",
    "payment_details",
    "description",
    "issuer_address",
    "client_address",
    "created_at",
    "updated_at",
)


def _recomputed(invoice: Invoice | DeclaredInvoice) -> taxes.InvoiceTotals:
    if isinstance(invoice, DeclaredInvoice):
        return invoice.recomputed()
    return totals.recomputed(invoice, getattr(invoice, LINES, None))


def _own_effect(
    invoice: Invoice | DeclaredInvoice, keep: GroupFilter | None = None
) -> InvoiceEffect:
    effect = InvoiceEffect()
    for group in _recomputed(invoice).groups:
        if group.tax_type != taxes.IVA:
            continue  # IGIC and IPSI are not IVA: the 303 does not declare them
        if keep is not None and not keep(group):
            continue
        if group.operation_type == "S1" and group.rate_bp:
            effect.iva_base[group.rate_bp] += group.base_cents
            effect.iva_cuota[group.rate_bp] += group.iva_cents
        else:
            effect.other_base += group.base_cents
        if group.surcharge_rate_bp:
            effect.surcharge_base[group.surcharge_rate_bp] += group.base_cents
            effect.surcharge_cuota[group.surcharge_rate_bp] += group.surcharge_cents
    # The stored totals are what the invoice says; the groups must agree with them.
    effect.subtotal = invoice.subtotal_cents
    effect.irpf = invoice.irpf_cents
    effect.fiscal_total = invoice.subtotal_cents + invoice.iva_cents + invoice.surcharge_cents
    return effect


def invoice_effect(invoice: Invoice, keep: GroupFilter | None = None) -> InvoiceEffect:
    """The invoice's signed effect (of its groups ``keep`` accepts, when given); a
    rectificativa by substitution nets out its original.

    The whole effect is kept on the instance: the 303, 130 and 347 of one page read the
    same rows (:func:`quarter_summaries`), and each adds the effect without changing it.
    """
    if keep is None and EFFECT in invoice.__dict__:
        return invoice.__dict__[EFFECT]
    effect = _own_effect(invoice, keep)
    original = totals.substituted_original(invoice)
    if original is not None:
        effect.add(_own_effect(original, keep), sign=-1)
    if keep is None:
        invoice.__dict__[EFFECT] = effect
    return effect


EFFECT = "_summary_effect"


def _scaled(effect: InvoiceEffect, share: tuple[int, int]) -> InvoiceEffect:
    """The IVA boxes of ``effect`` times ``share`` (numerator, denominator), each rounded."""
    num, den = share
    scaled = InvoiceEffect()
    for mine, theirs in zip(scaled.by_rate(), effect.by_rate(), strict=True):
        for rate, cents in theirs.items():
            mine[rate] = round_half_up(cents * num, den)
    return scaled


def cash_effects(invoices: Iterable[Invoice], start: date, end: date) -> list[InvoiceEffect]:
    """What the IVA under the criterio de caja of ``invoices`` (from
    :func:`expenses.cash_criterion.cash_invoices`) accrues in ``start``–``end``: the rule is
    documented in :mod:`expenses.cash_criterion`."""
    effects = []
    for invoice in invoices:
        own = _own_effect(invoice, cash_criterion.under_cash_criterion)
        accrued = _scaled(own, cash_criterion.collected_share(invoice, end))
        accrued.add(
            _scaled(own, cash_criterion.collected_share(invoice, cash_criterion.day_before(start))),
            sign=-1,
        )
        effects.append(accrued)
    return effects


def _not_cash(group: taxes.TaxGroup) -> bool:
    return not cash_criterion.under_cash_criterion(group)


def declared_invoices(taxpayer: Taxpayer, start: date, end: date) -> QuerySet[Invoice]:
    """The taxpayer's issued, not annulled invoices dated ``start``–``end``."""
    return (
        declared_in(taxpayer, start, end)
        .select_related("series", "rectified_invoice__series")
        .defer(*UNSUMMED)
        .prefetch_related(
            Prefetch("lines", to_attr=LINES),
            Prefetch("rectified_invoice__lines", to_attr=LINES),
        )
        .order_by("issue_date", "sequence")
    )


def taxpayer_expenses(taxpayer: Taxpayer, start: date, end: date) -> QuerySet[Expense]:
    return Expense.objects.filter(
        account=taxpayer.account, taxpayer=taxpayer, date__gte=start, date__lte=end
    ).order_by("date", "id")


def deductible_expenses(taxpayer: Taxpayer, start: date, end: date) -> QuerySet[Expense]:
    return taxpayer_expenses(taxpayer, start, end).filter(is_deductible=True)


# --- modelo 303 -----------------------------------------------------------------------------


def vat_303(
    invoices: Iterable[Invoice],
    expenses: Iterable[Expense],
    *,
    keep_of_cash: GroupFilter | None = None,
    accrued: Iterable[InvoiceEffect] = (),
) -> dict[str, int]:
    """The 303's figures (keys as in the box data) from a quarter's invoices and expenses;
    of an invoice issued under the criterio de caja, the groups ``keep_of_cash`` accepts
    when given, plus the ``accrued`` effects (the criterio de caja's, :func:`cash_effects`)."""
    total = InvoiceEffect()
    for invoice in invoices:
        total.add(invoice_effect(invoice, keep_of_cash if invoice.cash_criterion else None))
    for effect in accrued:
        total.add(effect)
    values: dict[str, int] = {}
    devengado = 0
    for rate in sorted(set(IVA_RATES) | set(total.iva_base)):
        values[f"devengado_{rate}_base"] = total.iva_base.get(rate, 0)
        values[f"devengado_{rate}_cuota"] = total.iva_cuota.get(rate, 0)
        devengado += total.iva_cuota.get(rate, 0)
    for rate in sorted(set(SURCHARGE_RATES) | set(total.surcharge_base)):
        values[f"recargo_{rate}_base"] = total.surcharge_base.get(rate, 0)
        values[f"recargo_{rate}_cuota"] = total.surcharge_cuota.get(rate, 0)
        devengado += total.surcharge_cuota.get(rate, 0)
    purchases = _purchases_303(expenses)
    values["isp_base"] = purchases["isp_base"]
    values["isp_cuota"] = purchases["isp_cuota"]
    devengado += purchases["isp_cuota"]
    values["total_devengado"] = devengado
    values["soportado_base"] = purchases["base"]
    values["soportado_cuota"] = purchases["cuota"]
    values["total_deducir"] = purchases["cuota"]
    values["resultado"] = devengado - purchases["cuota"]
    values["otras_bases"] = total.other_base
    return values


def _purchases_303(expenses: Iterable[Expense]) -> dict[str, int]:
    """What the expenses add to the 303: the IVA self-assessed by reverse charge (accrued
    whether or not the expense is deductible) and the deductible cuotas, reverse charge
    included, each times its deductible percentage."""
    sums = {"isp_base": 0, "isp_cuota": 0, "base": 0, "cuota": 0}
    for expense in expenses:
        sums["isp_base"] += expense.reverse_charge_base_cents
        sums["isp_cuota"] += expense.reverse_charge_cents
        if not expense.is_deductible:
            continue
        bp = expense.deductible_bp
        if expense.reverse_charge_cents:
            sums["base"] += share_cents(expense.reverse_charge_base_cents, bp)
            sums["cuota"] += share_cents(expense.reverse_charge_cents, bp)
        if not expense.iva_cents:
            continue
        if expense.iva_base_cents is not None:
            expense_base = expense.iva_base_cents
        elif expense.base_cents is not None:
            expense_base = expense.base_cents
        else:
            expense_base = expense.amount_cents - expense.iva_cents
        sums["base"] += share_cents(expense_base, bp)
        sums["cuota"] += share_cents(expense.iva_cents, bp)
    return sums


@dataclass(frozen=True)
class QuarterlyModelo:
    """A quarterly self-assessment's figures; ``code`` names the AEAT form (its boxes)."""

    code: ClassVar[str]
    year: int
    quarter: int
    values: dict[str, int]

    @property
    def result(self) -> int:
        return self.values["resultado"]

    def rows(self) -> list[BoxRow]:
        return box_rows(self.code, self.values, boxes_for(self.year))


class Modelo303(QuarterlyModelo):
    code = "303"


def _dated(invoices: list[DeclaredInvoice], start: date, end: date) -> list[DeclaredInvoice]:
    return [invoice for invoice in invoices if start <= invoice.issue_date <= end]


def modelo_303(
    taxpayer: Taxpayer, year: int, quarter: int, year_invoices: list[DeclaredInvoice] | None = None
) -> Modelo303:
    """The quarter's 303; of the invoices issued under the criterio de caja, the IVA under it
    counts as it is collected (:mod:`expenses.cash_criterion`), the rest on issue.
    ``year_invoices``: the year's :func:`declared_invoices`, when the caller read them."""
    start, end = quarter_range(year, quarter)
    invoices = (
        declared_rows(taxpayer, start, end)
        if year_invoices is None
        else _dated(year_invoices, start, end)
    )
    expenses = taxpayer_expenses(taxpayer, start, end)
    accrued = cash_effects(cash_criterion.cash_invoices(taxpayer, start, end), start, end)
    values = vat_303(invoices, expenses, keep_of_cash=_not_cash, accrued=accrued)
    return Modelo303(year, quarter, values)


# --- modelo 130 -----------------------------------------------------------------------------


def deductible_expense_cents(expense: Expense) -> int:
    """What an expense deducts from the IRPF income (:attr:`Expense.deductible_cents`)."""
    return expense.deductible_cents


def irpf_130(
    invoices: Iterable[Invoice], expenses: Iterable[Expense], quarter: int
) -> dict[str, int]:
    """The 130's figures for ``quarter`` from the year's invoices and expenses up to its end.

    Earlier quarters are recomputed from the same rows (those dated in them), so their
    payments are what this function said for them: each ``max(0, ...)``.
    """
    invoices, expenses = list(invoices), list(expenses)
    effects = [(quarter_of(i.issue_date), invoice_effect(i)) for i in invoices]
    deductions = [(quarter_of(e.date), deductible_expense_cents(e)) for e in expenses]
    paid_before = 0
    values: dict[str, int] = {}
    for q in range(1, quarter + 1):
        income = sum(e.subtotal for iq, e in effects if iq <= q)
        retentions = sum(e.irpf for iq, e in effects if iq <= q)
        costs = sum(cents for eq, cents in deductions if eq <= q)
        net = income - costs
        twenty = share_cents(net, IRPF_PAYMENT_BP) if net > 0 else 0
        result = max(0, twenty - paid_before - retentions)
        values = {
            "ingresos": income,
            "gastos": costs,
            "rendimiento": net,
            "veinte_por_ciento": twenty,
            "pagos_anteriores": paid_before,
            "retenciones": retentions,
            "resultado": result,
        }
        paid_before += result
    return values


class Modelo130(QuarterlyModelo):
    code = "130"


def modelo_130(
    taxpayer: Taxpayer, year: int, quarter: int, year_invoices: list[DeclaredInvoice] | None = None
) -> Modelo130:
    start, _ = quarter_range(year, 1)
    _, end = quarter_range(year, quarter)
    values = irpf_130(
        declared_rows(taxpayer, start, end)
        if year_invoices is None
        else _dated(year_invoices, start, end),
        deductible_expenses(taxpayer, start, end),
        quarter,
    )
    return Modelo130(year, quarter, values)


@dataclass(frozen=True)
class Obligation130:
    """Whether ``taxpayer`` files the 130 for ``year``.

    ``files``: its IRPF regime is estimación directa. ``withheld_bp``: the share of the
    previous year's income (bases of its declared invoices) that carried IRPF withholding,
    in basis points, or ``None`` without income that year. ``exempt``: that share reached
    70 %, so a professional activity need not make the payments (art. 109.1 RIRPF).
    """

    files: bool
    previous_year: int
    withheld_bp: int | None

    @property
    def exempt(self) -> bool:
        return self.withheld_bp is not None and self.withheld_bp >= WITHHELD_EXEMPTION_BP

    @property
    def withheld_percent(self) -> int:
        return (self.withheld_bp or 0) // 100


def obligation_130(taxpayer: Taxpayer, year: int) -> Obligation130:
    previous = year - 1
    if not taxpayer.files_modelo_130:
        return Obligation130(files=False, previous_year=previous, withheld_bp=None)
    income = withheld = 0
    for invoice in declared_rows(taxpayer, date(previous, 1, 1), date(previous, 12, 31)):
        base = invoice_effect(invoice).subtotal
        income += base
        if invoice.irpf_cents:
            withheld += base
    share = withheld * 10000 // income if income > 0 else None
    return Obligation130(files=True, previous_year=previous, withheld_bp=share)


def modelo_130_if_filed(
    taxpayer: Taxpayer, year: int, quarter: int, year_invoices: list[DeclaredInvoice] | None = None
) -> Modelo130 | None:
    """The 130 of the quarter, or ``None`` for a taxpayer who does not file it."""
    if not taxpayer.files_modelo_130:
        return None
    return modelo_130(taxpayer, year, quarter, year_invoices)


# --- modelo 347 -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ThirdParty:
    key: str  # "B" clients (ventas), "A" suppliers (compras)
    nif: str
    name: str
    total_cents: int
    quarters: tuple[int, int, int, int]

    @property
    def display(self) -> str:
        return taxes.format_euros(self.total_cents)

    @property
    def quarters_display(self) -> list[str]:
        return [taxes.format_euros(q) for q in self.quarters]


@lru_cache(maxsize=4096)
def _spanish_nif(nif: str) -> str:
    """The NIF, validated and normalised, or "" (a client's NIF recurs on every invoice)."""
    try:
        return validate_nif(nif) if nif else ""
    except ValidationError:
        return ""


def third_parties_347(
    invoices: Iterable[Invoice], expenses: Iterable[Expense], threshold: int
) -> list[ThirdParty]:
    """Clients and suppliers whose year total (with IVA) exceeds ``threshold`` cents."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    names: dict[tuple[str, str], str] = {}
    for invoice in invoices:
        nif = _spanish_nif(invoice.client_nif)
        if not nif or invoice.irpf_cents:
            continue
        key = ("B", nif)
        sums[key][quarter_of(invoice.issue_date) - 1] += invoice_effect(invoice).fiscal_total
        names[key] = invoice.client_name or names.get(key, "")
    for expense in expenses:
        nif = _spanish_nif(expense.supplier_nif)
        if not nif or expense.irpf_withheld_cents:
            continue
        key = ("A", nif)
        sums[key][quarter_of(expense.date) - 1] += expense.amount_cents
        names[key] = expense.supplier_name or names.get(key, "")
    parties = [
        ThirdParty(key, nif, names.get((key, nif), ""), sum(quarters), tuple(quarters))
        for (key, nif), quarters in sums.items()
        if sum(quarters) > threshold
    ]
    return sorted(parties, key=lambda p: (p.key != "B", -p.total_cents, p.nif))


def modelo_347(
    taxpayer: Taxpayer, year: int, year_invoices: list[DeclaredInvoice] | None = None
) -> list[ThirdParty]:
    start, end = date(year, 1, 1), date(year, 12, 31)
    threshold = int(boxes_for(year).get("347", {}).get("threshold_cents", DEFAULT_347_THRESHOLD))
    invoices = declared_rows(taxpayer, start, end) if year_invoices is None else year_invoices
    return third_parties_347(invoices, taxpayer_expenses(taxpayer, start, end), threshold)


@dataclass(frozen=True)
class QuarterSummaries:
    m303: Modelo303
    m130: Modelo130 | None
    m347: list[ThirdParty]


def quarter_summaries(taxpayer: Taxpayer, year: int, quarter: int) -> QuarterSummaries:
    """The quarter's 303 and 130 and the year's 347, from one read of the year's declared
    invoices (each invoice's effect worked out once for the three)."""
    year_invoices = declared_rows(taxpayer, date(year, 1, 1), date(year, 12, 31))
    return QuarterSummaries(
        m303=modelo_303(taxpayer, year, quarter, year_invoices),
        m130=modelo_130_if_filed(taxpayer, year, quarter, year_invoices),
        m347=modelo_347(taxpayer, year, year_invoices),
    )
