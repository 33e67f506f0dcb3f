"""MULTIAPPEND (RFC 3502) on the reference server: several messages in one APPEND, all or none.

imaplib sends one message per APPEND, so these tests speak the protocol on
a plain socket: each message's literal is announced, the server's ``+``
awaited (or not, for LITERAL+), and the command ends with the last CRLF.
What was stored is then read back with imaplib, octet for octet.
"""

from __future__ import annotations

import datetime
import imaplib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples.fault_support import leftovers
from tests.examples.test_e2e_support import (
    ANA,
    PASSWORDS,
    A,
    ServerThread,
    demo_config,
    recv_until,
)

#: (flags, date or None, message) per message of one APPEND.
Message = tuple[str, str | None, bytes]


def _message(subject: str, body: bytes = b"body line\r\n.dot line\r\n") -> bytes:
    return f"From: ana@iesfbmoll.example\r\nSubject: {subject}\r\n\r\n".encode() + body


def raw_session(server: ServerThread) -> socket.socket:
    """A plain IMAP connection, logged in as Ana (for what imaplib cannot send)."""
    s = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=20)
    recv_until(s, b"\r\n")
    s.sendall(f'l LOGIN {ANA} "{PASSWORDS[ANA]}"\r\n'.encode())
    assert b"l OK" in recv_until(s, b"l OK")
    return s


@pytest.fixture
def sock(server: ServerThread) -> Iterator[socket.socket]:
    s = raw_session(server)
    yield s
    s.close()


def _read_tagged(s: socket.socket, tag: bytes) -> bytes:
    """Everything up to and including the tagged answer of *tag*."""
    data = b""
    while not re.search(rb"(^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n", data):
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    return data


def multiappend(
    s: socket.socket, tag: str, mailbox: str, messages: list[Message], *, plus: bool = False
) -> bytes:
    """Send one APPEND with every message of *messages*; return the server's answer.

    With *plus* the literals are non-synchronising (``{n+}``, LITERAL+) and
    the whole command goes at once; otherwise each literal waits for ``+``
    and a tagged answer in its place ends the command early.
    """
    head = f"{tag} APPEND {mailbox}".encode()
    for flags, date, data in messages:
        part = head + (f" ({flags})" if flags is not None else "").encode()
        if date is not None:
            part += f' "{date}"'.encode()
        part += b" {%d%s}\r\n" % (len(data), b"+" if plus else b"")
        s.sendall(part)
        if not plus:
            answer = recv_until(s, b"\r\n")
            if not answer.startswith(b"+"):
                return answer + (b"" if b"\r\n" in answer else _read_tagged(s, tag.encode()))
        s.sendall(data)
        head = b""
    s.sendall(b"\r\n")
    return _read_tagged(s, tag.encode())


def _imap(server: ServerThread) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=20)
    client.login(ANA, PASSWORDS[ANA])
    return client


def _stored(server: ServerThread, mailbox: str) -> list[tuple[int, bytes, bytes, bytes]]:
    """(UID, FLAGS, INTERNALDATE, BODY[]) of every message of *mailbox*."""
    client = _imap(server)
    try:
        typ, data = client.select(mailbox)
        assert typ == "OK", data
        if int(data[0] or 0) == 0:
            return []
        typ, fetched = client.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        assert typ == "OK"
        out: list[tuple[int, bytes, bytes, bytes]] = []
        for item in fetched:
            if isinstance(item, tuple):
                meta = item[0]
                uid = re.search(rb"UID (\d+)", meta)
                flags = re.search(rb"FLAGS \(([^)]*)\)", meta)
                date = re.search(rb'INTERNALDATE "([^"]+)"', meta)
                assert uid and flags and date, meta
                kept = b" ".join(sorted(f for f in flags.group(1).split() if f != b"\\Recent"))
                out.append((int(uid.group(1)), kept, date.group(1), item[1]))
        return sorted(out)
    finally:
        client.logout()


def _instant(date_time: bytes) -> datetime.datetime:
    return datetime.datetime.strptime(date_time.decode().strip(), "%d-%b-%Y %H:%M:%S %z")


def test_multiappend_is_advertised(server: ServerThread) -> None:
    client = _imap(server)
    try:
        assert "MULTIAPPEND" in client.capabilities
    finally:
        client.logout()


