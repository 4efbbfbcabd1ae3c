"""The desk's table rows, worked out once per view instead of per row in the template.

A gestoría's desk shows hundreds of taxpayers and up to 200 records that need the
accountant; resolving the same lookups, URLs, dates and translations row after row in the
template was most of the page's time. Here each row is a flat object of what it shows, and
its ``html``, built here with every value escaped as the template escapes a variable
(:func:`e`): the template prints the rows in the page it lays out. Dates and numbers
are formatted as the template's ``date`` filter and its localisation would (the current time
zone, the thousands separator).
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from desk import services
from desk.services import ANULAR, CORREGIR, REINTENTAR, SUBSANAR
from desk.worklist import InboxItem, TaxpayerSummary
from factu.templatetags.factu_copy import ago
from invoicing.views import AEAT_TONES
from verifactu.models import BillingRecord, RecordStatus

UNSENT_WARN_SECONDS = 3600
# The fixes that are a link to a form page, and those that post at once.
LINKS = {ANULAR: "desk_anular", CORREGIR: "desk_corregir"}
POSTS = {SUBSANAR: "desk_subsanar", REINTENTAR: "desk_reintentar"}


def _local(value: datetime, pattern: str) -> str:
    return dateformat.format(timezone.localtime(value), pattern)


# A stand-in id: each URL name is reversed once per view and the row's id put in its place.
_ANY_ID = "00000000-0000-0000-0000-000000000000"


class _Urls:
    """The URLs of ``account_slug``'s pages that take one id, reversed once per name."""

    def __init__(self, account_slug: str) -> None:
        self.slug = account_slug
        self.patterns: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str, object_id) -> str:
        if name not in self.patterns:
            before, _, after = reverse(name, args=[self.slug, _ANY_ID]).rpartition(_ANY_ID)
            self.patterns[name] = (before, after)
        before, after = self.patterns[name]
        return f"{before}{object_id}{after}"


@dataclass(frozen=True)
class Badge:
    tone: str
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class SummaryRow:
    id: str
    name: str
    nif: str
    current: bool
    badges: list[Badge]
    blocked: list
    oldest_unsent: str
    oldest_unsent_title: str
    oldest_unsent_warn: bool
    needs_action: int

    @property
    def html(self) -> SafeString:
        return summary_html(self)


def summary_rows(
    summaries: list[TaxpayerSummary], chosen, blocked: list, now: datetime | None = None
) -> list[SummaryRow]:
    """One row per taxpayer: its badges in the order a record goes through the statuses,
    the chains of its NIF that do not send, its oldest unsent record."""
    now = now or timezone.now()
    labels = {status.value: (str(status.label), AEAT_TONES[status]) for status in RecordStatus}
    by_nif = defaultdict(list)
    for blockage in blocked:
        by_nif[blockage.chain.issuer_nif].append(blockage)
    rows = []
    for summary in summaries:
        taxpayer = summary.taxpayer
        badges = []
        for status in RecordStatus:
            count = summary.count(status)
            if count:
                label, tone = labels[status.value]
                badges.append(Badge(tone, status.value, label, count))
        oldest = summary.oldest_unsent_at
        rows.append(
            SummaryRow(
                id=str(taxpayer.id),
                name=taxpayer.name,
                nif=taxpayer.nif,
                current=chosen is not None and chosen.id == taxpayer.id,
                badges=badges,
                blocked=by_nif.get(taxpayer.nif, []),
                oldest_unsent=ago(oldest, now) if oldest else "",
                oldest_unsent_title=_local(oldest, "d/m/Y H:i:s") if oldest else "",
                oldest_unsent_warn=bool(
                    oldest and (now - oldest).total_seconds() > UNSENT_WARN_SECONDS
                ),
                needs_action=summary.needs_action,
            )
        )
    return rows


@dataclass(frozen=True)
class Fix:
    key: str
    label: str
    url: str
    posts: bool


