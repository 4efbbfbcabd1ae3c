"""Uploads of received e-invoices: one raw XML, or a ZIP read member by member.

The limits against zip bombs (declared sizes before inflating, real bytes while inflating,
the total, the number of members) are shrunk through ``Limits`` so that the tests stay small;
a bad member is its own error and never stops the others.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from einvoice.inbound import Format, Limits, read_upload

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "einvoice"
INVOICE = (FIXTURES / "peppol-base-example.xml").read_bytes()
CII_INVOICE = (FIXTURES / "cen-cii-example1.xml").read_bytes()
FACTURAE = (FIXTURES / "facturae-3.2.2-minimal.xml").read_bytes()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_raw_xml_upload_is_read_as_one_result():
    (result,) = read_upload(FACTURAE, "application/xml; charset=utf-8")

    assert result.ok
    assert result.documents[0].number == "20260001"


def test_a_zip_with_two_good_files_and_one_bad_gives_two_documents_and_one_error():
    results = read_upload(
        zip_of({"a.xml": INVOICE, "broken.xml": b"<Invoice", "b.xml": CII_INVOICE}),
        "application/zip",
    )

    assert [result.name for result in results] == ["a.xml", "broken.xml", "b.xml"]
    assert [result.ok for result in results] == [True, False, True]
    assert results[0].documents[0].format is Format.UBL
    assert results[2].documents[0].format is Format.CII
    assert results[1].documents == ()
    assert [finding.rule for finding in results[1].errors] == ["XML"]


def test_a_member_declaring_more_than_the_limit_is_refused_without_being_inflated(monkeypatch):
    bomb = zip_of({"bomb.xml": b"<a>" + b" " * 2_000_000 + b"</a>", "ok.xml": FACTURAE})
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    results = read_upload(bomb, "application/zip", Limits(max_file_bytes=100_000))

    assert [finding.rule for finding in results[0].errors] == ["INBOUND-SIZE"]
    assert results[1].ok
    assert opened == ["ok.xml"]


def _lie_about_sizes(archive: bytes, name: bytes, size: int) -> bytes:
    """The ZIP with ``name``'s uncompressed size rewritten to ``size`` in both headers."""
    data = bytearray(archive)
    local = 0
    while True:
        name_length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, size)
            break
        compressed = struct.unpack_from("<I", data, local + 18)[0]
        extra = struct.unpack_from("<H", data, local + 28)[0]
        local += 30 + name_length + extra + compressed
    central = data.index(b"PK\x01\x02")
    while data[central : central + 4] == b"PK\x01\x02":
        name_length, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, size)
        central += 46 + name_length + extra + comment
    return bytes(data)


def test_a_member_lying_about_its_size_is_stopped_while_inflating():
    honest = zip_of({"liar.xml": b"<a>" + b" " * 500_000 + b"</a>", "ok.xml": FACTURAE})
    lying = _lie_about_sizes(honest, b"liar.xml", 100)
    results = read_upload(lying, "application/zip", Limits(max_file_bytes=100_000))

    assert results[0].documents == ()
    assert results[0].errors
    assert results[1].ok


def test_members_adding_up_past_the_total_limit_are_refused_one_by_one():
    limits = Limits(max_file_bytes=len(FACTURAE) + 10, max_total_bytes=2 * len(FACTURAE) + 10)
    results = read_upload(
        zip_of({"1.xml": FACTURAE, "2.xml": FACTURAE, "3.xml": FACTURAE}), "application/zip", limits
    )

    assert [result.ok for result in results] == [True, True, False]
    assert [finding.rule for finding in results[2].errors] == ["INBOUND-ZIP-LIMIT"]


def test_a_zip_with_too_many_members_is_refused_whole():
    results = read_upload(
        zip_of({f"{index}.xml": FACTURAE for index in range(4)}),
        "application/zip",
        Limits(max_members=3),
    )

    assert len(results) == 1
    assert results[0].documents == ()
    assert [finding.rule for finding in results[0].errors] == ["INBOUND-ZIP-LIMIT"]


def test_a_zip_inside_a_zip_and_a_climbing_name_are_refused_and_the_rest_read():
    inner = zip_of({"x.xml": FACTURAE})
    results = read_upload(
        zip_of(
            {
                "inner.zip": inner,
                "disguised.xml": inner,
                "../../etc/evil.xml": FACTURAE,
                "ok.xml": FACTURAE,
            }
        ),
        "application/zip",
    )

    assert [result.ok for result in results] == [False, False, False, True]
    assert all(
        finding.rule == "INBOUND-ZIP-MEMBER" for result in results[:3] for finding in result.errors
    )


def test_an_upload_that_is_neither_xml_nor_zip_is_refused():
    (not_zip,) = read_upload(b"PK\x03\x04 not really", "application/zip")
    (pdf,) = read_upload(b"%PDF-1.7", "application/pdf")

    assert [finding.rule for finding in not_zip.errors] == ["INBOUND-ZIP"]
    assert [finding.rule for finding in pdf.errors] == ["INBOUND-CONTENT-TYPE"]


def test_a_raw_xml_over_the_size_limit_is_refused_unread():
    (result,) = read_upload(FACTURAE, "application/xml", Limits(max_file_bytes=100))

    assert [finding.rule for finding in result.errors] == ["INBOUND-SIZE"]


def test_a_defect_while_mapping_one_member_does_not_stop_the_others(monkeypatch):
    def broken_mapping(root):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("einvoice.inbound.reader.read_cii", broken_mapping)
    results = read_upload(zip_of({"cii.xml": CII_INVOICE, "ubl.xml": INVOICE}), "application/zip")

    assert [result.ok for result in results] == [False, True]
    assert [finding.rule for finding in results[0].errors] == ["INBOUND-FAILED"]
    assert results[0].documents == ()


def test_an_empty_zip_is_one_error_not_an_empty_success():
    (result,) = read_upload(zip_of({}), "application/zip")

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == ["INBOUND-ZIP-EMPTY"]
