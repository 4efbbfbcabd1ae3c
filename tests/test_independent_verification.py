"""What Factu signs and keeps, checked by tools Factu does not use: xmlsec1 (Debian's
libxmlsec1, OpenSSL) verifies the XAdES signatures, verifactu-lint audits the records and events.

A realistic NO VERI*FACTU flow makes the material: records of every kind (alta, rectificativa,
anulación, subsanación) and the events around them (01, 08, 03, 05, 10), signed by the
taxpayer's certificate from the test PKI of tests/test_signing.py. The tool invocations and
their reasons are in tests/xmlsec.py; every signature of the whole session is also verified by
tests/signature_audit.py. Without xmlsec1 these tests fail: CI installs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from factu.models import Taxpayer
from tests import xmlsec
from tests.certs import certificate_builder
from tests.conftest import make_facts
from tests.test_signing import Pki
from verifactu import aeat, corrections, envelopes, events, modes, signing
from verifactu import xml as vxml
from verifactu.anomalies import run_anomaly_check
from verifactu.facts import InvoiceRef
from verifactu.models import BillingRecord, Chain, EventRecord, RecordStatus
from verifactu.signing import SigningIdentity

NO = Taxpayer.VerifactuMode.NO_VERIFACTU


@pytest.fixture
def roots(tmp_path, pki) -> list[Path]:
    """The test PKI's root, the one CA trusted (the intermediate travels in KeyInfo)."""
    root = tmp_path / "root.pem"
    root.write_bytes(pki.ca_pem)
    return [root]


def signed_items(chain: Chain) -> tuple[list[BillingRecord], list[EventRecord]]:
    """The chain's NO VERI*FACTU records and its events, in chain order, each signed
    (``item.signature.signed_xml``).

    Every item is signed at birth, in the transaction that chained it.
    """
    records = BillingRecord.objects.filter(chain=chain, no_verifactu=True)
    logged = EventRecord.objects.filter(chain=chain)
    return (
        list(records.select_related("signature").order_by("position")),
        list(logged.select_related("signature").order_by("position")),
    )


@dataclass
class Flow:
    chain: Chain
    records: list[BillingRecord]
    events: list[EventRecord]
    event_export: bytes  # the taxpayer's signed event log, as Factu exports it


@pytest.fixture
def flow(signing_certificate, taxpayer, register) -> Flow:
    """A NO VERI*FACTU taxpayer's quarter: three invoices, a rectificativa, an anulación, a
    subsanación, an export of the records (08), an anomaly check (03, 05) and a summary (10)."""
    assert modes.change_mode(taxpayer, NO).changed
    first = register(invoice_number="N-1", invoice_date=date(2026, 3, 2))
    cancelled = register(invoice_number="N-2", invoice_date=date(2026, 3, 3))
    register(
        invoice_number="R-1",
        invoice_date=date(2026, 3, 4),
        invoice_type="R1",
        rectification_type="I",
        rectified_invoices=(InvoiceRef("N-1", date(2026, 3, 2)),),
    )
    corrections.cancel(cancelled.invoice)
    corrected = register(invoice_number="N-3", invoice_date=date(2026, 3, 5))
    # Standing for AEAT's answer to a requerimiento: accepted with errors, to be corrected.
    BillingRecord.objects.filter(pk=corrected.record.pk).update(
        status=RecordStatus.ACCEPTED_WITH_ERRORS, aeat_error_code="2000"
    )
    corrections.subsanar(
        corrected.invoice,
        make_facts(invoice_number="N-3", invoice_date=date(2026, 3, 5), description="Soporte"),
        reason="Descripción corregida",
    )
    chain = Chain.objects.get(pk=first.record.chain_id)
    records, _ = signed_items(chain)
    events.log_export(records)
    assert run_anomaly_check(chain) == []
    assert events.log_summary(chain) is not None
    export = events.export_events(taxpayer).xml
    records, logged = signed_items(chain)
    return Flow(chain, records, logged, export)


