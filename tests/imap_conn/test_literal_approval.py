"""``ServerConnection(literal_approval=N)``: the application approves large literals.

A connection holds a command's literals until the command is complete (an
APPEND's message, all of a MULTIAPPEND's messages); :attr:`IMAPLimits.command_size`
bounds that per connection, not across a server's connections.  With
``literal_approval`` set, a literal whose command reaches that many octets is
reported as :class:`~mailproto.imap.LiteralRequest` before anything of it is
read or invited, and the connection waits for
:meth:`~mailproto.imap.server.ServerConnection.approve_literal` or
:meth:`~mailproto.imap.server.ServerConnection.refuse_literal`.
"""

from __future__ import annotations

import pytest

from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.errors import LocalProtocolError
from mailproto.imap import BadCommand, ConnectionClosed, LiteralRequest
from mailproto.imap.server import DEFAULT_CAPABILITIES, ServerConnection
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.limits import IMAPLimits
from tests.imap_conn.test_literal_refusal import _exchange
from tests.imap_conn.test_literal_refusal import _server as refusal_server

PLUS = b"+ Ready for literal data\r\n"
CAPS = (*DEFAULT_CAPABILITIES, "MULTIAPPEND")


def _server(approval: int | None = 1000, *, logged_in: bool = True) -> ServerConnection:
    """Greeted (logged in unless told otherwise), MULTIAPPEND, approving from *approval*."""
    return refusal_server(logged_in=logged_in, capabilities=CAPS, literal_approval=approval)


def test_a_large_literal_waits_for_approval_then_gets_its_continuation() -> None:
    server = _server()
    [request], out = _exchange(server, b"a APPEND INBOX {2000}\r\n")
    assert request == LiteralRequest(
        tag="a",
        command="APPEND",
        size=2000,
        command_octets=request.command_octets,
        synchronizing=True,
    )
    assert request.command_octets >= 2000
    # No "+" until the application decides, and nothing moves meanwhile.
    assert out == b""
    assert server.next_event() is PAUSED
    server.approve_literal()
    assert server.data_to_send() == PLUS
    message = b"x" * 1998 + b"\r\n"
    [append], out = _exchange(server, message + b"\r\n")
    assert isinstance(append, C.Append) and append.tag == "a"
    assert append.messages[0].data == message
    assert out == b""


def test_a_small_literal_is_not_reported() -> None:
    server = _server()
    events, out = _exchange(server, b"a APPEND INBOX {10}\r\n")
    assert events == [] and out == PLUS
    [append], _ = _exchange(server, b"0123456789\r\n")
    assert isinstance(append, C.Append)


def test_without_literal_approval_nothing_is_reported() -> None:
    server = _server(None)
    events, out = _exchange(server, b"a APPEND INBOX {200000}\r\n")
    assert events == [] and out == PLUS


def test_the_threshold_counts_the_whole_command() -> None:
    # Two messages of 600 octets: the second takes the command past 1000.
    server = _server()
    events, out = _exchange(server, b"a APPEND INBOX {600}\r\n")
    assert events == [] and out == PLUS
    [request], out = _exchange(server, b"y" * 600 + b" {600}\r\n")
    assert isinstance(request, LiteralRequest)
    assert request.size == 600 and request.command_octets > 1200 and out == b""
    server.approve_literal()
    assert server.data_to_send() == PLUS
    [append], _ = _exchange(server, b"z" * 600 + b"\r\n")
    assert isinstance(append, C.Append) and len(append.messages) == 2


def test_refusing_a_synchronising_literal_answers_no_and_the_session_goes_on() -> None:
    server = _server()
    [request], _ = _exchange(server, b"a APPEND INBOX {5000}\r\n")
    assert isinstance(request, LiteralRequest)
    server.refuse_literal("Server busy, try again later")
    [bad], out = _exchange(server, b"")
    assert bad == BadCommand(tag="a", reason="Server busy, try again later")
    assert out == b"a NO [UNAVAILABLE] Server busy, try again later\r\n"
    # RFC 9051 §7.5: the client gave the command up; the next bytes are a
    # new command, never the literal.
    [noop], _ = _exchange(server, b"b NOOP\r\n")
    assert noop == C.Noop(tag="b")


