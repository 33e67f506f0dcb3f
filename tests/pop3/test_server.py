"""ServerConnection: states, deletion marks, errors, limits, STLS, TOP, streaming."""

from __future__ import annotations

import re

import pytest

from mailproto import NEED_DATA, PAUSED, LimitExceeded, LocalProtocolError, RemoteProtocolError
from mailproto.limits import POP3Limits
from mailproto.pop3 import (
    TRANSITIONS,
    CommandRejected,
    ConnectionClosed,
    Dele,
    ErrResponse,
    Greeting,
    Maildrop,
    MessageData,
    MessageEnd,
    MessageInfo,
    Noop,
    OkResponse,
    Pass,
    Quit,
    Result,
    Retr,
    ServerConnection,
    State,
    Stls,
    Top,
    Update,
    User,
)
from mailproto.pop3._connection import _TopCutter
from mailproto.pop3._state import KNOWN_VERBS, SessionState
from tests.pop3.support import MESSAGES, ServerApp, Store

LISTING = (
    MessageInfo(size=10, uid="a"),
    MessageInfo(size=20, uid="b"),
    MessageInfo(size=30, uid="c"),
)


def assert_state(conn: ServerConnection, state: State) -> None:
    # A function, not an inline assert, so that mypy does not narrow
    # conn.state for the rest of the test.
    assert conn.state is state


def logged_in(**kwargs: object) -> ServerConnection:
    conn = ServerConnection(**kwargs)  # type: ignore[arg-type]
    conn.send(Greeting())
    conn.receive_data(b"USER u\r\nPASS p w\r\n")
    assert conn.next_event() == User(name="u")
    event = conn.next_event()
    assert isinstance(event, Pass) and event.password.reveal() == "p w"
    conn.send(Maildrop(messages=LISTING))
    conn.data_to_send()
    assert_state(conn, State.TRANSACTION)
    return conn


def answer(conn: ServerConnection, line: bytes) -> bytes:
    conn.receive_data(line)
    while conn.next_event() not in (NEED_DATA, PAUSED):
        pass
    return conn.data_to_send()


def test_greeting_with_timestamp_offers_apop() -> None:
    conn = ServerConnection()
    assert conn.next_event() is PAUSED  # the greeting is owed first
    conn.send(Greeting(text="ready", timestamp="<1.2@host>"))
    assert conn.data_to_send() == b"+OK ready <1.2@host>\r\n"
    assert conn.apop_timestamp == "<1.2@host>"


def test_apop_refused_without_timestamp() -> None:
    conn = ServerConnection()
    conn.send(Greeting())
    conn.data_to_send()
    assert answer(conn, b"APOP u " + b"0" * 32 + b"\r\n").startswith(b"-ERR")


def test_error_greeting_closes() -> None:
    conn = ServerConnection()
    conn.send(ErrResponse(code="SYS/TEMP", text="busy"))
    assert conn.data_to_send() == b"-ERR [SYS/TEMP] busy\r\n"
    assert_state(conn, State.CLOSED)
    assert isinstance(conn.next_event(), ConnectionClosed)


def test_must_greet_first() -> None:
    conn = ServerConnection()
    with pytest.raises(LocalProtocolError):
        conn.send(OkResponse())


def test_pass_without_user() -> None:
    conn = ServerConnection()
    conn.send(Greeting())
    conn.data_to_send()
    conn.receive_data(b"PASS x\r\n")
    event = conn.next_event()
    assert isinstance(event, CommandRejected) and event.command == "PASS"
    assert conn.data_to_send().startswith(b"-ERR")


