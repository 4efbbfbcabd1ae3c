"""Who may speak for a NIF: the one rule deciding whether a taxpayer's records may be sent.

The AEAT takes a billing record only from the obligado itself or from someone it has
authorised (SPEC §3, error 4112). Factu checks the same before anything leaves, because a
deployment-wide certificate (``AEAT_CERT_FILE``) or a gestoría's certificate would
otherwise let any account present records under any NIF. :func:`sending_right` answers "may
this taxpayer's records be sent, with which certificate and which Representante, and if not
why"; submission, requerimientos, the desk and the API all ask it. The proofs, in order:

1. the taxpayer's own certificate: uploaded for that taxpayer and naming its NIF (an
   entity's in ``organizationIdentifier`` ``VATES-<NIF>``, a person's in ``serialNumber``,
   ``IDCES-<NIF>`` or plain);
2. a representative certificate of the account chosen for the taxpayer
   (:class:`~verifactu.models.Representation`) with the representation recorded: an
   apoderamiento registered at the AEAT (reference and scope) or, for a colaborador social,
   the client's signed representation document;
3. the deployment-wide certificate, for the (account, NIF) pairs the operator lists in
   ``AEAT_CERT_NIFS``;
4. the sandbox (``VERIFACTU_SANDBOX``): against the simulator every NIF may send. It never
   applies with an endpoint off loopback (:func:`sandbox_active`; settings refuse it too).

Records without a proof are kept queued (``submission`` holds them with the reason); the
Representante of the envelope is always the holder of the certificate actually used when
that holder is not the obligado.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from factu.env import is_loopback_url
from factu.models import Taxpayer
from factu.nif import validate_nif
from verifactu import pacing
from verifactu.aeat import ClientCertificate
from verifactu.models import BillingRecord, Certificate, Chain, RecordStatus, Representation
from verifactu.vault import encrypt
from verifactu.xml import Obligado

# The AEAT's "not authorised" (SPEC §3.1): a queued record carrying it was held back by
# Factu, before the AEAT could answer it (a 4112 from the AEAT puts records in ``error``).
HELD_CODE = "4112"

# ETSI EN 319 412 policies and QcType of certificates for legal persons: a seal.
_SEAL_POLICIES = {"0.4.0.194112.1.1", "0.4.0.194112.1.3"}
_QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
_QCT_ESEAL_DER = bytes.fromhex("060704008e46010602")  # QcType eseal, 0.4.0.1862.1.6.2

AEAT_HOSTS = {
    "www1.agenciatributaria.gob.es": "www10.agenciatributaria.gob.es",
    "prewww1.aeat.es": "prewww10.aeat.es",
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """Whom a certificate names, as the AEAT reads it."""

    nif: str  # "" when it names no Spanish NIF
    name: str
    seal: bool = False


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    value = values[0].value if values else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _nif_or_blank(value: str) -> str:
    try:
        return validate_nif(value)
    except ValidationError:
        return ""


def _is_seal(cert: x509.Certificate) -> bool:
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
        if any(p.policy_identifier.dotted_string in _SEAL_POLICIES for p in policies):
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        qc = cert.extensions.get_extension_for_oid(_QC_STATEMENTS).value
    except x509.ExtensionNotFound:
        return False
    return _QCT_ESEAL_DER in getattr(qc, "value", b"")


def certificate_identity(cert: x509.Certificate) -> Identity:
    """The NIF and name a certificate speaks for.

    An entity's certificate (a seal, or a representative of a legal person) carries the
    entity's NIF in ``organizationIdentifier`` as ``VATES-<NIF>``: that NIF is the holder,
    whatever person may be named beside it. Otherwise a person's NIF is in ``serialNumber``,
    as ``IDCES-<NIF>`` or plain.
    """
    subject = cert.subject
    org_id = _attribute(subject, NameOID.ORGANIZATION_IDENTIFIER).strip().upper()
    seal = _is_seal(cert)
    if org_id.startswith("VATES-"):
        name = _attribute(subject, NameOID.ORGANIZATION_NAME) or _attribute(
            subject, NameOID.COMMON_NAME
        )
        return Identity(_nif_or_blank(org_id.removeprefix("VATES-")), name[:120], seal)
    serial = _attribute(subject, NameOID.SERIAL_NUMBER).strip().upper()
    if serial.startswith("IDCES-"):
        serial = serial.removeprefix("IDCES-")
    given = _attribute(subject, NameOID.GIVEN_NAME)
    surname = _attribute(subject, NameOID.SURNAME)
    name = f"{given} {surname}".strip() or _attribute(subject, NameOID.COMMON_NAME)
    return Identity(_nif_or_blank(serial), name[:120], seal)


@functools.lru_cache(maxsize=4)
def _deployment_identity(path: str, mtime: float, password: str) -> Identity:
    with ClientCertificate.from_file(path, password or None) as opened:
        return certificate_identity(opened.certificate)


def deployment_identity() -> Identity | None:
    """Whom ``AEAT_CERT_FILE`` names (cached per file version); None without one, or when it
    cannot be read (logged): a missing file or a wrong password stops what it would send,
    not the pages that ask who may send."""
    path = settings.AEAT_CERT_FILE
    if not path:
        return None
    try:
        return _deployment_identity(path, os.stat(path).st_mtime, settings.AEAT_CERT_PASSWORD)
    except (OSError, ValueError) as exc:
        logger.error("AEAT_CERT_FILE cannot be read: %s", exc)
        return None


def deployment_allowed(taxpayer: Taxpayer) -> bool:
    """The operator lists (this account, this NIF) in ``AEAT_CERT_NIFS``."""
    return (str(taxpayer.account_id), taxpayer.nif.upper()) in settings.AEAT_CERT_NIFS


def sandbox_active() -> bool:
    """``VERIFACTU_SANDBOX`` with every AEAT endpoint on loopback (our simulator)."""
    if not settings.VERIFACTU_SANDBOX:
        return False
    return all(is_loopback_url(url) for url in aeat_endpoints())


def aeat_endpoints() -> list[str]:
    configured = [
        getattr(settings, "AEAT_SEAL_ENDPOINT", ""),
        getattr(settings, "AEAT_REQUERIMIENTO_ENDPOINT", ""),
    ]
    return [settings.AEAT_ENDPOINT, *(url for url in configured if url)]


def seal_endpoint(endpoint: str | None = None) -> str:
    """The seal-certificate twin of an endpoint (SPEC §3: ``www10``/``prewww10``):
    ``AEAT_SEAL_ENDPOINT`` for the VERI*FACTU one if set, else the same path on the seal
    host; an endpoint off AEAT's hosts (the simulator) serves both."""
    if endpoint is None and getattr(settings, "AEAT_SEAL_ENDPOINT", ""):
        return settings.AEAT_SEAL_ENDPOINT
    url = endpoint or settings.AEAT_ENDPOINT
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host not in AEAT_HOSTS:
        return url
    netloc = parts.netloc.replace(host, AEAT_HOSTS[host], 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class SendingRight:
    """The answer of :func:`sending_right`.

    ``certificate`` is the stored certificate to present, or ``deployment`` the
    deployment-wide one, or neither (the sandbox without a certificate).
    """

    allowed: bool
    basis: str  # own | apoderamiento | colaborador_social | allow_list | sandbox | ""
    reason: str  # Spanish: what holds, or why nothing may be sent and what to upload
    certificate: Certificate | None = None
    deployment: bool = False
    representante: Obligado | None = None
    seal: bool = False
    problems: list[str] = field(default_factory=list)


BASIS_LABELS = {
    "own": "Certificado del propio contribuyente",
    "apoderamiento": "Certificado de representante con apoderamiento registrado en la AEAT",
    "colaborador_social": "Certificado de colaborador social con el documento de representación",
    "allow_list": "Certificado de la instalación, autorizado por el operador para este NIF",
    "sandbox": "Entorno de pruebas (simulador de la AEAT): se envía sin comprobar la "
    "representación",
}


def _representante(holder_nif: str, holder_name: str, obligado_nif: str) -> Obligado | None:
    if not holder_nif or holder_nif == obligado_nif:
        return None
    return Obligado(holder_name or holder_nif, holder_nif)


def _stored_representante(cert: Certificate, obligado_nif: str) -> Obligado | None:
    nif = cert.holder_nif or cert.representative_nif
    return _representante(nif, cert.representative_name or cert.holder_name, obligado_nif)


def representation_problems(rep: Representation | None, now=None) -> list[str]:
    """What is missing for a recorded representation to hold (Spanish); [] when it holds."""
    now = now or timezone.now()
    if rep is None:
        return ["No hay ninguna representación registrada para este contribuyente."]
    problems = []
    cert = rep.certificate
    if cert is None:
        problems.append("Elija qué certificado de representante presenta por este contribuyente.")
    elif cert.not_valid_after <= now:
        problems.append("El certificado de representante elegido ha caducado: suba uno vigente.")
    if rep.kind == Representation.Kind.APODERAMIENTO:
        if not rep.reference.strip() or not rep.scope.strip():
            problems.append(
                "Indique la referencia y el ámbito del apoderamiento registrado en la AEAT."
            )
        if rep.valid_until is not None and rep.valid_until < timezone.localdate(now):
            problems.append("El apoderamiento ha vencido: registre uno vigente en la AEAT.")
    elif rep.kind == Representation.Kind.COLABORADOR_SOCIAL:
        if not rep.document_size:
            problems.append(
                "Suba el documento de representación firmado por el cliente (colaborador social)."
            )
    else:
        problems.append(
            "Indique si actúa como apoderado (apoderamiento registrado en la AEAT) o como "
            "colaborador social (documento de representación firmado)."
        )
    return problems


def _missing_proof(taxpayer_name: str, nif: str, problems: list[str]) -> str:
    head = (
        f"Factu no envía a la AEAT las facturas de {taxpayer_name} ({nif}) hasta que se "
        "acredite que esta cuenta puede presentar por ese NIF. Suba el certificado del propio "
        "contribuyente o, si es su representante, elija su certificado de representante y "
        "registre el apoderamiento (referencia y ámbito) o el documento de representación "
        "firmado (colaborador social)."
    )
    return " ".join([head, *problems])


def sending_right(taxpayer: Taxpayer, *, now=None) -> SendingRight:
    """May ``taxpayer``'s records be sent, with which certificate and Representante?"""
    now = now or timezone.now()
    nif = taxpayer.nif
    valid = Certificate.objects.filter(account_id=taxpayer.account_id, not_valid_after__gt=now)
    own = valid.filter(taxpayer=taxpayer, holder_nif=nif).order_by("-uploaded_at").first()
    if own is not None:
        return SendingRight(True, "own", BASIS_LABELS["own"], certificate=own, seal=own.seal)

    problems: list[str] = []
    wrong_own = (
        Certificate.objects.filter(taxpayer=taxpayer)
        .exclude(holder_nif=nif)
        .order_by("-uploaded_at")
    ).first()
    if wrong_own is not None:
        problems.append(
            f"El certificado subido para este contribuyente es de "
            f"{wrong_own.holder_nif or 'un titular sin NIF reconocible'}, no de {nif}."
        )
    rep = (
        Representation.objects.filter(taxpayer=taxpayer, account_id=taxpayer.account_id)
        .select_related("certificate")
        .first()
    )
    if (
        rep is not None
        and rep.certificate is not None
        and (rep.certificate.account_id != taxpayer.account_id or rep.certificate.taxpayer_id)
    ):
        rep.certificate = None  # only the account's own representative certificates serve
    rep_problems = representation_problems(rep, now)
    if not rep_problems:
        cert = rep.certificate
        return SendingRight(
            True,
            rep.kind,
            BASIS_LABELS[rep.kind],
            certificate=cert,
            representante=_stored_representante(cert, nif),
            seal=cert.seal,
        )
    if rep is not None:
        problems.extend(rep_problems)

    deployment = deployment_identity() if deployment_allowed(taxpayer) else None
    if deployment is not None:
        return SendingRight(
            True,
            "allow_list",
            BASIS_LABELS["allow_list"],
            deployment=True,
            representante=_representante(deployment.nif, deployment.name, nif),
            seal=deployment.seal,
        )

    if sandbox_active():
        return _sandbox_right(taxpayer, taxpayer.account_id, nif)
    return SendingRight(False, "", _missing_proof(taxpayer.name, nif, problems), problems=problems)


def _sandbox_right(taxpayer: Taxpayer | None, account_id, nif: str) -> SendingRight:
    """Against the simulator: the best certificate there is, even without proof (the
    taxpayer's, else the one chosen for it, else the account's latest representative one,
    else the deployment's)."""
    label = BASIS_LABELS["sandbox"]
    valid = Certificate.objects.filter(account_id=account_id, not_valid_after__gt=timezone.now())
    if taxpayer is not None:
        own = valid.filter(taxpayer=taxpayer).order_by("-uploaded_at").first()
        if own is not None:
            return SendingRight(True, "sandbox", label, certificate=own, seal=own.seal)
    chosen = (
        valid.filter(representations__taxpayer=taxpayer, taxpayer__isnull=True).first()
        if taxpayer is not None
        else None
    )
    cert = chosen or valid.filter(taxpayer__isnull=True).order_by("-uploaded_at").first()
    if cert is not None:
        return SendingRight(
            True,
            "sandbox",
            label,
            certificate=cert,
            representante=_stored_representante(cert, nif),
            seal=cert.seal,
        )
    deployment = deployment_identity()
    if deployment is not None:
        return SendingRight(
            True,
            "sandbox",
            label,
            deployment=True,
            representante=_representante(deployment.nif, deployment.name, nif),
            seal=deployment.seal,
        )
    return SendingRight(True, "sandbox", label)


def sending_right_for_chain(chain: Chain, *, now=None) -> SendingRight:
    """:func:`sending_right` of the chain's obligado in the chain's account."""
    taxpayer = Taxpayer.objects.filter(account_id=chain.account_id, nif=chain.issuer_nif).first()
    if taxpayer is not None:
        return sending_right(taxpayer, now=now)
    if sandbox_active():
        return _sandbox_right(None, chain.account_id, chain.issuer_nif)
    name = chain.issuer_name or chain.issuer_nif
    return SendingRight(False, "", _missing_proof(name, chain.issuer_nif, []))


def proof_changed(account_id, taxpayer: Taxpayer | None = None) -> None:
    """A proof arrived or changed: the held chains of the taxpayer (or, for a representative
    certificate, of the whole account) are flushed once the transaction commits."""
    chains = Chain.objects.filter(account_id=account_id)
    if taxpayer is not None:
        chains = chains.filter(issuer_nif=taxpayer.nif)
    chain_ids = list(chains.values_list("pk", flat=True))
    if not chain_ids:
        return
    Chain.objects.filter(pk__in=chain_ids, faulting_since__isnull=True).update(next_flush_at=None)
    for chain_id in chain_ids:
        pacing.flush_after_commit(chain_id, countdown=0, replace=True)


DOCUMENT_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}


