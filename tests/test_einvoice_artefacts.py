"""The vendored e-invoicing artefacts are the publishers' files, byte for byte, and local.

Each folder's README lists every file with its SHA-256; a file edited, added or dropped
without its README says so fails here. The same holds for the test fixtures.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from lxml import etree

from einvoice.artefacts import ARTEFACTS, XMLDSIG_URL

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "einvoice"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|(?:.*?\|)*? `(?P<sha256>[0-9a-f]{64})` \|", re.M)
FOLDERS = sorted(path.parent for path in ARTEFACTS.glob("*/README.md"))


def recorded(readme: Path) -> dict[str, str]:
    """The sums a README's table records, by file name relative to its folder."""
    return {row["file"]: row["sha256"] for row in ROW.finditer(readme.read_text())}


def present(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "README.md"
    }


def test_every_artefact_folder_is_documented():
    assert [folder.name for folder in FOLDERS] == sorted(
        path.name for path in ARTEFACTS.iterdir() if path.is_dir()
    )
    assert {folder.name for folder in FOLDERS} == {
        "cen-en16931",
        "facturae-3.2.2",
        "peppol-bis-3",
        "schxslt2",
        "ubl-2.1",
        "w3c-xmldsig",
    }


@pytest.mark.parametrize("folder", FOLDERS, ids=[folder.name for folder in FOLDERS])
def test_each_vendored_file_matches_its_recorded_sum(folder):
    readme = (folder / "README.md").read_text()

    assert "Source" in readme
    assert present(folder) == recorded(folder / "README.md")


def test_the_fixtures_match_their_recorded_sums():
    assert present(FIXTURES) == recorded(FIXTURES / "README.md")


def test_no_schema_imports_anything_remote_but_the_mapped_xmldsig():
    """Every import and include is a local file in the artefacts, except Facturae's xmldsig
    URL, which ``LocalArtefacts`` maps to the vendored W3C copy."""
    remote = []
    for schema in ARTEFACTS.rglob("*.xsd"):
        tree = etree.parse(str(schema), etree.XMLParser(no_network=True, resolve_entities=False))
        for location in tree.xpath(
            "//xs:import/@schemaLocation | //xs:include/@schemaLocation",
            namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
        ):
            if "://" in location:
                remote.append(location)
            else:
                assert (schema.parent / location).is_file(), (schema, location)

    assert remote == [XMLDSIG_URL]
