"""Whether an item's stored signature is a valid signature of it (B's minimal version of the
interface of issue 18; the signing-and-trust branch owns this module and replaces it).

:func:`signature_problem` verifies the XAdES signature against the operator's CA bundle
(``VERIFACTU_SIGNATURE_CA_FILE``; without one, the independent digest and signature check
alone) and that the signed content is the stored XML.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from lxml import etree

from verifactu.signing import (
    SignatureProblem,
    independent_digest_check,
    signed_content,
    verify_record_signature,
)
from verifactu.xmlkit import instance_parser


def signature_problem(item) -> str | None:
    """Why ``item``'s (BillingRecord or EventRecord) stored signature is not a valid signature
    of it, or None; an item without one is "not signed"."""
    try:
        signature = item.signature
    except ObjectDoesNotExist:
        return "not signed"
    ca_file = getattr(settings, "VERIFACTU_SIGNATURE_CA_FILE", "")
    try:
        if ca_file:
            ca_pem = Path(ca_file).read_bytes()
            verify_record_signature(signature.signed_xml, ca_pem, at=signature.signed_at)
        else:
            independent_digest_check(signature.signed_xml)
        if signed_content(signature.signed_xml) != etree.tostring(
            etree.fromstring(item.xml.encode("utf-8"), instance_parser()), method="c14n"
        ):
            return "the signed copy differs from the stored record"
    except (SignatureProblem, etree.XMLSyntaxError) as exc:
        return f"signature: {exc}"
    return None
