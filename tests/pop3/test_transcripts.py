"""RFC examples replayed as C:/S: transcripts through both connections.

Each transcript is the RFC's example dialogue.  The server side feeds the
``C:`` lines to a :class:`ServerConnection` run by the test maildrop
application and compares its output with the ``S:`` lines; the client side
sends each ``C:`` line as an event (checking the exact bytes it writes) and
feeds the ``S:`` lines to a :class:`ClientConnection`, checking the typed
events it reports.

Transcript notation: ``S: +OK ~text`` means "a +OK line; the text is free"
(the RFC's texts are examples, ours differ); ``S: <message 1>`` stands for
message 1, dot-stuffed; ``S: <top 1 10>`` for TOP's cut.
"""

from __future__ import annotations

import base64

import pytest

from mailproto import NEED_DATA, PAUSED, sasl
from mailproto.pop3 import (
    Apop,
    Auth,
    CapaResponse,
    ClientConnection,
    ConnectionClosed,
    ErrResponse,
    Event,
    Greeting,
    ListEntry,
    ListResponse,
    MessageData,
    MessageEnd,
    OkResponse,
    ServerConnection,
    State,
    StatResponse,
    UidlEntry,
    UidlResponse,
    apop_digest,
)
from mailproto.pop3._readers import AuthCommand, parse_command
from tests.pop3.support import ServerApp, Store

TIMESTAMP = "<1896.697170952@dbc.mtview.ca.us>"

# RFC 1939's example maildrop: two messages of 120 and 200 octets.
MSG1 = b"Subject: first\r\nFrom: a@example.org\r\n\r\n" + b"".join(
    b"line %02d .\r\n" % i for i in range(1, 8)
)
MSG1 += b"x" * (120 - len(MSG1) - 2) + b"\r\n"
MSG2 = b"Subject: second\r\n\r\n.leading dot\r\n" + b"y" * (200 - 35) + b"\r\n"
assert len(MSG1) == 120 and len(MSG2) == 200
UIDS = ["whqtswO00WBw418f9t5JxYwZ", "QhdPYR:00WBw1Ph7x7"]


def stuffed(data: bytes) -> bytes:
    return data.replace(b"\r\n.", b"\r\n..")


def top(data: bytes, lines: int) -> bytes:
    head, _, body = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + b"".join(body.splitlines(keepends=True)[:lines])


def store() -> Store:
    return Store(
        users={"mrose": "tanstaaf", "test": "test"},
        boxes={"mrose": [MSG1, MSG2], "test": [MSG1]},
        uids={"mrose": list(UIDS), "test": [UIDS[0]]},
        quit_text="dewey POP3 server signing off (maildrop empty)",
    )


def expand(line: str) -> bytes:
    if line == "<message 1>":
        return stuffed(MSG1)
    if line == "<message 2>":
        return stuffed(MSG2)
    if line.startswith("<top "):
        msg, lines = (int(x) for x in line[5:-1].split())
        return stuffed(top([MSG1, MSG2][msg - 1], lines))
    if line == "+":
        # RFC 5034 §4: continue-req = "+" SP [base64] CRLF; the RFC's example
        # shows the empty challenge with its (invisible) trailing space.
        return b"+ \r\n"
    return line.encode() + b"\r\n"


def parse_transcript(text: str) -> list[tuple[str, str]]:
    steps = []
    for raw in text.strip().splitlines():
        who, _, line = raw.strip().partition(": ")
        assert who in ("C", "S"), raw
        steps.append((who, line))
    return steps


def matches(expected: str, actual: bytes) -> bool:
    if "~" in expected:
        # The part before "~" is exact; the text after it is free.
        fixed = expected.split("~", maxsplit=1)[0].rstrip().encode()
        return actual.startswith((fixed + b" ", fixed + b"\r\n")) and actual.endswith(b"\r\n")
    return actual == expand(expected)


# ---------------------------------------------------------------------------
# The transcripts.  Each: (name, server settings, transcript, client checks).

