"""Joining the quarter close's part files into one ZIP (transfers.zipjoin): what zipfile reads
back, the checks that refuse a damaged part or a wrong directory, and memory that does not
grow with the number of members."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from transfers import zipjoin


def make_part(path: Path, first: int, count: int, *, stored: bool = False) -> dict[str, bytes]:
    members = {
        f"B{n:08d}/registros/F2026-{n:06d}-alta.xml": f"<r n='{n}'>{'x' * (n % 97)}</r>".encode()
        for n in range(first, first + count)
    }
    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return members


def join(target: Path, parts: list[Path], index: bytes = b"NIF;Nombre\r\n") -> None:
    with zipjoin.open_joined(target) as archive:
        archive.writestr("contribuyentes.csv", index)
        for part in parts:
            zipjoin.append_raw(archive, part)
    zipjoin.check_joined(target, archive.filelist)


def parts_of(tmp_path: Path, sizes: list[int], **kwargs) -> tuple[list[Path], dict[str, bytes]]:
    paths, members, first = [], {}, 0
    for number, size in enumerate(sizes):
        path = tmp_path / f"books-{number:05d}.zip"
        members.update(make_part(path, first, size, **kwargs))
        paths.append(path)
        first += size
    return paths, members


def test_the_joined_zip_holds_every_members_bytes_in_the_parts_order(tmp_path):
    parts, members = parts_of(tmp_path, [3, 1, 5])
    parts.append(tmp_path / "pdf-00000-00000.zip")
    members.update(make_part(parts[-1], 100, 2, stored=True))
    join(tmp_path / "joined.zip", parts)
    with zipfile.ZipFile(tmp_path / "joined.zip") as joined:
        assert joined.testzip() is None
        assert joined.namelist() == ["contribuyentes.csv", *members]
        assert {name: joined.read(name) for name in members} == members
        assert joined.read("contribuyentes.csv") == b"NIF;Nombre\r\n"


def test_offsets_and_counts_past_the_zip32_limits_are_written_and_checked_as_zip64(
    tmp_path, monkeypatch
):
    """A full quarter with its PDFs passes 4 GiB and 65,535 members: the limits are lowered so
    that the ZIP64 end record and offsets are written (by zipfile) and read (by the check)."""
    parts, members = parts_of(tmp_path, [40, 40])
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 2_000)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 50)
    join(tmp_path / "joined.zip", parts)
    raw = (tmp_path / "joined.zip").read_bytes()
    assert zipfile.stringEndArchive64 in raw and b"\xff\xff\xff\xff" in raw
    with zipfile.ZipFile(tmp_path / "joined.zip") as joined:
        assert joined.testzip() is None
        assert {name: joined.read(name) for name in members} == members
        assert max(info.header_offset for info in joined.infolist()) > 2_000


def test_a_part_with_a_damaged_member_is_refused_naming_it(tmp_path):
    parts, members = parts_of(tmp_path, [2, 2], stored=True)
    damaged = list(members)[3]
    raw = parts[1].read_bytes()
    at = raw.index(members[damaged])
    parts[1].write_bytes(raw[:at] + b"X" + raw[at + 1 :])
    with pytest.raises(zipfile.BadZipFile, match=damaged):
        join(tmp_path / "joined.zip", parts)


def test_a_member_not_where_the_joined_directory_lists_it_fails_the_check(tmp_path):
    parts, members = parts_of(tmp_path, [2, 3])
    target = tmp_path / "joined.zip"
    with zipjoin.open_joined(target) as archive:
        for part in parts:
            zipjoin.append_raw(archive, part)
    moved = list(members)[3]
    raw = target.read_bytes()
    at = raw.index(moved.encode()) - zipfile.sizeFileHeader  # its local header, copied
    assert raw[at : at + 4] == zipfile.stringFileHeader
    target.write_bytes(raw[:at] + b"PK\x03\x05" + raw[at + 4 :])
    with pytest.raises(zipfile.BadZipFile, match="is not where it is listed"):
        zipjoin.check_joined(target, archive.filelist)


def test_a_directory_listing_another_number_of_members_fails_the_check(tmp_path):
    parts, _ = parts_of(tmp_path, [2, 3])
    target = tmp_path / "joined.zip"
    join(target, parts)
    with zipjoin.open_joined(tmp_path / "other.zip") as other:
        zipjoin.append_raw(other, parts[0])
    with pytest.raises(zipfile.BadZipFile, match="another number of members"):
        zipjoin.check_joined(target, other.filelist)


def peak_joining(tmp_path: Path, parts: int) -> int:
    folder = tmp_path / f"{parts}"
    folder.mkdir()
    paths, _ = parts_of(folder, [500] * parts)
    tracemalloc.start()
    try:
        join(folder / "joined.zip", paths)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_joining_four_times_the_members_takes_no_more_memory(tmp_path):
    """zipfile alone keeps half a kilobyte per member to write the directory and as much
    again to read it back: 16 parts of 500 members would take ~4 MB more than 4 parts."""
    few, many = peak_joining(tmp_path, 4), peak_joining(tmp_path, 16)
    assert many < few * 1.25 + 200_000, (few, many)
