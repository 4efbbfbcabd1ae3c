"""Signer certificates: the certificate behind every signature, kept as it was.

A ``SignerCertificate`` is a certificate that signed for an obligado NIF of an account (its DER,
SHA-256 fingerprint, subject, serial and validity period), and ``RecordSignature.signer``
points to it, so a signature is checked against the taxpayer's certificate of its time
(``verifactu.signers``). Both are immutable: the signer table gets the same trigger as the
other tables of the event log, and the signature trigger now guards ``signer_id`` too.

**Backfill of legacy signatures**: every signature made before this migration (by the old
signing worker) gets, as its signer, the certificate embedded in its own signed XML (the first
``ds:X509Certificate`` of ``KeyInfo``), kept for the (account, NIF) of the item's chain. This
trusts what the signature itself says, as the old check did; whether that certificate chains
to the operator's CA bundle is checked by every later verification. A signature whose XML
holds no readable certificate keeps an empty signer, which the verifier reports as an
anomaly. The signature trigger is re-created after the backfill, so the backfill is the only
write ``signer_id`` ever gets.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

import django.db.models.deletion
from django.db import migrations, models

SIGNATURE_COLUMNS = [
    "id",
    "record_id",
    "event_id",
    "signed_xml",
    "signed_at",
    "certificate_subject",
    "certificate_serial",
]
SIGNER_COLUMNS = [
    "id",
    "account_id",
    "obligado_nif",
    "der",
    "fingerprint",
    "subject",
    "serial",
    "not_valid_before",
    "not_valid_after",
    "created_at",
]
GUARDS = {
    # trigger name: (table, noun, columns after this migration, columns before)
    "verifactu_signature_immutable": (
        "verifactu_recordsignature",
        "signatures",
        [*SIGNATURE_COLUMNS, "signer_id"],
        SIGNATURE_COLUMNS,
    ),
    "verifactu_signer_immutable": (
        "verifactu_signercertificate",
        "signer certificates",
        SIGNER_COLUMNS,
        None,
    ),
}


def _statements(vendor: str, name: str, table: str, noun: str, columns: list[str]) -> list[str]:
    if vendor == "postgresql":
        new = ", ".join(f"NEW.{c}" for c in columns)
        old = ", ".join(f"OLD.{c}" for c in columns)
        return [
            f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION '{noun} are never deleted';
              END IF;
              IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                RAISE EXCEPTION '{noun} are immutable';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"""CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {name}()""",
        ]
    if vendor == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        return [
            f"DROP TRIGGER IF EXISTS {name}",
            f"""CREATE TRIGGER {name} BEFORE UPDATE ON {table} WHEN {changed}
            BEGIN SELECT RAISE(ABORT, '{noun} are immutable'); END""",
        ]
    return []


def guard(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name, (table, noun, columns, _) in GUARDS.items():
        for statement in _statements(vendor, name, table, noun, columns):
            schema_editor.execute(statement)


def unguard(apps, schema_editor) -> None:
    """Backwards: drop the triggers this migration created (the signature table's guard of
    before is re-created by :func:`guard_as_before`, once ``signer`` is gone)."""
    vendor = schema_editor.connection.vendor
    for name, (table, _, _, before) in GUARDS.items():
        if before is not None:
            continue
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def guard_as_before(apps, schema_editor) -> None:
    """Backwards, after ``signer`` is removed: the guards as they were before this migration
    (SQLite rebuilds the signature table to drop a column, and its triggers with it)."""
    vendor = schema_editor.connection.vendor
    for name, (table, noun, _, before) in GUARDS.items():
        if before is not None:
            for statement in _statements(vendor, name, table, noun, before):
                schema_editor.execute(statement)


def _embedded_certificate(signed_xml: str):
    """The first certificate of the signature's KeyInfo, or None when it cannot be read."""
    from cryptography import x509
    from lxml import etree

    try:
        root = etree.fromstring(
            signed_xml.encode("utf-8"),
            etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False),
        )
        text = root.findtext(
            ".//ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
            namespaces={"ds": "http://www.w3.org/2000/09/xmldsig#"},
        )
        return x509.load_der_x509_certificate(base64.b64decode(text)) if text else None
    except (etree.XMLSyntaxError, ValueError):
        return None


def backfill(apps, schema_editor) -> None:
    from cryptography.hazmat.primitives import serialization

    RecordSignature = apps.get_model("verifactu", "RecordSignature")
    SignerCertificate = apps.get_model("verifactu", "SignerCertificate")
    legacy = RecordSignature.objects.filter(signer__isnull=True).select_related(
        "record__chain", "event__chain"
    )
    for signature in legacy.iterator(chunk_size=200):
        cert = _embedded_certificate(signature.signed_xml)
        if cert is None:
            continue
        chain = (signature.record or signature.event).chain
        der = cert.public_bytes(serialization.Encoding.DER)
        signer, _ = SignerCertificate.objects.get_or_create(
            account_id=chain.account_id,
            obligado_nif=chain.issuer_nif,
            fingerprint=hashlib.sha256(der).hexdigest(),
            defaults={
                "der": der,
                "subject": cert.subject.rfc4514_string()[:300],
                "serial": str(cert.serial_number)[:64],
                "not_valid_before": cert.not_valid_before_utc,
                "not_valid_after": cert.not_valid_after_utc,
            },
        )
        RecordSignature.objects.filter(pk=signature.pk).update(signer=signer)


class Migration(migrations.Migration):
    dependencies = [
        ("factu", "0001_initial"),
        ("verifactu", "0017_namespaced_installations"),
    ]

    operations = [
        migrations.CreateModel(
            name="SignerCertificate",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("obligado_nif", models.CharField(max_length=9)),
                ("der", models.BinaryField()),
                ("fingerprint", models.CharField(max_length=64)),
                ("subject", models.CharField(max_length=300)),
                ("serial", models.CharField(max_length=64)),
                ("not_valid_before", models.DateTimeField()),
                ("not_valid_after", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="factu.account",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "obligado_nif", "fingerprint"),
                        name="signer_unique_per_nif",
                    )
                ],
            },
        ),
        migrations.RunPython(migrations.RunPython.noop, guard_as_before),
        migrations.AddField(
            model_name="recordsignature",
            name="signer",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="signatures",
                to="verifactu.signercertificate",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
