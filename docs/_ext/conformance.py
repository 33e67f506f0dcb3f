"""Sphinx extension: render docs/conformance.csv as tables, one per RFC.

The CSV is the single machine-readable source of what mailproto implements of
each RFC; ``tests/core/test_conformance.py`` checks that every row marked
``implemented`` names tests that exist.  This extension turns the same file
into ``conformance.rst``'s tables at build time, so docs and checks cannot
drift apart.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

STATUSES = ("implemented", "partial", "not implemented", "not applicable")


def load_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            {k: (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(f)
            if row.get("rfc", "").strip() and not row["rfc"].lstrip().startswith("#")
        ]


class ConformanceTable(Directive):
    """``.. conformance-table::`` renders the whole CSV."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env: Any = self.state.document.settings.env
        path = Path(env.srcdir) / "conformance.csv"
        env.note_dependency(str(path))
        by_rfc: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in load_rows(path):
            by_rfc[row["rfc"]].append(row)
        out: list[nodes.Node] = []
        for rfc in sorted(by_rfc, key=lambda r: int(r) if r.isdigit() else 0):
            section = nodes.section(ids=[f"rfc-{rfc}"])
            section += nodes.title(text=f"RFC {rfc}")
            table = nodes.table()
            group = nodes.tgroup(cols=4)
            table += group
            for width in (15, 40, 15, 30):
                group += nodes.colspec(colwidth=width)
            head = nodes.thead()
            group += head
            head += self._row(["Section", "Feature", "Status", "Tests"])
            body = nodes.tbody()
            group += body
            for row in by_rfc[rfc]:
                tests = row["tests"].split()
                body += self._row(
                    [row["section"], row["feature"], row["status"], "\n".join(tests) or "—"]
                )
            section += table
            out.append(section)
        return out

    @staticmethod
    def _row(cells: list[str]) -> nodes.row:
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            for line in text.split("\n"):
                entry += nodes.paragraph(text=line)
            row += entry
        return row


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("conformance-table", ConformanceTable)
    return {"parallel_read_safe": True, "version": "1"}
