"""The RFC conformance index (docs/conformance.csv) only claims what tests prove.

Every row marked ``implemented`` must name at least one test, and every test
named anywhere in the index must exist: the file, and the test function (or
class) in it, found by parsing the file.
"""

from __future__ import annotations

import ast
import csv
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INDEX = ROOT / "docs" / "conformance.csv"
STATUSES = {"implemented", "partial", "not implemented", "not applicable"}


def rows() -> list[dict[str, str]]:
    with INDEX.open(newline="", encoding="utf-8") as f:
        return [
            {k: (v or "").strip() for k, v in r.items()}
            for r in csv.DictReader(f)
            if (r.get("rfc") or "").strip() and not r["rfc"].lstrip().startswith("#")
        ]


@cache
def _defined_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(names)


def test_exists(node_id: str) -> bool:
    path, _, name = node_id.partition("::")
    file = ROOT / path
    if not (file.is_file() and path.startswith("tests/") and name):
        return False
    return name.split("[")[0] in _defined_names(file)


test_exists.__test__ = False  # type: ignore[attr-defined]


def test_index_is_well_formed() -> None:
    all_rows = rows()
    assert len(all_rows) >= 5
    for row in all_rows:
        assert row["rfc"].isdigit(), row
        assert row["status"] in STATUSES, row
        assert row["feature"], row


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"RFC{r['rfc']}-{r['section']}")
def test_every_claim_names_existing_tests(row: dict[str, str]) -> None:
    tests = row["tests"].split()
    if row["status"] == "implemented":
        assert tests, f"RFC {row['rfc']} §{row['section']} is 'implemented' but names no test"
    missing = [t for t in tests if not test_exists(t)]
    assert missing == []


def test_the_checker_rejects_a_missing_test() -> None:
    assert test_exists("tests/core/test_conformance.py::test_index_is_well_formed")
    assert not test_exists("tests/core/test_conformance.py::test_no_such_test")
    assert not test_exists("tests/core/no_such_file.py::test_x")
    assert not test_exists("tests/core/test_conformance.py")
