"""Hypothesis properties: byte splits, hostile bytes, dot-stuffing round trips."""

from __future__ import annotations

import itertools

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA, PAUSED, ProtocolError
from mailproto.smtp import (
    AuthAnswer,
    AuthQuestion,
    BareLineEndings,
    Bdat,
    Body,
    ClientConnection,
    ConnectionClosed,
    Data,
    DataChunk,
    Ehlo,
    EndOfData,
    Event,
    Mailbox,
    MailFrom,
    MailParameters,
    Quit,
    RcptTo,
    Reply,
    ServerConfig,
    ServerConnection,
    replies,
)
from tests.smtp._helpers import Pair, ServerApp

A = Mailbox(local_part="a", domain="b.example")
C = Mailbox(local_part="c", domain="d.example")

CONFIG = ServerConfig(
    bare_line_endings=BareLineEndings.ACCEPT,
    allow_nul=True,
    starttls=True,
    auth_mechanisms=("PLAIN", "LOGIN"),
    auth_requires_tls=False,
)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


bodies = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"\r\n", b".", b"..", b"\r\n.\r\n", b"x", b"\n", b"\r", b"\x00", b"\xff"]),
    max_size=40,
).map(b"".join)


def transaction(pair: Pair, body: bytes, use_bdat: bool, pieces: list[int]) -> None:
    body_param = Body.BINARY_MIME if use_bdat else Body.EIGHT_BIT_MIME
    pair.exchange(
        MailFrom(sender=A, parameters=MailParameters(body=body_param)), RcptTo(recipient=C)
    )
    parts = split_at(body, pieces)
    if use_bdat:
        for i, part in enumerate(parts):
            pair.client.send(Bdat(size=len(part), last=i == len(parts) - 1))
            pair.client.send(DataChunk(data=part))
        if not parts:
            pair.client.send(Bdat(size=0, last=True))
    else:
        pair.exchange(Data())
        for part in parts:
            pair.client.send(DataChunk(data=part))
        pair.client.send(EndOfData())
    pair.flush()


@given(body=bodies, use_bdat=st.booleans(), pieces=st.lists(st.integers(0, 400), max_size=5))
def test_dot_stuffing_and_chunking_round_trip(
    body: bytes, use_bdat: bool, pieces: list[int]
) -> None:
    pair = Pair.start(ServerConnection(CONFIG))
    pair.exchange(Ehlo(domain="c"))
    transaction(pair, body, use_bdat, pieces)
    (msg,) = pair.app.messages
    if use_bdat or not body or body.endswith(b"\r\n"):
        assert msg.data == body
    else:
        assert msg.data == body + b"\r\n"  # DATA ends with a line end (RFC 5321 §4.1.1.4)


# The other policies: bare line ends normalised (DATA and BDAT), and each
# non-final BDAT chunk answered by the application.
LENIENT = attrs.evolve(CONFIG, bare_line_endings=BareLineEndings.NORMALIZE, confirm_chunks=True)
STRICT = attrs.evolve(CONFIG, bare_line_endings=BareLineEndings.REJECT, allow_nul=False)


