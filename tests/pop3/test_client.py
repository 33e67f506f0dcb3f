"""ClientConnection: response parsing, pipelining, STLS, SASL, errors."""

from __future__ import annotations

import pytest

from mailproto import NEED_DATA, PAUSED, LimitExceeded, LocalProtocolError, sasl
from mailproto.errors import RemoteProtocolError
from mailproto.limits import POP3Limits
from mailproto.pop3 import (
    Auth,
    Capa,
    CapaResponse,
    ClientConnection,
    ConnectionClosed,
    Dele,
    ErrResponse,
    Event,
    Greeting,
    List,
    ListEntry,
    ListResponse,
    MessageData,
    MessageEnd,
    Noop,
    OkResponse,
    Pass,
    Quit,
    Retr,
    Stat,
    State,
    StatResponse,
    Stls,
    Uidl,
    User,
)

CAPA_PIPELINING = b"+OK\r\nUSER\r\nPIPELINING\r\nSASL PLAIN SCRAM-SHA-256\r\n.\r\n"


def greeted(greeting: bytes = b"+OK hello <1.2@x>\r\n") -> ClientConnection:
    client = ClientConnection()
    client.receive_data(greeting)
    event = client.next_event()
    assert isinstance(event, Greeting)
    return client


def events(client: ClientConnection) -> list[Event]:
    out: list[Event] = []
    while True:
        event = client.next_event()
        if event is NEED_DATA or event is PAUSED:
            return out
        assert isinstance(event, Event)
        out.append(event)
        if isinstance(event, ConnectionClosed):
            return out


def logged_in(pipelining: bool = False) -> ClientConnection:
    client = greeted()
    if pipelining:
        client.send(Capa())
        client.data_to_send()
        client.receive_data(CAPA_PIPELINING)
        events(client)
    client.send(User(name="u"))
    client.send(Pass(password="p"))
    client.data_to_send()
    client.receive_data(b"+OK\r\n+OK in\r\n")
    if not pipelining:
        pass
    events(client)
    client.data_to_send()
    assert client.state is State.TRANSACTION
    return client


