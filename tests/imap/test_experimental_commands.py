"""X<atom> commands (RFC 3501 §6.5.1, RFC 9051 §6.5.1).

Commands whose name starts with X are left to servers to define.  The codec
parses one into :class:`~mailproto.imap.commands.Experimental` with generic
argument values, and the connections carry it like any command, so a server
can implement one and a server that does not can answer BAD.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.errors import LocalProtocolError
from mailproto.imap._events import Completed
from mailproto.imap._parser import ParseError
from mailproto.imap.codec import parse_command, serialize_command
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import commands as C
from tests.imap_conn.pair import Pair


def test_rfc3501_section_6_5_1_example() -> None:
    wire = b"a442 XPIG-LATIN\r\n"
    command = parse_command(wire)
    assert command == C.Experimental(tag="a442", name="XPIG-LATIN")
    assert serialize_command(command) == wire


@pytest.mark.parametrize(
    ("wire", "arguments"),
    [
        (b'a1 XFOO bar "baz qux" 12 NIL (1 (a))\r\n', ("bar", "baz qux", 12, None, (1, ("a",)))),
        (b'a2 xlist "" "*"\r\n', ("", "*")),
        (b"a3 XAPPLEPUSHSERVICE aps-version 2\r\n", ("aps-version", 2)),
        (b"a4 XFOO {3}\r\nabc\r\n", ("abc",)),
    ],
)
def test_arguments_are_generic_values(wire: bytes, arguments: tuple[object, ...]) -> None:
    command = parse_command(wire)
    assert isinstance(command, C.Experimental)
    assert command.arguments == arguments
    assert parse_command(serialize_command(command)) == command


def test_a_lone_x_is_not_a_command() -> None:
    with pytest.raises(ParseError):
        parse_command(b"a5 X\r\n")


def test_other_unknown_commands_stay_errors() -> None:
    with pytest.raises(ParseError):
        parse_command(b"a6 FROB 1\r\n")


def test_the_name_must_be_x_and_an_atom() -> None:
    with pytest.raises(LocalProtocolError):
        C.Experimental(tag="t", name="FROB")
    with pytest.raises(LocalProtocolError):
        C.Experimental(tag="t", name="X(")


def test_through_a_client_server_pair() -> None:
    p = Pair(ServerConnection(announce_capabilities=False, capabilities=("IMAP4rev1",)))
    p.s(b"* OK ready\r\n")
    handle = p.c(C.Experimental(tag="x1", name="XPIG-LATIN"), b"x1 XPIG-LATIN\r\n")
    # The server application gets the command; this one does not know it.
    assert p.server_events == [C.Experimental(tag="x1", name="XPIG-LATIN")]
    events = p.s(b"x1 BAD unknown command\r\n")
    assert [type(e) for e in events] == [Completed]
    assert isinstance(events[0], Completed)
    assert events[0].handle == handle and events[0].status == "BAD"


_values = st.recursive(
    st.none()
    | st.integers(0, 2**63 - 1)
    | st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, min_size=1, max_size=3).map(tuple),
    max_leaves=8,
)


@given(
    name=st.from_regex(r"X[A-Za-z0-9\-._]{1,12}", fullmatch=True),
    arguments=st.lists(_values, max_size=4).map(tuple),
)
def test_any_experimental_command_round_trips(name: str, arguments: tuple[object, ...]) -> None:
    command = C.Experimental(tag="t1", name=name, arguments=arguments)  # type: ignore[arg-type]
    assert parse_command(serialize_command(command)) == command


def test_a_literal_inside_a_bracketed_argument_is_refused() -> None:
    # Found by fuzzing (fuzz/regressions/imap_codec_command_roundtrip/
    # x-command-literal-in-brackets): the generic tree keeps such a literal
    # as a placeholder that no generic value can carry.
    with pytest.raises(ParseError):
        parse_command(b"a1 XFOO (BODY[1.MIME X {3}\r\nabc]) done\r\n")


def test_a_lone_surrogate_is_a_local_protocol_error() -> None:
    # Found by the property above: the writer raised UnicodeEncodeError.
    with pytest.raises(LocalProtocolError):
        serialize_command(C.Experimental(tag="t", name="XFOO", arguments=("\ud800",)))
