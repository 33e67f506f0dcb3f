"""The core stays I/O-free: no module of mailproto imports an I/O or
concurrency module.  Checked statically over the source (so it covers modules
no test happens to import) and dynamically for the modules that import cleanly.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import mailproto

FORBIDDEN = {"socket", "ssl", "asyncio", "selectors", "threading", "select", "trio"}
SRC = Path(mailproto.__file__).resolve().parent


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_source_file_imports_io_modules() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 5
    offenders = {
        str(f.relative_to(SRC)): sorted(_imported_roots(f) & FORBIDDEN)
        for f in files
        if _imported_roots(f) & FORBIDDEN
    }
    assert offenders == {}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import socket\nfrom asyncio import streams\nimport os.path\n")
    assert _imported_roots(bad) & FORBIDDEN == {"socket", "asyncio"}


# mailproto.testing is the hypothesis-based kit for users' test suites: it
# imports hypothesis, which loads asyncio (and so socket, ssl, selectors) for
# its own async test support.  Its *source* is still checked statically above;
# only the dynamic check, which would judge hypothesis, leaves it out.
TEST_KIT = "mailproto.testing"


def _module_names() -> list[str]:
    names = []
    for f in sorted(SRC.rglob("*.py")):
        parts = list(f.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if name != TEST_KIT and not name.startswith(TEST_KIT + "."):
            names.append(name)
    return names


def test_importing_every_module_loads_no_io_module() -> None:
    # A fresh interpreter, so nothing the test runner loaded counts; module
    # names come from the file list (pkgutil itself would load threading).
    # attrs, the one runtime dependency, uses threading.local internally: it is
    # imported first so that only what mailproto itself pulls in is judged.
    code = (
        "import importlib, sys, attrs\n"
        "before = set(sys.modules)\n"
        f"for name in {_module_names()!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted((set(sys.modules) - before) & set({sorted(FORBIDDEN)!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_package_walk_finds_modules() -> None:
    names = [m.name for m in pkgutil.walk_packages(mailproto.__path__, "mailproto.")]
    assert "mailproto._buffer" in names
    importlib.import_module("mailproto.limits")
