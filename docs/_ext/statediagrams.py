"""Sphinx extension: state diagrams drawn from the ``_state.py`` tables.

``.. state-diagram:: smtp`` (or ``pop3``, ``imap``) reads the protocol's
transition table at build time — the same dict the connection consults — and
renders

* a Graphviz diagram (through :mod:`sphinx.ext.graphviz`; when the ``dot``
  program is missing the DOT source is shown instead, so the build still
  succeeds and says what it would draw), and
* the full table, one row per ``(state, input, outcome)``, so every edge can
  be checked against the RFC section cited beside it in ``_state.py``.

Edges between the same two states are merged into one arrow whose label
lists the inputs; inputs that leave the state unchanged are listed per state
under the diagram instead of drawn as loops (SMTP has dozens: NOOP, RSET,
VRFY ... in every state).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.ext.graphviz import graphviz

Edge = tuple[str, str, str, str]  # (from, input, outcome, to)


def _name(state: Any) -> str:
    return str(getattr(state, "name", state))


def smtp_edges() -> list[Edge]:
    from mailproto.smtp import TRANSITIONS

    edges = []
    for (state, verb), t in TRANSITIONS.items():
        label = verb.value
        edges.append((_name(state), label, "2xx", _name(t.ok)))
        edges.append((_name(state), label, "4xx/5xx", _name(t.fail)))
        if t.more is not None:
            edges.append((_name(state), label, "3xx", _name(t.more)))
    return edges


def pop3_edges() -> list[Edge]:
    from mailproto.pop3 import TRANSITIONS, WHILE_PENDING

    edges = [
        (_name(state), verb, _name(result), _name(to))
        for (state, verb, result), to in TRANSITIONS.items()
    ]
    edges += [
        (_name(state), verb, "sent, awaiting reply", _name(to))
        for (state, verb), to in WHILE_PENDING.items()
    ]
    return edges


def imap_edges() -> list[Edge]:
    from mailproto.imap._state import ALLOWED_STATES, TRANSITIONS

    edges = [
        (_name(state), command, status, _name(to))
        for (state, command, status), to in TRANSITIONS.items()
    ]
    moving = {(f, i) for f, i, _o, t in edges if f != t}
    for command, states in ALLOWED_STATES.items():
        for state in states:
            if (_name(state), command) not in moving:
                edges.append((_name(state), command, "any", _name(state)))
    return edges


TABLES = {"smtp": smtp_edges, "pop3": pop3_edges, "imap": imap_edges}
SOURCES = {
    "smtp": "mailproto.smtp._state.TRANSITIONS",
    "pop3": "mailproto.pop3._state.TRANSITIONS and WHILE_PENDING",
    "imap": "mailproto.imap._state.TRANSITIONS and ALLOWED_STATES",
}


def to_dot(name: str, edges: Iterable[Edge]) -> str:
    """DOT source: one arrow per (from, to) pair, self-loops left out."""
    # (from, to) -> input -> outcomes, so "QUIT 2xx" and "QUIT 4xx/5xx" to the
    # same state become one line "QUIT 2xx, 4xx/5xx".
    arrows: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(dict)
    states: list[str] = []
    for f, inp, out, t in edges:
        for s in (f, t):
            if s not in states:
                states.append(s)
        if f != t:
            outcomes = arrows[(f, t)].setdefault(inp, [])
            if out not in outcomes:
                outcomes.append(out)
    labels = {
        key: [f"{inp} {', '.join(outs)}" for inp, outs in by_input.items()]
        for key, by_input in arrows.items()
    }
    lines = [
        f"digraph {name} {{",
        '  rankdir=LR; node [shape=box, style=rounded, fontname="sans-serif", fontsize=10];',
        '  edge [fontname="sans-serif", fontsize=8];',
    ]
    lines += [f'  "{s}";' for s in states]
    for (f, t), texts in labels.items():
        label = "\\n".join(texts)
        lines.append(f'  "{f}" -> "{t}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]], widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body
    for target, cells in [(head, header), *((body, r) for r in rows)]:
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=text)
            row += entry
        target += row
    return table


class StateDiagram(Directive):
    """``.. state-diagram:: smtp|pop3|imap``"""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        env: Any = self.state.document.settings.env
        proto = self.arguments[0].strip().lower()
        if proto not in TABLES:
            return [
                self.state_machine.reporter.error(
                    f"state-diagram: unknown protocol {proto!r} (one of {', '.join(TABLES)})",
                    line=self.lineno,
                )
            ]
        edges = sorted(set(TABLES[proto]()))
        dot = to_dot(proto, edges)
        out: list[nodes.Node] = []
        if shutil.which(env.config.graphviz_dot):
            node = graphviz()
            node["code"] = dot
            node["options"] = {"docname": env.docname}
            node["alt"] = f"{proto.upper()} state diagram"
            out.append(node)
        else:
            para = nodes.paragraph(
                text="(Graphviz is not installed where these docs were built: the DOT "
                "source of the diagram follows.)"
            )
            out += [para, nodes.literal_block(dot, dot)]
        out.append(nodes.paragraph(text=f"Generated from {SOURCES[proto]}."))
        moving = [[f, i, o, t] for f, i, o, t in edges if f != t]
        out.append(_table(["From", "Input", "Outcome", "To"], moving, [20, 25, 20, 20]))
        staying: dict[str, list[str]] = defaultdict(list)
        for f, i, _o, t in edges:
            if f == t and i not in staying[f]:
                staying[f].append(i)
        if staying:
            out.append(nodes.paragraph(text="Inputs that leave the state unchanged:"))
            out.append(
                _table(
                    ["State", "Inputs"],
                    [[s, ", ".join(sorted(v))] for s, v in staying.items()],
                    [20, 80],
                )
            )
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("state-diagram", StateDiagram)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
