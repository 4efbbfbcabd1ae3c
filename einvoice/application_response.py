"""UBL 2.1 ApplicationResponse as Peppol's Invoice Response uses it: read one about an issued
invoice and record it (:func:`record_application_response`), or write one for an answer
(:func:`build_application_response`), so that the received side can answer its suppliers.

Response codes are UNCL4343's subset used by Peppol BIS Invoice Response 3 (T111); the law's
statuses are fewer, so several codes land on one status (docs/einvoice-mapping.md):
AB (acknowledged), IP (in process) and UQ (under query) say the client has the invoice,
"received"; CA (conditionally accepted) and AP (accepted) are "accepted"; RE is "rejected";
PD is "paid". Both directions are validated against the vendored UBL 2.1 XSD.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from lxml import etree

from einvoice import answers
from einvoice.models import AnswerSource, IssuedStatusEvent
from einvoice.status import B2BStatus
from einvoice.ubl import CAC, CBC, VAT_SCHEMES, endpoint
from einvoice.validation import validate_ubl
from einvoice.xmlsafe import Refused, parse_untrusted
from invoicing import taxes
from invoicing.actions import Actor
from invoicing.models import Invoice
from verifactu.facts import from_cents

NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
CUSTOMIZATION_ID = "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
PROFILE_ID = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
RESPONSE_LIST = "UNCL4343OpSubset"
PARTIAL_PAYMENT = "PPD"
NS = {"r": NAMESPACE, "cac": CAC, "cbc": CBC}
MAX_BYTES = 1_000_000

# UNCL4343 (Peppol's subset) → our status.
STATUS_OF_CODE = {
    "AB": B2BStatus.RECEIVED,
    "IP": B2BStatus.RECEIVED,
    "UQ": B2BStatus.RECEIVED,
    "CA": B2BStatus.ACCEPTED,
    "AP": B2BStatus.ACCEPTED,
    "RE": B2BStatus.REJECTED,
    "PD": B2BStatus.PAID,
}
# Our status → the code written for it.
CODE_OF_STATUS = {
    B2BStatus.RECEIVED: "AB",
    B2BStatus.ACCEPTED: "AP",
    B2BStatus.REJECTED: "RE",
    B2BStatus.PAID: "PD",
}
CODE_LABELS = {
    "AB": "Acuse de recibo",
    "IP": "En proceso",
    "UQ": "En consulta",
    "CA": "Aceptada con condiciones",
    "AP": "Aceptada",
    "RE": "Rechazada",
    "PD": "Pagada",
}


@dataclass(frozen=True)
class ResponseParty:
    """A party of the response: its tax identifier (with or without its country prefix)
    and name. The endpoint is the identifier under Peppol's scheme for it, when one
    exists (:func:`einvoice.ubl.endpoint`)."""

    tax_id: str
    name: str


@dataclass(frozen=True)
class Answer:
    """What an ApplicationResponse says about one invoice."""

    response_id: str
    issued_on: dt.date
    code: str
    status: str
    reason: str
    reason_code: str
    effective_on: dt.date | None
    invoice_number: str
    invoice_date: dt.date | None
    sender_ids: tuple[str, ...]
    receiver_ids: tuple[str, ...]
    paid_cents: int | None = None


def _refused(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def read_application_response(xml: bytes) -> Answer:
    """The answer a Peppol Invoice Response carries, or ``ValidationError`` on ``file``
    (not XML, a DTD, not an ApplicationResponse, refused by the XSD, an unknown code)."""
    if len(xml) > MAX_BYTES:
        raise _refused("El fichero es demasiado grande para una respuesta (máximo 1 MB).")
    try:
        root = parse_untrusted(xml)
    except Refused as refused:
        raise _refused(refused.finding.message) from None
    if root.tag != f"{{{NAMESPACE}}}ApplicationResponse":
        raise _refused(
            f"El fichero no es una respuesta UBL (ApplicationResponse): su elemento raíz es "
            f"{etree.QName(root).localname}."
        )
    report = validate_ubl(xml)
    if not report.valid:
        details = "; ".join(f"{f.location}: {f.message}" for f in report.errors[:3])
        raise _refused(f"La respuesta no cumple el esquema UBL 2.1: {details}")
    responses = root.findall("cac:DocumentResponse", NS)
    if len(responses) != 1:
        raise _refused("La respuesta debe referirse a una sola factura.")
    response = responses[0]
    code = (response.findtext("cac:Response/cbc:ResponseCode", "", NS)).strip()
    if code not in STATUS_OF_CODE:
        known = ", ".join(STATUS_OF_CODE)
        raise _refused(f"Código de respuesta «{code}» desconocido; se esperaba uno de {known}.")
    reason_parts = [
        (status.findtext("cbc:StatusReason", "", NS) or "").strip()
        for status in response.iterfind("cac:Response/cac:Status", NS)
    ]
    reason_codes = [
        (status.findtext("cbc:StatusReasonCode", "", NS) or "").strip()
        for status in response.iterfind("cac:Response/cac:Status", NS)
    ]
    description = " ".join(
        (d.text or "").strip() for d in response.iterfind("cac:Response/cbc:Description", NS)
    )
    reason = " ".join(p for p in [*reason_parts, description] if p)
    reference = response.find("cac:DocumentReference", NS)
    return Answer(
        response_id=root.findtext("cbc:ID", "", NS).strip(),
        issued_on=_date(root.findtext("cbc:IssueDate", "", NS)),
        code=code,
        status=STATUS_OF_CODE[code],
        reason=reason,
        reason_code=next((c for c in reason_codes if c), ""),
        effective_on=_optional_date(response.findtext("cac:Response/cbc:EffectiveDate", "", NS)),
        invoice_number=reference.findtext("cbc:ID", "", NS).strip(),
        invoice_date=_optional_date(reference.findtext("cbc:IssueDate", "", NS)),
        sender_ids=_party_ids(root.find("cac:SenderParty", NS)),
        receiver_ids=_party_ids(root.find("cac:ReceiverParty", NS)),
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:  # xsd:date allows what Python's date does not (a five-digit year)
        raise _refused(
            f"La respuesta tiene una fecha que no se puede leer: «{text.strip()}»."
        ) from None


def _optional_date(text: str | None) -> dt.date | None:
    return _date(text) if text and text.strip() else None


def _party_ids(party: etree._Element | None) -> tuple[str, ...]:
    if party is None:
        return ()
    paths = (
        "cbc:EndpointID",
        "cac:PartyIdentification/cbc:ID",
        "cac:PartyTaxScheme/cbc:CompanyID",
        "cac:PartyLegalEntity/cbc:CompanyID",
    )
    found = [(e.text or "") for path in paths for e in party.iterfind(path, NS)]
    return tuple(_normal(i) for i in found if i.strip())


def _normal(identifier: str) -> str:
    return identifier.replace(" ", "").replace("-", "").upper()


def same_party(candidates: tuple[str, ...], tax_id: str) -> bool:
    """Whether any identifier names the party of ``tax_id``, with or without the VAT
    number's two-letter country prefix (ES + NIF)."""
    wanted = _normal(tax_id)
    if not wanted:
        return False
    return any(
        c == wanted or (len(c) > 2 and c[:2].isalpha() and c[2:] == wanted) for c in candidates
    )


