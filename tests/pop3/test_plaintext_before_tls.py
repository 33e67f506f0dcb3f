"""ServerConnection(login_requires_tls=True): no password in clear before TLS.

Until TLS is active the server leaves ``USER`` and the plaintext SASL
mechanisms out of CAPA and refuses them with ``-ERR [AUTH]`` (RFC 3206 §5:
"an attempt to authenticate in violation of policy"); after STLS CAPA lists
them again and they work (RFC 2595 §4: the client discards what it learnt
and re-issues CAPA).  With the option off nothing changes.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA, PAUSED, LocalProtocolError, sasl
from mailproto.pop3 import (
    Apop,
    Auth,
    AuthQuestion,
    Capa,
    CapaResponse,
    ClientConnection,
    CommandRejected,
    ErrResponse,
    Event,
    Greeting,
    OkResponse,
    Pass,
    ResponseCode,
    ServerConnection,
    Stat,
    State,
    StatResponse,
    Stls,
    User,
)
from tests.pop3.support import ServerApp, Store, exchange

MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5")
STLS_REFUSAL = b"-ERR [AUTH] plaintext authentication needs TLS: use STLS first\r\n"
TLS_REFUSAL = b"-ERR [AUTH] plaintext authentication needs TLS\r\n"

CAPA_BEFORE = (
    b"+OK Capability list follows\r\n"
    b"TOP\r\n"
    b"SASL SCRAM-SHA-256 CRAM-MD5\r\n"
    b"RESP-CODES\r\n"
    b"AUTH-RESP-CODE\r\n"
    b"PIPELINING\r\n"
    b"UIDL\r\n"
    b"STLS\r\n"
    b".\r\n"
)
CAPA_AFTER = (
    b"+OK Capability list follows\r\n"
    b"TOP\r\n"
    b"USER\r\n"
    b"SASL SCRAM-SHA-256 PLAIN LOGIN CRAM-MD5\r\n"
    b"RESP-CODES\r\n"
    b"AUTH-RESP-CODE\r\n"
    b"PIPELINING\r\n"
    b"UIDL\r\n"
    b".\r\n"
)


def server(**kwargs: object) -> ServerConnection:
    options: dict[str, object] = {
        "stls": True,
        "sasl_mechanisms": MECHANISMS,
        "login_requires_tls": True,
    }
    options.update(kwargs)
    conn = ServerConnection(**options)  # type: ignore[arg-type]
    conn.send(Greeting(text="ready", timestamp="<1.2@host>"))
    conn.data_to_send()
    return conn


def feed(conn: ServerConnection, data: bytes) -> tuple[list[Event], bytes]:
    """Feed *data*, collect events until the connection waits; return them
    and what it wrote."""
    assert data  # b"" would mean the client closed
    conn.receive_data(data)
    events: list[Event] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA or event is PAUSED:
            return events, conn.data_to_send()
        assert isinstance(event, Event)
        events.append(event)


def through_stls(conn: ServerConnection) -> None:
    events, out = feed(conn, b"STLS\r\n")
    assert events == [Stls()]
    assert out == b"+OK Begin TLS negotiation\r\n"
    conn.start_tls_done()


def plain_ir(user: str, password: str) -> bytes:
    mech = sasl.client_mechanism("PLAIN", username=user, password=password)
    ir = mech.initial_response()
    assert ir is not None
    return sasl.encode_response(ir, initial=True)


def assert_state(conn: ServerConnection, state: State) -> None:
    assert conn.state is state


# -- CAPA ------------------------------------------------------------------------


def test_capa_before_and_after_stls() -> None:
    conn = server()
    assert feed(conn, b"CAPA\r\n") == ([Capa()], CAPA_BEFORE)
    caps = conn.capabilities
    assert not caps.user and caps.sasl == ("SCRAM-SHA-256", "CRAM-MD5") and caps.stls
    through_stls(conn)
    assert feed(conn, b"CAPA\r\n") == ([Capa()], CAPA_AFTER)


def test_implicit_tls_offers_everything() -> None:
    conn = server(stls=False, tls_active=True)
    assert feed(conn, b"CAPA\r\n")[1] == CAPA_AFTER


def test_option_off_is_the_old_behaviour() -> None:
    conn = server(login_requires_tls=False)
    assert feed(conn, b"CAPA\r\n")[1] == CAPA_AFTER.replace(b"UIDL\r\n", b"UIDL\r\nSTLS\r\n")
    assert feed(conn, b"USER mrose\r\n") == ([User(name="mrose")], b"+OK\r\n")
    events, _ = feed(conn, b"PASS tanstaaf\r\n")
    assert isinstance(events[0], Pass)


def test_option_off_auth_plain_before_tls() -> None:
    conn = server(login_requires_tls=False)
    events, out = feed(conn, b"AUTH PLAIN " + plain_ir("mrose", "tanstaaf") + b"\r\n")
    assert out == b""
    assert len(events) == 1 and isinstance(events[0], AuthQuestion)
    assert isinstance(events[0].question, sasl.CheckPassword)


# -- refusals before TLS -------------------------------------------------------------


def test_user_refused_before_tls_then_pass_is_out_of_state() -> None:
    conn = server()
    events, out = feed(conn, b"USER mrose\r\n")
    assert out == STLS_REFUSAL
    assert events == [
        CommandRejected(command="USER", reason="plaintext authentication needs TLS: use STLS first")
    ]
    assert conn.user is None
    assert_state(conn, State.AUTHORIZATION)
    # A client that pipelined PASS anyway: out of state, never reported.
    events, out = feed(conn, b"PASS tanstaaf\r\n")
    assert out == b"-ERR command not valid in this state\r\n"
    assert [type(e) for e in events] == [CommandRejected]


@pytest.mark.parametrize(
    "line",
    [
        b"AUTH PLAIN\r\n",
        b"AUTH plain " + plain_ir("mrose", "tanstaaf") + b"\r\n",
        b"AUTH LOGIN\r\n",
        b"AUTH LOGIN bXJvc2U=\r\n",
    ],
)
def test_auth_plaintext_refused_before_tls(line: bytes) -> None:
    conn = server()
    events, out = feed(conn, line)
    # Refused before the exchange: no challenge, no question, no password.
    assert out == STLS_REFUSAL
    assert len(events) == 1 and isinstance(events[0], CommandRejected)
    assert events[0].command == "AUTH"
    assert_state(conn, State.AUTHORIZATION)
    # The session goes on: STLS, then the same command is accepted.
    through_stls(conn)
    events, out = feed(conn, line)
    assert not any(isinstance(e, CommandRejected) for e in events)
    assert out.startswith(b"+ ") or isinstance(events[0], AuthQuestion)


def test_refusal_without_stls_says_tls_is_needed() -> None:
    conn = server(stls=False)
    assert b"STLS" not in feed(conn, b"CAPA\r\n")[1]
    assert feed(conn, b"USER mrose\r\n")[1] == TLS_REFUSAL
    assert feed(conn, b"AUTH PLAIN\r\n")[1] == TLS_REFUSAL


def test_non_plaintext_mechanisms_and_apop_work_before_tls() -> None:
    conn = server()
    # SCRAM starts its exchange (the server's first challenge needs the
    # client-first message; an initial response gets a credentials question).
    mech = sasl.client_mechanism("SCRAM-SHA-256", username="mrose", password="tanstaaf")
    ir = mech.initial_response()
    assert ir is not None
    events, out = feed(
        conn, b"AUTH SCRAM-SHA-256 " + sasl.encode_response(ir, initial=True) + b"\r\n"
    )
    assert out == b""
    assert len(events) == 1 and isinstance(events[0], AuthQuestion)
    assert isinstance(events[0].question, sasl.LookupScramCredentials)
    # APOP sends a digest, not the password: not governed by the option.
    conn = server()
    digest = Apop.from_password(name="mrose", timestamp="<1.2@host>", password="tanstaaf")
    events, out = feed(conn, b"APOP mrose " + digest.digest.reveal().encode("ascii") + b"\r\n")
    assert out == b"" and events == [digest]


def test_pass_refused_if_option_set_after_user() -> None:
    conn = server(login_requires_tls=False)
    feed(conn, b"USER mrose\r\n")
    conn.login_requires_tls = True
    events, out = feed(conn, b"PASS tanstaaf\r\n")
    assert out == STLS_REFUSAL
    assert [type(e) for e in events] == [CommandRejected]
    assert conn.user is None
    assert_state(conn, State.AUTHORIZATION)


def test_refusals_count_as_errors() -> None:
    from mailproto import LimitExceeded
    from mailproto.limits import POP3Limits

    conn = server(limits=POP3Limits(errors=2))
    feed(conn, b"USER a\r\n")
    feed(conn, b"AUTH PLAIN\r\n")
    with pytest.raises(LimitExceeded):
        feed(conn, b"USER a\r\n")


# -- mechanisms the registry does not know ---------------------------------------------


class _Token(sasl.ServerMechanism):
    """A site mechanism that sends a reusable token: plaintext."""

    name: ClassVar[str] = "X-TOKEN"
    plaintext: ClassVar[bool] = True


class _Challenge(sasl.ServerMechanism):
    """A site mechanism that does not send the secret."""

    name: ClassVar[str] = "X-CHALLENGE"


def offered(conn: ServerConnection) -> tuple[str, ...]:
    # A function so that mypy does not narrow the first answer's type.
    return conn.capabilities.sasl


def factory(name: str) -> sasl.ServerMechanism:
    if name == "X-TOKEN":
        return _Token()
    if name == "X-CHALLENGE":
        return _Challenge()
    return sasl.server_mechanism(name)


def test_custom_mechanisms_follow_their_plaintext_attribute() -> None:
    conn = server(sasl_mechanisms=("X-CHALLENGE", "X-TOKEN", "PLAIN"), sasl_factory=factory)
    assert offered(conn) == ("X-CHALLENGE",)
    assert feed(conn, b"AUTH X-TOKEN\r\n")[1] == STLS_REFUSAL
    through_stls(conn)
    assert offered(conn) == ("X-CHALLENGE", "X-TOKEN", "PLAIN")


def test_unknown_mechanism_fails_at_construction_with_the_option() -> None:
    with pytest.raises(LocalProtocolError):
        ServerConnection(sasl_mechanisms=("X-NOWHERE",), login_requires_tls=True)
    # Without the option the name is only looked at when a client uses it.
    ServerConnection(sasl_mechanisms=("X-NOWHERE",))


# -- a client against the server ---------------------------------------------------------


def stls_pair() -> tuple[ClientConnection, ServerApp, list[Event]]:
    conn = ServerConnection(stls=True, sasl_mechanisms=MECHANISMS, login_requires_tls=True)
    conn.send(Greeting())
    app = ServerApp(conn, Store())
    client = ClientConnection()
    events = exchange(client, app)
    client.send(Capa())
    events += exchange(client, app)
    return client, app, events


def test_client_sees_the_capabilities_change_after_stls() -> None:
    client, app, events = stls_pair()
    capa = events[-1]
    assert isinstance(capa, CapaResponse)
    assert not capa.capabilities.user and "PLAIN" not in capa.capabilities.sasl
    client.send(Stls())
    assert exchange(client, app)[-1] == OkResponse(text="Begin TLS negotiation")
    client.start_tls_done()
    app.conn.start_tls_done()
    assert client.capabilities is None
    client.send(Capa())
    capa = exchange(client, app)[-1]
    assert isinstance(capa, CapaResponse)
    assert capa.capabilities.user and "PLAIN" in capa.capabilities.sasl
    # USER/PASS and AUTH PLAIN now log in.
    client.send(User(name="mrose"))
    client.send(Pass(password="tanstaaf"))
    client.send(Stat())
    answers = exchange(client, app)
    assert isinstance(answers[-1], StatResponse)


def test_client_login_before_stls_gets_auth_code() -> None:
    # A client that never asked CAPA cannot know: it sends USER and AUTH
    # PLAIN, and the server refuses them with [AUTH].
    conn = ServerConnection(stls=True, sasl_mechanisms=MECHANISMS, login_requires_tls=True)
    conn.send(Greeting())
    app = ServerApp(conn, Store())
    client = ClientConnection()
    exchange(client, app)
    client.send(User(name="mrose"))
    answer = exchange(client, app)[-1]
    assert isinstance(answer, ErrResponse) and answer.code == ResponseCode.AUTH
    mech = sasl.client_mechanism("PLAIN", username="mrose", password="tanstaaf")
    client.send(Auth(mechanism=mech))
    answer = exchange(client, app)[-1]
    assert isinstance(answer, ErrResponse) and answer.code == ResponseCode.AUTH
    assert not any(isinstance(e, (Pass, AuthQuestion)) for e in app.events)


def test_client_that_read_capa_does_not_send_the_hidden_commands() -> None:
    # CAPA left USER and PLAIN out: the client refuses to send them
    # (RFC 2449 §6.2, §6.3), so no password leaves in clear at all.
    client, app, _ = stls_pair()
    with pytest.raises(LocalProtocolError):
        client.send(User(name="mrose"))
    mech = sasl.client_mechanism("PLAIN", username="mrose", password="tanstaaf")
    with pytest.raises(LocalProtocolError):
        client.send(Auth(mechanism=mech))
    assert client.data_to_send() == b""
    # SCRAM works without TLS.
    mech = sasl.client_mechanism("SCRAM-SHA-256", username="mrose", password="tanstaaf")
    client.send(Auth(mechanism=mech))
    client.send(Stat())
    assert isinstance(exchange(client, app)[-1], StatResponse)


# -- properties ------------------------------------------------------------------------------

LINES = [
    b"CAPA\r\n",
    b"USER mrose\r\n",
    b"PASS tanstaaf\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH PLAIN " + plain_ir("mrose", "tanstaaf") + b"\r\n",
    b"AUTH LOGIN\r\n",
    b"AUTH LOGIN bXJvc2U=\r\n",
    b"NOOP\r\n",
    b"STAT\r\n",
    b"user mrose\r\n",
    b"auth login\r\n",
]


@given(
    lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=12),
    split=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=4),
)
def test_no_password_asked_for_before_tls_any_split(lines: list[bytes], split: list[int]) -> None:
    """Whatever plaintext login the client tries, and however its bytes are
    split: no USER/PLAIN/LOGIN in CAPA, every attempt refused with [AUTH],
    no Pass or AuthQuestion reported, and the same output for every split."""
    data = b"".join(lines)
    whole = server()
    events_whole, out_whole = feed(whole, data)
    conn = server()
    events: list[Event] = []
    out = b""
    i = k = 0
    while i < len(data):
        n = split[k % len(split)]
        k += 1
        more, written = feed(conn, data[i : i + n])
        events += more
        out += written
        i += n
    assert (events, out) == (events_whole, out_whole)
    assert not any(isinstance(e, (Pass, AuthQuestion, User)) for e in events)
    assert b"USER\r\n" not in out and b"PLAIN" not in out and b"LOGIN" not in out
    refused = [e for e in events if isinstance(e, CommandRejected) and e.command != "STAT"]
    attempts = sum(1 for line in lines if line.split()[0].upper() in (b"USER", b"AUTH"))
    assert out.count(STLS_REFUSAL) == attempts
    assert len(refused) >= attempts
    assert_state(conn, State.AUTHORIZATION)
