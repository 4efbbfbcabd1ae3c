"""The desk's table rows, worked out once per view instead of per row in the template.

A gestoría's desk shows 300 taxpayers and up to 200 records that need the accountant; the
template resolved the same lookups, URLs, dates and translations row after row (most of the
page's time at that size). Here each row is a flat object of what it shows: the template
only prints it. Dates are formatted as the template's ``date`` filter would (in the current
time zone), numbers are left to the template (localised there).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.urls import reverse
from django.utils import dateformat, timezone

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
            url = reverse(name, args=[account_slug, fiscal_id])
            fixes.append(Fix(key, services.ACTION_LABELS[key], url, key in POSTS))
        invoice_url = ""
        if item.invoice is not None:
            invoice_url = reverse("invoice_detail", args=[account_slug, item.invoice.pk])
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
