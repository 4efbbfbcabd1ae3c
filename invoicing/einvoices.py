"""The seams through which invoicing reaches electronic invoices without importing ``einvoice``.

``einvoice`` sits above ``invoicing`` in the layers (docs/ARCHITECTURE.md), so invoicing, the
mail and the exports cannot call it. ``einvoice.apps`` fills these registries in ``ready``:

- an **issue hook**, run after an issuing transaction commits, which makes and stores the
  invoice's e-invoices (:func:`run_issue_hooks`);
- a **file source**, which returns an issued invoice's stored e-invoice in a format
  (:func:`stored_file`), for downloads, email attachments and the gestoría ZIP;
- **detail panels**, HTML fragments the invoice's page shows (:func:`detail_panels`).

Without ``einvoice`` installed every seam is empty: no hook runs, no file, no panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

    from invoicing.models import Invoice


@dataclass(frozen=True)
class EInvoiceFile:
    """One stored e-invoice of an issued invoice, as it is offered."""

    format: str
    filename: str
    content: bytes
    mimetype: str
    signed: bool | None = None


IssueHook = Callable[["Invoice"], None]
FileSource = Callable[["Invoice", str], "EInvoiceFile | None"]
DetailPanel = Callable[["HttpRequest", "Invoice"], str]

_issue_hooks: list[IssueHook] = []
_file_sources: list[FileSource] = []
_detail_panels: list[DetailPanel] = []


def register_issue_hook(hook: IssueHook) -> None:
    if hook not in _issue_hooks:
        _issue_hooks.append(hook)


def register_file_source(source: FileSource) -> None:
    if source not in _file_sources:
        _file_sources.append(source)


def register_detail_panel(panel: DetailPanel) -> None:
    if panel not in _detail_panels:
        _detail_panels.append(panel)


def run_issue_hooks(invoice: Invoice) -> None:
    """Call every issue hook for a just-issued invoice."""
    for hook in _issue_hooks:
        hook(invoice)


def stored_file(invoice: Invoice, format: str) -> EInvoiceFile | None:
    """The invoice's e-invoice in ``format`` ("ubl", "facturae"), or None if there is none."""
    for source in _file_sources:
        found = source(invoice, format)
        if found is not None:
            return found
    return None


def detail_panels(request: HttpRequest, invoice: Invoice) -> list[str]:
    """The HTML fragments the registered panels give for this invoice's page."""
    return [html for panel in _detail_panels if (html := panel(request, invoice))]