RFC1939_SESSION = """
S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
S: +OK ~mrose's maildrop has 2 messages (320 octets)
C: STAT
S: +OK 2 320
C: LIST
S: +OK ~2 messages (320 octets)
S: 1 120
S: 2 200
S: .
C: RETR 1
S: +OK 120 octets
S: <message 1>
S: .
C: DELE 1
S: +OK message 1 deleted
C: RETR 2
S: +OK 200 octets
S: <message 2>
S: .
C: DELE 2
S: +OK message 2 deleted
C: QUIT
S: +OK dewey POP3 server signing off (maildrop empty)
"""

RFC1939_TRANSACTION = """
S: +OK POP3 server ready
C: USER mrose
S: +OK ~mrose is a real hoopy frood
C: PASS tanstaaf
S: +OK ~mrose's maildrop has 2 messages (320 octets)
C: LIST 2
S: +OK 2 200
C: LIST 3
S: -ERR ~no such message, only 2 messages in maildrop
C: DELE 1
S: +OK message 1 deleted
C: DELE 1
S: -ERR ~message 1 already deleted
C: RETR 1
S: -ERR ~message 1 already deleted
C: LIST
S: +OK ~1 messages
S: 2 200
S: .
C: STAT
S: +OK 1 200
C: NOOP
S: +OK
C: RSET
S: +OK ~maildrop has 2 messages (320 octets)
C: STAT
S: +OK 2 320
C: TOP 1 3
S: +OK ~top of message follows
S: <top 1 3>
S: .
C: TOP 100 3
S: -ERR ~no such message
C: UIDL
S: +OK
S: 1 whqtswO00WBw418f9t5JxYwZ
S: 2 QhdPYR:00WBw1Ph7x7
S: .
C: UIDL 2
S: +OK 2 QhdPYR:00WBw1Ph7x7
C: UIDL 3
S: -ERR ~no such message, only 2 messages in maildrop
C: QUIT
S: +OK dewey POP3 server signing off (maildrop empty)
"""

RFC1939_AUTHORIZATION_QUIT = """
S: +OK POP3 server ready
C: USER mrose
S: +OK ~mrose is a real hoopy frood
C: PASS secret
S: -ERR [AUTH] ~invalid password
C: PASS tanstaaf
S: -ERR ~command not valid in this state
C: QUIT
S: +OK ~dewey POP3 server signing off
"""

RFC2449_CAPA = """
S: +OK POP3 server ready
C: CAPA
S: +OK Capability list follows
S: TOP
S: USER
S: SASL CRAM-MD5 PLAIN
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: UIDL
S: EXPIRE 60
S: LOGIN-DELAY 900
S: IMPLEMENTATION Shlemazle-Plotz-v302
S: .
C: QUIT
S: +OK ~bye
"""

RFC2449_IN_USE = """
S: +OK POP3 server ready
C: USER mrose
S: +OK
C: PASS tanstaaf
S: -ERR [IN-USE] maildrop locked
C: QUIT
S: +OK ~bye
"""

# RFC 5034 §6 examples (PLAIN, without and with the initial response).
RFC5034_PLAIN = """
S: +OK POP3 server ready
C: AUTH PLAIN
S: +
C: dGVzdAB0ZXN0AHRlc3Q=
S: +OK ~Maildrop locked and ready
C: QUIT
S: +OK ~bye
"""

RFC5034_PLAIN_IR = """
S: +OK POP3 server ready
C: AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=
S: +OK ~Maildrop locked and ready
C: STAT
S: +OK 1 120
C: QUIT
S: +OK ~bye
"""

RFC5034_UNKNOWN_MECH = """
S: +OK POP3 server ready
C: AUTH KERBEROS_V4
S: -ERR ~Unrecognized authentication type
C: QUIT
S: +OK ~bye
"""

RFC2595_STLS = """
S: +OK POP3 server ready
C: STLS
S: +OK Begin TLS negotiation
"""