def test_the_flow_has_every_kind_of_record_and_event(flow):
    kinds = [(r.kind, r.invoice_type, r.subsanacion) for r in flow.records]
    assert kinds == [
        ("alta", "F1", ""),
        ("alta", "F1", ""),
        ("alta", "R1", ""),
        ("anulacion", "", ""),
        ("alta", "F1", ""),
        ("alta", "F1", "S"),
    ]
    assert [e.tipo_evento for e in flow.events] == ["01", "08", "03", "05", "10", "09"]
    assert all(item.signature.signed_xml for item in [*flow.records, *flow.events])


# --------------------------------------------------------------------------- xmlsec1


def write(tmp_path: Path, name: str, xml: str) -> Path:
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return path


def test_xmlsec1_verifies_every_record_and_event_signature_with_the_pki_root_trusted(
    flow, roots, tmp_path
):
    binary = xmlsec.xmlsec1()
    paths = [
        write(tmp_path, f"{type(item).__name__}-{item.position}.xml", item.signature.signed_xml)
        for item in [*flow.records, *flow.events]
    ]
    assert len(paths) == 12
    assert xmlsec.verify_files(paths, binary=binary, trusted=roots) == []


def test_xmlsec1_detects_one_changed_character(flow, pki, tmp_path):
    alta = flow.records[0].signature.signed_xml
    anulacion = flow.records[3].signature.signed_xml
    summary = flow.events[4].signature.signed_xml
    assert xmlsec.verify_xml(alta, tmp_path, trusted=[pki.ca_pem]) is None
    edits = [
        # DescripcionOperacion is outside the huella: only the signature protects it.
        (alta, "<DescripcionOperacion>Mantenimiento mensual<", "Mantenimiento mensuaL<"),
        (alta, "<NumSerieFactura>N-1<", "N-7<"),
        (anulacion, "<NumSerieFacturaAnulada>N-2<", "N-3<"),
        (summary, "<TipoEvento>10<", "11<"),
        # The signed properties: the signing time, by one second.
        (alta, "<xades:SigningTime>", None),
    ]
    for signed, anchor, replacement in edits:
        assert anchor in signed, anchor
        if replacement is None:
            start = signed.index(anchor) + len(anchor) + 18
            forged = signed[:start] + str((int(signed[start]) + 1) % 10) + signed[start + 1 :]
        else:
            forged = signed.replace(anchor, anchor[: anchor.index(">") + 1] + replacement, 1)
        assert len(forged) == len(signed) and forged != signed
        complaint = xmlsec.verify_xml(forged, tmp_path, trusted=[pki.ca_pem])
        assert complaint is not None and "FAIL" in complaint, (anchor, complaint)
        assert xmlsec.verify_xml(forged, tmp_path) is not None


