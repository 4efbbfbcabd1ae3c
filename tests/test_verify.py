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
