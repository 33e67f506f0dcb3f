"""RFC sample sessions replayed through a client–server pair.

Each transcript is a list of ``C:`` and ``S:`` lines, as in the RFCs.  A
``C:`` step is a command the *client* sends (built as a typed command so that
the client's state checks run), and its wire form must be the transcript's
bytes; the server must parse it back to the same command.  An ``S:`` step is
a response the *server application* sends (parsed from the transcript with
the codec), and the server connection's output must again be the
transcript's bytes exactly; the client then parses it.  Events and states are
checked along the way.

The RFC examples are reproduced in their canonical upper-case form (the RFCs
mix cases freely: ``a002 select inbox``), with the payloads of the RFCs.
"""

from __future__ import annotations

import pytest

from mailproto.errors import LocalProtocolError
from mailproto.imap._events import (
    Bye,
    Completed,
    Greeting,
    IdleDone,
    IdleStarted,
    Untagged,
)
from mailproto.imap._state import Mode, State
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import Section as Sec
from mailproto.imap.types import SectionRequest, SequenceSet
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from tests.imap_conn.pair import Pair, client_events, server_events, state


def test_rfc9051_section_8_session() -> None:
    """RFC 9051 §8 (with PLAIN in place of the SCRAM exchange, whose nonces are random)."""
    server = ServerConnection(
        capabilities=("IMAP4rev2",),
        auth_mechanisms=("SCRAM-SHA-256", "PLAIN"),
        starttls=True,
        login_requires_tls=True,
    )
    p = Pair(server)
    greeting = p.s(
        b"* OK [CAPABILITY IMAP4rev2 STARTTLS LOGINDISABLED AUTH=SCRAM-SHA-256] "
        b"IMAP4rev2 Service Ready\r\n"
    )
    assert isinstance(greeting[0], Greeting) and greeting[0].status == "OK"
    assert state(p.client) is State.NOT_AUTHENTICATED
    # LOGINDISABLED: the client refuses LOGIN before TLS.
    with pytest.raises(LocalProtocolError):
        p.client.send(C.Login(tag="x", username="u", password="p"))
    h = p.c(C.StartTLS(tag="a000"), b"a000 STARTTLS\r\n")
    assert p.server_events == [C.StartTLS(tag="a000")]
    # Bytes a man in the middle pipelines before the handshake are dropped.
    server.receive_data(b"a999 LOGIN evil evil\r\n")
    [done] = p.s(b"a000 OK Proceed with TLS negotiation\r\n")
    assert isinstance(done, Completed) and done.handle == h and done.ok
    assert p.client.mode is Mode.TLS_HANDSHAKE and server.mode is Mode.TLS_HANDSHAKE
    assert not p.client.capabilities
    p.client.start_tls_done()
    server.start_tls_done()
    assert server_events(server, b"") == []
    # After TLS the capabilities differ (no STARTTLS, no LOGINDISABLED, PLAIN).
    h = p.c(C.Capability(tag="a001"), b"a001 CAPABILITY\r\n")
    out = server.data_to_send()
    assert out == (
        b"* CAPABILITY IMAP4rev2 AUTH=SCRAM-SHA-256 AUTH=PLAIN\r\na001 OK CAPABILITY completed\r\n"
    )
    events = client_events(p.client, out)
    assert isinstance(events[0], Untagged) and events[0].handle == h
    assert p.client.capabilities == frozenset({"IMAP4REV2", "AUTH=SCRAM-SHA-256", "AUTH=PLAIN"})

    from mailproto import sasl
    from mailproto.imap._events import Authenticated, SaslAnswer, SaslQuestion

    h = p.client.authenticate(
        sasl.client_mechanism("PLAIN", username="tim", password="tanstaaftanstaaf"), tag="A001"
    )
    wire = p.client.data_to_send()
    # IMAP4rev2 includes SASL-IR: the initial response is on the command line.
    assert wire == b"A001 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"
    [question] = server_events(server, wire)
    assert isinstance(question, SaslQuestion)
    server.send(SaslAnswer(answer=True))
    [auth] = server_events(server, b"")
    assert isinstance(auth, Authenticated) and auth.authcid == "tim"
    server.send(R.StatusResponse(tag="A001", status="OK", text="Success"))
    [done] = client_events(p.client, server.data_to_send())
    assert isinstance(done, Completed) and done.handle == h and done.ok
    assert state(p.client) is State.AUTHENTICATED and state(server) is State.AUTHENTICATED

    h = p.c(C.Enable(tag="babc", capabilities=("IMAP4rev2",)), b"babc ENABLE IMAP4rev2\r\n")
    [enabled] = p.s(b"* ENABLED IMAP4rev2\r\n")
    assert isinstance(enabled, Untagged) and enabled.handle == h
    p.s(b"babc OK Some capabilities enabled\r\n")
    assert p.client.enabled == {"IMAP4REV2"}

    h = p.c(C.Select(tag="a002", mailbox="INBOX"), b"a002 SELECT INBOX\r\n")
    for line in (
        b"* 18 EXISTS\r\n",
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        b"* OK [UIDNEXT 4392] Predicted next UID\r\n",
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        b'* LIST () "/" INBOX\r\n',
    ):
        [ev] = p.s(line)
        assert isinstance(ev, Untagged) and ev.handle == h
    p.s(b"a002 OK [READ-WRITE] SELECT completed\r\n")
    assert state(p.client) is State.SELECTED and state(server) is State.SELECTED

    h = p.c(
        C.Fetch(tag="a003", sequence_set=SequenceSet.of(12), attributes="FULL"),
        b"a003 FETCH 12 FULL\r\n",
    )
    [ev] = p.s(
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
        b'RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" '
        b'"IMAP4rev2 WG mtg summary and minutes" (("Terry Gray" NIL "gray" '
        b'"cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" '
        b'"cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" '
        b'NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>") '
        b'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n'
    )
    assert isinstance(ev, Untagged) and ev.handle == h
    assert isinstance(ev.response, R.FetchResponse) and ev.response.rfc822_size == 4286
    p.s(b"a003 OK FETCH completed\r\n")

    header = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\r\n"
    h = p.c(
        C.Fetch(
            tag="a004",
            sequence_set=SequenceSet.of(12),
            attributes=(SectionRequest(section=Sec(text="HEADER")),),
        ),
        b"a004 FETCH 12 (BODY[HEADER])\r\n",
    )
    [ev] = p.s(b"* 12 FETCH (BODY[HEADER] {%d}\r\n%s)\r\n" % (len(header), header))
    assert ev.response.sections[0].data == header
    p.s(b"a004 OK FETCH completed\r\n")

    h = p.c(
        C.Store(tag="a005", sequence_set=SequenceSet.of(12), mode="+", flags=("\\Deleted",)),
        b"a005 STORE 12 +FLAGS (\\Deleted)\r\n",
    )
    [ev] = p.s(b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n")
    assert ev.handle == h
    p.s(b"a005 OK +FLAGS completed\r\n")

    h = p.c(C.Logout(tag="a006"), b"a006 LOGOUT\r\n")
    out = server.data_to_send()
    assert out == b"* BYE Logging out\r\na006 OK LOGOUT completed\r\n"
    bye, done = client_events(p.client, out)
    assert isinstance(bye, Bye) and isinstance(done, Completed) and done.handle == h
    assert state(p.client) is State.LOGOUT and state(server) is State.LOGOUT
    with pytest.raises(LocalProtocolError):
        p.client.send(C.Noop(tag="a007"))


def test_rfc3501_section_8_with_synchronising_literals() -> None:
    """RFC 3501 §8 (rev1: LOGIN, no LITERAL+), plus APPEND with a synchronising literal."""
    server = ServerConnection(
        capabilities=("IMAP4rev1",), auth_mechanisms=(), announce_capabilities=False
    )
    p = Pair(server)
    p.s(b"* OK [CAPABILITY IMAP4rev1] IMAP4rev1 Service Ready\r\n")
    p.c(C.Login(tag="a001", username="mrc", password="secret"), b"a001 LOGIN mrc secret\r\n")
    p.s(b"a001 OK LOGIN completed\r\n")
    assert p.client.capabilities is None  # re-read after login
    p.c(C.Select(tag="a002", mailbox="INBOX"), b"a002 SELECT INBOX\r\n")
    p.s(b"* 18 EXISTS\r\n")
    p.s(b"* 2 RECENT\r\n")
    p.s(b"a002 OK [READ-WRITE] SELECT completed\r\n")
    # APPEND: the literal waits for the server's "+" (RFC 3501 §7.5).
    message = b"Subject: afternoon meeting\r\n\r\nHello Joe\r\n"
    handle = p.client.send(
        C.Append(tag="A003", mailbox="saved-messages", messages=(C.AppendMessage(data=message),))
    )
    first = p.client.data_to_send()
    assert first == b"A003 APPEND saved-messages {%d}\r\n" % len(message)
    assert server_events(server, first) == []
    plus = server.data_to_send()
    assert plus == b"+ Ready for literal data\r\n"
    assert client_events(p.client, plus) == []
    rest = p.client.data_to_send()
    assert rest == message + b"\r\n"
    [append] = server_events(server, rest)
    assert isinstance(append, C.Append) and append.messages[0].data == message
    server.send(R.StatusResponse(tag="A003", status="OK", text="APPEND completed"))
    [done] = client_events(p.client, server.data_to_send())
    assert done.handle == handle and done.ok


def test_literal_refused_by_tagged_no_is_not_read_as_commands() -> None:
    """A synchronising literal over the limit: NO [TOOBIG], and its octets never arrive."""
    from mailproto.limits import IMAPLimits

    server = ServerConnection(limits=IMAPLimits(literal_size=10))
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    server.data_to_send()
    server.receive_data(b"a LOGIN u p\r\n")
    server_events(server, b"")
    server.send(R.StatusResponse(tag="a", status="OK", text="ok"))
    server.data_to_send()
    events = server_events(server, b"b APPEND INBOX {100}\r\n")
    assert server.data_to_send() == b"b NO [TOOBIG] Literal too large\r\n"
    assert events[0].tag == "b"
    # The client did not send the literal; the next line is a new command.
    [noop] = server_events(server, b"c NOOP\r\n")
    assert noop == C.Noop(tag="c")


def test_idle_rfc2177_example() -> None:
    server = ServerConnection(announce_capabilities=False)
    p = Pair(server)
    p.s(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n")
    p.c(C.Login(tag="a", username="u", password="p"), b"a LOGIN u p\r\n")
    p.s(b"a OK done\r\n")
    p.c(C.Select(tag="b", mailbox="INBOX"), b"b SELECT INBOX\r\n")
    p.s(b"b OK [READ-WRITE] done\r\n")
    h = p.c(C.Idle(tag="A002"), b"A002 IDLE\r\n")
    assert p.server_events == [C.Idle(tag="A002")]
    [started] = p.s(b"+ idling\r\n")
    assert isinstance(started, IdleStarted) and started.handle == h
    # Updates pushed by the server application are unsolicited events.
    [ev] = p.s(b"* 4 EXISTS\r\n")
    assert isinstance(ev, Untagged) and ev.handle is None
    assert p.client.send(C.Done()) == h
    wire = p.client.data_to_send()
    assert wire == b"DONE\r\n"
    [done] = server_events(server, wire)
    assert isinstance(done, IdleDone) and done.command.tag == "A002"
    [comp] = p.s(b"A002 OK IDLE terminated\r\n")
    assert isinstance(comp, Completed) and comp.handle == h


def test_compress_rfc4978_example() -> None:
    server = ServerConnection(compress=True, announce_capabilities=False)
    p = Pair(server)
    p.s(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    p.c(C.Login(tag="a", username="u", password="p"), b"a LOGIN u p\r\n")
    p.s(b"a OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] done\r\n")
    h = p.c(C.Compress(tag="a002"), b"a002 COMPRESS DEFLATE\r\n")
    p.s(b"a002 OK DEFLATE active\r\n")
    assert p.client.compressing and server.compressing
    p.client.send(C.Noop(tag="a003"))
    wire = p.client.data_to_send()
    assert b"NOOP" not in wire
    [noop] = server_events(server, wire)
    assert noop == C.Noop(tag="a003")
    server.send(R.Exists(count=3))
    server.send(R.StatusResponse(tag="a003", status="OK", text="NOOP completed"))
    out = server.data_to_send()
    assert b"EXISTS" not in out
    events = client_events(p.client, out)
    assert [type(e) for e in events] == [Untagged, Completed]
    assert events[1].handle.tag == "a003" and h.tag == "a002"
