"""Sphinx configuration for the mailproto documentation."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import mailproto  # noqa: E402

project = "mailproto"
author = "The mailproto developers"
copyright = "2026, The mailproto developers"
release = mailproto.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
    "conformance",
    "statediagrams",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False
exclude_patterns = ["_build", "_ext"]
html_theme = "furo"
html_title = f"mailproto {release}"
html_static_path: list[str] = []
