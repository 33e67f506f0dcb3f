"""Extension RFC examples through a client–server pair (wire bytes checked both ways)."""

from __future__ import annotations

import pytest

from mailproto import NEED_DATA, sasl
from mailproto.errors import LocalProtocolError
from mailproto.imap._events import (
    Authenticated,
    AuthFailed,
    BadCommand,
    Completed,
    SaslAnswer,
    SaslQuestion,
    Untagged,
)
from mailproto.imap._state import State
from mailproto.imap.client import ClientConnection
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import SequenceSet
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.limits import IMAPLimits
from tests.imap_conn.pair import Pair, client_events, server_events, state


def _authenticated(caps: bytes, **options: object) -> Pair:
    server = ServerConnection(
        announce_capabilities=False,
        capabilities=tuple(caps.decode().split()),
        **options,  # type: ignore[arg-type]
    )
    p = Pair(server)
    p.s(b"* OK [CAPABILITY " + caps + b"] ready\r\n")
    p.c(C.Login(tag="a0", username="u", password="p"), b"a0 LOGIN u p\r\n")
    p.s(b"a0 OK [CAPABILITY " + caps + b"] logged in\r\n")
    return p


def test_rfc5161_enable_and_rfc7162_condstore_examples() -> None:
    p = _authenticated(b"IMAP4rev1 ENABLE CONDSTORE QRESYNC")
    h = p.c(
        C.Enable(tag="t", capabilities=("CONDSTORE", "X-GOOD-IDEA")),
        b"t ENABLE CONDSTORE X-GOOD-IDEA\r\n",
    )
    [ev] = p.s(b"* ENABLED X-GOOD-IDEA\r\n")
    assert isinstance(ev, Untagged) and ev.handle == h
    p.s(b"t OK foo\r\n")
    assert p.client.enabled == frozenset({"X-GOOD-IDEA"})
    # RFC 7162 §3.1.2.1: SELECT (CONDSTORE) and HIGHESTMODSEQ.
    p.c(C.Select(tag="a", mailbox="INBOX", condstore=True), b"a SELECT INBOX (CONDSTORE)\r\n")
    p.s(b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n")
    p.s(b"a OK [READ-WRITE] SELECT completed, CONDSTORE is now enabled\r\n")
    # RFC 7162 §3.1.4.1: FETCH (CHANGEDSINCE).
    h = p.c(
        C.Fetch(
            tag="s100",
            sequence_set=SequenceSet.parse("1:*"),
            attributes=("FLAGS",),
            changed_since=12345,
        ),
        b"s100 FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
    )
    # (RFC 7162 sends MODSEQ first; the codec writes attributes in one order.)
    [ev] = p.s(b"* 1 FETCH (FLAGS (\\Seen) MODSEQ (65402))\r\n")
    assert ev.handle == h and ev.response.modseq == 65402
    p.s(b"s100 OK FETCH completed\r\n")
    # RFC 7162 §3.1.3: STORE (UNCHANGEDSINCE) with MODIFIED.
    h = p.c(
        C.Store(
            tag="a103",
            sequence_set=SequenceSet.of((7, 9)),
            mode="+",
            flags=("$Processed",),
            unchanged_since=12121230045,
        ),
        b"a103 STORE 7:9 (UNCHANGEDSINCE 12121230045) +FLAGS ($Processed)\r\n",
    )
    [done] = p.s(b"a103 OK [MODIFIED 7,9] Conditional STORE failed\r\n")
    assert isinstance(done, Completed) and done.code is not None
    assert done.code.name == "MODIFIED"


def test_rfc7162_qresync_select_with_vanished_earlier() -> None:
    p = _authenticated(b"IMAP4rev1 ENABLE CONDSTORE QRESYNC")
    p.c(C.Enable(tag="A01", capabilities=("QRESYNC",)), b"A01 ENABLE QRESYNC\r\n")
    p.s(b"* ENABLED QRESYNC\r\n")
    p.s(b"A01 OK [CLOSED] done\r\n")
    h = p.c(
        C.Select(
            tag="A02",
            mailbox="INBOX",
            qresync=C.QResync(
                uidvalidity=67890007,
                modseq=20050715194045000,
                known_uids=SequenceSet.parse("41,43:211,214:541"),
            ),
        ),
        b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
    )
    [ev] = p.s(b"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n")
    assert isinstance(ev.response, R.Vanished) and ev.response.earlier and ev.handle == h
    [ev] = p.s(b"* 49 FETCH (UID 117 FLAGS (\\Seen \\Answered) MODSEQ (90060115194045001))\r\n")
    assert ev.handle == h
    p.s(b"A02 OK [READ-WRITE] Sorry, UIDVALIDITY mismatch\r\n")
    assert state(p.client) is State.SELECTED


def test_rfc2971_id_example() -> None:
    p = Pair(ServerConnection(announce_capabilities=False))
    p.s(b"* OK [CAPABILITY IMAP4rev1 ID] ready\r\n")
    h = p.c(
        C.Id(tag="a023", params=(("name", "sodr"), ("version", "19.34"))),
        b'a023 ID ("name" "sodr" "version" "19.34")\r\n',
    )
    [ev] = p.s(b'* ID ("name" "Cyrus" "version" "1.5" "os" "sunos")\r\n')
    assert ev.handle == h and isinstance(ev.response, R.IdResponse)
    p.s(b"a023 OK ID command completed\r\n")


def test_rfc4315_uidplus_and_rfc6851_move_examples() -> None:
    p = _authenticated(b"IMAP4rev1 UIDPLUS MOVE")
    p.c(C.Select(tag="s", mailbox="INBOX"), b"s SELECT INBOX\r\n")
    p.s(b"s OK [READ-WRITE] done\r\n")
    h = p.c(
        C.Expunge(tag="A003", uids=SequenceSet.parse("3000:3002")),
        b"A003 UID EXPUNGE 3000:3002\r\n",
    )
    for line in (b"* 3 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n"):
        [ev] = p.s(line)
        assert ev.handle == h
    p.s(b"A003 OK UID EXPUNGE completed\r\n")
    h = p.c(
        C.Move(tag="a", sequence_set=SequenceSet.parse("2:4"), mailbox="foo"),
        b"a MOVE 2:4 foo\r\n",
    )
    [ev] = p.s(b"* OK [COPYUID 432432 42:44 10:12] Moved UIDs.\r\n")
    assert ev.handle == h
    p.s(b"* 2 EXPUNGE\r\n")
    [done] = p.s(b"a OK Done\r\n")
    assert done.handle == h


def test_capability_aware_refusal() -> None:
    p = _authenticated(b"IMAP4rev1")
    for command in (
        C.Idle(tag="x"),
        C.Move(tag="x", sequence_set=SequenceSet.of(1), mailbox="y"),
        C.Compress(tag="x"),
        C.Enable(tag="x", capabilities=("QRESYNC",)),
        C.Id(tag="x"),
    ):
        with pytest.raises(LocalProtocolError):
            p.client.send(command)
    # The server refuses what it did not advertise too.
    [bad] = server_events(p.server, b"x COMPRESS DEFLATE\r\n")
    assert isinstance(bad, BadCommand)
    assert p.server.data_to_send().startswith(b"x BAD Command not advertised")


def test_rfc4959_sasl_ir_and_scram_between_our_client_and_server() -> None:
    server = ServerConnection(
        auth_mechanisms=("SCRAM-SHA-256",), capabilities=("IMAP4rev1", "SASL-IR")
    )
    client = ClientConnection()
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    client_events(client, server.data_to_send())
    mech = sasl.client_mechanism("SCRAM-SHA-256", username="user", password="pencil")
    handle = client.authenticate(mech, tag="A01")
    wire = client.data_to_send()
    assert wire.startswith(b"A01 AUTHENTICATE SCRAM-SHA-256 ")  # initial response inline
    events = server_events(server, wire)
    [question] = events
    assert isinstance(question, SaslQuestion)
    server.send(SaslAnswer(answer=sasl.scram_credentials("pencil", hash="sha256")))
    done = None
    for _ in range(10):
        out = server.data_to_send()
        for event in client_events(client, out):
            if isinstance(event, Completed):
                done = event
        events = server_events(server, client.data_to_send())
        for event in events:
            if isinstance(event, Authenticated):
                server.send(R.StatusResponse(tag=event.command.tag, status="OK", text="ok"))
        if done is not None:
            break
    assert done is not None and done.ok and done.handle == handle
    assert mech.complete  # the client verified the server's signature
    assert state(client) is State.AUTHENTICATED and state(server) is State.AUTHENTICATED


def test_authenticate_failure_and_cancel() -> None:
    server = ServerConnection(auth_mechanisms=("PLAIN",))
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    server.data_to_send()
    [q] = server_events(server, b"a AUTHENTICATE PLAIN AHUAcA==\r\n")
    assert isinstance(q, SaslQuestion)
    server.send(SaslAnswer(answer=False))
    [failed] = server_events(server, b"")
    assert isinstance(failed, AuthFailed)
    assert server.data_to_send() == b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    # Without initial response: "+ " then the client cancels with "*".
    assert server_events(server, b"b AUTHENTICATE PLAIN\r\n") == []
    assert server.data_to_send() == b"+ \r\n"
    [cancelled] = server_events(server, b"*\r\n")
    assert isinstance(cancelled, AuthFailed)
    assert server.data_to_send() == b"b BAD Authentication cancelled\r\n"
    assert state(server) is State.NOT_AUTHENTICATED


def test_logindisabled_server_answers_no_privacyrequired() -> None:
    server = ServerConnection(starttls=True, login_requires_tls=True)
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    assert b"LOGINDISABLED" in server.data_to_send()
    [bad] = server_events(server, b"a LOGIN u p\r\n")
    assert isinstance(bad, BadCommand)
    assert server.data_to_send() == b"a NO [PRIVACYREQUIRED] LOGIN is disabled before TLS\r\n"


def test_client_never_trusts_bytes_received_before_the_tls_handshake() -> None:
    client = ClientConnection()
    client_events(client, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")
    handle = client.send(C.StartTLS(tag="a"))
    # A man in the middle appends a response to the server's OK.
    events = client_events(client, b"a OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
    assert [type(e) for e in events] == [Completed] and events[0].handle == handle
    client.start_tls_done()
    assert client.capabilities is None
    # Nothing of the injected response was kept: the next event needs new data.
    assert client.next_event() is NEED_DATA


def test_utf8_accept_switches_both_sides() -> None:
    p = _authenticated(b"IMAP4rev1 ENABLE UTF8=ACCEPT")
    p.c(C.Enable(tag="e", capabilities=("UTF8=ACCEPT",)), b"e ENABLE UTF8=ACCEPT\r\n")
    p.s(b"* ENABLED UTF8=ACCEPT\r\n")
    p.s(b"e OK done\r\n")
    # Mailbox names now travel as UTF-8 quoted strings, not modified UTF-7.
    p.c(C.Select(tag="s", mailbox="Entwürfe"), 's SELECT "Entwürfe"\r\n'.encode())


def test_non_synchronising_literal_over_the_limit_is_refused_and_dropped() -> None:
    server = ServerConnection(limits=IMAPLimits(literal_size=10))
    server.send(R.StatusResponse(tag=None, status="PREAUTH", text="hi"))
    server.data_to_send()
    [bad] = server_events(server, b"a APPEND INBOX {100+}\r\n" + b"x" * 100)
    assert isinstance(bad, BadCommand)
    # RFC 7888 §4: tagged BAD, then the octets are read and ignored.
    assert server.data_to_send() == b"a BAD [TOOBIG] Literal too large\r\n"
    [noop] = server_events(server, b"\r\nb NOOP\r\n")
    assert noop == C.Noop(tag="b")
    assert state(server) is State.AUTHENTICATED


def test_second_compress_gets_compressionactive() -> None:
    p = _authenticated(b"IMAP4rev1 COMPRESS=DEFLATE", compress=True)
    p.c(C.Compress(tag="z1"), b"z1 COMPRESS DEFLATE\r\n")
    p.s(b"z1 OK DEFLATE active\r\n")
    # Our client refuses a second one (no longer advertised) ...
    with pytest.raises(LocalProtocolError):
        p.client.send(C.Compress(tag="z2"))
    # ... and the server answers one from a less careful client.
    from mailproto.imap._compress import Deflater, Inflater

    deflater = Deflater()
    p.server._input.inflater = Inflater()  # a fresh peer stream for this check
    p.server.receive_data(deflater.compress(b"z3 COMPRESS DEFLATE\r\n"))
    [bad] = server_events(p.server, b"")
    assert isinstance(bad, BadCommand)
    inflater = Inflater()
    inflater.feed(p.server.data_to_send())
    assert inflater.read(1000) == b"z3 NO [COMPRESSIONACTIVE] Compression is already active\r\n"


def test_client_bounds_commands_in_flight() -> None:
    client = ClientConnection(limits=IMAPLimits(pipelined_commands=2))
    client_events(client, b"* PREAUTH hi\r\n")
    client.send(C.Noop(tag="a"))
    client.send(C.Noop(tag="b"))
    with pytest.raises(LocalProtocolError):
        client.send(C.Noop(tag="c"))


def _plain_server() -> ServerConnection:
    server = ServerConnection(auth_mechanisms=("PLAIN",))
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    server.data_to_send()
    return server


def test_server_refuses_untagged_data_during_authenticate() -> None:
    # RFC 9051 §6.2.2: between AUTHENTICATE and its tagged result the server
    # sends only "+" challenges.  Mid-exchange (waiting for the client's line):
    server = _plain_server()
    assert server_events(server, b"a AUTHENTICATE PLAIN\r\n") == []
    assert server.data_to_send() == b"+ \r\n"
    for response in (
        R.Exists(count=3),
        R.CapabilityResponse(capabilities=("IMAP4rev2",)),
        R.StatusResponse(tag=None, status="OK", text="still here"),
    ):
        with pytest.raises(LocalProtocolError, match="AUTHENTICATE"):
            server.send(response)
    assert server.data_to_send() == b""
    # While the application answers the mechanism's question:
    [q] = server_events(server, b"AHUAcA==\r\n")
    assert isinstance(q, SaslQuestion)
    with pytest.raises(LocalProtocolError, match="AUTHENTICATE"):
        server.send(R.Exists(count=3))
    server.send(SaslAnswer(answer=True))
    [ok] = server_events(server, b"")
    assert isinstance(ok, Authenticated)
    # After success, before the tagged OK: still the same exchange.
    with pytest.raises(LocalProtocolError, match="AUTHENTICATE"):
        server.send(R.CapabilityResponse(capabilities=("IMAP4rev2",)))
    server.send(R.StatusResponse(tag="a", status="OK", text="done"))
    assert server.data_to_send().startswith(b"a OK [CAPABILITY ")
    # Once answered, untagged data flows again.
    server.send(R.Exists(count=3))
    assert server.data_to_send() == b"* 3 EXISTS\r\n"


def test_server_allows_bye_during_authenticate() -> None:
    server = _plain_server()
    server_events(server, b"a AUTHENTICATE PLAIN\r\n")
    server.data_to_send()
    server.send(R.StatusResponse(tag=None, status="BYE", text="shutting down"))
    assert server.data_to_send() == b"* BYE shutting down\r\n"
    assert state(server) is State.LOGOUT


def test_client_accepts_untagged_data_during_authenticate() -> None:
    # The client side stays liberal: RFC 9051 §9 lets response-data come
    # before any response-done, and deployed servers send "* CAPABILITY"
    # before the tagged OK of AUTHENTICATE.
    client = ClientConnection()
    client_events(client, b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
    handle = client.authenticate(sasl.client_mechanism("PLAIN", username="u", password="p"))
    tag = handle.tag
    client.data_to_send()
    [challenge_events] = [client_events(client, b"+ \r\n")]
    assert challenge_events == []
    assert client.data_to_send() == b"AHUAcA==\r\n"
    events = client_events(client, b"* CAPABILITY IMAP4rev2\r\n" + tag.encode() + b" OK done\r\n")
    assert isinstance(events[0], Untagged) and isinstance(events[1], Completed)
    assert events[1].ok and state(client) is State.AUTHENTICATED
