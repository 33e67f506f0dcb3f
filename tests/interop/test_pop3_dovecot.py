"""Our ClientConnection against Dovecot's POP3 server (Debian dovecot-pop3d).

Dovecot runs with a throwaway config (tests/interop/dovecot.py); messages are
delivered into its Maildir and must come back byte for byte.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from mailproto import NEED_DATA, PAUSED, sasl
from mailproto.pop3 import (
    Apop,
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
    ListResponse,
    MessageData,
    MessageEnd,
    Noop,
    OkResponse,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    StatResponse,
    Stls,
    Top,
    Uidl,
    UidlResponse,
    User,
)
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")

MESSAGES = [
    b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.\r\n..two\r\n.x\r\n",
    b"From: b@example.org\r\nSubject: two\r\n\r\n" + b"line of text\r\n" * 80_000,
    b"Subject: three\r\n\r\nbody\r\n",
]


class Session:
    """A blocking socket pump around ClientConnection."""

    def __init__(self, server: DovecotServer, *, implicit_tls: bool = False) -> None:
        self.server = server
        port = server.pop3s_port if implicit_tls else server.pop3_port
        sock: socket.socket = socket.create_connection((server.host, port), timeout=20)
        if implicit_tls:
            sock = server.client_ssl_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.conn = ClientConnection()
        self.greeting = self.next()
        assert isinstance(self.greeting, Greeting)

    def next(self) -> Event:
        """The next event, reading from the socket as needed."""
        while True:
            # Receiving can force output (SASL responses), so write after
            # every next_event() as well as after send().
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
            event = self.conn.next_event()
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
            if event is NEED_DATA:
                self.conn.receive_data(self.sock.recv(262144))
                continue
            assert event is not PAUSED
            assert isinstance(event, Event)
            return event

    def call(self, command: Event) -> list[Event]:
        """Send *command* and return its answer's events."""
        self.conn.send(command)
        events = [self.next()]
        if isinstance(events[0], OkResponse) and isinstance(command, (Retr, Top)):
            while not isinstance(events[-1], MessageEnd):
                events.append(self.next())
        return events

    def login(self, user: str = "alice") -> None:
        self.conn.send(User(name=user))
        self.conn.send(Pass(password=self.server.users[user]))
        assert isinstance(self.next(), OkResponse)
        assert isinstance(self.next(), OkResponse)

    def retr(self, n: int) -> bytes:
        events = self.call(Retr(msg=n))
        assert isinstance(events[0], OkResponse), events[0]
        return b"".join(e.data for e in events if isinstance(e, MessageData))

    def starttls(self) -> None:
        (ok,) = self.call(Stls())
        assert isinstance(ok, OkResponse)
        ctx = self.server.client_ssl_context()
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.conn.start_tls_done()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def box(dovecot: DovecotServer) -> list[Path]:
    """Alice's INBOX emptied and filled with MESSAGES."""
    root = dovecot.maildir("alice")
    for sub in ("new", "cur"):
        for path in (root / sub).iterdir():
            path.unlink()
    for name in ("dovecot-uidlist", "dovecot.index", "dovecot.index.cache", "dovecot.index.log"):
        (root / name).unlink(missing_ok=True)
    return [dovecot.deliver("alice", m) for m in MESSAGES]


def maildir_count(dovecot: DovecotServer) -> int:
    root = dovecot.maildir("alice")
    return sum(1 for sub in ("new", "cur") for _ in (root / sub).iterdir())


def test_capa_and_apop_timestamp(dovecot: DovecotServer) -> None:
    session = Session(dovecot)
    assert isinstance(session.greeting, Greeting) and session.greeting.timestamp is not None
    (capa,) = session.call(Capa())
    assert isinstance(capa, CapaResponse)
    caps = capa.capabilities
    assert caps.stls and caps.pipelining and caps.uidl and caps.top and caps.user
    assert {"PLAIN", "SCRAM-SHA-256", "CRAM-MD5"} <= set(caps.sasl)
    session.call(Quit())
    session.close()


def test_retrieve_byte_for_byte(dovecot: DovecotServer, box: list[Path]) -> None:
    session = Session(dovecot)
    session.call(Capa())  # learn PIPELINING: the rest is pipelined
    session.login()
    (stat,) = session.call(Stat())
    assert stat == StatResponse(count=3, size=sum(len(m) for m in MESSAGES))
    (listing,) = session.call(List())
    assert isinstance(listing, ListResponse)
    assert [(e.msg, e.size) for e in listing.entries] == [
        (i, len(m)) for i, m in enumerate(MESSAGES, 1)
    ]
    (uidl,) = session.call(Uidl())
    assert isinstance(uidl, UidlResponse) and len({e.uid for e in uidl.entries}) == 3
    for i, message in enumerate(MESSAGES, 1):
        assert session.retr(i) == message
    events = session.call(Top(msg=1, lines=1))
    top = b"".join(e.data for e in events if isinstance(e, MessageData))
    assert top == MESSAGES[0].split(b"\r\n\r\n")[0] + b"\r\n\r\nHello\r\n"
    (err,) = session.call(Retr(msg=4))
    assert isinstance(err, ErrResponse)
    assert session.call(Quit())[0] == OkResponse(text="Logging out.")
    assert session.next() == ConnectionClosed()
    session.close()