def self_made_identity(cn: str) -> SigningIdentity:
    """A self-signed certificate naming the taxpayer: what anyone can make."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = certificate_builder(name, name, key.public_key(), 30).sign(key, hashes.SHA256())
    return SigningIdentity(key, cert)


def test_xmlsec1_rejects_a_self_made_key_and_a_foreign_ca_with_the_pki_root_trusted(
    flow, pki, tmp_path
):
    unsigned = flow.records[0].xml
    for identity in (self_made_identity("ESTUDIO SOL SL - B87654323"), Pki().identity):
        forged = signing.sign_record_xml(unsigned, identity)
        # Cryptographically a perfect signature, by a key nobody vouches for.
        assert xmlsec.verify_xml(forged, tmp_path) is None
        complaint = xmlsec.verify_xml(forged, tmp_path, trusted=[pki.ca_pem])
        assert complaint is not None and "certificate" in complaint, complaint


def test_without_enabled_key_data_x509_xmlsec1_would_trust_the_bare_key_value(pki, flow, tmp_path):
    """Why tests/xmlsec.py names the key data: KeyInfo carries a KeyValue, and by default
    xmlsec1 takes it without looking at any certificate, so ``--trusted-pem`` alone checks
    nothing about the signer."""
    forged = signing.sign_record_xml(flow.records[0].xml, self_made_identity("X"))
    document = write(tmp_path, "forged.xml", forged)
    root = write(tmp_path, "root.pem", pki.ca_pem.decode())
    profile = [p for option in xmlsec.PROFILE if "key-data" not in option for p in option.split()]
    run = subprocess.run(
        [xmlsec.xmlsec1(), "--verify", *profile, "--trusted-pem", str(root), str(document)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert xmlsec.verify_files([document], binary=xmlsec.xmlsec1(), trusted=[root]) != []


def test_a_batch_names_each_signature_that_does_not_verify(flow, tmp_path):
    good = [item.signature.signed_xml for item in flow.records[:2]]
    bad = [xml.replace("<NumSerieFactura>N-", "<NumSerieFactura>X-", 1) for xml in good]
    paths = [write(tmp_path, f"{n}.xml", xml) for n, xml in enumerate([good[0], *bad, good[1]])]
    failures = xmlsec.verify_files(paths, binary=xmlsec.xmlsec1())
    assert [f.path for f in failures] == paths[1:3]
    assert all("data and digest do not match" in f.output for f in failures)


# --------------------------------------------------------------------------- verifactu-lint


def lint(*paths: Path) -> dict:
    """verifactu-lint's JSON report of the files (its command line, as CI would run it)."""
    run = subprocess.run(
        [sys.executable, "-m", "verifactu_lint.cli", "--formato", "json", "--estricto", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(run.stdout)
    report["exit"] = run.returncode
    return report


def document(root: str, parts: list[str]) -> str:
    body = "\n".join(parts)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>\n{body}\n</{root}>\n'


def findings(report: dict) -> list[str]:
    return [
        f"{h['severidad']} {h['regla']} {h['referencia']}: {h['titulo']}"
        for h in report["hallazgos"]
    ]


def test_verifactu_lint_finds_nothing_in_the_records_and_events_of_the_flow(flow, tmp_path):
    files = {
        "records.xml": document("Registros", [r.xml for r in flow.records]),
        "records-signed.xml": document("Registros", [r.signature.signed_xml for r in flow.records]),
        "events-signed.xml": document("Eventos", [e.signature.signed_xml for e in flow.events]),
    }
    paths = [write(tmp_path, name, xml) for name, xml in files.items()]
    exported = tmp_path / "events-exported.xml"
    exported.write_bytes(flow.event_export)
    # The signed records as a requerimiento sends them: in the SOAP envelope, byte for byte.
    envelope = tmp_path / "requerimiento.xml"
    envelope.write_bytes(
        aeat.plain_soap_envelope(
            envelopes.build_requerimiento_envelope(
                vxml.Obligado("Estudio Sol SL", "B87654323"),
                [r.signature.signed_xml for r in flow.records],
                ref_requerimiento="REQ-2026-000001",
            )
        )
    )
    paths.append(envelope)
    for path in [*paths, exported]:
        report = lint(path)
        assert findings(report) == [], path.name
        assert report["exit"] == 0
    counts = {p.name: lint(p)["registros_analizados"] for p in [*paths, exported]}
    # The export is made before its own 09 is logged: it carries the five events before it.
    assert counts == {
        "records.xml": 6,
        "records-signed.xml": 6,
        "events-signed.xml": 6,
        "requerimiento.xml": 6,
        "events-exported.xml": 5,
    }


def test_verifactu_lint_sees_what_it_is_meant_to_see_in_our_files(flow, tmp_path):
    """The oracle is awake on these very files: a broken chain and an unsigned event."""
    records = [r.signature.signed_xml for r in flow.records]
    records[2] = records[2].replace(flow.records[1].huella, "0" * 64)
    unsigned = [e.xml for e in flow.events]
    report = lint(
        write(tmp_path, "records.xml", document("Registros", records)),
        write(tmp_path, "events.xml", document("Eventos", unsigned)),
    )
    rules = {h["regla"] for h in report["hallazgos"]}
    assert {"RRSIF003", "RRSIF025"} <= rules and report["exit"] == 1
