"""The VERI*FACTU engine's data: what a record says, where it sits in AEAT's chain, and
what the AEAT answered.

A ``FiscalInvoice`` holds the fiscal facts of one invoice (from an invoice issued in Factu or
from a ``/api/v1`` payload); each of its ``BillingRecord`` rows is one AEAT record about it
(the registration, corrections, a cancellation). Money is integer cents here; the literal
strings that were hashed and written to the XML are stored beside them, never recomputed.

The models live in the modules of this package by what they hold (:mod:`.chains`,
:mod:`.invoices`, :mod:`.records`, :mod:`.certificates`, :mod:`.events`); import them from
here.
"""

from .certificates import Certificate, Representation
from .chains import Chain, ComputerSystem
from .events import EventRecord, RecordSignature, SignerCertificate
from .immutable import ImmutableRecordError, UnsignedRecord
from .invoices import FiscalInvoice, FiscalInvoiceCount, FiscalInvoiceVersion
from .records import BillingRecord, RecordStatus, Submission

__all__ = [
    "BillingRecord",
    "Certificate",
    "Chain",
    "ComputerSystem",
    "EventRecord",
    "FiscalInvoice",
    "FiscalInvoiceCount",
    "FiscalInvoiceVersion",
    "ImmutableRecordError",
    "RecordSignature",
    "RecordStatus",
    "Representation",
    "SignerCertificate",
    "Submission",
    "UnsignedRecord",
]
