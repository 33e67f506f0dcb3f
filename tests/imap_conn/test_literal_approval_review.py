"""Review findings for ``ServerConnection(literal_approval=N)`` (session 7).

The decision on a :class:`~mailproto.imap.LiteralRequest` may take the
application a while (it waits for memory); the session can end meanwhile —
the application sends ``BYE`` (shutdown), or the client leaves.  Nothing
may follow ``BYE`` on the wire (RFC 9051 §7.1.5: the server closes after
it), and a decision that comes too late has nothing left to answer.
"""

from __future__ import annotations

import pytest

from mailproto.imap import BadCommand, ConnectionClosed, LiteralRequest
from mailproto.imap.types import responses as R
from tests.imap_conn.test_literal_approval import _server
from tests.imap_conn.test_literal_refusal import _exchange

BYE = R.StatusResponse(tag=None, status="BYE", text="Server shutting down")


@pytest.mark.parametrize("approve", [True, False])
@pytest.mark.parametrize("literal", [b"{5000}", b"{5000+}"])
def test_a_decision_after_bye_sends_nothing(approve: bool, literal: bytes) -> None:
    server = _server()
    [request], _ = _exchange(server, b"a APPEND INBOX " + literal + b"\r\n")
    assert isinstance(request, LiteralRequest)
    server.send(BYE)
    assert server.data_to_send() == b"* BYE Server shutting down\r\n"
    if approve:
        server.approve_literal()
    else:
        server.refuse_literal("Server busy")
    assert server.data_to_send() == b""  # was "+ Ready ..." or "a NO ..." after BYE
    # The session is over: no event for a refusal nobody will read.
    server.receive_data(b"")
    assert isinstance(server.next_event(), ConnectionClosed)


@pytest.mark.parametrize("approve", [True, False])
def test_a_decision_after_the_client_left_is_ignored(approve: bool) -> None:
    server = _server()
    [request], _ = _exchange(server, b"a APPEND INBOX {5000}\r\n")
    assert isinstance(request, LiteralRequest)
    server.receive_data(b"")
    assert isinstance(server.next_event(), ConnectionClosed)
    # The application was still deciding (it waited for memory): its late
    # answer must not raise in its face (it raised LocalProtocolError).
    if approve:
        server.approve_literal()
    else:
        server.refuse_literal("Server busy")
    assert server.data_to_send() == b""


def test_a_refusal_in_the_middle_of_a_multiappend_drops_the_whole_command() -> None:
    # RFC 3502 §6.3.11: all or none; RFC 7888 §4: BAD, the rest read and ignored.
    server = _server()
    [request], _ = _exchange(server, b"a APPEND INBOX {1500}\r\n")
    server.approve_literal()
    assert server.data_to_send() == b"+ Ready for literal data\r\n"
    data = b"x" * 1500 + b" {1500+}\r\n" + b"y" * 1500 + b" {10+}\r\n0123456789\r\nb NOOP\r\n"
    [request], _ = _exchange(server, data)
    assert isinstance(request, LiteralRequest) and not request.synchronizing
    server.refuse_literal("Server busy")
    events, out = _exchange(server, b"")
    assert [type(e) for e in events] == [BadCommand, type(events[1])]
    assert events[1].tag == "b"
    assert out == b"a BAD [UNAVAILABLE] Server busy\r\n"
