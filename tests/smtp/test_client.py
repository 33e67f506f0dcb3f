"""ClientConnection: refusing what the server did not offer, pipelining, AUTH,
LMTP, BDAT — against our own ServerConnection in memory."""

from __future__ import annotations

import pytest

from mailproto import NEED_DATA, LocalProtocolError, RemoteProtocolError, sasl
from mailproto.limits import SMTPLimits
from mailproto.smtp import (
    Bdat,
    Body,
    ClientConnection,
    Data,
    DataChunk,
    Ehlo,
    EhloReply,
    EndOfData,
    Helo,
    Lhlo,
    MailAuth,
    Mailbox,
    MailFrom,
    MailParameters,
    Noop,
    Quit,
    RcptParameters,
    RcptTo,
    RecipientReply,
    Reply,
    Ret,
    ServerConfig,
    ServerConnection,
    StartTLS,
    State,
)
from tests.smtp._helpers import Pair, replies_of

A = Mailbox(local_part="a", domain="b.example")
C = Mailbox(local_part="c", domain="d.example")
U = Mailbox(local_part="ü", domain="d.example")


def pair(config: ServerConfig | None = None, **client_kw: object) -> Pair:
    p = Pair.start(
        ServerConnection(config or ServerConfig(), limits=SMTPLimits(message_size=1000)),
        ClientConnection(**client_kw),  # type: ignore[arg-type]
    )
    p.flush()
    return p


def greeted(config: ServerConfig | None = None) -> Pair:
    p = pair(config)
    (ev,) = p.exchange(Ehlo(domain="client.example"))
    assert isinstance(ev, EhloReply)
    return p


def test_cannot_send_before_greeting() -> None:
    c = ClientConnection()
    with pytest.raises(LocalProtocolError):
        c.send(Ehlo(domain="x"))
    assert c.next_event() is NEED_DATA


def test_full_transaction_with_pipelining() -> None:
    p = greeted()
    assert p.client.extensions.pipelining
    p.client.send(MailFrom(sender=A))
    p.client.send(RcptTo(recipient=C))
    p.client.send(Data())
    with pytest.raises(LocalProtocolError):
        p.client.send(Noop())  # DATA ends a pipelined group (RFC 2920 §3.1)
    events = p.flush()
    assert replies_of(events) == [250, 250, 354]
    assert p.client.state is State.DATA
    p.client.send(DataChunk(data=b"Subject: x\r\n\r\n.leading dot\r\nend"))
    p.client.send(EndOfData())
    p.client.send(Quit())  # allowed after the end of data (RFC 2920 §3.2 example)
    assert replies_of(p.flush()) == [250, 221]
    assert p.app.messages[0].data == b"Subject: x\r\n\r\n.leading dot\r\nend\r\n"


def test_no_pipelining_without_advertisement() -> None:
    p = greeted(ServerConfig(pipelining=False))
    p.client.send(MailFrom(sender=A))
    with pytest.raises(LocalProtocolError):
        p.client.send(RcptTo(recipient=C))
    p.flush()
    p.client.send(RcptTo(recipient=C))


def test_refuses_unadvertised_features() -> None:
    p = greeted(ServerConfig(smtputf8=False, eightbitmime=False, dsn=False, chunking=False))
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=U, parameters=MailParameters(smtputf8=True)))
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=U))
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A, parameters=MailParameters(body=Body.EIGHT_BIT_MIME)))
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A, parameters=MailParameters(size=5000)))  # > SIZE 1000
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A, parameters=MailParameters(ret=Ret.FULL)))
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A, parameters=MailParameters(auth=MailAuth(mailbox=None))))
    with pytest.raises(LocalProtocolError):
        p.client.send(StartTLS())
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A, parameters=MailParameters(mt_priority=3)))
    p.exchange(MailFrom(sender=A, parameters=MailParameters(size=500)))
    with pytest.raises(LocalProtocolError):
        p.client.send(RcptTo(recipient=U))
    with pytest.raises(LocalProtocolError):
        p.client.send(RcptTo(recipient=C, parameters=RcptParameters(notify=frozenset())))
    p.exchange(RcptTo(recipient=C))
    with pytest.raises(LocalProtocolError):
        p.client.send(Bdat(size=1, last=True))
    p.exchange(Data())
    with pytest.raises(LocalProtocolError):
        p.client.send(DataChunk(data="8-bit é\r\n".encode()))  # no BODY=8BITMIME


def test_sequence_errors_are_local() -> None:
    p = greeted()
    with pytest.raises(LocalProtocolError):
        p.client.send(RcptTo(recipient=C))
    with pytest.raises(LocalProtocolError):
        p.client.send(Data())
    with pytest.raises(LocalProtocolError):
        p.client.send(DataChunk(data=b"x"))
    with pytest.raises(LocalProtocolError):
        p.client.send(EndOfData())
    with pytest.raises(LocalProtocolError):
        p.client.send(Lhlo(domain="x"))


def test_pipelined_rcpt_failures_then_data_refused() -> None:
    p = greeted()
    p.app.decide = lambda e: Reply(code=550, lines="no") if isinstance(e, RcptTo) else None
    events = p.exchange(MailFrom(sender=A), RcptTo(recipient=C), Data())
    assert replies_of(events) == [250, 550, 554]
    assert p.client.state is State.MAIL
    # Another recipient can still be tried in the same transaction.
    p.app.decide = lambda e: None
    assert replies_of(p.exchange(RcptTo(recipient=C), Data())) == [250, 354]