def test_pipelined_retrieval(dovecot: DovecotServer, box: list[Path]) -> None:
    session = Session(dovecot)
    session.call(Capa())
    conn = session.conn
    conn.send(User(name="alice"))
    conn.send(Pass(password=dovecot.users["alice"]))
    for i in range(1, 4):
        conn.send(Retr(msg=i))
    conn.send(Noop())
    conn.send(Quit())
    events: list[Event] = []
    while not events or not isinstance(events[-1], ConnectionClosed):
        events.append(session.next())
    bodies: list[bytes] = []
    for event in events:
        if isinstance(event, MessageData):
            if not bodies or bodies[-1].endswith(b"\x00END"):
                bodies.append(b"")
            bodies[-1] += event.data
        elif isinstance(event, MessageEnd):
            bodies[-1] += b"\x00END"
    assert [b.removesuffix(b"\x00END") for b in bodies] == MESSAGES
    session.close()


def test_dele_quit_removes_and_drop_keeps(dovecot: DovecotServer, box: list[Path]) -> None:
    session = Session(dovecot)
    session.login()
    assert isinstance(session.call(Dele(msg=1))[0], OkResponse)
    session.close()  # dropped: no QUIT, nothing deleted
    session = Session(dovecot)
    session.login()
    assert session.call(Stat())[0] == StatResponse(count=3, size=sum(len(m) for m in MESSAGES))
    session.call(Dele(msg=1))
    session.call(Dele(msg=3))
    session.call(Rset())
    session.call(Dele(msg=2))
    assert isinstance(session.call(Quit())[0], OkResponse)
    session.close()
    assert maildir_count(dovecot) == 2
    session = Session(dovecot)
    session.login()
    assert session.retr(1) == MESSAGES[0]
    assert session.retr(2) == MESSAGES[2]
    session.call(Quit())
    session.close()


@pytest.mark.parametrize(
    "mechanism", ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
)
@pytest.mark.parametrize("user", ["alice", "carol"])
def test_sasl(dovecot: DovecotServer, mechanism: str, user: str) -> None:
    session = Session(dovecot)
    mech = sasl.client_mechanism(mechanism, username=user, password=dovecot.users[user])
    assert session.call(Auth(mechanism=mech)) == [OkResponse(text="Logged in.")]
    assert isinstance(session.call(Stat())[0], StatResponse)
    session.call(Quit())
    session.close()


def test_apop(dovecot: DovecotServer) -> None:
    session = Session(dovecot)
    timestamp = session.conn.apop_timestamp
    assert timestamp is not None
    apop = Apop.from_password("bob", timestamp, dovecot.users["bob"])
    assert session.call(apop) == [OkResponse(text="Logged in.")]
    session.call(Quit())
    session.close()
    session = Session(dovecot)
    apop = Apop.from_password("bob", session.conn.apop_timestamp or "", "wrong")
    (event,) = session.call(apop)
    assert isinstance(event, ErrResponse)
    session.close()


def test_stls_then_login(dovecot: DovecotServer, box: list[Path]) -> None:
    session = Session(dovecot)
    session.starttls()
    (capa,) = session.call(Capa())
    assert isinstance(capa, CapaResponse) and not capa.capabilities.stls
    session.login()
    assert session.retr(1) == MESSAGES[0]
    session.call(Quit())
    session.close()


def test_implicit_tls(dovecot: DovecotServer) -> None:
    session = Session(dovecot, implicit_tls=True)
    assert isinstance(session.sock, ssl.SSLSocket)
    session.login("bob")
    session.call(Quit())
    session.close()


# Last: a failed SCRAM login makes Dovecot delay later logins from 127.0.0.1
# (its auth penalty; the passwd-file's nodelay only covers password checks).
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_sasl_wrong_password(dovecot: DovecotServer, mechanism: str) -> None:
    session = Session(dovecot)
    mech = sasl.client_mechanism(mechanism, username="alice", password="wrong")
    (event,) = session.call(Auth(mechanism=mech))
    assert isinstance(event, ErrResponse) and event.code == "AUTH"
    session.call(Quit())
    session.close()
