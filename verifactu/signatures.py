"""Signing what the log keeps: events, and the billing records of NO VERI*FACTU chains.

The worker (never a request) signs, in chain order, every event and every NO VERI*FACTU
record not signed yet, with the taxpayer's (or its representative's) stored certificate
(:func:`verifactu.certificates.signing_credentials_for`); the XAdES itself is
:mod:`verifactu.signing`'s.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from verifactu.certificates import signing_credentials_for
from verifactu.event_log import no_verifactu_active
from verifactu.models import BillingRecord, Chain, EventRecord, RecordSignature
from verifactu.signing import SignatureProblem, SigningIdentity, sign_record_xml

log = logging.getLogger(__name__)


def signing_identity_for(chain: Chain) -> SigningIdentity | None:
    """The taxpayer's (or representative's) stored certificate as a SigningIdentity, or None."""
    credentials = signing_credentials_for(chain)
    try:
        if credentials.certificate is None:
            return None
        return SigningIdentity.from_client_certificate(credentials.certificate)
    except SignatureProblem as exc:
        log.warning("chain %s: certificate unusable for signing: %s", chain.pk, exc)
        return None
    finally:
        credentials.close()


def sign_pending(
    chain: Chain, *, identity: SigningIdentity | None = None, now: datetime | None = None
) -> int:
    """Sign every event of ``chain`` and, in NO VERI*FACTU mode, every billing record not yet
    signed, in chain order. Runs in the worker, never in a request. Returns how many."""
    events = EventRecord.objects.filter(chain=chain, signature__isnull=True).order_by("position")
    records = BillingRecord.objects.none()
    if no_verifactu_active(chain):
        records = BillingRecord.objects.filter(chain=chain, signature__isnull=True).order_by(
            "position"
        )
    if not events.exists() and not records.exists():
        return 0
    identity = identity or signing_identity_for(chain)
    if identity is None:
        log.warning("chain %s has unsigned records but no signing certificate", chain.pk)
        return 0
    count = 0
    for kind, queryset in (("record", records), ("event", events)):
        for item in queryset.iterator(chunk_size=200):
            when = now or timezone.now()
            RecordSignature.objects.create(
                **{kind: item},
                signed_xml=sign_record_xml(item.xml, identity, signing_time=when),
                signed_at=when,
                certificate_subject=identity.subject[:300],
                certificate_serial=str(identity.certificate.serial_number)[:64],
            )
            count += 1
    return count
