"""SOAP client for the AEAT's VERI*FACTU web service (SPEC §3), used by the Celery workers.

Design points:

- The vendored WSDL/XSDs (``verifactu/schemas``) are loaded once per :class:`AeatClient` by
  zeep, through :class:`LocalOnlyTransport`, which maps W3C's xmldsig schema URL to the local
  copy and refuses every other http(s) URL: nothing is ever fetched from the network to load
  schemas. ``Settings(forbid_entities=False)`` because the xmldsig XSD declares a DTD entity.
- ``send`` puts the exact bytes of the ``RegFactuSistemaFacturacion`` document built by
  :func:`verifactu.envelopes.build_envelope` inside the SOAP Body. Records are stored immutably and
  their XML must reach the AEAT byte for byte as stored, so the envelope is assembled as
  bytes and the transport posts those bytes verbatim (lxml would re-serialise ``&apos;`` and
  friends differently).
- Outcomes: a parsed answer (:class:`SendResult`); a SOAP Fault, i.e. the AEAT refused the
  whole envelope (:class:`AeatFault`, nothing stored); anything else — connection refused or
  reset, timeout, HTTP error without a SOAP fault, unparseable reply — is
  :class:`AeatTransportError`: the outcome is UNKNOWN, and the very same records must be
  resent (a duplicate comes back as 3000 with the stored state) or reconciled via
  :meth:`AeatClient.consulta`; never regenerated.
"""

from .certificate import ClientCertificate, sweep_stale_key_files
from .client import AeatClient
from .outcomes import (
    AeatError,
    AeatFault,
    AeatTransportError,
    LineResult,
    SendResult,
    fault_code,
)
from .transport import (
    SOAP_ENV,
    WSDL_PATH,
    XMLDSIG_URL,
    LocalOnlyTransport,
    plain_soap_envelope,
    soap_envelope,
)

__all__ = [
    "SOAP_ENV",
    "WSDL_PATH",
    "AeatClient",
    "AeatError",
    "AeatFault",
    "AeatTransportError",
    "ClientCertificate",
    "LineResult",
    "LocalOnlyTransport",
    "SendResult",
    "XMLDSIG_URL",
    "fault_code",
    "plain_soap_envelope",
    "soap_envelope",
    "sweep_stale_key_files",
]