def read_document(upload, limit: int | None = None) -> bytes:
    """An uploaded representation document, read no further than the size limit + 1 byte
    and checked to be a PDF, PNG or JPEG; ValidationError (Spanish) otherwise."""
    limit = limit or settings.REPRESENTATION_DOCUMENT_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError({"document": _too_big(limit)})
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError({"document": _too_big(limit)})
    if not data:
        raise ValidationError({"document": "El documento está vacío."})
    if not any(data.startswith(magic) for magic in DOCUMENT_TYPES):
        raise ValidationError(
            {"document": "El documento de representación debe ser un PDF, PNG o JPEG."}
        )
    return data


def _too_big(limit: int) -> str:
    return f"El documento supera el tamaño máximo ({limit // 1024} KB)."


_UNSET = object()


def record_representation(
    taxpayer: Taxpayer,
    *,
    user=None,
    kind: str | None = None,
    certificate: Certificate | None | object = _UNSET,
    reference: str | None = None,
    scope: str | None = None,
    valid_until=_UNSET,
    document: bytes | None = None,
    document_name: str = "",
) -> Representation:
    """Record (or change) how the account's representative certificate speaks for
    ``taxpayer``; only the arguments given change. Refuses, with field errors in Spanish,
    a certificate that is not one of the account's representative certificates."""
    errors: dict[str, str] = {}
    if kind is not None and kind not in ("", *Representation.Kind.values):
        errors["kind"] = "Tipo no válido: apoderamiento o colaborador_social."
    if (
        certificate is not _UNSET
        and certificate is not None
        and (
            not isinstance(certificate, Certificate)
            or certificate.account_id != taxpayer.account_id
            or certificate.taxpayer_id is not None
        )
    ):
        errors["certificate"] = "Elija uno de los certificados de representante de la cuenta."
    for name, value, limit in (("reference", reference, 60), ("scope", scope, 200)):
        if value is not None and (len(value.strip()) > limit or not value.isprintable()):
            errors[name] = f"Texto no válido (como mucho {limit} caracteres)."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rep, _ = Representation.objects.select_for_update().get_or_create(
            taxpayer=taxpayer, defaults={"account_id": taxpayer.account_id}
        )
        if kind is not None:
            rep.kind = kind
        if certificate is not _UNSET:
            rep.certificate = certificate
        if reference is not None:
            rep.reference = reference.strip()
        if scope is not None:
            rep.scope = scope.strip()
        if valid_until is not _UNSET:
            rep.valid_until = valid_until
        if document is not None:
            rep.encrypted_document = encrypt(document)
            rep.document_size = len(document)
            rep.document_sha256 = hashlib.sha256(document).hexdigest()
            rep.document_name = (os.path.basename(document_name or "") or "representacion")[:200]
            rep.document_uploaded_at = timezone.now()
        rep.updated_by = user
        rep.save()
        proof_changed(taxpayer.account_id, taxpayer)
    return rep


