"""Sending NO VERI*FACTU records because the AEAT asked for them (SPEC §3 and §5).

A NO VERI*FACTU taxpayer keeps its records (chained and XAdES-signed) instead of sending
them; when the AEAT issues a *requerimiento* it answers by sending the records asked for to
the Requerimiento endpoint (``sfRequerimiento`` / ``…/RequerimientoSOAP``), in
``RegFactuSistemaFacturacion`` envelopes whose ``Cabecera`` carries
``RemisionRequerimiento`` (``RefRequerimiento``, the AEAT's reference, ≤18 characters, and
``FinRequerimiento`` = ``S`` on the last envelope of the answer, ``N`` before).

Signed, never unsigned (decision): what a NO VERI*FACTU SIF must keep, and produce on
request, is the signed record; an unsigned copy would prove nothing about integrity. So the
records go as their signed copies (``RecordSignature.signed_xml``, byte for byte), and a
requerimiento that includes a record without a signature (an anomaly: records are signed
when chained, and nothing signs them later) is refused (:class:`RequerimientoRefused`).

The answer is an export: each chain it sent from logs an 08 (signed, like every event) whose
OtrosDatosEvento names the reference ("Remisión por requerimiento <ref>"). The certificate
that signs those 08s is checked before anything is sent.

The envelope is written without namespace prefixes
(:func:`verifactu.envelopes.build_requerimiento_envelope`,
:func:`verifactu.aeat.plain_soap_envelope`):
the signatures use ``URI=""`` and inclusive C14N 1.0, so any prefix declared above a record
(``xmlns:sfLR``, ``xmlns:soapenv``) would be inherited by the record taken out of the
envelope and break both its digest and its SignatureValue. Without prefixes, the record read
back from the envelope verifies with signxml exactly as the standalone signed copy does.

Each envelope is kept as a :class:`~verifactu.models.Submission` of its chain (endpoint,
request, answer). The records' own VERI*FACTU status is not touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.utils import timezone

from factu.models import Taxpayer
from factu.text import count_of
from verifactu import aeat
from verifactu.certificates import credentials_for
from verifactu.envelopes import MAX_RECORDS_PER_ENVELOPE, build_requerimiento_envelope
from verifactu.events import log_export
from verifactu.models import BillingRecord, Chain, Submission
from verifactu.representation import seal_endpoint, sending_right
from verifactu.signatures import SigningUnavailable, open_identity
from verifactu.signers import signature_problem
from verifactu.submission import Connection, finish_answered, finish_failed, start_submission
from verifactu.xml import Obligado

log = logging.getLogger(__name__)

REQUERIMIENTO_PATH = "/wlpl/TIKE-CONT/ws/SistemaFacturacion/RequerimientoSOAP"


class RequerimientoRefused(Exception):
    """Nothing was sent: a bad reference, no matching records, or unsigned records."""

    def __init__(self, message: str, records: Iterable[BillingRecord] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.records = list(records)


class RequerimientoFailed(Exception):
    """An envelope could not be delivered (transport error or SOAP fault); ``sent`` went."""

    def __init__(self, message: str, sent: int) -> None:
        super().__init__(message)
        self.message = message
        self.sent = sent


@dataclass
class RequerimientoResult:
    ref: str
    sent: int = 0
    accepted: int = 0  # Correcto or AceptadoConErrores
    envelopes: list[Submission] = field(default_factory=list)
    invoice_numbers: list[str] = field(default_factory=list)


def requerimiento_endpoint() -> str:
    """``AEAT_REQUERIMIENTO_ENDPOINT``, else the Requerimiento path on AEAT_ENDPOINT's host."""
    configured = getattr(settings, "AEAT_REQUERIMIENTO_ENDPOINT", "")
    if configured:
        return configured
    base = settings.AEAT_ENDPOINT
    if base.endswith("/VerifactuSOAP"):
        return base[: -len("VerifactuSOAP")] + "RequerimientoSOAP"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, REQUERIMIENTO_PATH, "", ""))


def connect(chain: Chain) -> Connection:
    """Like :func:`verifactu.submission.connect`, on the Requerimiento endpoint (its seal
    twin for a seal certificate); :class:`~verifactu.certificates.NotAuthorised` if the
    account has not proved it may speak for the chain's obligado."""
    credentials = credentials_for(chain)
    endpoint = requerimiento_endpoint()
    client = aeat.AeatClient(
        seal_endpoint(endpoint) if credentials.seal else endpoint,
        certificate=credentials.certificate,
        verify=settings.AEAT_CA_FILE or True,
        timeout=settings.AEAT_TIMEOUT,
    )
    return Connection(client, credentials.representante, credentials)


def records_requested(
    taxpayer: Taxpayer,
    numbers: Iterable[str] | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
):
    """The taxpayer's NO VERI*FACTU records asked for, by invoice number and/or issue date."""
    records = BillingRecord.objects.filter(fiscal_invoice__taxpayer=taxpayer, no_verifactu=True)
    if numbers is not None:
        records = records.filter(invoice_number__in=list(numbers))
    if date_from is not None:
        records = records.filter(fiscal_invoice__invoice_date__gte=date_from)
    if date_to is not None:
        records = records.filter(fiscal_invoice__invoice_date__lte=date_to)
    return records.select_related("chain").order_by("chain_id", "position")