def test_user_pass_disabled() -> None:
    conn = ServerConnection(user_pass=False)
    conn.send(Greeting())
    conn.data_to_send()
    assert answer(conn, b"USER u\r\n").startswith(b"-ERR")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"STAT\r\n", b"+OK 3 60\r\n"),
        (b"LIST\r\n", b"+OK 3 messages\r\n1 10\r\n2 20\r\n3 30\r\n.\r\n"),
        (b"LIST 2\r\n", b"+OK 2 20\r\n"),
        (b"LIST 4\r\n", b"-ERR no such message\r\n"),
        (b"LIST 0\r\n", b"-ERR no such message\r\n"),
        (b"LIST x\r\n", b"-ERR invalid message number\r\n"),
        (b"LIST -1\r\n", b"-ERR invalid message number\r\n"),
        (b"LIST +1\r\n", b"-ERR invalid message number\r\n"),
        (b"LIST 1 2\r\n", b"-ERR invalid message number\r\n"),
        (b"LIST  1\r\n", b"-ERR malformed arguments\r\n"),
        (b"UIDL\r\n", b"+OK\r\na\r\n".replace(b"a\r\n", b"1 a\r\n2 b\r\n3 c\r\n.\r\n")),
        (b"UIDL 3\r\n", b"+OK 3 c\r\n"),
        (b"RETR 99999999999\r\n", b"-ERR invalid message number\r\n"),
        (b"TOP 1\r\n", b"-ERR usage: TOP msg lines\r\n"),
        (b"NOOP\r\n", b"+OK\r\n"),
        (b"noop\r\n", b"+OK\r\n"),  # keywords are case-insensitive (RFC 1939 §3)
        (b"NOOP x\r\n", b"-ERR NOOP takes no arguments\r\n"),
        (b"USER u\r\n", b"-ERR command not valid in this state\r\n"),
        (b"STLS\r\n", b"-ERR command not valid in this state\r\n"),
        (b"XYZZY\r\n", b"-ERR unknown command\r\n"),
        (b"\r\n", b"-ERR unknown command\r\n"),
        (b"NO\x00P\r\n", b"-ERR control characters in command\r\n"),
    ],
)
def test_transaction_commands(line: bytes, reply: bytes) -> None:
    conn = logged_in()
    assert answer(conn, line) == reply
    assert_state(conn, State.TRANSACTION)


def test_deletion_marks_and_rset() -> None:
    conn = logged_in()
    assert answer(conn, b"DELE 2\r\n") == b"+OK message 2 deleted\r\n"
    assert answer(conn, b"DELE 2\r\n") == b"-ERR message is deleted\r\n"
    assert answer(conn, b"RETR 2\r\n") == b"-ERR message is deleted\r\n"
    assert answer(conn, b"TOP 2 0\r\n") == b"-ERR message is deleted\r\n"
    assert answer(conn, b"LIST 2\r\n") == b"-ERR message is deleted\r\n"
    assert answer(conn, b"STAT\r\n") == b"+OK 2 40\r\n"
    assert answer(conn, b"LIST\r\n") == b"+OK 2 messages\r\n1 10\r\n3 30\r\n.\r\n"
    assert conn.deleted == {2}
    assert answer(conn, b"RSET\r\n").startswith(b"+OK")
    assert answer(conn, b"STAT\r\n") == b"+OK 3 60\r\n"
    answer(conn, b"DELE 3\r\nDELE 1\r\n")
    conn.receive_data(b"QUIT\r\n")
    event = conn.next_event()
    assert event == Update(deleted=(1, 3), uids=("a", "c"))
    assert_state(conn, State.UPDATE)
    assert conn.next_event() is PAUSED
    conn.send(OkResponse(text="bye"))
    assert conn.data_to_send() == b"+OK bye\r\n"
    assert_state(conn, State.CLOSED)


def test_lost_connection_deletes_nothing() -> None:
    conn = logged_in()
    answer(conn, b"DELE 1\r\n")
    conn.receive_data(b"QUI")
    conn.receive_data(b"")
    events = [conn.next_event(), conn.next_event()]
    assert all(isinstance(e, ConnectionClosed) for e in events)
    assert not any(isinstance(e, Update) for e in events)
    assert_state(conn, State.CLOSED)


def test_quit_in_authorization_has_no_update() -> None:
    conn = ServerConnection()
    conn.send(Greeting())
    conn.receive_data(b"QUIT\r\n")
    assert conn.next_event() == Quit()
    assert conn.data_to_send().endswith(b"+OK bye\r\n")
    assert_state(conn, State.CLOSED)


def test_login_refused_with_code() -> None:
    conn = ServerConnection()
    conn.send(Greeting())
    conn.receive_data(b"USER u\r\nPASS p\r\nSTAT\r\n")
    conn.next_event()
    assert isinstance(conn.next_event(), Pass)
    assert conn.next_event() is PAUSED  # replies stay in order
    conn.send(ErrResponse(code="IN-USE", text="locked"))
    assert isinstance(conn.next_event(), CommandRejected)  # STAT not in AUTHORIZATION
    assert conn.data_to_send().split(b"\r\n")[-3:] == [
        b"-ERR [IN-USE] locked",
        b"-ERR command not valid in this state",
        b"",
    ]
    assert_state(conn, State.AUTHORIZATION)