@dataclass(frozen=True)
class InboxRow:
    fiscal_invoice_id: str
    number: str
    taxpayer_name: str
    invoice_date: str
    invoice_url: str
    created: str
    kind: str
    position: int
    status: str
    status_label: str
    tone: str
    code: str
    aeat_description: str
    explanation: str
    fixes: list[Fix]
    resubmittable: bool


def _kind(record: BillingRecord, kinds: dict[str, str]) -> str:
    kind = kinds.get(record.kind, record.kind)
    return f"{kind} · subsanación" if record.record_type == "correction" else kind


def inbox_rows(items: list[InboxItem], account_slug: str) -> list[InboxRow]:
    """One row per record that needs the accountant, with its fixes' URLs."""
    urls = _Urls(account_slug)
    kinds = {value: str(label) for value, label in BillingRecord.Kind.choices}
    statuses = {status.value: str(status.label) for status in RecordStatus}
    rows = []
    for item in items:
        record, fiscal = item.record, item.fiscal_invoice
        fiscal_id = str(fiscal.id)
        fixes = []
        for key in item.actions:
            name = LINKS.get(key) or POSTS.get(key)
            if name is None:
                continue
            url = urls(name, fiscal_id)
            fixes.append(Fix(key, services.ACTION_LABELS[key], url, key in POSTS))
        invoice_url = ""
        if item.invoice is not None:
            invoice_url = urls("invoice_detail", item.invoice.pk)
        rows.append(
            InboxRow(
                fiscal_invoice_id=fiscal_id,
                number=fiscal.invoice_number,
                taxpayer_name=item.taxpayer.name,
                invoice_date=dateformat.format(fiscal.invoice_date, "d/m/Y"),
                invoice_url=invoice_url,
                created=_local(record.created_at, "d/m/Y H:i"),
                kind=_kind(record, kinds),
                position=record.position,
                status=record.status,
                status_label=statuses.get(record.status, record.status),
                tone=AEAT_TONES[RecordStatus(record.status)],
                code=item.code,
                aeat_description=item.aeat_description or "",
                explanation=item.explanation,
                fixes=fixes,
                resubmittable=services.resubmit_action(record) is not None,
            )
        )
    return rows


def next_query(full_path: str) -> str:
    """``?next=…`` back to the page the fix was asked from (as the ``urlencode`` filter)."""
    return "?next=" + quote(full_path, safe="/")


# ---------------------------------------------------------------------------------------
# The rows' HTML
# ---------------------------------------------------------------------------------------


def _date(value: datetime | None, pattern: str) -> str:
    """The ``date`` filter: ``value`` in the current time zone, ``pattern`` or a format name."""
    if value is None:
        return ""
    return formats.date_format(timezone.localtime(value), pattern)


def e(value) -> str:
    """``value`` escaped for HTML, as the template escapes a variable (``& < > " '``)."""
    return html.escape(str(value))


def _blocked_html(blockage) -> SafeString:
    since = _date(blockage.since, "SHORT_DATETIME_FORMAT")
    if blockage.automatic:
        next_attempt = _date(blockage.next_attempt, "SHORT_DATETIME_FORMAT") or "en breve"
        text = f"Envío bloqueado desde {since} — próximo intento {next_attempt}"
    else:
        text = f"Envío detenido desde {since}"
    return format_html(
        '<span class="badge {}" data-blocked-since="{}">{}</span><br>',
        "bad" if blockage.flagged else "warn",
        _date(blockage.since, "c"),
        text,
    )