def _check_ref(ref: str) -> str:
    ref = (ref or "").strip()
    if not 1 <= len(ref) <= 18:
        raise RequerimientoRefused("RefRequerimiento must have 1 to 18 characters.")
    if not ref.isprintable():
        raise RequerimientoRefused("RefRequerimiento must be printable text.")
    return ref


def _check_answerable(taxpayer: Taxpayer, records: list[BillingRecord]) -> None:
    """Refuse before anything is sent: a record without its signature (an anomaly: records
    are signed when chained, and nothing signs them later) or whose signature is not one the
    verifier trusts (:func:`verifactu.signers.signature_problem`: what goes to the AEAT is
    what the anomaly check would pass), a chain whose 08 could not be signed, or no right to
    send for the taxpayer."""
    unsigned = [r for r in records if not hasattr(r, "signature")]
    if unsigned:
        raise RequerimientoRefused(
            f"Requested {count_of(len(unsigned), 'record', 'records')} without a signature "
            "(an anomaly: records are signed when chained); nothing was sent.",
            unsigned,
        )
    untrusted = [(r, problem) for r in records if (problem := signature_problem(r))]
    if untrusted:
        record, problem = untrusted[0]
        raise RequerimientoRefused(
            f"Requested {count_of(len(untrusted), 'record', 'records')} with a signature that "
            f"does not verify (the first, {record.invoice_number}: {problem}); nothing was sent.",
            [r for r, _ in untrusted],
        )
    for chain in Chain.objects.filter(pk__in={r.chain_id for r in records}):
        try:
            open_identity(chain)  # the 08 of the answer will be signed with it
        except SigningUnavailable as exc:
            raise RequerimientoRefused(exc.message) from None
    right = sending_right(taxpayer)
    if not right.allowed:
        raise RequerimientoRefused(right.reason)


def _batches(records: list[BillingRecord]) -> list[tuple[Chain, list[BillingRecord]]]:
    """The records in envelopes: one chain each, at most the batch size."""
    batches: list[tuple[Chain, list[BillingRecord]]] = []
    size = min(settings.VERIFACTU_BATCH_SIZE, MAX_RECORDS_PER_ENVELOPE)
    for record in records:
        if not batches or batches[-1][0].pk != record.chain_id or len(batches[-1][1]) >= size:
            batches.append((record.chain, []))
        batches[-1][1].append(record)
    return batches


def _send(
    taxpayer: Taxpayer,
    chain: Chain,
    batch: list[BillingRecord],
    ref: str,
    fin: str,
    result: RequerimientoResult,
    connector: Callable[[Chain], Connection],
) -> None:
    """Send one envelope and add what the AEAT answered to ``result``."""
    connection = connector(chain)
    try:
        body = build_requerimiento_envelope(
            Obligado(taxpayer.name or chain.issuer_name, chain.issuer_nif),
            [r.signature.signed_xml for r in batch],
            ref_requerimiento=ref,
            fin_requerimiento=fin,
            representante=connection.representante,
        )
        submission = start_submission(chain, connection, body, len(batch), timezone.now())
        try:
            answer = connection.client.send_requerimiento(body)
        except aeat.AeatFault as exc:
            finish_failed(submission, exc)
            raise RequerimientoFailed(f"AEAT refused: {exc}", result.sent) from exc
        except aeat.AeatTransportError as exc:
            finish_failed(submission, exc)
            raise RequerimientoFailed(f"AEAT unreachable: {exc}", result.sent) from exc
    finally:
        connection.close()
    finish_answered(submission, answer, answer.wait_seconds)
    result.sent += len(batch)
    result.accepted += sum(
        1 for line in answer.lines if line.estado in ("Correcto", "AceptadoConErrores")
    )
    result.envelopes.append(submission)
    result.invoice_numbers.extend(r.invoice_number for r in batch)
    log.info(
        "requerimiento %s: %d record(s) of %s sent (FinRequerimiento=%s, %s)",
        ref,
        len(batch),
        chain,
        fin,
        answer.estado_envio,
    )


def send_requested(
    taxpayer: Taxpayer,
    ref: str,
    numbers: Iterable[str] | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    connector=connect,
) -> RequerimientoResult:
    """Send the requested signed records to the Requerimiento endpoint; see the module doc."""
    ref = _check_ref(ref)
    if date_from and date_to and date_from > date_to:
        raise RequerimientoRefused("date_from is after date_to.")
    query = records_requested(taxpayer, numbers, date_from=date_from, date_to=date_to)
    if not query.exists():
        raise RequerimientoRefused("No NO VERI*FACTU record of this taxpayer matches.")
    records = list(query.select_related("signature"))
    _check_answerable(taxpayer, records)
    batches = _batches(records)
    result = RequerimientoResult(ref)
    sent: list[BillingRecord] = []
    try:
        for index, (chain, batch) in enumerate(batches):
            fin = "S" if index == len(batches) - 1 else "N"
            _send(taxpayer, chain, batch, ref, fin, result, connector)
            sent.extend(batch)
    finally:
        if sent:  # an export: an 08 on each chain sent from, naming the requerimiento
            log_export(sent, note=f"Remisión por requerimiento {ref}")
    return result
