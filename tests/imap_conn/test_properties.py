"""Hypothesis properties: byte splits do not matter, hostile bytes raise only ProtocolError."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.errors import ProtocolError
from mailproto.imap._compress import Deflater, Inflater
from mailproto.imap._events import SaslAnswer, SaslQuestion
from mailproto.imap.client import ClientConnection
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import responses as R
from mailproto.limits import IMAPLimits

SERVER_STREAM = (
    b"* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+] ready\r\n"
    b"* CAPABILITY IMAP4rev1 IDLE\r\n"
    b"* 3 EXISTS\r\n"
    b"* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {11}\r\nhello\r\nworl RFC822.SIZE 11)\r\n"
    b"* 2 EXPUNGE\r\n"
    b"* OK [ALERT] careful\r\n"
    b"* BYE going\r\n"
)

CLIENT_STREAM = (
    b"a1 LOGIN alice {6}\r\nsecret\r\n"
    b"a2 SELECT INBOX\r\n"
    b"a3 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)])\r\n"
    b"a4 APPEND INBOX (\\Seen) {5+}\r\nhello\r\n"
    b"a5 BOGUS\r\n"
    b"a6 LOGOUT\r\n"
)


def _client_run(chunks: list[bytes]) -> list[Any]:
    client = ClientConnection()
    events: list[Any] = []
    for chunk in chunks:
        client.receive_data(chunk)
        while True:
            event = client.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            events.append(event)
    return events


def _server_run(chunks: list[bytes]) -> tuple[list[Any], bytes]:
    server = ServerConnection()
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    events: list[Any] = []
    for chunk in chunks:
        server.receive_data(chunk)
        while True:
            event = server.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            events.append(event)
            tag = getattr(event, "tag", None)
            if tag is not None and tag in {c.tag for c in server.in_flight}:
                server.send(R.StatusResponse(tag=tag, status="OK", text="done"))
    return events, server.data_to_send()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return [p for p in pieces if p]


@given(st.lists(st.integers(0, 10_000), max_size=20))
def test_client_events_do_not_depend_on_the_split(cuts: list[int]) -> None:
    assert _client_run(_split(SERVER_STREAM, cuts)) == _client_run([SERVER_STREAM])


def test_client_one_byte_at_a_time() -> None:
    whole = _client_run([SERVER_STREAM])
    assert len(whole) == 7
    assert _client_run([SERVER_STREAM[i : i + 1] for i in range(len(SERVER_STREAM))]) == whole


@given(st.lists(st.integers(0, 10_000), max_size=20))
def test_server_events_do_not_depend_on_the_split(cuts: list[int]) -> None:
    assert _server_run(_split(CLIENT_STREAM, cuts)) == _server_run([CLIENT_STREAM])


def test_server_one_byte_at_a_time() -> None:
    whole = _server_run([CLIENT_STREAM])
    assert len(whole[0]) == 6  # five commands + the BadCommand for BOGUS
    assert _server_run([CLIENT_STREAM[i : i + 1] for i in range(len(CLIENT_STREAM))]) == whole


_small = IMAPLimits(line_length=200, literal_size=100, nesting_depth=8, errors=5)


@given(st.lists(st.binary(max_size=80), max_size=8))
def test_client_arbitrary_bytes_raise_only_protocol_errors(chunks: list[bytes]) -> None:
    client = ClientConnection(limits=_small)
    try:
        for chunk in [b"* OK hi\r\n", *chunks, b""]:
            client.receive_data(chunk)
            while client.next_event() not in (NEED_DATA, PAUSED):
                if client.state.name == "LOGOUT":
                    break
    except ProtocolError:
        pass


_tokens = st.sampled_from(
    [
        b"a ",
        b"LOGIN ",
        b"SELECT ",
        b"FETCH ",
        b"1:* ",
        b"(",
        b")",
        b"{3}\r\n",
        b"{2+}\r\n",
        b"~{1}\r\n",
        b"\r\n",
        b"BODY[",
        b"]",
        b'"',
        b"\\",
        b"DONE\r\n",
        b"IDLE\r\n",
        b"AUTHENTICATE PLAIN\r\n",
        b"* ",
        b"\x00",
        b"\xff",
        b"x",
    ]
)


@given(st.lists(st.one_of(st.binary(max_size=30), _tokens), max_size=40))
def test_server_arbitrary_bytes_raise_only_protocol_errors(parts: list[bytes]) -> None:
    server = ServerConnection(limits=_small)
    server.send(R.StatusResponse(tag=None, status="PREAUTH", text="hi"))
    try:
        server.receive_data(b"".join(parts))
        server.receive_data(b"")
        for _ in range(200):
            event = server.next_event()
            if event is NEED_DATA or event is PAUSED:
                # Answer whatever is owed, so the machine keeps going.
                owed = list(server.in_flight)
                if not owed:
                    break
                for command in owed:
                    if type(command).__name__ == "Idle":
                        server.send(R.StatusResponse(tag=command.tag, status="NO", text="no"))
                    else:
                        server.send(R.StatusResponse(tag=command.tag, status="OK", text="ok"))
                continue
            if isinstance(event, SaslQuestion):
                server.send(SaslAnswer(answer=False))
    except ProtocolError:
        pass


@given(st.binary(max_size=2000), st.lists(st.integers(0, 3000), max_size=10))
def test_deflate_round_trip_any_split(data: bytes, cuts: list[int]) -> None:
    deflater, inflater = Deflater(), Inflater()
    wire = b"".join(deflater.compress(p) for p in _split(data, cuts))
    out = []
    for piece in _split(wire, cuts):
        inflater.feed(piece)
        while chunk := inflater.read(64):
            assert len(chunk) <= 64
            out.append(chunk)
    assert b"".join(out) == data


def test_inflate_is_bounded_on_a_bomb() -> None:
    bomb = Deflater().compress(b"\0" * 5_000_000)
    inflater = Inflater()
    inflater.feed(bomb)
    assert len(inflater.read(65536)) == 65536
    assert inflater.has_input


@given(st.binary(max_size=200))
def test_inflate_garbage_raises_protocol_error(data: bytes) -> None:
    inflater = Inflater()
    inflater.feed(data)
    try:
        while inflater.read(1000):
            pass
    except ProtocolError:
        pass


@given(st.binary(max_size=300), st.booleans())
def test_compressed_streams_of_arbitrary_bytes_raise_only_protocol_errors(
    data: bytes, deflate: bool
) -> None:
    """After COMPRESS, garbage (raw or validly deflated) never escapes as anything else."""
    server = ServerConnection(compress=True, limits=_small)
    server.send(R.StatusResponse(tag=None, status="PREAUTH", text="hi"))
    server.receive_data(b"z COMPRESS DEFLATE\r\n")
    assert server.next_event() is not NEED_DATA
    server.send(R.StatusResponse(tag="z", status="OK", text="go"))
    server.receive_data(Deflater().compress(data) if deflate else data)
    try:
        for _ in range(50):
            event = server.next_event()
            if event is NEED_DATA or event is PAUSED:
                for command in list(server.in_flight):
                    server.send(R.StatusResponse(tag=command.tag, status="NO", text="no"))
                if not server.in_flight and event is NEED_DATA:
                    break
    except ProtocolError:
        pass
