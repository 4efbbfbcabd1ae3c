"""The import contracts of pyproject.toml hold, and break on a forbidden import or a new cycle.

The violations are added to a copy of the product's Python files in a temporary directory, so
the test shows that `lint-imports` (what `make lint` runs) fails on exactly the contract each
one breaks, including when the import sits inside a function.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}
NOT_PRODUCT = {"tests"}


def _lint_imports() -> str:
    beside = Path(sys.executable).parent / "lint-imports"
    return str(beside) if beside.exists() else (shutil.which("lint-imports") or "lint-imports")


def _lint(root: Path) -> tuple[int, dict[str, str], str]:
    """Run lint-imports in ``root``; return its exit code, each contract's status, the output."""
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [_lint_imports(), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    statuses = {}
    for line in output.splitlines():
        match = re.match(r"^(?P<name>.+?) (?P<status>KEPT|BROKEN)\b", line)
        if match and match["name"] in CONTRACTS.values():
            statuses[match["name"]] = match["status"]
    return done.returncode, statuses, output


def _copy_product(tmp_path: Path) -> Path:
    """The product packages' Python files and pyproject.toml, in a fresh directory."""
    root = tmp_path / "tree"
    root.mkdir()

    def not_python(folder: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name == "__pycache__"
            or (not name.endswith(".py") and not os.path.isdir(os.path.join(folder, name)))
        }

    for package in CONFIG["root_packages"]:
        shutil.copytree(REPO / package, root / package, ignore=not_python)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_contract():
    code, statuses, output = _lint(REPO)

    assert code == 0, output
    assert statuses == {name: "KEPT" for name in CONTRACTS.values()}, output


def test_every_product_package_is_in_the_graph_the_layers_and_the_cycle_contract():
    packages = {
        path.parent.name
        for path in REPO.glob("*/__init__.py")
        if path.parent.name not in NOT_PRODUCT
    }
    contracts = {contract["id"]: contract for contract in CONFIG["contracts"]}
    layered = {
        app.strip() for layer in contracts["layers"]["layers"] for app in re.split(r"[|:]", layer)
    }

    assert set(CONFIG["root_packages"]) == packages
    assert layered == packages
    assert set(contracts["acyclic"]["ancestors"]) == packages


VIOLATIONS = {
    "factu imports api inside a function": (
        {"factu/probe.py": "def probe():\n    from api import models\n\n    return models\n"},
        {"layers", "no-api"},
    ),
    "verifactu imports invoicing": (
        {"verifactu/probe.py": "from invoicing import services\n"},
        {"layers", "verifactu-alone"},
    ),
    "clients imports verifactu, its independent sibling layer": (
        {"clients/probe.py": "def probe():\n    from verifactu import huella\n"},
        {"layers"},
    ),
    "transfers imports desk": (
        {"transfers/probe.py": "def probe():\n    import desk.services\n"},
        {"layers"},
    ),
    "the simulator imports the engine": (
        {"verifactu/simulator/probe.py": "def probe():\n    from verifactu import huella\n"},
        {"simulator"},
    ),
    "a cycle between two modules of clients": (
        {
            "clients/probe_a.py": "def probe():\n    from clients import probe_b\n",
            "clients/probe_b.py": "from clients import probe_a\n",
        },
        {"acyclic"},
    ),
    "a new cycle between two modules of verifactu": (
        {"verifactu/huella.py": "\n\ndef probe():\n    from verifactu import records\n"},
        {"acyclic"},
    ),
    "a new cycle in a subpackage of api": (
        {"api/v1/serializers.py": "\n\ndef probe():\n    from api.v1 import views\n"},
        {"acyclic"},
    ),
}


@pytest.mark.parametrize("violation", VIOLATIONS, ids=list(VIOLATIONS))
def test_a_forbidden_import_or_a_new_cycle_fails_the_lint(tmp_path, violation):
    files, broken = VIOLATIONS[violation]
    root = _copy_product(tmp_path)
    assert _lint(root)[0] == 0
    for relative, text in files.items():
        path = root / relative
        path.write_text((path.read_text() if path.exists() else "") + text)

    code, statuses, output = _lint(root)

    assert code != 0, output
    assert statuses == {
        name: "BROKEN" if key in broken else "KEPT" for key, name in CONTRACTS.items()
    }, output


def test_no_cycle_is_ignored():
    """Every app is acyclic as it stands: the cycle contract cuts no cycle at an ignored import."""
    contracts = {contract["id"]: contract for contract in CONFIG["contracts"]}

    assert contracts["acyclic"].get("ignore_imports", []) == []


def test_an_ignored_cycle_import_that_is_gone_fails_the_lint(tmp_path):
    """A cycle cut at an ignored import must take the ignore line with it when it goes."""
    root = _copy_product(tmp_path)
    config = root / "pyproject.toml"
    skip = 'skip_descendants = ["*.migrations"]\n'
    config.write_text(
        config.read_text().replace(
            skip, skip + 'ignore_imports = ["verifactu.tasks -> verifactu.submission"]\n'
        )
    )
    assert _lint(root)[0] == 0, "the ignored import exists"
    tasks = root / "verifactu" / "tasks.py"
    tasks.write_text(re.sub(r", submission\n", "\n", tasks.read_text(), count=1))

    code, _, output = _lint(root)

    assert code != 0, output
    assert "verifactu.tasks -> verifactu.submission" in output, output


def test_make_lint_and_ci_run_the_contracts():
    makefile = (REPO / "Makefile").read_text()
    lint_recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    ci = (REPO / ".ci" / "run").read_text()

    assert lint_recipe and "lint-imports" in lint_recipe[1]
    assert re.search(r"^make lint$", ci, re.MULTILINE)