def invoice_for(account_id: uuid.UUID, answer: Answer, expected: Invoice | None = None) -> Invoice:
    """Our issued invoice the answer is about: its number, our taxpayer as the receiver and
    its client as the sender; the issue date too when the response gives it."""
    if not answer.invoice_number:
        raise _refused("La respuesta no indica el número de la factura (DocumentReference).")
    found = Invoice.objects.filter(
        account_id=account_id, number=answer.invoice_number, issued_at__isnull=False
    )
    matches = [
        invoice
        for invoice in found
        if same_party(answer.receiver_ids, invoice.issuer_nif)
        and same_party(answer.sender_ids, invoice.client_nif or invoice.client_foreign_id)
        and (answer.invoice_date is None or answer.invoice_date == invoice.issue_date)
    ]
    if not matches:
        raise _refused(
            f"No hay ninguna factura emitida con número {answer.invoice_number} de este "
            "emisor a este cliente: la respuesta no corresponde a esta cuenta."
        )
    if expected is not None and expected not in matches:
        raise _refused(
            f"La respuesta es de la factura {answer.invoice_number}, no de la {expected.number}."
        )
    return expected or matches[0]


def record_application_response(
    account_id: uuid.UUID, xml: bytes, *, actor: Actor, expected: Invoice | None = None
) -> IssuedStatusEvent:
    """Read an Invoice Response, find our invoice and record its answer through
    :func:`einvoice.answers.record_client_answer`. A PD answers that the rest of the
    invoice was paid; a partial payment (PPD) carries its amount only in free text, so it
    is refused: the user records it by hand."""
    answer = read_application_response(xml)
    invoice = invoice_for(account_id, answer, expected)
    answered_at = answer.effective_on or answer.issued_on
    at = answers.answered_at(answered_at)
    paid_on = paid_cents = None
    if answer.status == B2BStatus.PAID:
        if answer.reason_code == PARTIAL_PAYMENT:
            raise _refused(
                "La respuesta indica un pago parcial (PPD), cuyo importe no viene en un campo: "
                "regístrelo a mano en el formulario."
            )
        paid_on = answered_at
        paid_cents = invoice.total_cents - answers.answered_paid_cents(answers.history(invoice))
    reason = answer.reason
    if answer.code in ("IP", "UQ", "CA"):
        reason = f"{CODE_LABELS[answer.code]}. {reason}".strip()
    if answer.status == B2BStatus.REJECTED and not reason:
        reason = "Rechazada (la respuesta no da el motivo)."
    return answers.record_client_answer(
        invoice,
        status=answer.status,
        actor=actor,
        source=AnswerSource.APPLICATION_RESPONSE,
        reason=reason[: answers.REASON_MAX],
        paid_on=paid_on,
        paid_cents=paid_cents,
        at=at,
        response_id=answer.response_id,
        response_code=answer.code,
    )


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    element.text = text
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _party(parent: etree._Element, name: str, party: ResponseParty) -> None:
    node = _cac(parent, name)
    identifier = _normal(party.tax_id)
    prefixed = identifier if identifier[:2] in VAT_SCHEMES else f"ES{identifier}"
    reached_at = endpoint(prefixed)
    if reached_at is not None:
        _cbc(node, "EndpointID", reached_at[0], schemeID=reached_at[1])
    _cbc(_cac(node, "PartyIdentification"), "ID", identifier)
    _cbc(_cac(node, "PartyLegalEntity"), "RegistrationName", party.name)


