"""A looping message is refused at intake (RFC 5321 §6.3), before any local delivery.

RFC 5321 §6.3: counting ``Received:`` fields detects loops, with a
threshold of at least 100.  Refused at end of data, so that no pass of a
looping message delivers another copy to local list members.
"""

from __future__ import annotations

import smtplib

import pytest

from mailserver.relay import MAX_RECEIVED
from mailserver.smtp_service import SPOOL_IN_MEMORY
from tests.examples.test_e2e_support import ANA, A, ServerThread

TRACE = b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"


def _send(server: ServerThread, message: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=30) as s:
        s.ehlo("stranger.example")
        s.mail("x@stranger.example")
        s.rcpt(ANA)
        return s.data(message)


@pytest.mark.parametrize("body_size", [10, 2 * SPOOL_IN_MEMORY], ids=["in-memory", "spooled"])
def test_a_looping_message_is_refused_at_end_of_data(server: ServerThread, body_size: int) -> None:
    before = len(server.messages(A, ANA))
    body = b"x" * (body_size - 3) + b"\r\n"
    code, text = _send(server, TRACE * MAX_RECEIVED + b"Subject: loop\r\n\r\n" + body)
    assert (code, text[:5]) == (554, b"5.4.6")
    assert len(server.messages(A, ANA)) == before  # nothing delivered


def test_one_received_field_below_the_threshold_is_delivered(server: ServerThread) -> None:
    before = len(server.messages(A, ANA))
    marker = b"Subject: ninety-nine hops\r\n"
    code, _ = _send(server, TRACE * (MAX_RECEIVED - 1) + marker + b"\r\nx\r\n")
    assert code == 250
    arrived = server.messages(A, ANA)
    assert len(arrived) == before + 1 and marker in arrived[-1]
