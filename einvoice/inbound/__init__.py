"""Received e-invoices (issue 21, inbound): a file's bytes in, one typed document out.

``read_received`` reads one XML file (UBL, CII or Facturae): safe parse, the official
validation, then the mapping to :class:`ReceivedDocument`; ``read_upload`` does it for a raw
XML or each member of a ZIP, under the limits of ``upload.Limits``. What is read is stored
by ``einvoice.received``.
"""

from einvoice.inbound.document import (
    DocumentKind,
    Format,
    Line,
    Party,
    ReadResult,
    ReceivedDocument,
    Surcharge,
    TaxSubtotal,
    Totals,
    Withholding,
)
from einvoice.inbound.reader import read_received
from einvoice.inbound.upload import DEFAULT_LIMITS, Limits, read_upload

__all__ = [
    "DEFAULT_LIMITS",
    "DocumentKind",
    "Format",
    "Limits",
    "Line",
    "Party",
    "ReadResult",
    "ReceivedDocument",
    "Surcharge",
    "TaxSubtotal",
    "Totals",
    "Withholding",
    "read_received",
    "read_upload",
]
