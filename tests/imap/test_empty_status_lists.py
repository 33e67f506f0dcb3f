"""The STATUS command's item list is never empty (RFC 9051 §9 ``status``).

Found by the round-trip fuzz target: ``STATUS bp ()`` parsed, and the
serialiser then refused to write it back.  The grammar wants at least one
status-att, so the parser refuses it too
(``fuzz/regressions/imap_codec_command_roundtrip/status-empty-items``).
"""

from __future__ import annotations

import pytest

from mailproto.errors import LocalProtocolError
from mailproto.imap._events import BadCommand
from mailproto.imap._parser import ParseError
from mailproto.imap.codec import parse_command, serialize_command
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R


def test_an_empty_status_list_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_command(b"42 STATUS bp ()\r\n")


def test_an_empty_return_list_is_still_fine() -> None:
    # RFC 5258 §6 allows "RETURN ()"; only the STATUS list inside needs items.
    assert parse_command(b'a LIST "" * RETURN ()\r\n') is not None


# LIST ... RETURN (STATUS (...)): RFC 5819 §6 ``return-option =/ "STATUS" SP
# "(" status-att *(SP status-att) ")"`` - at least one item there too.


def test_an_empty_list_status_return_option_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_command(b'a LIST "" * RETURN (STATUS ())\r\n')
    with pytest.raises(ParseError):
        parse_command(b'a LIST "" * RETURN (SUBSCRIBED STATUS ())\r\n')


def test_a_list_status_return_option_with_items_parses() -> None:
    cmd = parse_command(b'a LIST "" * RETURN (STATUS (MESSAGES UNSEEN))\r\n')
    assert isinstance(cmd, C.List)
    assert cmd.return_status == ("MESSAGES", "UNSEEN")


def test_the_server_answers_an_empty_list_status_with_bad() -> None:
    server = ServerConnection(capabilities=("IMAP4rev1", "LIST-EXTENDED", "LIST-STATUS"))
    # PREAUTH: LIST is valid in the state, so only the grammar is at fault.
    server.send(R.StatusResponse(tag=None, status="PREAUTH", text="hi"))
    server.data_to_send()
    server.receive_data(b'a1 LIST "" * RETURN (STATUS ())\r\n')
    event = server.next_event()
    assert isinstance(event, BadCommand)
    assert event.tag == "a1"
    assert server.data_to_send().startswith(b"a1 BAD ")


def test_the_serializer_refuses_an_empty_list_status() -> None:
    cmd = C.List(tag="a", reference="", patterns=("*",), return_status=())
    with pytest.raises(LocalProtocolError, match="STATUS"):
        serialize_command(cmd)
    # The same command with one item is written, and parses back equal.
    good = C.List(
        tag="a", reference="", patterns=("*",), return_options=(), return_status=("MESSAGES",)
    )
    wire = serialize_command(good)
    assert wire.endswith(b" RETURN (STATUS (MESSAGES))\r\n")
    assert parse_command(wire) == good