def test_bdat_chunking_and_binarymime() -> None:
    p = greeted()
    body = b"\x00\x01binary\n\r.\r\n"
    p.client.send(MailFrom(sender=A, parameters=MailParameters(body=Body.BINARY_MIME)))
    p.client.send(RcptTo(recipient=C))
    with pytest.raises(LocalProtocolError):
        p.client.send(Data())  # BINARYMIME needs BDAT
    p.client.send(Bdat(size=5))
    with pytest.raises(LocalProtocolError):
        p.client.send(DataChunk(data=b"123456"))  # more than announced
    p.client.send(DataChunk(data=body[:5]))
    p.client.send(Bdat(size=len(body) - 5))
    p.client.send(DataChunk(data=body[5:]))
    p.client.send(EndOfData())  # BDAT 0 LAST
    assert replies_of(p.flush()) == [250, 250, 250, 250, 250]
    assert p.app.messages[0].data == body


def test_helo_fallback_has_no_extensions() -> None:
    p = pair()
    p.exchange(Helo(domain="c"))
    assert not p.client.extensions.keywords
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A, parameters=MailParameters(size=1)))


def test_lmtp_recipient_replies() -> None:
    p = pair(ServerConfig(lmtp=True), lmtp=True)
    with pytest.raises(LocalProtocolError):
        p.client.send(Ehlo(domain="c"))
    p.exchange(Lhlo(domain="c"))
    p.app.decide = lambda e: (
        Reply(code=550, lines="no")
        if (isinstance(e, RcptTo) and e.recipient.local_part == "x")
        else None
    )
    x = Mailbox(local_part="x", domain="d.example")
    e2 = Mailbox(local_part="e", domain="f.example")
    p.exchange(
        MailFrom(sender=A), RcptTo(recipient=C), RcptTo(recipient=x), RcptTo(recipient=e2), Data()
    )
    p.client.send(DataChunk(data=b"hi\r\n"))
    events = p.exchange(EndOfData())
    assert [(e.recipient, e.reply.code) for e in events if isinstance(e, RecipientReply)] == [
        (C, 250),
        (e2, 250),
    ]
    assert p.client.state is State.READY


def test_auth_plain_and_login() -> None:
    cfg = ServerConfig(auth_mechanisms=("PLAIN", "LOGIN"), auth_requires_tls=False)
    for name, ir in (("PLAIN", True), ("PLAIN", False), ("LOGIN", True)):
        p = greeted(cfg)
        p.app.passwords["tim"] = "tanstaaftanstaaf"
        mech = sasl.client_mechanism(name, username="tim", password="tanstaaftanstaaf")
        p.client.authenticate(mech, initial_response=ir)
        events = p.flush()
        assert replies_of(events)[-1] == 235, events
        assert p.client.authenticated and p.server.authenticated is not None
        assert p.server.authenticated.authcid == "tim"
        # AUTH= is now accepted on MAIL (RFC 4954 §5).
        p.exchange(MailFrom(sender=A, parameters=MailParameters(auth=MailAuth(mailbox="tim@x"))))
        assert p.server.mail_from is not None


def test_auth_wrong_password_and_cancel() -> None:
    cfg = ServerConfig(auth_mechanisms=("PLAIN",), auth_requires_tls=False)
    p = greeted(cfg)
    p.app.passwords["tim"] = "right"
    p.client.authenticate(sasl.client_mechanism("PLAIN", username="tim", password="wrong"))
    assert replies_of(p.flush())[-1] == 535
    assert not p.client.authenticated and p.server.authenticated is None
    # Raw cancel from a client mid-exchange: 501.
    p.app.feed(b"AUTH PLAIN\r\n")
    out = p.app.feed(b"*\r\n")
    assert out.startswith(b"501")
    assert p.server.state is State.READY


def test_auth_refusals() -> None:
    p = greeted(ServerConfig(auth_mechanisms=("PLAIN",)))  # TLS required for AUTH
    assert p.app.feed(b"AUTH PLAIN\r\n").startswith(b"538")
    p = greeted(ServerConfig(auth_mechanisms=("PLAIN",), auth_requires_tls=False))
    assert p.app.feed(b"AUTH CRAM-MD5\r\n").startswith(b"504")
    assert p.app.feed(b"AUTH PLAIN !!!\r\n").startswith(b"501")
    with pytest.raises(LocalProtocolError):
        p.client.authenticate(sasl.client_mechanism("LOGIN", username="a", password="b"))


def test_421_any_time_and_eof() -> None:
    p = greeted()
    p.client.receive_data(b"421 shutting down\r\n")
    ev = p.client.next_event()
    assert isinstance(ev, Reply) and ev.code == 421
    assert p.client.state is State.CLOSED
    c = ClientConnection()
    c.receive_data(b"220 x\r\n")
    c.next_event()
    c.receive_data(b"")
    from mailproto.smtp import ConnectionClosed

    assert isinstance(c.next_event(), ConnectionClosed)


def test_malformed_replies_raise_remote_errors() -> None:
    for data in (b"hello\r\n", b"220-a\r\n250 b\r\n", b"2" * 5000):
        c = ClientConnection()
        c.receive_data(data)
        with pytest.raises(RemoteProtocolError):
            c.next_event()


def test_starttls_flow_client() -> None:
    p = greeted(ServerConfig(starttls=True))
    events = p.exchange(StartTLS())
    assert replies_of(events) == [220]
    assert p.client.state is State.TLS_HANDSHAKE
    p.server.start_tls_done()
    p.client.start_tls_done()
    assert p.client.tls_active and not p.client.extensions.keywords
    with pytest.raises(LocalProtocolError):
        p.client.send(MailFrom(sender=A))
    p.exchange(Ehlo(domain="c"))
    assert not p.client.extensions.starttls and p.client.extensions.requiretls
    p.exchange(MailFrom(sender=A, parameters=MailParameters(requiretls=True)))
    assert p.server.mail_from is not None and p.server.mail_from.parameters.requiretls