def describe(taxpayer: Taxpayer) -> dict:
    """What proof exists for ``taxpayer`` and whether it holds (the API's representation
    resource; the desk shows the same)."""
    right = sending_right(taxpayer)
    rep = Representation.objects.filter(taxpayer=taxpayer).select_related("certificate").first()
    own = (
        Certificate.objects.filter(taxpayer=taxpayer)
        .defer("encrypted_data", "encrypted_password")
        .order_by("-uploaded_at")
    )
    deployment = deployment_identity()
    return {
        "nif": taxpayer.nif,
        "may_send": right.allowed,
        "basis": right.basis or None,
        "message": right.reason,
        "sandbox": sandbox_active(),
        "representante": (
            {"nif": right.representante.nif, "name": right.representante.nombre_razon}
            if right.representante
            else None
        ),
        "seal_endpoint": right.seal,
        "own_certificates": [_certificate_summary(c, taxpayer.nif) for c in own],
        "representation": _representation_summary(rep) if rep else None,
        "deployment_certificate_allowed": bool(
            deployment is not None and deployment_allowed(taxpayer)
        ),
    }


def _certificate_summary(cert: Certificate, nif: str | None = None) -> dict:
    out = {
        "id": str(cert.pk),
        "subject": cert.subject,
        "holder_nif": cert.holder_nif or None,
        "holder_name": cert.holder_name or cert.representative_name or None,
        "seal": cert.seal,
        "not_valid_after": cert.not_valid_after,
        "valid": cert.not_valid_after > timezone.now(),
    }
    if nif is not None:
        out["proves_nif"] = cert.holder_nif == nif
    return out