TRANSCRIPTS: dict[str, tuple[str, dict[str, object]]] = {
    "rfc1939-session": (RFC1939_SESSION, {}),
    "rfc1939-transaction": (RFC1939_TRANSACTION, {}),
    "rfc1939-authorization": (RFC1939_AUTHORIZATION_QUIT, {}),
    "rfc2449-capa": (
        RFC2449_CAPA,
        {
            "sasl_mechanisms": ["CRAM-MD5", "PLAIN"],
            "expire": "60",
            "login_delay": "900",
            "implementation": "Shlemazle-Plotz-v302",
        },
    ),
    "rfc2449-in-use": (RFC2449_IN_USE, {"locked": True}),
    "rfc5034-plain": (RFC5034_PLAIN, {"sasl_mechanisms": ["PLAIN"]}),
    "rfc5034-plain-ir": (RFC5034_PLAIN_IR, {"sasl_mechanisms": ["PLAIN"]}),
    "rfc5034-unknown": (RFC5034_UNKNOWN_MECH, {"sasl_mechanisms": ["PLAIN"]}),
    "rfc2595-stls": (RFC2595_STLS, {"stls": True}),
}


def _server(settings: dict[str, object], greeting: str) -> tuple[ServerConnection, ServerApp]:
    settings = dict(settings)
    locked = settings.pop("locked", False)
    conn = ServerConnection(**settings)  # type: ignore[arg-type]
    text = greeting.removeprefix("+OK ")
    timestamp = None
    if text.endswith(">"):
        text, _, stamp = text.rpartition(" ")
        timestamp = stamp
    conn.send(Greeting(text=text, timestamp=timestamp))
    st = store()
    if locked:
        st.locked.add("mrose")
    return conn, ServerApp(conn, st)


@pytest.mark.parametrize("name", sorted(set(TRANSCRIPTS) - {"rfc2449-capa"}))
def test_server_side(name: str) -> None:
    text, settings = TRANSCRIPTS[name]
    steps = parse_transcript(text)
    conn, app = _server(settings, steps[0][1])
    output = conn.data_to_send()
    expected: list[str] = []
    for who, line in steps:
        if who == "C":
            conn.receive_data(line.encode() + b"\r\n")
            app.step()
            output += conn.data_to_send()
        else:
            expected.append(line)
    for want in expected:
        if want.startswith("<"):
            chunk = expand(want)
        else:
            chunk = output[: output.index(b"\r\n") + 2]
        assert matches(want, chunk), (want, chunk)
        assert output.startswith(chunk), (want, output[:200])
        output = output[len(chunk) :]
    assert output == b""


# The capability order is free (RFC 2449 §5), so CAPA is compared as a set.
def test_server_capa_exact_set() -> None:
    text, settings = TRANSCRIPTS["rfc2449-capa"]
    conn, _app = _server(settings, "+OK POP3 server ready")
    conn.data_to_send()
    conn.receive_data(b"CAPA\r\n")
    conn.next_event()
    lines = conn.data_to_send().split(b"\r\n")
    assert lines[0] == b"+OK Capability list follows"
    assert lines[-2:] == [b".", b""]
    expected = {
        line.removeprefix("S: ").encode()
        for line in text.strip().splitlines()[3:-3]
        if line.startswith("S: ")
    }
    assert set(lines[1:-2]) == expected


def _client_event_for(line: str) -> Event:
    parsed = parse_command(line.encode() + b"\r\n")
    if isinstance(parsed, AuthCommand):
        mech = sasl.client_mechanism("PLAIN", username="test", password="test", authzid="test")
        return Auth(mechanism=mech, initial_response=parsed.initial is not None)
    assert isinstance(parsed, Event), parsed
    return parsed


def run_client(text: str) -> list[Event]:
    steps = parse_transcript(text)
    client = ClientConnection()
    events: list[Event] = []
    for who, line in steps:
        if who == "C":
            wire = line.encode() + b"\r\n"
            out = client.data_to_send()
            if out:
                # A continuation line the connection wrote by itself.
                assert out == wire, (out, wire)
                continue
            client.send(_client_event_for(line))
            assert client.data_to_send() == wire
        else:
            client.receive_data(expand(line.replace("~", "")))
            while True:
                event = client.next_event()
                if event is NEED_DATA or event is PAUSED:
                    break
                assert isinstance(event, Event)
                events.append(event)
                if isinstance(event, ConnectionClosed):
                    break
    return events