def test_wrong_answer_type_is_local_error() -> None:
    conn = ServerConnection()
    conn.send(Greeting())
    conn.receive_data(b"USER u\r\nPASS p\r\n")
    conn.next_event()
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(OkResponse())
    with pytest.raises(LocalProtocolError):
        conn.send(MessageData(data=b"x"))
    assert_state(conn, State.USER_ACCEPTED)  # unchanged


def test_no_answer_owed() -> None:
    conn = logged_in()
    with pytest.raises(LocalProtocolError):
        conn.send(OkResponse())


def test_retr_streams_dot_stuffed() -> None:
    conn = logged_in()
    conn.receive_data(b"RETR 1\r\n")
    assert conn.next_event() == Retr(msg=1)
    assert conn.wants_message_data
    conn.send(MessageData(data=b"a\r\n."))
    conn.send(MessageData(data=b"b\r\n"))
    conn.send(MessageData(data=b".\r\n"))
    conn.send(MessageEnd())
    assert conn.data_to_send() == b"+OK 10 octets\r\na\r\n..b\r\n..\r\n.\r\n"
    assert conn.next_event() is NEED_DATA


def test_retr_error_and_custom_status() -> None:
    conn = logged_in()
    conn.receive_data(b"RETR 1\r\nRETR 2\r\n")
    conn.next_event()
    conn.send(ErrResponse(code="SYS/TEMP", text="cannot read"))
    conn.next_event()
    conn.send(OkResponse(text="here"))
    with pytest.raises(LocalProtocolError):
        conn.send(ErrResponse())
    conn.send(MessageData(data=b"x"))
    conn.send(MessageEnd())
    assert conn.data_to_send() == (b"-ERR [SYS/TEMP] cannot read\r\n+OK here\r\nx\r\n.\r\n")


def test_normalize_newlines() -> None:
    conn = logged_in(normalize_newlines=True)
    conn.receive_data(b"RETR 1\r\n")
    conn.next_event()
    conn.send(MessageData(data=b"a\n.b\n"))
    conn.send(MessageEnd())
    assert conn.data_to_send().endswith(b"a\r\n..b\r\n.\r\n")


def reference_top(message: bytes, lines: int) -> bytes:
    """TOP by definition, on whole bytes (LF-terminated lines)."""
    parts = re.findall(rb"[^\n]*\n|[^\n]+$", message)
    out = []
    for i, line in enumerate(parts):
        out.append(line)
        if line in (b"\n", b"\r\n"):
            out.extend(parts[i + 1 : i + 1 + lines])
            break
    return b"".join(out)


@pytest.mark.parametrize("lines", [0, 1, 2, 5, 100])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize("message", [*MESSAGES, b"A: b\n\nunix\nlines\n", b"no body"])
def test_top_cutter(message: bytes, chunk: int, lines: int) -> None:
    cutter = _TopCutter(lines)
    out = b"".join(cutter.feed(message[i : i + chunk]) for i in range(0, len(message), chunk))
    assert out == reference_top(message, lines)


def test_top_lets_application_stop_early() -> None:
    conn = logged_in()
    conn.receive_data(b"TOP 1 0\r\n")
    assert conn.next_event() == Top(msg=1, lines=0)
    conn.send(MessageData(data=b"H: v\r\n\r\nbody\r\n"))
    assert not conn.wants_message_data
    conn.send(MessageData(data=b"ignored"))
    conn.send(MessageEnd())
    assert conn.data_to_send() == b"+OK top of message follows\r\nH: v\r\n\r\n.\r\n"