@pytest.mark.parametrize("plus", [False, True], ids=["synchronising", "literal+"])
def test_messages_of_one_append_are_stored_in_order(
    server: ServerThread, sock: socket.socket, plus: bool
) -> None:
    box = "MultiPlus" if plus else "Multi"
    sock.sendall(f"c CREATE {box}\r\n".encode())
    assert b"c OK" in _read_tagged(sock, b"c")
    messages: list[Message] = [
        ("\\Seen", None, _message("first")),
        ("\\Flagged $Label1", "05-Mar-2024 10:20:30 +0100", _message("second", b"x\r\n" * 500)),
        ("", None, _message("third", b"")),
    ]
    answer = multiappend(sock, "a", box, messages, plus=plus)
    tagged = answer.rsplit(b"\r\n", 2)[-2]
    m = re.match(rb"a OK \[APPENDUID (\d+) (\d+):(\d+)\]", tagged)
    assert m is not None, answer
    first, last = int(m.group(2)), int(m.group(3))
    assert last - first == 2  # consecutive UIDs, one per message (RFC 4315 §3)
    stored = _stored(server, box)
    assert [uid for uid, *_ in stored] == [first, first + 1, last]
    assert [data for *_, data in stored] == [msg for _, _, msg in messages]  # octet for octet
    assert [flags for _, flags, _, _ in stored] == [b"\\Seen", b"$Label1 \\Flagged", b""]
    # The same instant (the server answers in UTC, RFC 3501 §2.3.3).
    assert _instant(stored[1][2]) == _instant(b"05-Mar-2024 10:20:30 +0100")


def test_one_bad_message_and_none_is_appended(server: ServerThread, sock: socket.socket) -> None:
    # RFC 3502 §6.3.11: "If the server fails to append any message, none of
    # the messages are appended."  The second message's flag is refused
    # after the first message was stored: the first is taken back.
    sock.sendall(b"c CREATE Atomic\r\n")
    assert b"c OK" in _read_tagged(sock, b"c")
    before = _stored(server, "Atomic")
    answer = multiappend(
        sock,
        "a",
        "Atomic",
        [("\\Seen", None, _message("kept?")), ("\\Bogus", None, _message("refused"))],
    )
    assert re.search(rb"\r\na NO \[CANNOT\]|^a NO \[CANNOT\]", answer), answer
    assert _stored(server, "Atomic") == before
    assert leftovers(server.data_dir) == []
    # The session goes on, and a good MULTIAPPEND then works.
    answer = multiappend(
        sock, "b", "Atomic", [("", None, _message("one")), ("", None, _message("two"))]
    )
    assert b"b OK [APPENDUID" in answer


def test_a_missing_mailbox_is_trycreate(server: ServerThread, sock: socket.socket) -> None:
    answer = multiappend(
        sock, "a", "NoSuchBox", [("", None, _message("1")), ("", None, _message("2"))]
    )
    assert b"a NO [TRYCREATE]" in answer


def test_a_multiappend_may_pass_one_maximal_message_up_to_its_bound(tmp_path: Path) -> None:
    # The whole command is bounded (IMAPLimits.command_size): a quarter of
    # the site's literal memory, and at least one maximal message with its
    # line.  Here 1,000,000 // 4 = 250,000: three messages of 80,000 octets
    # (more than one maximal message of 100,000) go in one command; a
    # fourth would pass the bound, so it is refused when announced, before
    # the client sends it, and nothing of that command is stored.
    text, _ = demo_config(
        extra=lambda t: t.replace(
            "[server.ports]",
            "[server.limits]\nmax_message_size = 100000\nliteral_memory = 1000000\n\n"
            "[server.ports]",
            1,
        )
    )
    with ServerThread(text, tmp_path) as server:
        s = raw_session(server)
        try:
            s.sendall(b"c CREATE Big\r\nd CREATE Bigger\r\n")
            assert b"d OK" in _read_tagged(s, b"d")
            messages: list[Message] = [
                ("", None, _message(f"big {i}", b"y" * 79_900 + b"\r\n")) for i in range(4)
            ]
            answer = multiappend(s, "a", "Big", messages[:3])
            assert b"a OK" in answer, answer
            answer = multiappend(s, "b", "Bigger", messages)
            assert re.match(rb"b NO \[TOOBIG\]", answer), answer
            s.sendall(b"n NOOP\r\n")
            assert b"n OK" in _read_tagged(s, b"n")
        finally:
            s.close()
        assert [m[3] for m in _stored(server, "Big")] == [m[2] for m in messages[:3]]
        assert _stored(server, "Bigger") == []


def test_the_selected_mailbox_sees_every_message(server: ServerThread, sock: socket.socket) -> None:
    sock.sendall(b"c CREATE Watched\r\ns SELECT Watched\r\n")
    selected = _read_tagged(sock, b"s")
    assert b"* 0 EXISTS" in selected
    answer = multiappend(sock, "a", "Watched", [("", None, _message(str(i))) for i in range(3)])
    sock.sendall(b"n NOOP\r\n")
    answer += _read_tagged(sock, b"n")
    assert b"* 3 EXISTS" in answer