def _representation_summary(rep: Representation) -> dict:
    return {
        "kind": rep.kind or None,
        "certificate": _certificate_summary(rep.certificate) if rep.certificate else None,
        "reference": rep.reference or None,
        "scope": rep.scope or None,
        "valid_until": rep.valid_until,
        "document": (
            {
                "name": rep.document_name,
                "size": rep.document_size,
                "sha256": rep.document_sha256,
                "uploaded_at": rep.document_uploaded_at,
            }
            if rep.document_size
            else None
        ),
        "problems": representation_problems(rep),
        "updated_at": rep.updated_at,
    }


def representative_certificates(account_id):
    """The account's representative certificates (no taxpayer), newest first."""
    return (
        Certificate.objects.filter(account_id=account_id, taxpayer__isnull=True)
        .defer("encrypted_data", "encrypted_password")
        .order_by("-uploaded_at")
    )


@dataclass(frozen=True)
class Held:
    """A taxpayer whose records wait for proof: who, why, how many."""

    taxpayer: Taxpayer
    right: SendingRight
    waiting: int


def held_taxpayers(account_id, taxpayer: Taxpayer | None = None) -> list[Held]:
    """The account's taxpayers with records held for want of proof (the desk's notices).

    The account's chains are read first and the records looked up by their ids, so that the
    ``(status, chain)`` index reads this account's queued records only; through a join with
    the chains, PostgreSQL read every tenant's queued records and filtered them."""
    chains = Chain.objects.filter(account_id=account_id)
    if taxpayer is not None:
        chains = chains.filter(issuer_nif=taxpayer.nif)
    chain_ids = list(chains.values_list("pk", flat=True))
    if not chain_ids:
        return []
    held = BillingRecord.objects.filter(
        chain_id__in=chain_ids, status=RecordStatus.QUEUED, aeat_error_code=HELD_CODE
    )
    counts = dict(held.values_list("issuer_nif").annotate(n=Count("pk")).order_by())
    out = []
    for candidate in Taxpayer.objects.filter(account_id=account_id, nif__in=counts):
        right = sending_right(candidate)
        if not right.allowed:
            out.append(Held(candidate, right, counts[candidate.nif]))
    return out
