"""``verifactu_verify`` recomputes every huella and link from the stored XML and names the
record where a chain breaks, even when someone with database access edits a row."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from verifactu import xml as vxml
from verifactu.integrity import verify_all, verify_chain
from verifactu.models import BillingRecord, Chain

TABLE = "verifactu_billingrecord"


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verifactu_verify", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args: str) -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("verifactu_verify", *args, stdout=out)
    return out.getvalue(), str(exc.value)


@pytest.fixture
def chain_of_three(register) -> list[BillingRecord]:
    return [register(invoice_number=f"F-2026-04{n}").record for n in (2, 3, 4)]


def fresh_chain(record: BillingRecord) -> Chain:
    return Chain.objects.get(pk=record.chain_id)


def one_char_changed(text: str) -> str:
    return ("0" if text[0] != "0" else "1") + text[1:]


def assert_names(message: str, record: BillingRecord) -> None:
    assert f"#{record.position}" in message
    assert record.invoice_number in message
    assert str(record.pk) in message


def test_a_clean_chain_verifies_and_exits_zero(chain_of_three):
    out = verify()
    assert "OK chain" in out and "3 records" in out
    assert "1 chains verified, 0 broken." in out
    assert verify_chain(fresh_chain(chain_of_three[0])) == []


def test_one_taxpayer_can_be_verified_alone(chain_of_three):
    assert "3 records" in verify("--taxpayer", "B87654323")


def test_an_unknown_taxpayer_is_an_error(chain_of_three):
    _, message = verify_fails("--taxpayer", "A28045631")
    assert "A28045631" in message


def test_a_changed_amount_in_the_stored_xml_is_caught_at_that_record(chain_of_three, tamper):
    victim = chain_of_three[1]
    assert "<ImporteTotal>825.00</ImporteTotal>" in victim.xml
    tamper(victim, "xml", victim.xml.replace("825.00</ImporteTotal>", "825.01</ImporteTotal>"))
    out, message = verify_fails()
    assert_names(message, victim)
    assert "huella recomputed from the XML" in message
    assert "BROKEN chain" in out
    problems = [b.problem for b in verify_chain(fresh_chain(victim))]
    assert any("importe_total_text" in p for p in problems)


def test_a_changed_huella_column_is_caught_at_that_record(chain_of_three, tamper):
    victim = chain_of_three[1]
    tamper(victim, "huella", one_char_changed(victim.huella))
    _, message = verify_fails()
    assert_names(message, victim)
    assert "huella column" in message


def test_a_changed_previous_huella_column_is_caught_at_that_record(chain_of_three, tamper):
    victim = chain_of_three[2]
    tamper(victim, "previous_huella", one_char_changed(victim.previous_huella))
    _, message = verify_fails()
    assert_names(message, victim)
    assert "previous_huella" in message


def test_a_consistently_rewritten_record_is_caught_at_its_successor(chain_of_three, tamper):
    victim, successor = chain_of_three[1], chain_of_three[2]
    forged = victim.xml.replace("825.00</ImporteTotal>", "8.25</ImporteTotal>")
    new_huella = vxml.recompute_huella(vxml.parse_record(forged))
    forged = forged.replace(f"<Huella>{victim.huella}</Huella>", f"<Huella>{new_huella}</Huella>")
    tamper(victim, "xml", forged)
    tamper(victim, "huella", new_huella)
    tamper(victim, "importe_total_text", "8.25")
    breaks = verify_chain(fresh_chain(victim))
    assert {b.position for b in breaks} == {successor.position}
    _, message = verify_fails()
    assert_names(message, successor)
    assert "RegistroAnterior/Huella" in message


def test_a_gap_in_positions_is_caught(chain_of_three, tamper):
    last = chain_of_three[2]
    tamper(last, "position", 4)
    _, message = verify_fails()
    assert "position is 4, expected 3" in message
    assert str(last.pk) in message


def test_a_first_record_without_primer_registro_is_caught(chain_of_three, tamper):
    first = chain_of_three[0]
    forged = first.xml.replace(
        "<PrimerRegistro>S</PrimerRegistro>", "<PrimerRegistro>N</PrimerRegistro>"
    )
    assert forged != first.xml
    tamper(first, "xml", forged)
    _, message = verify_fails()
    assert_names(message, first)
    assert "PrimerRegistro" in message


def test_a_chain_head_that_does_not_match_is_caught(chain_of_three, tamper):
    chain = fresh_chain(chain_of_three[0])
    tamper(chain, "length", 2)
    (report,) = verify_all()
    assert [str(b) for b in report.breaks] == [
        f"chain {chain.pk}: chain length is 2 but it holds 3 records"
    ]
    verify_fails()


def test_a_chain_row_quoting_another_head_is_caught(chain_of_three, tamper):
    """The next record quotes the head's number and date from the chain row: a stale
    copy there would chain the next record to the wrong predecessor."""
    chain = fresh_chain(chain_of_three[0])
    second = chain_of_three[1]
    tamper(chain, "head_invoice_number", second.invoice_number)
    (report,) = verify_all()
    last = chain_of_three[2]
    assert [str(b) for b in report.breaks] == [
        f"chain {chain.pk}: chain head quotes {second.invoice_number!r} of "
        f"{last.invoice_date_text!r} ({last.issuer_nif}), the last record is "
        f"{last.invoice_number!r} of {last.invoice_date_text!r} ({last.issuer_nif})"
    ]
    verify_fails()


# --------------------------------------------------------------------------- NO VERI*FACTU


def test_a_no_verifactu_chain_is_verified_with_its_signatures_and_event_log(signed_chain, tamper):
    out = verify()
    assert f"OK chain {signed_chain.pk}" in out
    assert f"2 records, head #2 {signed_chain.last_huella}, 1 events, event head #1" in out
    record = BillingRecord.objects.get(chain=signed_chain, position=1)
    signature = record.signature
    tamper(signature, "signed_xml", signature.signed_xml.replace("825.00<", "825.01<"))
    out, message = verify_fails()
    assert_names(message, record)
    assert "signature" in message and "BROKEN chain" in out


def test_an_unsigned_record_that_must_be_signed_is_broken(signed_chain, tamper):
    record = BillingRecord.objects.get(chain=signed_chain, position=2)
    tamper.delete(record.signature)
    _, message = verify_fails()
    assert_names(message, record)
    assert message.endswith(": not signed")


# --------------------------------------------------------------------------- exported files


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def event_log_file(chain, tmp_path) -> str:
    from verifactu.events import render_event_export
    from verifactu.models import EventRecord

    events = list(EventRecord.objects.filter(chain=chain).select_related("signature"))
    return write(tmp_path, "eventos.xml", render_event_export(chain.issuer_nif, events))


def test_an_exported_event_log_verifies_offline(signed_chain, tmp_path):
    from tests.tampering import signed
    from verifactu import event_log
    from verifactu.events import log_summary

    event_log.log_event(signed_chain, "90")
    log_summary(signed_chain)
    signed(signed_chain)
    out = verify("--file", event_log_file(signed_chain, tmp_path))
    assert "eventos.xml: 3 events, 0 records, 3 signed, 0 broken." in out


def test_a_tampered_event_log_file_names_the_broken_item(signed_chain, tmp_path):
    from tests.tampering import signed
    from verifactu import event_log

    event_log.log_event(signed_chain, "90", otros_datos="prueba")
    signed(signed_chain)
    path = event_log_file(signed_chain, tmp_path)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    write(tmp_path, "eventos.xml", text.replace(">prueba<", ">prueba2<"))
    out, message = verify_fails("--file", path)
    assert message.startswith("First broken item: eventos.xml item 2 (RegistroEvento 90 of ")
    assert "signature: XAdES verification failed" in message
    assert "BROKEN eventos.xml item 2" in out


def test_an_event_log_file_missing_an_event_breaks_the_link(signed_chain, tmp_path):
    from tests.tampering import signed
    from verifactu import event_log

    event_log.log_event(signed_chain, "90")
    event_log.log_event(signed_chain, "90")
    signed(signed_chain)
    from lxml import etree

    path = event_log_file(signed_chain, tmp_path)
    root = etree.parse(path).getroot()
    root.remove(root[1])  # the second event
    path = write(tmp_path, "eventos.xml", etree.tostring(root))
    _, message = verify_fails("--file", path)
    assert "item 2 (RegistroEvento 90" in message
    assert "EventoAnterior does not name the previous event of its chain" in message


def test_a_file_signed_with_an_untrusted_key_is_broken(signed_chain, tmp_path, settings):
    from tests.test_signing import Pki

    path = event_log_file(signed_chain, tmp_path)
    other = tmp_path / "other-ca.pem"
    other.write_bytes(Pki().ca_pem)  # another root: the taxpayer's certificate does not chain
    settings.VERIFACTU_SIGNATURE_CA_FILE = str(other)
    _, message = verify_fails("--file", path)
    assert "item 1 (RegistroEvento 01" in message and "signature" in message


def test_exported_record_files_verify_offline(signed_chain, tmp_path):
    import zipfile

    first, second = BillingRecord.objects.filter(chain=signed_chain).order_by("position")
    single = write(tmp_path, "registro.xml", first.exported_xml)
    assert "0 events, 1 records, 1 signed, 0 broken." in verify("--file", single)
    archive = tmp_path / "registros.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.xml", first.exported_xml)
        zipped.writestr("b.xml", second.exported_xml)
    assert "0 events, 2 records, 2 signed, 0 broken." in verify("--file", str(archive))
    forged = second.exported_xml.replace("825.00</ImporteTotal>", "8.25</ImporteTotal>")
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("a.xml", first.exported_xml)
        zipped.writestr("b.xml", forged)
    _, message = verify_fails("--file", str(archive))
    assert "registros.zip:b.xml item 1 (RegistroAlta F-2026-043 of 13-03-2026)" in message
    assert "huella does not recompute" in message


def zipped(tmp_path, name: str, documents: list[str]) -> str:
    import zipfile

    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w") as out:
        for number, document in enumerate(documents, start=1):
            out.writestr(f"{number}.xml", document)
    return str(archive)


def test_verifactu_record_downloads_verify_unsigned_and_links_are_checked(chain_of_three, tmp_path):
    """A VERI*FACTU record's download is a document of its own, unsigned; a ZIP of them is
    checked link by link."""
    path = zipped(tmp_path, "registros.zip", [record.xml for record in chain_of_three])
    assert "0 events, 3 records, 0 signed, 0 broken." in verify("--file", path)
    path = zipped(tmp_path, "registros.zip", [chain_of_three[0].xml, chain_of_three[2].xml])
    _, message = verify_fails("--file", path)
    assert "registros.zip:2.xml item 1 (RegistroAlta F-2026-044" in message
    assert "RegistroAnterior/Huella is " in message


def test_the_whole_registro_anterior_is_checked_offline(chain_of_three, tmp_path):
    """A RegistroAnterior naming the right huella under another invoice number is broken."""
    first, second, _ = chain_of_three
    quoted = f"<NumSerieFactura>{first.invoice_number}</NumSerieFactura>"
    anterior = second.xml.index("RegistroAnterior>")
    assert quoted in second.xml[anterior:]
    forged = second.xml[:anterior] + second.xml[anterior:].replace(
        quoted, "<NumSerieFactura>F-2026-999</NumSerieFactura>", 1
    )
    _, message = verify_fails("--file", zipped(tmp_path, "registros.zip", [first.xml, forged]))
    assert "RegistroAnterior/NumSerieFactura is 'F-2026-999'" in message


def test_records_inside_a_file_of_records_must_be_signed(chain_of_three, tmp_path):
    body = "".join(record.xml for record in chain_of_three)
    path = write(tmp_path, "registros.xml", f"<Registros>{body}</Registros>")
    out, message = verify_fails("--file", path)
    assert "registros.xml item 1 (RegistroAlta F-2026-042 of " in message
    assert "not signed" in message and "3 broken." in out


def test_an_unsigned_record_in_a_requerimiento_envelope_is_broken(signed_chain, tmp_path):
    from verifactu.envelopes import build_requerimiento_envelope
    from verifactu.xml import Obligado

    first, second = BillingRecord.objects.filter(chain=signed_chain).order_by("position")
    envelope = build_requerimiento_envelope(
        Obligado(signed_chain.issuer_name, signed_chain.issuer_nif),
        [first.exported_xml, second.xml],
        ref_requerimiento="R-2026-1",
    )
    _, message = verify_fails("--file", write(tmp_path, "requerimiento.xml", envelope))
    assert "requerimiento.xml item 2 (RegistroAlta F-2026-043 of" in message
    assert "not signed" in message


def test_a_second_primer_evento_in_a_file_is_broken(signed_chain, tmp_path):
    from lxml import etree

    path = event_log_file(signed_chain, tmp_path)
    root = etree.parse(path).getroot()
    root.append(etree.fromstring(etree.tostring(root[0])))  # the 01 again, PrimerEvento=S
    _, message = verify_fails("--file", write(tmp_path, "eventos.xml", etree.tostring(root)))
    assert "item 2 (RegistroEvento 01" in message
    assert "PrimerEvento=S, but an event of its chain precedes it in the file" in message


def test_a_file_is_not_verified_without_a_readable_ca_bundle(signed_chain, tmp_path, settings):
    """Fail closed: without the bundle, a self-made key would pass the digest check."""
    path = event_log_file(signed_chain, tmp_path)
    settings.VERIFACTU_SIGNATURE_CA_FILE = str(tmp_path / "missing.pem")
    _, message = verify_fails("--file", path)
    assert "VERIFACTU_SIGNATURE_CA_FILE" in message and "cannot be read" in message
    settings.VERIFACTU_SIGNATURE_CA_FILE = ""
    assert "VERIFACTU_SIGNATURE_CA_FILE" in verify_fails("--file", path)[1]


def test_a_file_without_records_or_events_is_an_error(tmp_path):
    _, message = verify_fails("--file", write(tmp_path, "otro.xml", "<Otro/>"))
    assert "holds no RegistroEvento nor billing record" in message


def test_a_requerimiento_envelope_verifies_offline(signed_chain, tmp_path):
    from verifactu.envelopes import build_requerimiento_envelope
    from verifactu.xml import Obligado

    records = BillingRecord.objects.filter(chain=signed_chain).order_by("position")
    envelope = build_requerimiento_envelope(
        Obligado(signed_chain.issuer_name, signed_chain.issuer_nif),
        [record.exported_xml for record in records],
        ref_requerimiento="R-2026-1",
    )
    path = write(tmp_path, "requerimiento.xml", envelope)
    assert "0 events, 2 records, 2 signed, 0 broken." in verify("--file", path)
