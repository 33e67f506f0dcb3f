"""The POP3 client does not send what the server said it cannot take.

Once a CAPA has been answered, :meth:`ClientConnection.send` refuses
(``LocalProtocolError``) USER when CAPA did not list USER (RFC 2449 §6.2),
AUTH with a mechanism outside the SASL list (RFC 2449 §6.3), STLS when not
listed (RFC 2595 §4), and TOP/UIDL when a CAPA answered after login did not
list them (RFC 2449 §6.1, §6.8); APOP is refused whenever the greeting had
no timestamp (RFC 1939 §7).  When CAPA was never sent, is in flight, failed,
or was forgotten after STLS, the client cannot know and sends the command.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import LocalProtocolError, sasl
from mailproto.pop3 import (
    Apop,
    Auth,
    Capa,
    CapaResponse,
    ClientConnection,
    ErrResponse,
    Event,
    Greeting,
    OkResponse,
    Pass,
    ServerConnection,
    Stat,
    State,
    StatResponse,
    Stls,
    Top,
    Uidl,
    UidlResponse,
    User,
)
from tests.interop.dovecot import DovecotServer, dovecot_fixture
from tests.interop.test_pop3_dovecot import Session
from tests.pop3.support import ServerApp, Store, client_events, exchange

TIMESTAMP_GREETING = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
PLAIN_GREETING = b"+OK POP3 server ready\r\n"
CAPA_FULL = (
    b"+OK Capability list follows\r\n"
    b"TOP\r\nUSER\r\nSASL PLAIN SCRAM-SHA-256\r\nUIDL\r\nSTLS\r\nPIPELINING\r\n.\r\n"
)
CAPA_BARE = b"+OK Capability list follows\r\nRESP-CODES\r\n.\r\n"


def _events(client: ClientConnection) -> list[Event]:
    return list(client_events(client))


def _client(greeting: bytes = TIMESTAMP_GREETING, capa: bytes | None = None) -> ClientConnection:
    client = ClientConnection()
    client.receive_data(greeting)
    [hello] = _events(client)
    assert isinstance(hello, Greeting)
    if capa is not None:
        client.send(Capa())
        assert client.data_to_send() == b"CAPA\r\n"
        client.receive_data(capa)
        [answer] = _events(client)
        assert isinstance(answer, (CapaResponse, ErrResponse))
    return client


def _plain() -> Auth:
    return Auth(mechanism=sasl.client_mechanism("PLAIN", username="u", password="p"))


def _login(client: ClientConnection) -> None:
    client.send(User(name="mrose"))
    client.send(Pass(password="tanstaaf"))
    client.receive_data(b"+OK\r\n+OK maildrop has 2 messages\r\n")
    _events(client)
    assert client.state is State.TRANSACTION
    client.data_to_send()


# ---- USER -----------------------------------------------------------------------------


def test_user_refused_when_capa_did_not_list_it() -> None:
    client = _client(capa=CAPA_BARE)
    with pytest.raises(LocalProtocolError, match=r"USER.*CAPA.*RFC 2449 §6\.2"):
        client.send(User(name="mrose"))
    # Nothing was queued or written; the session is untouched.
    assert client.data_to_send() == b"" and client.pending_commands == 0
    assert client.state is State.AUTHORIZATION
    client.send(Capa())
    assert client.data_to_send() == b"CAPA\r\n"


def test_user_allowed_when_capa_listed_it() -> None:
    client = _client(capa=CAPA_FULL)
    client.send(User(name="mrose"))
    assert client.data_to_send() == b"USER mrose\r\n"


def test_user_allowed_without_capa() -> None:
    client = _client()
    client.send(User(name="mrose"))
    assert client.data_to_send() == b"USER mrose\r\n"


def test_user_allowed_when_capa_failed() -> None:
    # An RFC 1939-only server: -ERR to CAPA says nothing about USER.
    client = _client(capa=b"-ERR unknown command\r\n")
    assert client.capabilities is None
    client.send(User(name="mrose"))
    assert client.data_to_send() == b"USER mrose\r\n"


def test_user_allowed_while_capa_is_in_flight() -> None:
    client = _client()
    client.send(Capa())
    client.send(User(name="mrose"))  # the answer is not in yet: cannot know
    assert client.data_to_send() == b"CAPA\r\n"  # (no PIPELINING known: one at a time)
    client.receive_data(CAPA_BARE)
    [capa] = _events(client)
    assert isinstance(capa, CapaResponse)
    assert client.data_to_send() == b"USER mrose\r\n"


def test_the_last_capa_answer_counts() -> None:
    client = _client(capa=CAPA_FULL)
    client.send(Capa())
    client.data_to_send()
    client.receive_data(CAPA_BARE)
    _events(client)
    with pytest.raises(LocalProtocolError):
        client.send(User(name="mrose"))


# ---- AUTH -----------------------------------------------------------------------------


def test_auth_refused_for_a_mechanism_not_listed() -> None:
    client = _client(capa=b"+OK\r\nSASL SCRAM-SHA-256 CRAM-MD5\r\n.\r\n")
    with pytest.raises(LocalProtocolError, match=r"AUTH PLAIN.*SCRAM-SHA-256 CRAM-MD5"):
        client.send(_plain())
    assert client.data_to_send() == b""
    scram = sasl.client_mechanism("SCRAM-SHA-256", username="u", password="p")
    client.send(Auth(mechanism=scram))
    assert client.data_to_send().startswith(b"AUTH SCRAM-SHA-256 ")


def test_auth_refused_when_capa_had_no_sasl_line() -> None:
    client = _client(capa=CAPA_BARE)
    with pytest.raises(LocalProtocolError, match="no SASL capability"):
        client.send(_plain())


def test_auth_mechanism_names_compare_without_case() -> None:
    # Mechanism names are case-insensitive (RFC 4422 §3.1); the parser
    # upper-cases the list.
    client = _client(capa=b"+OK\r\nSASL plain\r\n.\r\n")
    client.send(_plain())
    assert client.data_to_send().startswith(b"AUTH PLAIN")


def test_auth_allowed_without_capa() -> None:
    client = _client()
    client.send(_plain())
    assert client.data_to_send().startswith(b"AUTH PLAIN")


# ---- STLS -----------------------------------------------------------------------------


def test_stls_refused_when_not_listed_and_allowed_when_listed() -> None:
    with pytest.raises(LocalProtocolError, match=r"STLS.*RFC 2595"):
        _client(capa=CAPA_BARE).send(Stls())
    client = _client(capa=CAPA_FULL)
    client.send(Stls())
    assert client.data_to_send() == b"STLS\r\n"


def test_capabilities_are_forgotten_after_stls() -> None:
    # RFC 2595 §4: the client discards what CAPA said before TLS; until it
    # asks again it cannot know, and what was hidden before may be offered.
    client = _client(capa=b"+OK\r\nSTLS\r\nSASL SCRAM-SHA-256\r\n.\r\n")
    with pytest.raises(LocalProtocolError):
        client.send(User(name="mrose"))
    client.send(Stls())
    client.data_to_send()
    client.receive_data(b"+OK begin TLS\r\n")
    assert _events(client) == [OkResponse(text="begin TLS")]
    client.start_tls_done()
    client.send(User(name="mrose"))
    assert client.data_to_send() == b"USER mrose\r\n"


# ---- APOP -----------------------------------------------------------------------------


def test_apop_refused_when_the_greeting_has_no_timestamp() -> None:
    client = _client(greeting=PLAIN_GREETING)
    assert client.apop_timestamp is None
    apop = Apop(name="mrose", digest="c4c9334bac560ecc979e58001b3e22fb")
    with pytest.raises(LocalProtocolError, match=r"APOP.*timestamp.*RFC 1939 §7"):
        client.send(apop)
    assert client.data_to_send() == b""


def test_apop_allowed_with_a_timestamp() -> None:
    # RFC 1939 §7's example.
    client = _client()
    assert client.apop_timestamp is not None
    client.send(Apop.from_password("mrose", client.apop_timestamp, "tanstaaf"))
    assert client.data_to_send() == b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"


# ---- TOP and UIDL ---------------------------------------------------------------------


def test_top_and_uidl_not_judged_by_a_capa_answered_before_login() -> None:
    # RFC 2449 §5: only what is available before login must be announced in
    # both states; TOP and UIDL may appear only after authentication.
    client = _client(capa=b"+OK\r\nUSER\r\n.\r\n")
    _login(client)
    client.send(Top(msg=1, lines=0))
    assert client.data_to_send() == b"TOP 1 0\r\n"


def test_top_and_uidl_refused_when_a_capa_after_login_did_not_list_them() -> None:
    client = _client()
    _login(client)
    client.send(Capa())
    client.data_to_send()
    client.receive_data(b"+OK\r\nUIDL\r\n.\r\n")
    _events(client)
    with pytest.raises(LocalProtocolError, match=r"TOP.*after login.*RFC 2449 §6\.1"):
        client.send(Top(msg=1, lines=0))
    client.send(Uidl())
    assert client.data_to_send() == b"UIDL\r\n"


def test_uidl_refused_when_a_capa_after_login_did_not_list_it() -> None:
    client = _client()
    _login(client)
    client.send(Capa())
    client.data_to_send()
    client.receive_data(b"+OK\r\nTOP\r\n.\r\n")
    _events(client)
    with pytest.raises(LocalProtocolError, match=r"UIDL.*RFC 2449 §6\.8"):
        client.send(Uidl(msg=1))
    client.send(Top(msg=1, lines=0))
    assert client.data_to_send() == b"TOP 1 0\r\n"


# ---- against our server -----------------------------------------------------------------


def test_against_a_server_that_offers_no_user_command() -> None:
    # login_requires_tls without TLS: CAPA offers SCRAM only.  The client
    # reads CAPA and then never puts a password on the wire in clear.
    conn = ServerConnection(sasl_mechanisms=("SCRAM-SHA-256",), login_requires_tls=True)
    conn.send(Greeting())
    app = ServerApp(conn, Store())
    client = ClientConnection()
    exchange(client, app)
    client.send(Capa())
    [capa] = exchange(client, app)
    assert isinstance(capa, CapaResponse) and not capa.capabilities.user
    with pytest.raises(LocalProtocolError):
        client.send(User(name="mrose"))
    with pytest.raises(LocalProtocolError):
        client.send(_plain())
    scram = sasl.client_mechanism("SCRAM-SHA-256", username="mrose", password="tanstaaf")
    client.send(Auth(mechanism=scram))
    client.send(Stat())
    assert isinstance(exchange(client, app)[-1], StatResponse)


# ---- property ---------------------------------------------------------------------------

_CAPA_LINES = ["TOP", "USER", "UIDL", "STLS", "RESP-CODES"]
_SASL_LINES = ["", "SASL PLAIN", "SASL SCRAM-SHA-256", "SASL SCRAM-SHA-256 PLAIN"]


@given(
    st.lists(st.sampled_from(_CAPA_LINES), unique=True),
    st.sampled_from(_SASL_LINES),
    st.booleans(),
)
def test_refusals_match_the_capa_answer(lines: list[str], sasl_line: str, stamped: bool) -> None:
    """For any CAPA answer: a command is sent iff the answer allows it."""
    capa_lines = [*lines, sasl_line] if sasl_line else lines
    capa = ("+OK\r\n" + "".join(f"{line}\r\n" for line in capa_lines) + ".\r\n").encode()
    greeting = TIMESTAMP_GREETING if stamped else PLAIN_GREETING
    cases: list[tuple[Event, bool]] = [
        (User(name="mrose"), "USER" in lines),
        (_plain(), "PLAIN" in sasl_line.split()),
        (Stls(), "STLS" in lines),
        (Apop(name="mrose", digest="c4c9334bac560ecc979e58001b3e22fb"), stamped),
    ]
    for command, allowed in cases:
        client = _client(greeting=greeting, capa=capa)
        if allowed:
            client.send(command)
            assert client.data_to_send() != b""
        else:
            with pytest.raises(LocalProtocolError):
                client.send(command)
            assert client.data_to_send() == b"" and client.pending_commands == 0


# ---- a real peer: Dovecot's POP3 server -------------------------------------------------

dovecot = dovecot_fixture(scope="module")


@pytest.mark.interop
def test_dovecot_capa_allows_what_dovecot_takes(dovecot: DovecotServer) -> None:
    dovecot.deliver("alice", b"Subject: hi\r\n\r\nbody\r\n")
    pump = Session(dovecot)
    try:
        (before,) = pump.call(Capa())
        assert isinstance(before, CapaResponse)
        # What Dovecot does not offer is refused here, before the wire.
        assert "XOAUTH2" not in before.capabilities.sasl
        xoauth = sasl.client_mechanism("XOAUTH2", username="alice", token="t")
        with pytest.raises(LocalProtocolError, match="AUTH XOAUTH2"):
            pump.conn.send(Auth(mechanism=xoauth))
        # What it offers goes through: USER/PASS, then, after login, a CAPA
        # answered in TRANSACTION that governs TOP and UIDL.
        assert before.capabilities.user
        pump.login("alice")
        (after,) = pump.call(Capa())
        assert isinstance(after, CapaResponse)
        assert after.capabilities.top and after.capabilities.uidl
        assert isinstance(pump.call(Uidl())[0], UidlResponse)
        assert isinstance(pump.call(Top(msg=1, lines=0))[0], OkResponse)
    finally:
        pump.close()