def test_greeting_timestamp() -> None:
    client = greeted(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")
    assert client.greeting == Greeting(
        text="POP3 server ready", timestamp="<1896.697170952@dbc.mtview.ca.us>"
    )
    assert client.apop_timestamp == "<1896.697170952@dbc.mtview.ca.us>"


def test_error_greeting() -> None:
    client = ClientConnection()
    client.receive_data(b"-ERR [SYS/TEMP] go away\r\n")
    assert client.next_event() == ErrResponse(code="SYS/TEMP", text="go away")
    assert client.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        client.send(Noop())


def test_no_commands_before_greeting() -> None:
    with pytest.raises(LocalProtocolError):
        ClientConnection().send(User(name="u"))


def test_state_checked_on_send() -> None:
    client = greeted()
    with pytest.raises(LocalProtocolError):
        client.send(Stat())
    with pytest.raises(LocalProtocolError):
        client.send(Pass(password="x"))  # PASS only after USER
    with pytest.raises(LocalProtocolError):
        client.send(OkResponse())  # not a command


def test_without_pipelining_one_command_at_a_time() -> None:
    client = logged_in()
    client.send(Stat())
    client.send(Noop())
    client.send(Dele(msg=1))
    assert client.data_to_send() == b"STAT\r\n"
    client.receive_data(b"+OK 2 30\r\n")
    assert client.next_event() == StatResponse(count=2, size=30)
    assert client.data_to_send() == b"NOOP\r\n"
    client.receive_data(b"+OK\r\n")
    assert client.next_event() == OkResponse()
    assert client.data_to_send() == b"DELE 1\r\n"


def test_with_pipelining_everything_at_once() -> None:
    client = logged_in(pipelining=True)
    client.send(Stat())
    client.send(List(msg=1))
    client.send(Retr(msg=1))
    client.send(Quit())
    assert client.data_to_send() == b"STAT\r\nLIST 1\r\nRETR 1\r\nQUIT\r\n"
    assert client.pending_commands == 4
    client.receive_data(b"+OK 1 5\r\n+OK 1 5\r\n+OK\r\n..ab\r\n.\r\n+OK bye\r\n")
    assert events(client) == [
        StatResponse(count=1, size=5),
        ListResponse(entries=(ListEntry(msg=1, size=5),)),
        OkResponse(),
        MessageData(data=b".ab\r\n"),
        MessageEnd(),
        OkResponse(text="bye"),
        ConnectionClosed(),
    ]


def test_pipelined_login_failure() -> None:
    client = greeted()
    client.send(Capa())
    client.data_to_send()
    client.receive_data(CAPA_PIPELINING)
    events(client)
    client.send(User(name="u"))
    client.send(Pass(password="bad"))
    client.send(Stat())
    assert client.data_to_send() == b"USER u\r\nPASS bad\r\nSTAT\r\n"
    client.receive_data(b"+OK\r\n-ERR [AUTH] no\r\n-ERR not now\r\n")
    assert events(client) == [
        OkResponse(),
        ErrResponse(code="AUTH", text="no"),
        ErrResponse(text="not now"),
    ]
    assert client.state is State.AUTHORIZATION
    client.send(User(name="u"))  # projection resynchronised


def test_server_accepting_impossible_command() -> None:
    client = greeted()
    client.send(Capa())
    client.data_to_send()
    client.receive_data(CAPA_PIPELINING)
    events(client)
    client.send(User(name="u"))
    client.send(Pass(password="bad"))
    client.send(Stat())
    client.receive_data(b"+OK\r\n-ERR no\r\n+OK 1 1\r\n")
    with pytest.raises(RemoteProtocolError):
        events(client)


def test_stls_twice_refused() -> None:
    client = greeted()
    client.send(Stls())
    client.receive_data(b"+OK\r\n")
    client.next_event()
    client.start_tls_done()
    with pytest.raises(LocalProtocolError):
        client.send(Stls())


def test_stls_discards_injected_bytes() -> None:
    client = greeted()
    client.send(Stls())
    with pytest.raises(LocalProtocolError):
        client.send(Noop())  # nothing may follow STLS until TLS is up
    assert client.data_to_send() == b"STLS\r\n"
    client.receive_data(b"+OK go\r\n+OK injected\r\n")
    assert client.next_event() == OkResponse(text="go")
    assert client.state is State.TLS_HANDSHAKE
    assert client.next_event() is PAUSED
    client.start_tls_done()
    assert client.tls_active and client.capabilities is None
    assert client.next_event() is NEED_DATA  # "+OK injected" is gone
    client.send(Capa())
    assert client.data_to_send() == b"CAPA\r\n"


def test_multi_line_parsing() -> None:
    client = logged_in()
    client.send(Uidl())
    client.data_to_send()
    client.receive_data(b"+OK\r\n1 abc\r\n2 d:e\r\n.\r\n")
    event = client.next_event()
    assert event.entries[1].uid == "d:e"  # type: ignore[union-attr]
    client.send(List())
    client.data_to_send()
    client.receive_data(b"+OK 2 messages\r\n1 10 extra info\r\n")
    assert client.next_event() is NEED_DATA
    client.receive_data(b"2 20\r\n.\r\n")
    assert client.next_event() == ListResponse(
        entries=(ListEntry(msg=1, size=10), ListEntry(msg=2, size=20)), text="2 messages"
    )


@pytest.mark.parametrize(
    ("command", "response"),
    [
        (Stat(), b"+OK two 3\r\n"),
        (List(msg=1), b"+OK 1\r\n"),
        (Uidl(msg=1), b"+OK 1 \x01\r\n"),
        (List(), b"+OK\r\nnot a listing\r\n.\r\n"),
        (Uidl(), b"+OK\r\n0 x\r\n.\r\n"),
        (Noop(), b"OK\r\n"),
        (Noop(), b"+OKAY\r\n"),
        (Noop(), b"+OK bare lf\n"),
    ],
)
def test_malformed_responses(command: Event, response: bytes) -> None:
    client = logged_in()
    client.send(command)
    client.receive_data(response)
    with pytest.raises(RemoteProtocolError):
        events(client)
    assert client.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_unsolicited_response() -> None:
    client = logged_in()
    client.receive_data(b"+OK surprise\r\n")
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_eof_mid_message() -> None:
    client = logged_in()
    client.send(Retr(msg=1))
    client.receive_data(b"+OK\r\npartial")
    assert isinstance(client.next_event(), OkResponse)
    client.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        events(client)


def test_eof_between_responses() -> None:
    client = logged_in()
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()
    assert client.state is State.CLOSED


def test_limits() -> None:
    client = ClientConnection(limits=POP3Limits(response_line_length=20, listing_entries=1))
    client.receive_data(b"+OK " + b"x" * 30)
    with pytest.raises(LimitExceeded):
        client.next_event()
    client = ClientConnection(limits=POP3Limits(listing_entries=1))
    client.receive_data(b"+OK\r\n")
    client.next_event()
    client.send(Capa())
    client.receive_data(b"+OK\r\nTOP\r\nUSER\r\n.\r\n")
    with pytest.raises(LimitExceeded):
        client.next_event()


def test_pipelined_command_bound() -> None:
    client = ClientConnection(limits=POP3Limits(pipelined_commands=2))
    client.receive_data(b"+OK\r\n")
    client.next_event()
    client.send(Capa())
    client.send(Capa())
    with pytest.raises(LocalProtocolError):
        client.send(Capa())


def test_sasl_bad_challenge_cancels() -> None:
    client = greeted()
    mech = sasl.client_mechanism("SCRAM-SHA-256", username="u", password="p")
    client.send(Auth(mechanism=mech))
    assert client.data_to_send().startswith(b"AUTH SCRAM-SHA-256 ")
    client.receive_data(b"+ " + sasl.encode_challenge(b"garbage") + b"\r\n")
    assert client.next_event() is NEED_DATA
    assert client.data_to_send() == b"*\r\n"
    client.receive_data(b"-ERR cancelled\r\n")
    assert client.next_event() == ErrResponse(text="cancelled")
    assert client.state is State.AUTHORIZATION
    assert isinstance(client.sasl_error, sasl.SASLError)


def test_sasl_pipelined_commands_wait_for_auth() -> None:
    client = greeted()
    client.send(Capa())
    client.data_to_send()
    client.receive_data(CAPA_PIPELINING)
    events(client)
    mech = sasl.client_mechanism("PLAIN", username="u", password="p")
    client.send(Auth(mechanism=mech, initial_response=False))
    client.send(Stat())
    assert client.data_to_send() == b"AUTH PLAIN\r\n"  # STAT held back
    client.receive_data(b"+ \r\n")
    assert client.next_event() is NEED_DATA
    assert client.data_to_send() == sasl.encode_response(b"\x00u\x00p") + b"\r\n"
    client.receive_data(b"+OK\r\n")
    assert client.next_event() == OkResponse()
    assert client.data_to_send() == b"STAT\r\n"


def test_sasl_long_initial_response_is_held() -> None:
    client = greeted()
    mech = sasl.client_mechanism("PLAIN", username="u" * 300, password="p")
    client.send(Auth(mechanism=mech))
    assert client.data_to_send() == b"AUTH PLAIN\r\n"
    client.receive_data(b"+ \r\n")
    client.next_event()
    assert client.data_to_send() == sasl.encode_response(b"\x00" + b"u" * 300 + b"\x00p") + b"\r\n"


def test_continuation_outside_auth() -> None:
    client = logged_in()
    client.send(Noop())
    client.receive_data(b"+ abc\r\n")
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_capa_parsing_and_other() -> None:
    client = greeted()
    client.send(Capa())
    client.receive_data(
        b"+OK\r\nSTLS\r\nEXPIRE NEVER\r\nLOGIN-DELAY 900 USER\r\nX-FOO a b\r\n..ODD\r\n.\r\n"
    )
    event = client.next_event()
    assert isinstance(event, CapaResponse)
    caps = event.capabilities
    assert caps.stls and caps.expire == "NEVER" and caps.expire_days is None
    assert caps.login_delay == "900 USER"
    assert caps.other == (("X-FOO", ("a", "b")), (".ODD", ()))
    assert client.capabilities == caps


def test_bare_line_ends_in_message_are_data() -> None:
    client = logged_in()
    client.send(Retr(msg=1))
    client.receive_data(b"+OK\r\na\nb\rc\r\n.\r\n")
    assert events(client) == [OkResponse(), MessageData(data=b"a\nb\rc\r\n"), MessageEnd()]


def test_dot_block_reader_without_bare_detection() -> None:
    from mailproto._buffer import DotBlockReader, ReceiveBuffer

    buf = ReceiveBuffer()
    buf.append(b"a\nb\rc\r\n.\r\n")
    reader = DotBlockReader(detect_bare=False)
    assert reader.read(buf) == b"a\nb\rc\r\n"
    assert not reader.bare_lf and not reader.bare_cr
    checking = DotBlockReader()
    buf.append(b"a\nb\r\n.\r\n")
    assert checking.read(buf) == b"a\nb\r\n"
    assert checking.bare_lf and not checking.bare_cr