def test_refusing_a_non_synchronising_literal_drops_its_octets() -> None:
    server = _server()
    [request], out = _exchange(server, b"a APPEND INBOX {3000+}\r\n")
    assert isinstance(request, LiteralRequest) and not request.synchronizing
    assert out == b""
    server.refuse_literal("No room", code=None)
    [bad], out = _exchange(server, b"")
    assert isinstance(bad, BadCommand)
    assert out == b"a BAD No room\r\n"
    # The octets (which look like a command) are dropped as they arrive;
    # the command's last line ends it, and the session goes on.
    events, out = _exchange(server, b"c LOGOUT\r\n" + b"q" * 2990 + b"\r\nb NOOP\r\n")
    assert events == [C.Noop(tag="b")] and out == b""


def test_approving_a_non_synchronising_literal_sends_nothing() -> None:
    server = _server()
    [request], _ = _exchange(server, b"a APPEND INBOX {1500+}\r\n" + b"m" * 100)
    assert isinstance(request, LiteralRequest)
    server.approve_literal()
    assert server.data_to_send() == b""
    [append], _ = _exchange(server, b"m" * 1400 + b"\r\n")
    assert isinstance(append, C.Append) and append.messages[0].data == b"m" * 1500


def test_resource_refusals_do_not_count_as_client_errors() -> None:
    server = ServerConnection(
        capabilities=CAPS,
        announce_capabilities=False,
        literal_approval=100,
        limits=IMAPLimits(errors=2),
    )
    server.send(R.StatusResponse(tag=None, status="PREAUTH", text="ready"))
    for i in range(5):
        [request], _ = _exchange(server, b"a%d APPEND INBOX {200+}\r\n" % i)
        assert isinstance(request, LiteralRequest)
        server.refuse_literal("busy")
        [bad], out = _exchange(server, b"v" * 200 + b"\r\n")
        assert isinstance(bad, BadCommand) and out == b"a%d BAD [UNAVAILABLE] busy\r\n" % i
    [noop], _ = _exchange(server, b"b NOOP\r\n")
    assert noop == C.Noop(tag="b")


def test_uid_and_other_commands_name_the_command() -> None:
    server = _server(10)
    _exchange(server, b"s SELECT INBOX\r\n")
    server.send(R.StatusResponse(tag="s", status="OK", text="selected"))
    server.data_to_send()
    [request], _ = _exchange(server, b"a UID SEARCH TEXT {20}\r\n")
    assert isinstance(request, LiteralRequest) and request.command == "SEARCH"


def test_no_approval_is_asked_for_a_literal_the_connection_refuses_itself() -> None:
    # Before login APPEND is refused unread: the application is not asked.
    server = _server(logged_in=False)
    [bad], out = _exchange(server, b"a APPEND INBOX {5000}\r\n")
    assert isinstance(bad, BadCommand)
    assert out == b"a BAD Command not valid in this state\r\n"


def test_approve_or_refuse_without_a_request_is_a_local_error() -> None:
    server = _server()
    with pytest.raises(LocalProtocolError):
        server.approve_literal()
    with pytest.raises(LocalProtocolError):
        server.refuse_literal("no")
    [request], _ = _exchange(server, b"a APPEND INBOX {5000}\r\n")
    assert isinstance(request, LiteralRequest)
    server.approve_literal()
    with pytest.raises(LocalProtocolError):
        server.approve_literal()


def test_the_client_leaving_during_the_decision_closes_the_session() -> None:
    server = _server()
    [request], _ = _exchange(server, b"a APPEND INBOX {5000}\r\n")
    assert isinstance(request, LiteralRequest)
    server.receive_data(b"")
    assert isinstance(server.next_event(), ConnectionClosed)


def test_pipelined_input_waits_behind_the_decision() -> None:
    server = _server()
    # A LITERAL+ client sends the command, its literal and the next command
    # at once: none of it is read until the decision.
    data = b"a APPEND INBOX {1200+}\r\n" + b"p" * 1200 + b"\r\nb NOOP\r\n"
    [request], _ = _exchange(server, data)
    assert isinstance(request, LiteralRequest)
    assert server.next_event() is PAUSED
    server.approve_literal()
    events, _ = _exchange(server, b"")
    assert [type(e) for e in events] == [C.Append, C.Noop]
    assert server.next_event() is NEED_DATA
