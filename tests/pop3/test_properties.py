"""Hypothesis properties: byte-split invariance, round trips, hostile input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA, PAUSED, ProtocolError, sasl
from mailproto.pop3 import (
    Auth,
    AuthAnswer,
    AuthQuestion,
    Capa,
    ClientConnection,
    ConnectionClosed,
    Dele,
    Event,
    Greeting,
    List,
    Maildrop,
    MessageData,
    MessageEnd,
    MessageInfo,
    Noop,
    OkResponse,
    Pass,
    Quit,
    Retr,
    Rset,
    ServerConnection,
    Stat,
    Top,
    Uidl,
    Update,
    User,
)
from mailproto.pop3._connection import _TopCutter
from tests.pop3.support import ServerApp, Store, exchange
from tests.pop3.test_server import reference_top

# Message content: lines built from fragments that stress dot-stuffing and
# line ends (leading dots, lone dots, CR/LF in odd places).
line_text = st.lists(
    st.sampled_from([b".", b"..", b"a", b" ", b"\r", b"\n", b"\r\n", b"xxxxxxx", b"\xff", b"."]),
    max_size=8,
).map(b"".join)
messages = st.lists(line_text, max_size=8).map(
    lambda lines: b"H: v\r\n\r\n" + b"".join(line + b"\r\n" for line in lines)
)
splits = st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=6)


def session_commands(count: int) -> list[Event]:
    cmds: list[Event] = [Capa(), User(name="mrose"), Pass(password="tanstaaf"), Stat(), List()]
    cmds.append(Uidl())
    for n in range(1, count + 1):
        cmds.append(Retr(msg=n))
        cmds.append(Top(msg=n, lines=1))
    if count:
        cmds.append(Dele(msg=1))
        cmds.append(Rset())
        cmds.append(Dele(msg=count))
    cmds.append(Noop())
    cmds.append(Quit())
    return cmds


def run_session(box: list[bytes], split: list[int] | None, chunk: int) -> tuple[list[Event], Store]:
    store = Store(boxes={"mrose": list(box)}, chunk=chunk)
    server = ServerConnection()
    server.send(Greeting(timestamp="<1.2@h>"))
    app = ServerApp(server, store)
    client = ClientConnection()
    events = exchange(client, app, splits=split)
    for cmd in session_commands(len(box)):
        client.send(cmd)
        events += exchange(client, app, splits=split)
    return events, store


def merged(events: list[Event]) -> list[Event]:
    """Join adjacent MessageData so chunking does not matter."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, MessageData) and out and isinstance(out[-1], MessageData):
            out[-1] = MessageData(data=out[-1].data + event.data)
        else:
            out.append(event)
    return out


@given(box=st.lists(messages, max_size=3), split=splits, chunk=st.integers(1, 64))
def test_back_to_back_any_split(box: list[bytes], split: list[int], chunk: int) -> None:
    whole, store_a = run_session(box, None, 1000)
    pieces, store_b = run_session(box, split, chunk)
    assert merged(whole) == merged(pieces)
    # RETR returns each message byte for byte (dot-stuffing round trip),
    # TOP its header and first body line.
    blocks = bodies(merged(pieces))
    assert [b for kind, b in blocks if kind == "RETR"] == box
    # (A TOP cut after a bare LF gets the CRLF every multi-line body ends with.)
    assert [b for kind, b in blocks if kind == "TOP"] == [
        with_crlf(reference_top(m, 1)) for m in box
    ]
    # QUIT in TRANSACTION deleted the last message (RSET undid DELE 1).
    assert store_a.boxes["mrose"] == store_b.boxes["mrose"] == box[:-1]
    assert isinstance(pieces[-1], ConnectionClosed)


def with_crlf(data: bytes) -> bytes:
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def bodies(events: list[Event]) -> list[tuple[str, bytes]]:
    """(RETR|TOP, content) for each multi-line message answer."""
    out: list[tuple[str, bytes]] = []
    current: tuple[str, bytearray] | None = None
    for event in events:
        if isinstance(event, OkResponse) and event.text.endswith(" octets"):
            current = ("RETR", bytearray())
        elif isinstance(event, OkResponse) and event.text == "top of message follows":
            current = ("TOP", bytearray())
        elif isinstance(event, MessageData):
            assert current is not None
            current[1].extend(event.data)
        elif isinstance(event, MessageEnd):
            assert current is not None
            out.append((current[0], bytes(current[1])))
            current = None
    return out


