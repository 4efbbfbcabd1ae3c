"""docs/SECURITY.md stays true: every test it names as the proof of a defence exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "SECURITY.md"


def named_tests() -> list[tuple[str, str]]:
    """(module path, test name) of every test a row names. In a cell, ``::name`` belongs to
    the module last named before it (``tests/x.py::a``, ``::b``)."""
    found = []
    for line in DOC.read_text().splitlines():
        if not line.startswith("| "):
            continue
        module = None
        for match in re.finditer(r"`((?:tests/)?test_\w+\.py|tests/\w+\.py)?::(test_\w+)", line):
            if match.group(1):
                name = match.group(1)
                module = name if name.startswith("tests/") else f"tests/{name}"
            assert module, f"a test without its module in: {line}"
            found.append((module, match.group(2)))
    return found


def test_every_test_the_security_page_names_exists():
    names = named_tests()
    assert len(names) > 60
    missing = []
    for module, test in names:
        tree = ast.parse((ROOT / module).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if test not in defined:
            missing.append(f"{module}::{test}")
    assert missing == []
