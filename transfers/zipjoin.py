"""Join ZIP files into one without reading their members again, in flat memory.

The quarter close (:mod:`transfers.quarter_close`) writes its parts as ZIP files and joins
them: each part's local entries (headers and compressed bytes) are copied as they are, and
the joined central directory lists them at their moved offsets.

Why not :mod:`zipfile` alone: a ``ZipFile`` being written keeps a ``ZipInfo`` (about half a
kilobyte) for every member until it is closed, and one being read loads its whole central
directory first. A gestoría's quarter has ~165,000 members (a billing record's XML each):
~80 MiB to write the joined directory and ~90 MiB more to read it back for the check, in
the one worker that joins. Here zipfile still writes every byte of the directory, but the
list it writes from (:class:`JoinedDirectory`) reads the parts' directories back one part
at a time; and the check (:func:`check_joined`) walks the joined directory entry by entry
against them. This relies on how CPython's ``ZipFile`` writes its central directory
(``_write_end_record`` iterates ``filelist`` and takes its ``len``; Python 3.11 as pinned)
and on its parsers of the end record and of ZIP64 extras; ``tests/test_zip_joining.py`` and
``tests/test_quarter_close.py`` read the joined ZIPs back with zipfile's own reader.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

COPY_BLOCK = 1 << 20
UTF8_NAME = 0x800  # general purpose flag bit 11: the name is UTF-8


@dataclass(frozen=True)
class _Part:
    path: Path
    offset: int  # where its first local entry starts in the joined file
    count: int


class JoinedDirectory:
    """The ``filelist`` of a ZIP being joined: the members written into it directly, then
    each appended part's members, read back from that part's directory when iterated."""

    def __init__(self) -> None:
        self.own: list[zipfile.ZipInfo] = []
        self.parts: list[_Part] = []
        self.count = 0

    def append(self, info: zipfile.ZipInfo) -> None:
        """zipfile adds what ``writestr`` wrote; written before any part (see :func:`join`)."""
        if self.parts:
            raise RuntimeError("members written directly go before the parts")
        self.own.append(info)

    def add_part(self, path: Path, offset: int, count: int) -> None:
        self.parts.append(_Part(path, offset, count))
        self.count += count

    def __len__(self) -> int:
        return len(self.own) + self.count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        yield from self.own
        for part in self.parts:
            with zipfile.ZipFile(part.path) as source:
                members = source.infolist()
            if len(members) != part.count:
                raise zipfile.BadZipFile(f"{part.path.name} changed while it was joined")
            for member in members:
                member.header_offset += part.offset
                yield member


def open_joined(target: Path) -> zipfile.ZipFile:
    """A new ZIP at ``target`` to write members into, then :func:`append_raw` parts."""
    archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)
    archive.filelist = JoinedDirectory()
    return archive


def append_raw(archive: zipfile.ZipFile, part: Path) -> None:
    """Append every member of the ZIP ``part`` to ``archive`` (from :func:`open_joined`) as
    it is: its members' CRCs are checked first, its local entries copied whole, and its
    directory is read again only when the joined one is written."""
    with zipfile.ZipFile(part) as source:
        damaged = source.testzip()
        if damaged is not None:
            raise zipfile.BadZipFile(f"{part.name}: {damaged} is damaged")
        count, length = len(source.infolist()), source.start_dir
    offset = archive.start_dir
    archive.fp.seek(offset)
    with part.open("rb") as data:
        remaining = length
        while remaining:
            block = data.read(min(remaining, COPY_BLOCK))
            if not block:
                raise zipfile.BadZipFile(f"{part.name} is shorter than its directory says")
            archive.fp.write(block)
            remaining -= len(block)
    archive.filelist.add_part(part, offset, count)
    archive.start_dir = offset + length
    archive._didModify = True


def check_joined(path: Path, directory: JoinedDirectory) -> None:
    """Raise :class:`zipfile.BadZipFile` unless the ZIP at ``path`` lists exactly
    ``directory``'s members, in order, with their CRCs, sizes and offsets, and a local
    header of the same name at each offset (the members' data were checked in their parts).

    Hand-written over zipfile's struct layouts because zipfile's reader holds the whole
    directory in memory (see the module's docstring); one entry is held at a time here.
    """
    with path.open("rb") as fp:
        end = zipfile._EndRecData(fp)
        if end is None:
            raise zipfile.BadZipFile("the joined ZIP has no end of central directory")
        if end[zipfile._ECD_ENTRIES_TOTAL] != len(directory):
            raise zipfile.BadZipFile("the joined ZIP lists another number of members")
        position = end[zipfile._ECD_OFFSET]
        for expected in directory:
            found, position = _central_entry(fp, position)
            if (found.filename, found.CRC, found.compress_size, found.header_offset) != (
                expected.filename,
                expected.CRC,
                expected.compress_size,
                expected.header_offset,
            ):
                raise zipfile.BadZipFile(f"{expected.filename} is listed wrong")
            if _local_name(fp, found.header_offset) != expected.filename:
                raise zipfile.BadZipFile(f"{expected.filename} is not where it is listed")


def _central_entry(fp, position: int) -> tuple[zipfile.ZipInfo, int]:
    """The central directory entry at ``position``, and where the next one starts."""
    fp.seek(position)
    head = fp.read(zipfile.sizeCentralDir)
    if len(head) != zipfile.sizeCentralDir:
        raise zipfile.BadZipFile("the joined central directory is truncated")
    fields = struct.unpack(zipfile.structCentralDir, head)
    if fields[zipfile._CD_SIGNATURE] != zipfile.stringCentralDir:
        raise zipfile.BadZipFile("bad magic number in the joined central directory")
    name_length = fields[zipfile._CD_FILENAME_LENGTH]
    extra_length = fields[zipfile._CD_EXTRA_FIELD_LENGTH]
    name = fp.read(name_length)
    info = zipfile.ZipInfo(
        name.decode("utf-8" if fields[zipfile._CD_FLAG_BITS] & UTF8_NAME else "cp437")
    )
    info.extra = fp.read(extra_length)
    info.CRC = fields[zipfile._CD_CRC]
    info.compress_size = fields[zipfile._CD_COMPRESSED_SIZE]
    info.file_size = fields[zipfile._CD_UNCOMPRESSED_SIZE]
    info.header_offset = fields[zipfile._CD_LOCAL_HEADER_OFFSET]
    info._decodeExtra()  # the ZIP64 sizes and offset, where they did not fit
    following = (
        position
        + zipfile.sizeCentralDir
        + name_length
        + extra_length
        + fields[zipfile._CD_COMMENT_LENGTH]
    )
    return info, following


def _local_name(fp, offset: int) -> str:
    fp.seek(offset)
    head = fp.read(zipfile.sizeFileHeader)
    if len(head) != zipfile.sizeFileHeader:
        return ""
    fields = struct.unpack(zipfile.structFileHeader, head)
    if fields[zipfile._FH_SIGNATURE] != zipfile.stringFileHeader:
        return ""
    name = fp.read(fields[zipfile._FH_FILENAME_LENGTH])
    flags = fields[zipfile._FH_GENERAL_PURPOSE_FLAG_BITS]
    return name.decode("utf-8" if flags & UTF8_NAME else "cp437")