@given(message=messages, lines=st.integers(0, 20), split=splits)
def test_top_cutter_any_split(message: bytes, lines: int, split: list[int]) -> None:
    cutter = _TopCutter(lines)
    out = b""
    i = k = 0
    while i < len(message):
        n = split[k % len(split)]
        k += 1
        out += cutter.feed(message[i : i + n])
        i += n
    assert out == reference_top(message, lines)


def drain(conn: ServerConnection | ClientConnection) -> None:
    for _ in range(10_000):
        event = conn.next_event()
        if event is NEED_DATA or event is PAUSED or isinstance(event, ConnectionClosed):
            return
        if isinstance(conn, ServerConnection):
            answer_anything(conn, event)


def answer_anything(conn: ServerConnection, event: Event | object) -> None:
    if isinstance(event, (Pass,)) or type(event).__name__ in ("Apop", "Authenticated"):
        conn.send(Maildrop(messages=[MessageInfo(size=3, uid="u1"), MessageInfo(size=0, uid="u2")]))
    elif isinstance(event, (Retr, Top)):
        conn.send(MessageData(data=b"a\r\n.b"))
        conn.send(MessageEnd())
    elif isinstance(event, AuthQuestion):
        conn.send(AuthAnswer(answer=True if "Check" in type(event.question).__name__ else None))
    elif type(event).__name__ == "Update":
        conn.send(OkResponse())


COMMAND_WORDS = [
    b"USER u\r\n",
    b"PASS p\r\n",
    b"APOP u 0123456789abcdef0123456789abcdef\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH PLAIN AHUAcA==\r\n",
    b"AUTH CRAM-MD5\r\n",
    b"STAT\r\n",
    b"LIST 1\r\n",
    b"RETR 1\r\n",
    b"TOP 1 0\r\n",
    b"DELE 2\r\n",
    b"UIDL\r\n",
    b"RSET\r\n",
    b"STLS\r\n",
    b"CAPA\r\n",
    b"QUIT\r\n",
    b"*\r\n",
    b"AHUAcA==\r\n",
]
hostile = st.lists(
    st.one_of(st.sampled_from(COMMAND_WORDS), st.binary(max_size=40)), max_size=20
).map(b"".join)


@given(data=hostile, split=splits)
def test_server_arbitrary_bytes(data: bytes, split: list[int]) -> None:
    conn = ServerConnection(stls=True, sasl_mechanisms=["PLAIN", "CRAM-MD5"])
    conn.send(Greeting(timestamp="<1@h>"))
    try:
        i = k = 0
        while i < len(data):
            n = split[k % len(split)]
            k += 1
            conn.receive_data(data[i : i + n])
            i += n
            drain(conn)
            if conn.state.name == "TLS_HANDSHAKE":
                conn.start_tls_done()
        conn.receive_data(b"")
        drain(conn)
    except ProtocolError:
        pass


RESPONSE_WORDS = [
    b"+OK\r\n",
    b"-ERR [IN-USE] x\r\n",
    b"+OK 1 2\r\n",
    b".\r\n",
    b"1 20\r\n",
    b"1 abc\r\n",
    b"+ \r\n",
    b"..x\r\n",
    b"TOP\r\n",
]
hostile_responses = st.lists(
    st.one_of(st.sampled_from(RESPONSE_WORDS), st.binary(max_size=30)), max_size=20
).map(b"".join)


@given(data=hostile_responses, split=splits)
def test_client_arbitrary_bytes(data: bytes, split: list[int]) -> None:
    client = ClientConnection()
    commands: list[Event] = [Capa(), User(name="u"), Pass(password="p"), Stat(), List(), Uidl()]
    commands += [Retr(msg=1), Top(msg=1, lines=2), List(msg=1), Uidl(msg=1), Quit()]
    try:
        client.receive_data(b"+OK hi <1@x>\r\n")
        client.next_event()
        for cmd in commands:
            client.send(cmd)
        i = k = 0
        while i < len(data):
            n = split[k % len(split)]
            k += 1
            client.receive_data(data[i : i + n])
            i += n
            drain(client)
        client.receive_data(b"")
        drain(client)
    except ProtocolError:
        pass


