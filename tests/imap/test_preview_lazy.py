"""FETCH PREVIEW with the LAZY modifier (RFC 8970 §4, §6)."""

from __future__ import annotations

import pytest

from mailproto.errors import LocalProtocolError
from mailproto.imap._parser import ParseError
from mailproto.imap.codec import parse_command, serialize_command
from mailproto.imap.types import PreviewRequest
from mailproto.imap.types import commands as C


def _fetch(wire: bytes) -> C.Fetch:
    command = parse_command(wire)
    assert isinstance(command, C.Fetch)
    assert serialize_command(command) == wire
    return command


def test_rfc8970_example_2() -> None:
    command = _fetch(b"B1 FETCH 1:4 (ENVELOPE PREVIEW (LAZY))\r\n")
    assert command.attributes == ("ENVELOPE", PreviewRequest(modifiers=("LAZY",)))


def test_plain_preview_is_the_simple_attribute() -> None:
    assert _fetch(b"B2 FETCH 3:4 (PREVIEW)\r\n").attributes == ("PREVIEW",)


def test_a_lone_preview_keeps_the_fetch_modifiers_apart() -> None:
    # "(CHANGEDSINCE 5)" after a lone PREVIEW is RFC 7162's modifier list.
    command = parse_command(b"a FETCH 1 PREVIEW (CHANGEDSINCE 5)\r\n")
    assert isinstance(command, C.Fetch)
    assert command.attributes == ("PREVIEW",) and command.changed_since == 5
    command = parse_command(b"a FETCH 1 PREVIEW (lazy) (CHANGEDSINCE 5)\r\n")
    assert isinstance(command, C.Fetch)
    assert command.attributes == (PreviewRequest(),) and command.changed_since == 5
    assert parse_command(serialize_command(command)) == command


def test_only_lazy_is_a_modifier() -> None:
    with pytest.raises(ParseError):
        parse_command(b"a FETCH 1 (PREVIEW (FOO))\r\n")
    with pytest.raises(LocalProtocolError):
        PreviewRequest(modifiers=())
    with pytest.raises(LocalProtocolError):
        PreviewRequest(modifiers=("SOON",))
