"""Audit of the reference server's SMTP side (issue 9): smuggling, both ways.

* Inbound: every spelling of a false end of data (bare LF or CR around the
  dot, a NUL) — not only ``"\\n.\\n"`` — leaves one refused message and no
  smuggled second one (RFC 5321 §2.3.8, §4.1.1.4).
* Outbound: a stored text message may hold bare LF/CR (IMAP APPEND, a
  queue entry of old).  The relay sends it as CRLF lines, so a next hop that
  takes a bare LF as a line end does not see ``"\\n.\\r\\n"`` as the end of
  the data and the rest as commands.  (``BODY=BINARYMIME`` content is kept
  or converted instead: ``test_relay_body_type.py``.)
* A bounce for an unknown remote user is one RFC 3464 report naming that
  recipient alone, with status 5.1.1, while the known one gets the message.
* The relay sends at most 100 recipients per transaction (RFC 5321
  §4.5.3.1.8), all in the same attempt.
* The relay stops a forwarding loop at 100 ``Received:`` fields (RFC 5321
  §6.3) with a 5.4.6 bounce.
* ``postmaster`` is accepted for every local domain and bare (RFC 5321
  §4.5.1, §4.1.1.3), by default for the first account, or where the
  ``postmaster`` config key says.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import time
from pathlib import Path

import pytest

from mailserver.config import ConfigError, parse_config
from mailserver.directory import Directory
from mailserver.relay import MAX_RECEIVED, received_count, send_message
from tests.examples.relay_support import Clock, dsn_fields, make_relay, read_inbox
from tests.examples.test_e2e_support import (
    ANA,
    MANOLO,
    PASSWORDS,
    PEPE,
    A,
    B,
    ServerThread,
    maildir_files,
    recv_until,
    unverified,
    wait_for,
)


@pytest.mark.parametrize(
    "false_end",
    [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n.\r\r\n", b"\r\n\x00.\r\n"],
)
def test_no_false_end_of_data_smuggles_a_message(server: ServerThread, false_end: bytes) -> None:
    marker = f"smuggled-{false_end.hex()}".encode()
    sock = socket.create_connection(("127.0.0.1", server.port(A, "smtp")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b"EHLO x\r\n")
        recv_until(sock, b"250 ")
        sock.sendall(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<" + ANA.encode() + b">\r\nDATA\r\n")
        recv_until(sock, b"354")
        sock.sendall(
            b"Subject: carrier\r\n\r\nbody"
            + false_end
            + b"MAIL FROM:<evil@b.example>\r\nRCPT TO:<"
            + ANA.encode()
            + b">\r\nDATA\r\nSubject: "
            + marker
            + b"\r\n\r\nx\r\n.\r\n"
        )
        # One reply for the whole thing: the data ended only at CRLF.CRLF,
        # and the message with a bare line end (or NUL) was refused.
        reply = recv_until(sock, b"\r\n")
        assert reply[:1] == b"5" and reply.count(b"\r\n") == 1, reply
        sock.sendall(b"NOOP\r\n")
        assert recv_until(sock, b"\r\n").startswith(b"250")  # still in step
    finally:
        sock.close()
    stored = maildir_files(server.data_dir / "iesfbmoll.example", ANA)
    assert not any(marker in p.read_bytes() for p in stored)


class _LenientPeer:
    """A next hop without CHUNKING that records every octet the relay sends.

    With *rcpt_limit*, RCPTs beyond it in one transaction get ``452 4.5.3``
    (RFC 5321 §4.5.3.1.10); :attr:`transactions` lists the recipients each
    transaction delivered to.
    """

    def __init__(self, rcpt_limit: int | None = None) -> None:
        self.received = bytearray()
        self.rcpt_limit = rcpt_limit
        self.transactions: list[list[bytes]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 peer.example ESMTP\r\n")
        in_data = False
        rcpts: list[bytes] = []
        while True:
            line = await reader.readline()
            if not line:
                break
            self.received += line
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.transactions.append(rcpts)
                    writer.write(b"250 2.0.0 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-peer.example\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
            elif verb in (b"MAIL", b"RSET"):
                rcpts = []
                writer.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                if self.rcpt_limit is not None and len(rcpts) >= self.rcpt_limit:
                    writer.write(b"452 4.5.3 Too many recipients\r\n")
                else:
                    rcpts.append(line[8:].strip())
                    writer.write(b"250 OK\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


def test_relay_sends_bare_line_ends_as_crlf() -> None:
    message = b"Subject: relayed\r\n\r\none\n.\r\nMAIL FROM:<evil@x.example>\r\ntwo\rthree\r\n"

    async def run() -> tuple[int, bytes]:
        peer = _LenientPeer()
        server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            results = await send_message(
                "127.0.0.1",
                port,
                helo="mx.a.example",
                sender="ann@a.example",
                recipients=["far@remote.example"],
                data=message,
                starttls=False,
                timeout=10,
            )
        finally:
            server.close()
            await server.wait_closed()
        return results[0].code, bytes(peer.received)

    code, wire = asyncio.run(run())
    assert code == 250
    # No bare line end anywhere on the wire...
    assert wire.count(b"\n") == wire.count(b"\r\n") and wire.count(b"\r") == wire.count(b"\r\n")
    # ...so the dot line was stuffed and the false command stayed content.
    data = wire.split(b"DATA\r\n", 1)[1]
    assert data == (
        b"Subject: relayed\r\n\r\none\r\n..\r\nMAIL FROM:<evil@x.example>\r\ntwo\r\nthree\r\n.\r\n"
        b"QUIT\r\n"
    )


def test_one_bounce_names_only_the_unknown_remote_user(server: ServerThread) -> None:
    """pepe writes to an unknown and a known user at correo.example: manolo
    gets the message, pepe one RFC 3464 report about the unknown one only."""
    message = b"From: <pepe@iesfbmoll.example>\r\nSubject: audit-rebote\r\n\r\nhola\r\n"
    with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=10) as s:
        s.starttls(context=unverified())
        s.login(PEPE, PASSWORDS[PEPE])
        assert s.sendmail(PEPE, ["nadie@correo.example", MANOLO], message) == {}

    def reports() -> list[bytes]:
        return [
            m
            for m in server.messages(A, PEPE)
            if b"multipart/report" in m and b"Subject: audit-rebote" in m
        ]

    assert wait_for(lambda: bool(reports()))
    assert wait_for(lambda: any(m.endswith(message) for m in server.messages(B, MANOLO)))
    time.sleep(0.5)  # a second report, if any, would be here by now
    (report,) = reports()
    assert report.startswith(b"Return-Path: <>\r\n")
    _, status, headers = dsn_fields(report)
    assert "Reporting-MTA: dns; mx.iesfbmoll.example" in status
    per_recipient = status.split("\r\n\r\n")[1]
    assert "Final-Recipient: rfc822; nadie@correo.example" in per_recipient
    assert "Action: failed" in per_recipient and "Status: 5.1.1" in per_recipient
    assert "manolo" not in status
    assert "Subject: audit-rebote" in headers and "hola" not in headers
    assert [m for m in server.messages(B, MANOLO) if m.endswith(message)] != []


def test_postmaster_is_accepted_for_every_domain(server: ServerThread) -> None:
    """RFC 5321 §4.5.1 (postmaster@domain) and §4.1.1.3 (the bare <Postmaster>):
    accepted from anyone, delivered once to the default postmaster, pepe
    (the first account: the demo configures none)."""
    message = b"Subject: audit-postmaster\r\n\r\nabuse report\r\n"
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=10) as s:
        s.ehlo("stranger.example")
        assert s.mail("reporter@stranger.example")[0] == 250
        for rcpt in ("postmaster@iesfbmoll.example", "Postmaster", "POSTMASTER@IESFBMOLL.EXAMPLE"):
            assert s.rcpt(rcpt)[0] == 250, rcpt
        assert s.data(message)[0] == 250
    assert wait_for(lambda: any(m.endswith(message) for m in server.messages(A, PEPE)))
    time.sleep(0.3)
    assert len([m for m in server.messages(A, PEPE) if m.endswith(message)]) == 1


def _directory_of(text: str) -> Directory:
    return parse_config(text).servers[0].directory


def test_postmaster_config_key() -> None:
    base = (
        'hostname = "mx.a.example"\ndomains = ["a.example", "b.example"]\n'
        '[[accounts]]\naddress = "ann@a.example"\npassword = "pw-ann-1"\n'
        '[[accounts]]\naddress = "bob@b.example"\npassword = "pw-bob-1"\n'
        'aliases = ["postmaster@b.example"]\n'
    )
    # Default: the first account, for every domain without its own postmaster.
    default = _directory_of(base)
    assert default.postmasters == {
        "postmaster@a.example": "ann@a.example",
        "postmaster": "ann@a.example",
    }
    assert default.resolve("postmaster@b.example") is not None
    resolved = default.resolve("postmaster@b.example")
    assert resolved is not None and [a.address for a in resolved.accounts] == ["bob@b.example"]
    # Configured: a remote address is fine too (resolved as remote).
    remote = _directory_of('postmaster = "hostmaster@elsewhere.example"\n' + base)
    resolved = remote.resolve("Postmaster")
    assert resolved is not None and resolved.remote == ("hostmaster@elsewhere.example",)
    assert remote.account("postmaster@a.example") is None  # nobody here may send as it
    # A list may name the implicit postmaster, and be the postmaster itself
    # (expansion stops at the repeat).
    listed = _directory_of(
        'postmaster = "staff@a.example"\n' + base + '[[lists]]\naddress = "staff@a.example"\n'
        'members = ["postmaster@a.example", "ann@a.example", "bob@b.example"]\n'
    )
    resolved = listed.resolve("postmaster@a.example")
    assert resolved is not None
    assert sorted(a.address for a in resolved.accounts) == ["ann@a.example", "bob@b.example"]
    # An unknown local one is a located error.
    with pytest.raises(ConfigError) as bad:
        parse_config('postmaster = "nobody@a.example"\n' + base)
    assert bad.value.line == 1 and "postmaster nobody@a.example" in bad.value.message


@pytest.mark.parametrize("received", [MAX_RECEIVED - 1, MAX_RECEIVED])
def test_relay_stops_a_forwarding_loop(tmp_path: Path, received: int) -> None:
    """RFC 5321 §6.3: with 100 Received fields the message is looping; it is
    bounced (5.4.6, RFC 3463) rather than sent on once more."""
    trace = b"".join(
        b"Received: from mx%d.example by mx%d.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        % (n, n + 1)
        for n in range(received)
    )
    message = trace + b"Subject: round and round\r\n\r\nbody\r\n"

    async def run() -> tuple[bytes, list[bytes]]:
        peer = _LenientPeer()
        server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clock = Clock()
        relay, queue, store = make_relay(tmp_path, port, clock)
        queue.enqueue("ann@a.example", ["far@remote.example"], message, now=clock.now)
        try:
            await relay.run_once()
        finally:
            server.close()
            await server.wait_closed()
        assert len(queue) == 0
        return bytes(peer.received), read_inbox(store)

    wire, inbox = asyncio.run(run())
    if received < MAX_RECEIVED:
        assert b"Subject: round and round" in wire and inbox == []
        return
    assert b"MAIL FROM" not in wire
    (bounce,) = inbox
    _, status, _ = dsn_fields(bounce)
    assert "Final-Recipient: rfc822; far@remote.example" in status
    assert "Status: 5.4.6" in status and "loop" in status


def test_received_count_reads_the_header_section_only() -> None:
    head = b"Received: a\r\nreceived : b\r\nX-Received: c\r\nSubject: s\r\n\r\n"
    assert received_count(head + b"Received: in the body\r\n") == 2
    assert received_count(b"Received: no body at all\r\n") == 1


def test_many_recipients_for_one_hop_go_in_transactions_of_100(tmp_path: Path) -> None:
    """A next hop may take only the 100 recipients RFC 5321 §4.5.3.1.8 promises:
    250 of them leave in one attempt, as 100 + 100 + 50 on one session,
    instead of 150 waiting a backoff after 452s."""
    rcpts = [f"user{n}@remote.example" for n in range(250)]

    async def run() -> tuple[_LenientPeer, int, int]:
        peer = _LenientPeer(rcpt_limit=100)
        server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clock = Clock()
        relay, queue, _ = make_relay(tmp_path, port, clock)
        queue.enqueue("ann@a.example", rcpts, b"Subject: many\r\n\r\nx\r\n", now=clock.now)
        try:
            await relay.run_once()
        finally:
            server.close()
            await server.wait_closed()
        return peer, len(queue), peer.received.count(b"EHLO ")

    peer, queued, sessions = asyncio.run(run())
    assert [len(t) for t in peer.transactions] == [100, 100, 50]
    assert sorted(r for t in peer.transactions for r in t) == sorted(
        f"<{r}>".encode() for r in rcpts
    )
    assert queued == 0 and sessions == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_submission_auth_plain_and_login(server: ServerThread, mechanism: str) -> None:
    """Both plaintext SASL mechanisms smtplib knows, chosen explicitly (its
    login() would pick PLAIN): the one stored SCRAM secret checks either."""
    with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=10) as s:
        s.starttls(context=unverified())
        s.ehlo()
        assert mechanism in s.esmtp_features["auth"].split()
        s.user, s.password = PEPE, PASSWORDS[PEPE]
        authobject = s.auth_plain if mechanism == "PLAIN" else s.auth_login
        code, _ = s.auth(mechanism, authobject, initial_response_ok=False)
        assert code == 235
        assert s.mail(PEPE)[0] == 250