def test_client_rfc1939_session() -> None:
    events = run_client(RFC1939_SESSION)
    assert events[0] == Greeting(text="POP3 server ready", timestamp=TIMESTAMP)
    assert events[1] == OkResponse(text="mrose's maildrop has 2 messages (320 octets)")
    assert events[2] == StatResponse(count=2, size=320)
    assert events[3] == ListResponse(
        entries=(ListEntry(msg=1, size=120), ListEntry(msg=2, size=200)),
        text="2 messages (320 octets)",
    )
    assert events[4] == OkResponse(text="120 octets")
    body = b"".join(e.data for e in events[5:] if isinstance(e, MessageData))
    assert body == MSG1 + MSG2
    assert events[-2] == OkResponse(text="dewey POP3 server signing off (maildrop empty)")
    assert events[-1] == ConnectionClosed()
    assert sum(isinstance(e, MessageEnd) for e in events) == 2


def test_client_rfc1939_transaction() -> None:
    events = run_client(RFC1939_TRANSACTION)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("ErrResponse") == 5
    assert ListResponse(entries=(ListEntry(msg=2, size=200),)) in events
    assert StatResponse(count=1, size=200) in events
    assert (
        UidlResponse(
            entries=(UidlEntry(msg=1, uid=UIDS[0]), UidlEntry(msg=2, uid=UIDS[1])), text=""
        )
        in events
    )
    assert UidlResponse(entries=(UidlEntry(msg=2, uid=UIDS[1]),)) in events
    top_data = [e for e in events if isinstance(e, MessageData)]
    assert b"".join(e.data for e in top_data) == top(MSG1, 3)


def test_client_rfc2449_capa() -> None:
    events = run_client(RFC2449_CAPA)
    capa = events[1]
    assert isinstance(capa, CapaResponse)
    caps = capa.capabilities
    assert caps.top and caps.user and caps.pipelining and caps.uidl and caps.resp_codes
    assert caps.sasl == ("CRAM-MD5", "PLAIN")
    assert caps.expire == "60" and caps.expire_days == 60
    assert caps.login_delay == "900"
    assert caps.implementation == "Shlemazle-Plotz-v302"
    assert not caps.stls


def test_client_rfc2449_in_use_code() -> None:
    events = run_client(RFC2449_IN_USE)
    assert ErrResponse(code="IN-USE", text="maildrop locked") in events


def test_client_rfc5034_plain() -> None:
    for text in (RFC5034_PLAIN, RFC5034_PLAIN_IR):
        events = run_client(text)
        assert isinstance(events[1], OkResponse)
        assert events[1].text == "Maildrop locked and ready"


def test_client_rfc2595_stls() -> None:
    events = run_client(RFC2595_STLS)
    assert events[-1] == OkResponse(text="Begin TLS negotiation")


def test_apop_known_answer() -> None:
    # RFC 1939 §7: the digest for "tanstaaf" and the example timestamp.
    assert apop_digest(TIMESTAMP, "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb"
    apop = Apop.from_password("mrose", TIMESTAMP, "tanstaaf")
    assert apop.matches(TIMESTAMP, "tanstaaf")
    assert not apop.matches(TIMESTAMP, "tanstaaF")
    assert "c4c9" not in repr(apop)


def test_rfc5034_plain_payload() -> None:
    assert base64.b64decode("dGVzdAB0ZXN0AHRlc3Q=") == b"test\x00test\x00test"


def test_server_state_after_transcripts() -> None:
    text, settings = TRANSCRIPTS["rfc2595-stls"]
    steps = parse_transcript(text)
    conn, app = _server(settings, steps[0][1])
    conn.receive_data(b"STLS\r\nUSER injected\r\n")
    app.step()
    assert conn.state is State.TLS_HANDSHAKE
