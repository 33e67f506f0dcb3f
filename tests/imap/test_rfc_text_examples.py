"""Every Example: block of the IMAP RFCs, parsed and serialised back.

The blocks live in :data:`tests.imap.rfc_examples.TEXT_EXAMPLES`, as the RFCs
print them.  Each block is cut into the client's stream (``C:`` lines) and the
server's stream (``S:`` lines), each stream is framed by the fragmentizer
(so literals announced by ``{n}`` swallow the lines that follow, exactly as
on the wire), and every framed message is checked:

* it parses;
* ``parse(serialize(parse(x))) == parse(x)``;
* ``serialize(parse(x)) == x`` byte for byte, unless the block marks the
  message's first line with ``C~`` / ``S~`` (a legal spelling our serialiser
  writes differently; the comment above says which).

``A:`` lines are the client's SASL answers during AUTHENTICATE; they are
checked with the AUTHENTICATE-data grammar instead.  ``{SP}`` stands for a
trailing space the RFC prose says is on the wire (``+ `` in RFC 4959).
"""

from __future__ import annotations

import base64
from typing import NamedTuple

import pytest

from mailproto._sentinels import NEED_DATA
from mailproto.imap import codec
from mailproto.imap._fragmentizer import Fragmentizer, RawMessage
from mailproto.imap._parser import parse_authenticate_data
from tests.imap.rfc_examples import TEXT_EXAMPLES, TextExample


class Case(NamedTuple):
    """One framed message out of an example block."""

    side: str  # "C", "S" or "A"
    wire: bytes
    canonical: bool


def split(example: TextExample) -> list[Case]:
    """Cut a block into its client messages, server messages and SASL lines."""
    streams: dict[str, list[tuple[bytes, bool]]] = {"C": [], "S": []}
    cases: list[Case] = []
    for raw_line in example.text.splitlines():
        # "{SP}" spells a trailing space the RFC says is there ("+ ").
        line = raw_line.strip(" ").replace("{SP}", " ")
        if not line or line.startswith("#"):
            continue
        marker, sep, rest = line[:2], line[2:3], line[3:]
        if marker[0] not in "CSA" or marker[1] not in ":~" or sep not in (" ", ""):
            raise AssertionError(f"bad example line in RFC {example.rfc}: {raw_line!r}")
        if marker[0] == "A":
            cases.append(Case("A", rest.encode() + b"\r\n", True))
        else:
            streams[marker[0]].append((rest.encode("utf-8"), marker[1] == ":"))
    for side, lines in streams.items():
        if not lines:
            continue
        data = b"".join(text + b"\r\n" for text, _ in lines)
        # The canonical flag of the line each message starts on.
        starts: dict[int, bool] = {}
        offset = 0
        for text, canonical in lines:
            starts[offset] = canonical
            offset += len(text) + 2
        fragmentizer = Fragmentizer()
        fragmentizer.receive_data(data)
        position = 0
        while position < len(data):
            message = fragmentizer.next_message()
            assert isinstance(message, RawMessage), (
                f"RFC {example.rfc} §{example.section}: incomplete {side} stream at {position}"
            )
            wire = bytes(message)
            assert position in starts, f"message does not start on a line: {wire!r}"
            cases.append(Case(side, wire, starts[position]))
            position += len(wire)
        assert fragmentizer.next_message() is NEED_DATA
    return cases


def _params() -> list[object]:
    params: list[object] = []
    for example in TEXT_EXAMPLES:
        for n, case in enumerate(split(example)):
            ident = f"rfc{example.rfc}-{example.section}-{case.side}{n}"
            params.append(pytest.param(case, id=ident))
    return params


@pytest.mark.parametrize("case", _params())
def test_rfc_text_example(case: Case) -> None:
    if case.side == "A":
        # RFC 9051 §6.2.2: base64 or "*" on a line of its own.
        data = parse_authenticate_data(case.wire).data
        assert data is not None
        assert base64.b64encode(data) + b"\r\n" == case.wire
        return
    if case.side == "C":
        command = codec.parse_command(case.wire)
        again = codec.serialize_command(command)
        assert codec.parse_command(again) == command
    else:
        response = codec.parse_response(case.wire)
        again = codec.serialize_response(response)
        assert codec.parse_response(again) == response
    if case.canonical:
        assert again == case.wire
    else:
        # A stale "~" mark would hide a spelling change: keep them exact.
        assert again != case.wire


def test_every_block_has_both_sides_or_says_why() -> None:
    # A block whose lines were all mistyped as comments would test nothing.
    for example in TEXT_EXAMPLES:
        assert split(example), f"RFC {example.rfc} §{example.section} is empty"


def test_literal_lines_are_framed_not_parsed_as_commands() -> None:
    # The harness itself: RFC 3501 §6.3.11's {310} swallows the message lines.
    [append] = [e for e in TEXT_EXAMPLES if e.rfc == "3501" and e.section == "6.3.11"]
    commands = [c for c in split(append) if c.side == "C"]
    assert len(commands) == 1 and commands[0].wire.endswith(b"tomorrow?\r\n\r\n")


def test_every_named_rfc_has_its_examples() -> None:
    # The RFCs issue 7 names (RFC 3516 has no Example block; RFC 2971's text
    # was not available, see rfc_examples.py).
    named = {
        "3501", "9051", "7888", "7162", "5258", "5819", "6154", "2342", "5161",
        "9208", "4315", "6851", "4978", "4959", "2177", "3691", "5530", "8474",
        "8970",
    }  # fmt: skip
    assert named <= {e.rfc for e in TEXT_EXAMPLES}
    # §§6-7 of both base RFCs, section by section (the ones with examples).
    sections = {(e.rfc, e.section) for e in TEXT_EXAMPLES}
    for rfc, wanted in (
        ("3501", ("6.1.1", "6.2.2", "6.3.11", "6.4.8", "6.5.1", "7.1.5", "7.4.2", "7.5")),
        ("9051", ("6.1.1", "6.3.9.8", "6.3.13", "6.4.4.4", "6.4.9", "7.1", "7.5.2", "7.6")),
    ):
        for section in wanted:
            assert (rfc, section) in sections, (rfc, section)