def record_session(
    bodies_: list[bytes], use_bdat: bool, config: ServerConfig = CONFIG
) -> tuple[bytes, bytes, ServerApp]:
    """Run a session in memory; return the client→server and server→client streams."""
    pair = Pair.start(ServerConnection(config))
    pair.exchange(Ehlo(domain="c"))
    for body in bodies_:
        transaction(pair, body, use_bdat, [len(body) // 2])
    pair.exchange(Quit())
    return bytes(pair.c2s), bytes(pair.s2c), pair.app


@pytest.mark.parametrize("config", [CONFIG, LENIENT], ids=["accept", "normalize-confirm"])
@given(
    bodies_=st.lists(bodies, min_size=1, max_size=3),
    use_bdat=st.booleans(),
    cuts=st.lists(st.integers(0, 5000), max_size=30),
)
def test_server_result_independent_of_byte_split(
    config: ServerConfig, bodies_: list[bytes], use_bdat: bool, cuts: list[int]
) -> None:
    c2s, s2c, reference = record_session(bodies_, use_bdat, config)
    app = ServerApp(ServerConnection(config))
    out = app.greet()
    for piece in split_at(c2s, cuts):
        out += app.feed(piece)
    assert out == s2c
    assert [m.data for m in app.messages] == [m.data for m in reference.messages]
    assert len(app.messages) == len(bodies_)


def client_script(
    s2c: bytes, cuts: list[int], use_bdat: bool, bodies_: list[bytes]
) -> list[object]:
    """Replay the client side of a recorded session, feeding the server's bytes
    split at *cuts*; return every event the client produced."""
    client = ClientConnection()
    events: list[object] = []
    chunks = split_at(s2c, cuts)
    sent_stream = iter(chunks)

    def pump_until(pred: object) -> None:
        for _ in range(10_000):
            ev = client.next_event()
            if ev is NEED_DATA:
                nxt = next(sent_stream, None)
                if nxt is None:
                    return
                client.receive_data(nxt)
                continue
            if ev is PAUSED:
                return
            events.append(ev)
            if pred(ev):  # type: ignore[operator]
                return

    def is_reply(ev: object) -> bool:
        return isinstance(ev, (Reply, Event))

    pump_until(is_reply)  # greeting
    client.send(Ehlo(domain="c"))
    pump_until(is_reply)
    for body in bodies_:
        body_param = Body.BINARY_MIME if use_bdat else Body.EIGHT_BIT_MIME
        client.send(MailFrom(sender=A, parameters=MailParameters(body=body_param)))
        client.send(RcptTo(recipient=C))
        pump_until(is_reply)
        pump_until(is_reply)
        parts = split_at(body, [len(body) // 2])
        if use_bdat:
            for i, part in enumerate(parts):
                client.send(Bdat(size=len(part), last=i == len(parts) - 1))
                client.send(DataChunk(data=part))
            if not parts:
                client.send(Bdat(size=0, last=True))
            for _ in range(max(1, len(parts))):
                pump_until(is_reply)
        else:
            client.send(Data())
            pump_until(is_reply)
            for part in parts:
                client.send(DataChunk(data=part))
            client.send(EndOfData())
            pump_until(is_reply)
    client.send(Quit())
    pump_until(is_reply)
    return events


@given(
    bodies_=st.lists(bodies, min_size=1, max_size=2),
    use_bdat=st.booleans(),
    cuts=st.lists(st.integers(0, 3000), max_size=30),
)
def test_client_events_independent_of_byte_split(
    bodies_: list[bytes], use_bdat: bool, cuts: list[int]
) -> None:
    _, s2c, _ = record_session(bodies_, use_bdat)
    whole = client_script(s2c, [], use_bdat, bodies_)
    split = client_script(s2c, cuts, use_bdat, bodies_)
    assert split == whole
    assert isinstance(whole[-1], Reply) and whole[-1].code == 221


PREFIXES = [
    b"",
    b"EHLO c\r\n",
    b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
    b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 20\r\n",
    b"EHLO c\r\nAUTH PLAIN\r\n",
    b"EHLO c\r\nAUTH LOGIN\r\n",
]

hostile = st.lists(
    st.binary(max_size=60)
    | st.sampled_from(
        [
            b"\r\n",
            b"\n",
            b".\r\n",
            b"MAIL FROM:<a@b.example> SIZE=1 BODY=BINARYMIME\r\n",
            b"RCPT TO:<c@d.example> NOTIFY=NEVER\r\n",
            b"DATA\r\n",
            b"BDAT 5 LAST\r\n",
            b"BDAT 99999999999999999999\r\n",
            b"RSET\r\n",
            b"STARTTLS\r\n",
            b"AUTH PLAIN AGEAYg==\r\n",
            b"*\r\n",
            b"EHLO x\r\n",
            b"QUIT\r\n",
            b"\xff\xfe\x00",
        ]
    ),
    max_size=30,
).map(b"".join)


@given(
    prefix=st.sampled_from(PREFIXES),
    data=hostile,
    cuts=st.lists(st.integers(0, 2000)),
    config=st.sampled_from([CONFIG, LENIENT, STRICT]),
)
def test_server_survives_any_bytes(
    prefix: bytes, data: bytes, cuts: list[int], config: ServerConfig
) -> None:
    conn = ServerConnection(config)
    conn.send(Reply(code=220, lines="hi"))
    try:
        for piece in [*split_at(prefix + data, cuts), b""]:
            conn.receive_data(piece)
            for _ in range(10_000):
                ev = conn.next_event()
                if ev is NEED_DATA or isinstance(ev, ConnectionClosed):
                    break
                if ev is PAUSED:
                    if not conn.awaiting_reply:
                        break
                    try:
                        conn.send(replies.OK)
                    except ProtocolError:
                        conn.send(AuthAnswer(answer=True))
                elif isinstance(ev, AuthQuestion):
                    continue
            conn.data_to_send()
    except ProtocolError:
        pass


replies_hostile = st.lists(
    st.binary(max_size=40)
    | st.sampled_from(
        [
            b"220 hi\r\n",
            b"250-x\r\n",
            b"250 PIPELINING\r\n",
            b"354 go\r\n",
            b"421 bye\r\n",
            b"334 \r\n",
            b"235 ok\r\n",
            b"250\r\n",
            b"\r\n",
        ]
    ),
    max_size=30,
).map(b"".join)


@given(data=replies_hostile, cuts=st.lists(st.integers(0, 2000)), lmtp=st.booleans())
def test_client_survives_any_bytes(data: bytes, cuts: list[int], lmtp: bool) -> None:
    client = ClientConnection(lmtp=lmtp)
    try:
        for piece in [*split_at(data, cuts), b""]:
            client.receive_data(piece)
            for _ in range(1000):
                ev = client.next_event()
                if ev is NEED_DATA or ev is PAUSED or isinstance(ev, ConnectionClosed):
                    break
                # Keep commands flowing so replies have something to answer.
                for cmd in (
                    Ehlo(domain="c") if not lmtp else None,
                    MailFrom(sender=A),
                    RcptTo(recipient=C),
                    Data(),
                ):
                    if cmd is None:
                        continue
                    try:
                        client.send(cmd)
                    except ProtocolError:
                        continue
                    break
    except ProtocolError:
        pass


auth_replies = st.lists(
    st.sampled_from(
        [b"334 \r\n", b"334 =\r\n", b"334 !!!\r\n", b"235 ok\r\n", b"535 no\r\n", b"334 cj1h\r\n"]
    )
    | st.binary(max_size=30),
    max_size=10,
).map(b"".join)


@given(data=auth_replies, mech=st.sampled_from(["PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5"]))
def test_client_auth_survives_any_replies(data: bytes, mech: str) -> None:
    from mailproto import sasl

    client = ClientConnection()
    client.receive_data(b"220 hi\r\n")
    client.next_event()
    client.send(Ehlo(domain="c"))
    client.receive_data(b"250-x\r\n250 AUTH PLAIN LOGIN SCRAM-SHA-256 CRAM-MD5\r\n")
    client.next_event()
    client.authenticate(sasl.client_mechanism(mech, username="u", password="p"))
    client.receive_data(data)
    try:
        for _ in range(100):
            ev = client.next_event()
            if ev is NEED_DATA or ev is PAUSED:
                break
    except ProtocolError:
        pass