@given(payload=messages)
def test_retr_round_trip_single_chunk(payload: bytes) -> None:
    server = ServerConnection()
    server.send(Greeting())
    server.receive_data(b"USER a\r\nPASS b\r\nRETR 1\r\n")
    drain(server)
    server.data_to_send()
    client = ClientConnection()
    client.receive_data(b"+OK\r\n")
    client.next_event()
    client.send(User(name="a"))
    client.send(Pass(password="b"))
    client.receive_data(b"+OK\r\n+OK\r\n")
    drain(client)
    server2 = ServerConnection()
    server2.send(Greeting())
    server2.receive_data(b"USER a\r\nPASS b\r\nRETR 1\r\n")
    server2.next_event()
    server2.next_event()
    server2.send(Maildrop(messages=[MessageInfo(size=len(payload), uid="x")]))
    server2.next_event()
    server2.send(MessageData(data=payload))
    server2.send(MessageEnd())
    wire = server2.data_to_send().split(b"\r\n", 3)[3]  # after greeting, USER, PASS
    client.send(Retr(msg=1))
    client.receive_data(wire)
    got = b""
    while True:
        event = client.next_event()
        if isinstance(event, MessageData):
            got += event.data
        if isinstance(event, MessageEnd) or event is NEED_DATA:
            break
    assert got == payload


# ---------------------------------------------------------------------------
# The server against a reference model of RFC 1939 §5 (deletion marks).

transaction_commands = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["LIST", "UIDL", "RETR", "DELE"]), st.integers(0, 5)),
        st.tuples(st.sampled_from(["STAT", "LIST", "UIDL", "RSET", "NOOP"]), st.none()),
        st.tuples(st.just("TOP"), st.integers(0, 5)),
    ),
    max_size=25,
)


@given(commands=transaction_commands, quit_at_end=st.booleans())
def test_server_matches_reference_model(
    commands: list[tuple[str, int | None]], quit_at_end: bool
) -> None:
    sizes = [11, 22, 33]
    conn = ServerConnection()
    conn.send(Greeting())
    conn.receive_data(b"USER u\r\nPASS p\r\n")
    conn.next_event()
    conn.next_event()
    conn.send(Maildrop(messages=[MessageInfo(size=n, uid=f"id{n}") for n in sizes]))
    conn.data_to_send()
    deleted: set[int] = set()
    for verb, n in commands:
        line = verb if n is None else f"{verb} {n}" + (" 0" if verb == "TOP" else "")
        conn.receive_data(line.encode() + b"\r\n")
        event = conn.next_event()
        if isinstance(event, (Retr, Top)):
            conn.send(MessageData(data=b"H: v\r\n\r\nbody\r\n"))
            conn.send(MessageEnd())
        reply = conn.data_to_send()
        live = [i for i in range(1, 4) if i not in deleted]
        if n is None:
            if verb == "STAT":
                assert reply == b"+OK %d %d\r\n" % (len(live), sum(sizes[i - 1] for i in live))
            elif verb == "RSET":
                deleted.clear()
            elif verb == "LIST":
                assert reply.split(b"\r\n")[1:-2] == [b"%d %d" % (i, sizes[i - 1]) for i in live]
            elif verb == "UIDL":
                assert reply.split(b"\r\n")[1:-2] == [b"%d id%d" % (i, sizes[i - 1]) for i in live]
            assert reply.startswith(b"+OK")
            continue
        valid = 1 <= n <= 3 and n not in deleted
        assert reply.startswith(b"+OK" if valid else b"-ERR"), (line, reply)
        if valid and verb == "DELE":
            deleted.add(n)
    if quit_at_end:
        conn.receive_data(b"QUIT\r\n")
        event = conn.next_event()
        assert event == Update(
            deleted=tuple(sorted(deleted)),
            uids=tuple(f"id{sizes[i - 1]}" for i in sorted(deleted)),
        )
    else:
        conn.receive_data(b"")
        assert isinstance(conn.next_event(), ConnectionClosed)


@given(
    mechanism=st.sampled_from(["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]),
    initial=st.booleans(),
    split=splits,
    box=st.lists(messages, min_size=1, max_size=3),
)
def test_pipelined_sasl_session_any_split(
    mechanism: str, initial: bool, split: list[int], box: list[bytes]
) -> None:
    """AUTH, then every command at once; same result for any byte split."""
    store = Store(boxes={"mrose": list(box)}, chunk=7)
    server = ServerConnection(sasl_mechanisms=[mechanism])
    server.send(Greeting())
    app = ServerApp(server, store)
    client = ClientConnection()
    events = exchange(client, app, splits=split)
    client.send(Capa())
    mech = sasl.client_mechanism(mechanism, username="mrose", password="tanstaaf")
    client.send(Auth(mechanism=mech, initial_response=initial))
    for n in range(1, len(box) + 1):
        client.send(Retr(msg=n))
    client.send(Dele(msg=1))
    client.send(Quit())
    events += exchange(client, app, splits=split)
    blocks = bodies(merged(events))
    assert [b for _kind, b in blocks] == box
    assert any(isinstance(e, AuthQuestion) for e in app.events)
    assert store.boxes["mrose"] == box[1:]
    assert isinstance(events[-1], ConnectionClosed)