def build_application_response(
    *,
    response_id: str,
    issued_on: dt.date,
    sender: ResponseParty,
    receiver: ResponseParty,
    invoice_number: str,
    invoice_date: dt.date | None,
    status: str,
    reason: str = "",
    paid_on: dt.date | None = None,
    paid_cents: int | None = None,
    partial: bool = False,
    document_type_code: str = "380",
) -> bytes:
    """A Peppol Invoice Response for one answer, validated against the UBL 2.1 XSD (a
    ``ValueError`` if it were not). ``sender`` answers (the buyer), ``receiver`` issued the
    invoice. A paid answer is PD on ``paid_on``; ``partial`` adds the PPD clarification with
    the amount, which the Invoice Response has no field for, in its reason."""
    if status not in CODE_OF_STATUS:
        raise ValueError(f"Unknown status {status!r}.")
    root = etree.Element(
        f"{{{NAMESPACE}}}ApplicationResponse", nsmap={None: NAMESPACE, "cac": CAC, "cbc": CBC}
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", response_id)
    _cbc(root, "IssueDate", issued_on.isoformat())
    _party(root, "SenderParty", sender)
    _party(root, "ReceiverParty", receiver)
    document = _cac(root, "DocumentResponse")
    response = _cac(document, "Response")
    _cbc(response, "ResponseCode", CODE_OF_STATUS[status], listID=RESPONSE_LIST)
    if status == B2BStatus.PAID and paid_on is not None:
        _cbc(response, "EffectiveDate", paid_on.isoformat())
    reason_code, text = _clarification(status, reason, paid_cents, partial)
    if reason_code or text:
        node = _cac(response, "Status")
        if reason_code:
            _cbc(node, "StatusReasonCode", reason_code, listID="OPStatusReason")
        if text:
            _cbc(node, "StatusReason", text)
    reference = _cac(document, "DocumentReference")
    _cbc(reference, "ID", invoice_number)
    if invoice_date is not None:
        _cbc(reference, "IssueDate", invoice_date.isoformat())
    _cbc(reference, "DocumentTypeCode", document_type_code, listID="UNCL1001")
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    report = validate_ubl(xml)
    if not report.valid:
        raise ValueError("; ".join(f.message for f in report.errors))
    return xml


def _clarification(
    status: str, reason: str, paid_cents: int | None, partial: bool
) -> tuple[str, str]:
    """Peppol's clarification: a rejection carries a reason code (PEPPOL-T111-R001: OTH,
    "other", with the text), a partial payment PPD with the amount as text
    (PEPPOL-T111-R004)."""
    if status == B2BStatus.REJECTED:
        return "OTH", reason or "Rechazada"
    if status == B2BStatus.PAID and partial and paid_cents is not None:
        amount: Decimal = from_cents(paid_cents)
        return PARTIAL_PAYMENT, f"Pago parcial de {amount} EUR ({taxes.format_euros(paid_cents)})."
    return "", reason