def test_stls_discards_pipelined_bytes() -> None:
    conn = ServerConnection(stls=True)
    conn.send(Greeting())
    conn.data_to_send()
    conn.receive_data(b"CAPA\r\n")
    conn.next_event()
    assert b"STLS\r\n" in conn.data_to_send()
    conn.receive_data(b"STLS\r\nUSER evil\r\n")
    assert conn.next_event() == Stls()
    assert conn.data_to_send() == b"+OK Begin TLS negotiation\r\n"
    assert_state(conn, State.TLS_HANDSHAKE)
    conn.receive_data(b"\x16\x03\x01 tls records")
    assert conn.next_event() is PAUSED
    conn.start_tls_done()
    assert conn.tls_active
    assert conn.next_event() is NEED_DATA  # "USER evil" never executed
    assert_state(conn, State.AUTHORIZATION)
    assert answer(conn, b"STLS\r\n") == b"-ERR TLS not available\r\n"
    assert b"STLS" not in answer(conn, b"CAPA\r\n")
    with pytest.raises(LocalProtocolError):
        conn.start_tls_done()


def test_stls_not_in_transaction() -> None:
    conn = logged_in(stls=True)
    assert answer(conn, b"STLS\r\n") == b"-ERR command not valid in this state\r\n"


def test_long_command_line() -> None:
    conn = logged_in()
    # A complete line over 255 octets is answered, the session survives.
    assert answer(conn, b"NOOP " + b"x" * 300 + b"\r\n") == b"-ERR command line too long\r\n"
    # A line that never ends is cut off at auth_line_length.
    conn.receive_data(b"x" * (POP3Limits().auth_line_length + 1))
    with pytest.raises(LimitExceeded) as info:
        conn.next_event()
    assert info.value.limit == "auth_line_length"
    assert info.value.hint is not None
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_error_limit() -> None:
    conn = logged_in(limits=POP3Limits(errors=3))
    for _ in range(3):
        assert answer(conn, b"BAD!\r\n").startswith(b"-ERR")
    conn.receive_data(b"BAD!\r\n")
    with pytest.raises(LimitExceeded) as info:
        conn.next_event()
    assert info.value.limit == "errors"
    assert_state(conn, State.ERROR)


def test_pipelined_input_bound() -> None:
    limits = POP3Limits(pipelined_commands=2, command_line_length=10)
    conn = logged_in(limits=limits)
    conn.receive_data(b"RETR 1\r\n")
    conn.next_event()
    with pytest.raises(LimitExceeded):
        conn.receive_data(b"NOOP\r\n" * 10)


def test_pipelined_commands_answered_in_order() -> None:
    store = Store()
    conn = ServerConnection()
    conn.send(Greeting())
    app = ServerApp(conn, store)
    conn.receive_data(b"USER mrose\r\nPASS tanstaaf\r\nRETR 1\r\nNOOP\r\nDELE 1\r\nQUIT\r\n")
    app.step()
    lines = conn.data_to_send().split(b"\r\n")
    assert lines[0].startswith(b"+OK")  # greeting
    assert lines[1] == b"+OK"  # USER
    assert lines[2] == b"+OK maildrop has 3 messages"
    assert lines[3] == b"+OK %d octets" % len(MESSAGES[0])
    assert lines[-5:] == [b".", b"+OK", b"+OK message 1 deleted", b"+OK bye", b""]
    assert len(store.box("mrose")) == 2
    assert Update(deleted=(1,), uids=("uid-mrose-0",)) in app.events


def test_events_hide_secrets() -> None:
    conn = ServerConnection()
    conn.send(Greeting())
    conn.receive_data(b"USER u\r\nPASS hunter2\r\n")
    conn.next_event()
    assert "hunter2" not in repr(conn.next_event())


def test_every_state_and_verb_is_answered() -> None:
    """Every known verb in every reachable state: an event, never a crash."""
    for verb in sorted(KNOWN_VERBS):
        for setup in (b"", b"USER u\r\n"):
            conn = ServerConnection(stls=True, sasl_mechanisms=["PLAIN"])
            conn.send(Greeting(timestamp="<1@h>"))
            conn.receive_data(setup + verb.encode() + b" 1\r\n")
            while True:
                event = conn.next_event()
                if event in (NEED_DATA, PAUSED):
                    break
            assert conn.state in State