def summary_html(row: SummaryRow) -> SafeString:
    """A taxpayer's row of the desk's summary table."""
    if row.badges:
        badges = "".join(
            f'<span class="badge {e(b.tone)}" data-status="{e(b.status)}" title="{e(b.label)}">'
            f"{e(b.label)}: {e(formats.localize(b.count))}</span> "
            for b in row.badges
        )
    else:
        badges = '<span class="muted">Sin facturas registradas</span>'
    blocked = "".join(_blocked_html(b) for b in row.blocked)
    if row.oldest_unsent:
        warn = ' class="badge warn"' if row.oldest_unsent_warn else ""
        unsent = (
            f'<span{warn} data-oldest-unsent title="{e(row.oldest_unsent_title)}">'
            f"{e(row.oldest_unsent)}</span>"
        )
    else:
        unsent = '<span class="muted">Nada pendiente</span>'
    if row.needs_action:
        needs = f'<span class="badge bad">{e(formats.localize(row.needs_action))}</span>'
        link = f'<a href="?contribuyente={e(row.id)}#avisos">Ver sus avisos</a>'
    else:
        needs, link = '<span class="muted">0</span>', ""
    current = ' class="current"' if row.current else ""
    return mark_safe(  # noqa: S308 - every value is escaped (e) or is this module's markup
        f'<tr data-taxpayer="{e(row.id)}"{current}>\n'
        f"      <td><strong>{e(row.name)}</strong><br>"
        f'<span class="muted">{e(row.nif)}</span></td>\n'
        f"      <td>{badges}</td>\n"
        f"      <td>{blocked}{unsent}</td>\n"
        f'      <td class="num">{needs}</td>\n'
        f"      <td>{link}</td>\n"
        "    </tr>"
    )


def _fix_html(row: InboxRow, fix: Fix, page: InboxPage) -> str:
    label = f'{e(fix.label)}<span class="visually-hidden"> {e(row.number)}</span>'
    if fix.posts:
        return (
            f'\n          <form method="post" action="{e(fix.url)}">{page.csrf_input}'
            f'<input type="hidden" name="next" value="{e(page.full_path)}">'
            f'<button type="submit">{label}</button></form>\n          '
        )
    return (
        f'\n          <a class="button secondary-link" href="{e(fix.url)}{e(page.next_query)}">'
        f"{label}</a>\n          "
    )


@dataclass(frozen=True)
class InboxPage:
    """What every inbox row of one view shares: the reader's rights and the way back."""

    can_write: bool
    selectable: bool  # a checkbox column: the reader may write and a row can be resent
    csrf_input: SafeString
    full_path: str
    next_query: str


def inbox_html(row: InboxRow, page: InboxPage) -> SafeString:
    """A record's row of the desk's inbox table."""
    number = e(row.number)
    select = ""
    if page.selectable:
        pick = ""
        if row.resubmittable:
            fid = e(row.fiscal_invoice_id)
            pick = (
                f'<input type="checkbox" name="registro" value="{fid}" form="resubmit-form" '
                f'id="pick-{fid}" aria-label="Seleccionar {number} ({e(row.taxpayer_name)})">'
            )
        select = f'<td class="select">{pick}</td>'
    invoice = f'<a href="{e(row.invoice_url)}">{number}</a>' if row.invoice_url else number
    aeat = (f"<strong>{e(row.code)}</strong> " if row.code else "") + e(row.aeat_description)
    if not row.code and not row.aeat_description:
        aeat += '<span class="muted">—</span>'
    fixes = ""
    if page.can_write:
        if row.fixes:
            body = "".join(
                f"\n          {_fix_html(row, fix, page)}\n        " for fix in row.fixes
            )
        else:
            body = '<span class="muted">Sin arreglo desde la mesa</span>\n        '
        fixes = (
            f'\n      <td>\n        <div class="actions">\n        {body}\n        </div>\n'
            "      </td>\n      "
        )
    return mark_safe(  # noqa: S308 - every value is escaped (e) or is this module's markup
        f'<tr data-fiscal-invoice="{e(row.fiscal_invoice_id)}">\n'
        f"      {select}\n"
        f'      <td>{e(row.created)}<br><span class="muted">{e(row.kind)} '
        f"#{e(formats.localize(row.position))}</span></td>\n"
        f'      <td>{invoice}<br><span class="muted">{e(row.taxpayer_name)} · '
        f"{e(row.invoice_date)}</span></td>\n"
        f'      <td><span class="badge {e(row.tone)}" data-status="{e(row.status)}">'
        f"{e(row.status_label)}</span></td>\n"
        f'      <td class="aeat-text">{aeat}</td>\n'
        f'      <td class="aeat-text">{e(row.explanation or "—")}</td>\n'
        f"      {fixes}\n"
        "    </tr>"
    )