def test_transition_table_matches_rfc1939() -> None:
    # Spot checks of the table against RFC 1939 §§3-6.
    OK = Result.OK
    assert SessionState.after(State.AUTHORIZATION, "PASS", OK) is None
    assert TRANSITIONS[(State.USER_ACCEPTED, "PASS", OK)] is State.TRANSACTION
    assert SessionState.after(State.TRANSACTION, "QUIT", OK) is State.CLOSED
    assert (State.TRANSACTION, "USER", OK) not in TRANSITIONS
    assert (State.TRANSACTION, "STLS", OK) not in TRANSITIONS
    assert (State.AUTHORIZATION, "RETR", OK) not in TRANSITIONS
    state = SessionState()
    with pytest.raises(LocalProtocolError):
        state.begin("STAT")


def test_events_validate() -> None:
    with pytest.raises(LocalProtocolError):
        Retr(msg=0)
    with pytest.raises(LocalProtocolError):
        User(name="a b")
    with pytest.raises(LocalProtocolError):
        Pass(password="a\r\nDELE 1")
    with pytest.raises(LocalProtocolError):
        ErrResponse(code="A]B")
    with pytest.raises(LocalProtocolError):
        MessageInfo(size=1, uid="x" * 71)
    with pytest.raises(LocalProtocolError):
        Greeting(timestamp="no-brackets")
    with pytest.raises(LocalProtocolError):
        Dele(msg=True)
    assert Noop() == Noop()


def test_maildrop_listing_bound() -> None:
    conn = ServerConnection(limits=POP3Limits(listing_entries=2))
    conn.send(Greeting())
    conn.receive_data(b"USER u\r\nPASS p\r\n")
    conn.next_event()
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(Maildrop(messages=LISTING))


def _server_in(state: State) -> ServerConnection:
    conn = ServerConnection(stls=True, sasl_mechanisms=["PLAIN"])
    conn.send(Greeting(timestamp="<1@h>"))
    if state is State.USER_ACCEPTED:
        conn.receive_data(b"USER u\r\n")
        conn.next_event()
    elif state is State.TRANSACTION:
        conn.receive_data(b"USER u\r\nPASS p\r\n")
        conn.next_event()
        conn.next_event()
        conn.send(Maildrop(messages=LISTING))
    conn.data_to_send()
    assert conn.state is state
    return conn


@pytest.mark.parametrize("args", ["", " 1", " 1 2", " x", " PLAIN"])
@pytest.mark.parametrize("verb", sorted(KNOWN_VERBS))
@pytest.mark.parametrize("state", [State.AUTHORIZATION, State.USER_ACCEPTED, State.TRANSACTION])
def test_every_state_verb_pair_follows_the_table(state: State, verb: str, args: str) -> None:
    """Each (state, command): the state afterwards is what the table says."""
    conn = _server_in(state)
    conn.receive_data(f"{verb}{args}\r\n".encode())
    event = conn.next_event()
    reply = conn.data_to_send()
    after = conn.state
    if isinstance(event, CommandRejected):
        assert reply.startswith(b"-ERR")
        assert after is TRANSITIONS.get((state, "BAD", Result.ERR), state)
        return
    assert SessionState.allowed(SessionState(), verb, state)
    if conn.owes_reply:
        # Waiting for the application: the table's pending state, or SASL
        # (AUTH asked a question) — nothing else.
        assert reply in (b"", b"+ \r\n") or reply.startswith(b"+ ")
        assert after in (state, State.UPDATE, State.SASL)
        return
    if reply.startswith(b"+ "):  # an AUTH challenge
        assert after is State.SASL
        return
    ok = Result.OK if reply.startswith(b"+OK") else Result.ERR
    assert after is SessionState.after(state, verb, ok), (event, reply)


def test_per_user_expire_and_login_delay() -> None:
    conn = ServerConnection(expire="30 USER", login_delay="900 USER")
    conn.send(Greeting())
    conn.data_to_send()
    capa = answer(conn, b"CAPA\r\n")
    assert b"EXPIRE 30 USER\r\n" in capa and b"LOGIN-DELAY 900 USER\r\n" in capa
    conn.receive_data(b"USER u\r\nPASS p\r\n")
    conn.next_event()
    conn.next_event()
    conn.send(Maildrop(messages=LISTING, expire="NEVER", login_delay="60"))
    conn.data_to_send()
    capa = answer(conn, b"CAPA\r\n")
    assert b"EXPIRE NEVER\r\n" in capa and b"LOGIN-DELAY 60\r\n" in capa
    with pytest.raises(LocalProtocolError):
        Maildrop(messages=(), expire="1\r\nSTLS")
